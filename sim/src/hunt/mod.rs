//! Hunting: a time-boxed campaign over a library of scenarios that stops at the first
//! violation and leaves a scenario file that replays it.
//!
//! The hunt goes breadth first: every scenario's own file and one variant of it run before
//! any scenario runs twice (`BREADTH_ROUNDS` such rounds). Then it runs rounds of
//! `ROUND_RUNS` runs chosen by the power schedule (`schedule`): regions, each a (scenario,
//! variant) pair, that reach rare protocol situations get more runs, and a quarter of the
//! slots try new variants (`variant`). Rounds are planned from the results of the rounds
//! before, in run order, so the list of runs is a function of the seed base alone; threads
//! only make it go faster. Within a round, no run after the first failing one is kept, so
//! the finding reported is the first in run order whatever `jobs` is.

pub mod schedule;
pub mod variant;

use crate::checker::Violation;
use crate::node::SimNode;
use crate::pool;
use crate::scenario::{self, Scenario};
use crate::situations::Situations;
use crate::sweep::{self, RunSummary};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use schedule::{RegionStats, Slot};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use variant::Variant;

/// Breadth-first rounds before the power schedule takes over.
pub const BREADTH_ROUNDS: u32 = 2;
/// Runs in one power round: small, so that what a round learns steers the next soon.
pub const ROUND_RUNS: usize = 16;
/// Regions (scenario, variant) at most: a bound on the hunt's memory.
pub const REGIONS_MAX: usize = 100_000;
/// Runs at most, whatever the time budget.
pub const RUNS_MAX: u64 = 1_000_000_000;

/// A scenario file of the hunt.
#[derive(Clone, Debug)]
pub struct HuntScenario {
    /// The file.
    pub path: String,
    /// Its text, copied into a finding made from the file as written.
    pub text: String,
    /// What it says.
    pub scenario: Scenario,
}

/// What to hunt.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The library.
    pub scenarios: Vec<HuntScenario>,
    /// Threads.
    pub jobs: usize,
    /// A deliberately broken rule for every run.
    pub mutation: Option<String>,
    /// Everything the hunt draws (variants, schedule, run seeds) follows from this.
    pub seed_base: u64,
    /// Where findings are written.
    pub findings_dir: PathBuf,
    /// Stop after this many runs (`RUNS_MAX` for no bound beyond time).
    pub runs_max: u64,
    /// The command line, written into a finding's header.
    pub command: String,
}

/// One (scenario, variant) and what its runs reached.
#[derive(Clone, Debug)]
struct Region {
    scenario: usize,
    variant: Variant,
    /// The variant's scenario, shared with the workers that run it.
    shared: Arc<Scenario>,
    stats: RegionStats,
}

/// One run to make: a region, its scenario and the seed.
#[derive(Clone, Debug)]
struct Job {
    region: usize,
    scenario_index: usize,
    scenario: Arc<Scenario>,
    seed: u64,
}

/// A violation found, with the file that replays it.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The invariant broken.
    pub invariant: &'static str,
    /// What was seen (first line).
    pub detail: String,
    /// When, in simulated time.
    pub time_ns: u64,
    /// The scenario's name.
    pub scenario: String,
    /// The library file it came from.
    pub path: String,
    /// 0: the file as written; more: a drawn variant.
    pub variant: u32,
    /// What the variant changed.
    pub variant_description: String,
    /// The seed of the failing run.
    pub seed: u64,
    /// Events in the failing run.
    pub events: u64,
    /// Its position in the hunt's run order (1 = the first run): the runs it took.
    pub runs_until: u64,
    /// The scenario file written for it.
    pub file: String,
    /// The command that replays it.
    pub reproduce: String,
}

/// How a hunt ended.
#[derive(Clone, Debug)]
pub struct Hunt {
    /// Runs made, in run order (for the report and the determinism test).
    pub runs: Vec<(String, u32, u64)>,
    /// Events simulated.
    pub events: u64,
    /// Regions (scenario, variant) tried.
    pub regions: usize,
    /// Per situation (`Situations::list` order), runs that reached it.
    pub reached: Vec<u64>,
    /// The first violation, if one was found.
    pub finding: Option<Finding>,
    /// `stop` was raised (deadline or Ctrl-C) before the hunt ended otherwise.
    pub stopped: bool,
}

/// Progress after each run.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Runs finished.
    pub runs: u64,
    /// Regions tried so far.
    pub regions: usize,
}

/// Hunts, each scenario against the implementation it names (`Scenario::implementation`).
pub fn run(plan: &Plan, stop: &AtomicBool, on_run: impl FnMut(Progress)) -> Result<Hunt, String> {
    run_by(plan, stop, on_run, crate::run)
}

/// Hunts with any implementation of the boundary. `stop` is polled between runs (a deadline
/// or Ctrl-C raises it). An `Err` is a run that could not start, or a finding that could not
/// be written.
///
/// Runs are planned in rounds, and round `r` is planned from the results of rounds up to
/// `r - PLAN_LAG_ROUNDS - 1`, recorded in run order: the threads keep busy with the rounds
/// already planned while the latest results come in, and the plan stays a function of the
/// seed base and the results alone.
pub fn run_with<N: SimNode>(
    plan: &Plan,
    stop: &AtomicBool,
    on_run: impl FnMut(Progress),
) -> Result<Hunt, String> {
    run_by(plan, stop, on_run, sweep::run_as::<N>)
}

fn run_by(
    plan: &Plan,
    stop: &AtomicBool,
    mut on_run: impl FnMut(Progress),
    runner: sweep::Runner,
) -> Result<Hunt, String> {
    assert!(!plan.scenarios.is_empty(), "a hunt needs a scenario");
    assert!((1..=pool::JOBS_MAX).contains(&plan.jobs));
    let mut hunt = Hunt {
        runs: Vec::new(),
        events: 0,
        regions: 0,
        reached: vec![0; Situations::default().list().len()],
        finding: None,
        stopped: false,
    };
    let queue = Queue::default();
    let (sender, receiver) = mpsc::channel::<(usize, Result<RunSummary, String>)>();
    let result = std::thread::scope(|scope| {
        for _ in 0..plan.jobs {
            let sender = sender.clone();
            let queue = &queue;
            let mutation = plan.mutation.as_deref();
            scope.spawn(move || worker(queue, stop, &sender, mutation, runner));
        }
        drop(sender);
        let mut coordinator = Coordinator::new(plan, &queue);
        let result = coordinator.run(&receiver, stop, &mut hunt, &mut on_run);
        hunt.regions = coordinator.state.regions.len();
        queue.close();
        result
    });
    result.map(|()| hunt)
}

/// Rounds planned ahead of the results they could use.
pub const PLAN_LAG_ROUNDS: u64 = 2;

/// The runs planned and not yet taken by a worker.
#[derive(Default)]
struct Queue {
    items: Mutex<(VecDeque<(usize, Job)>, bool)>,
    ready: Condvar,
}

impl Queue {
    fn push(&self, index: usize, job: Job) {
        let mut items = self
            .items
            .lock()
            .expect("no worker panics holding the queue");
        items.0.push_back((index, job));
        self.ready.notify_one();
    }

    /// The next run, or `None` once the queue is closed.
    fn take(&self) -> Option<(usize, Job)> {
        let mut items = self
            .items
            .lock()
            .expect("no worker panics holding the queue");
        loop {
            if items.1 {
                return None;
            }
            if let Some(item) = items.0.pop_front() {
                return Some(item);
            }
            items = self
                .ready
                .wait(items)
                .expect("no worker panics holding the queue");
        }
    }

    fn close(&self) {
        self.items
            .lock()
            .expect("no worker panics holding the queue")
            .1 = true;
        self.ready.notify_all();
    }
}

fn worker(
    queue: &Queue,
    stop: &AtomicBool,
    sender: &mpsc::Sender<(usize, Result<RunSummary, String>)>,
    mutation: Option<&str>,
    runner: sweep::Runner,
) {
    while let Some((index, job)) = queue.take() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let result = sweep::summarize_by(
            &job.scenario,
            job.scenario_index,
            job.seed,
            mutation,
            runner,
        );
        if sender.send((index, result)).is_err() {
            return;
        }
    }
}

/// Plans rounds, records results in run order, and stops at the first finding.
struct Coordinator<'a> {
    state: State<'a>,
    queue: &'a Queue,
    /// Every run planned, in run order.
    jobs: Vec<Job>,
    /// Where each planned round ends in `jobs`.
    round_ends: Vec<usize>,
    /// The planning stopped: `runs_max` reached.
    planned_all: bool,
}

impl<'a> Coordinator<'a> {
    fn new(plan: &'a Plan, queue: &'a Queue) -> Coordinator<'a> {
        let mut c = Coordinator {
            state: State::new(plan),
            queue,
            jobs: Vec::new(),
            round_ends: Vec::new(),
            planned_all: false,
        };
        for _ in 0..=PLAN_LAG_ROUNDS {
            c.plan_round();
        }
        c
    }

    fn plan_round(&mut self) {
        let runs_max = self.state.plan.runs_max.min(RUNS_MAX);
        let left = runs_max.saturating_sub(self.jobs.len() as u64);
        if self.planned_all || left == 0 {
            self.planned_all = true;
            return;
        }
        let round = self.round_ends.len() as u64;
        let mut jobs = self.state.next_round(round);
        jobs.truncate(usize::try_from(left).unwrap_or(usize::MAX));
        for job in jobs {
            self.queue.push(self.jobs.len(), job.clone());
            self.jobs.push(job);
        }
        self.round_ends.push(self.jobs.len());
    }

    fn run(
        &mut self,
        receiver: &mpsc::Receiver<(usize, Result<RunSummary, String>)>,
        stop: &AtomicBool,
        hunt: &mut Hunt,
        on_run: &mut impl FnMut(Progress),
    ) -> Result<(), String> {
        let mut arrived: BTreeMap<usize, Result<RunSummary, String>> = BTreeMap::new();
        let mut recorded = 0usize;
        let mut boundary = 0usize;
        while recorded < self.jobs.len() {
            if stop.load(Ordering::Relaxed) {
                hunt.stopped = true;
                return Ok(());
            }
            let Ok((index, result)) = receiver.recv() else {
                hunt.stopped = true;
                return Ok(());
            };
            arrived.insert(index, result);
            while let Some(result) = arrived.remove(&recorded) {
                let job = self.jobs[recorded].clone();
                let summary = result.map_err(|e| {
                    format!(
                        "{}: {e}",
                        self.state.plan.scenarios[job.scenario_index].path
                    )
                })?;
                recorded += 1;
                self.state.record(&job, &summary, hunt);
                if let Some(violation) = &summary.violation {
                    let order = recorded as u64;
                    hunt.finding =
                        Some(self.state.write_finding(&job, &summary, violation, order)?);
                    return Ok(());
                }
                // A round is planned exactly when the round it waits for is recorded, so what
                // it sees does not depend on how results arrived.
                while boundary < self.round_ends.len() && recorded == self.round_ends[boundary] {
                    boundary += 1;
                    self.plan_round();
                }
            }
            on_run(Progress {
                runs: recorded as u64,
                regions: self.state.regions.len(),
            });
        }
        Ok(())
    }
}

/// The hunt's regions and what they reached.
struct State<'a> {
    plan: &'a Plan,
    regions: Vec<Region>,
    /// Variants drawn so far per scenario.
    variants: Vec<u32>,
    /// Per situation, runs that reached it; and all runs.
    totals: Vec<u64>,
    runs_total: u64,
}

impl<'a> State<'a> {
    fn new(plan: &'a Plan) -> State<'a> {
        let situations = Situations::default().list().len();
        let regions = plan
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| Region {
                scenario: i,
                variant: variant::original(&s.scenario),
                shared: Arc::new(s.scenario.clone()),
                stats: RegionStats {
                    runs: 0,
                    reached: vec![0; situations],
                    events: 0,
                },
            })
            .collect();
        State {
            plan,
            regions,
            variants: vec![0; plan.scenarios.len()],
            totals: vec![0; situations],
            runs_total: 0,
        }
    }

    /// The runs of round `round`: breadth first, then by the power schedule.
    fn next_round(&mut self, round: u64) -> Vec<Job> {
        let slots: Vec<Slot> = if round < u64::from(BREADTH_ROUNDS) {
            let files = (0..self.plan.scenarios.len()).map(Slot::Region);
            let fresh = (0..self.plan.scenarios.len()).map(Slot::NewVariant);
            files.chain(fresh).collect()
        } else {
            let mut rng = ChaCha8Rng::seed_from_u64(self.plan.seed_base);
            rng.set_stream(round);
            let energy = schedule::energies(
                &self
                    .regions
                    .iter()
                    .map(|r| r.stats.clone())
                    .collect::<Vec<_>>(),
                &self.totals,
                self.runs_total,
            );
            let scenario_of: Vec<usize> = self.regions.iter().map(|r| r.scenario).collect();
            let scenarios = self.plan.scenarios.len();
            schedule::round(&mut rng, &energy, &scenario_of, scenarios, ROUND_RUNS)
        };
        // Seeds are handed out as the round is planned, so two slots of one region in one
        // round run different seeds.
        let mut planned = vec![0u64; self.regions.len()];
        let mut jobs = Vec::with_capacity(slots.len());
        for slot in slots {
            let region = match slot {
                Slot::Region(r) => r,
                Slot::NewVariant(s) if self.regions.len() < REGIONS_MAX => self.new_variant(s),
                Slot::NewVariant(s) => s,
            };
            planned.resize(self.regions.len(), 0);
            let seed = self
                .plan
                .seed_base
                .wrapping_add(self.regions[region].stats.runs + planned[region]);
            planned[region] += 1;
            jobs.push(Job {
                region,
                scenario_index: self.regions[region].scenario,
                scenario: Arc::clone(&self.regions[region].shared),
                seed,
            });
        }
        jobs
    }

    fn new_variant(&mut self, scenario: usize) -> usize {
        self.variants[scenario] += 1;
        let number = self.variants[scenario];
        let base = &self.plan.scenarios[scenario].scenario;
        let variant = variant::draw(base, self.plan.seed_base, scenario, number);
        self.regions.push(Region {
            scenario,
            shared: Arc::new(variant.scenario.clone()),
            variant,
            stats: RegionStats {
                runs: 0,
                reached: vec![0; self.totals.len()],
                events: 0,
            },
        });
        self.regions.len() - 1
    }

    fn record(&mut self, job: &Job, summary: &RunSummary, hunt: &mut Hunt) {
        let region = &mut self.regions[job.region];
        region.stats.runs += 1;
        region.stats.events += summary.events;
        self.runs_total += 1;
        for (i, (_, _, count)) in summary.situations.list().into_iter().enumerate() {
            if count > 0 {
                region.stats.reached[i] += 1;
                self.totals[i] += 1;
                hunt.reached[i] += 1;
            }
        }
        hunt.events += summary.events;
        let name = self.plan.scenarios[region.scenario].scenario.name.clone();
        hunt.runs.push((name, region.variant.number, job.seed));
    }

    /// Writes the finding's scenario file, checks that it replays, and describes it.
    fn write_finding(
        &self,
        job: &Job,
        summary: &RunSummary,
        violation: &Violation,
        order: u64,
    ) -> Result<Finding, String> {
        let region = &self.regions[job.region];
        let source = &self.plan.scenarios[region.scenario];
        let suffix = match &self.plan.mutation {
            Some(m) => format!("-{}", file_safe(m)),
            None => String::new(),
        };
        let name = format!(
            "{}-v{}-seed{}{suffix}.toml",
            file_safe(&source.scenario.name),
            region.variant.number,
            job.seed
        );
        let file = self.plan.findings_dir.join(name);
        let file_text = file.display().to_string();
        let mutation = match &self.plan.mutation {
            Some(m) => format!(" --mutation {m}"),
            None => String::new(),
        };
        let reproduce = format!("raftsim run {file_text} --seed {}{mutation}", job.seed);
        let detail = violation.detail.lines().next().unwrap_or("").to_string();
        let body = match region.variant.number {
            0 => source.text.clone(),
            _ => {
                let mut s = region.variant.scenario.clone();
                s.seed = job.seed;
                s.to_toml()
            }
        };
        let header = [
            format!("# raftsim hunt finding: {}", violation.invariant.name()),
            format!("# {}", one_line(&detail)),
            format!("# found by: {}", one_line(&self.plan.command)),
            format!(
                "# from: {}, variant {}: {}",
                source.path,
                region.variant.number,
                one_line(&region.variant.description)
            ),
            format!("# replay: {reproduce}"),
            format!(
                "# shrink: raftsim shrink {file_text} --seed {}{mutation} -o SMALL.toml",
                job.seed
            ),
        ];
        let text = format!("{}\n{body}", header.join("\n"));
        write_new(&file, &text)?;
        Ok(Finding {
            invariant: violation.invariant.name(),
            detail,
            time_ns: violation.time_ns,
            scenario: source.scenario.name.clone(),
            path: source.path.clone(),
            variant: region.variant.number,
            variant_description: region.variant.description.clone(),
            seed: job.seed,
            events: summary.events,
            runs_until: order,
            file: file_text,
            reproduce,
        })
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// Writes `text` to `path` and reads it back: a finding is on disk before it is reported.
fn write_new(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text)
        .map_err(|e| format!("{}: cannot write the finding: {e}", path.display()))?;
    let back = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the finding back: {e}", path.display()))?;
    if back != text {
        return Err(format!("{}: the finding did not read back", path.display()));
    }
    scenario::parse(&path.display().to_string(), &back)
        .map(|_| ())
        .map_err(|e| format!("a finding's file does not parse: {e}"))
}

/// A scenario name as a file name: letters, digits, `-` and `_` kept, the rest `_`.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                true => c,
                false => '_',
            },
        )
        .collect()
}

/// Makes sure `dir` can hold findings: created if missing, a directory that can be listed
/// and written. Checked before the hunt starts, so no finding is found and then lost.
pub fn prepare_findings_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    if dir.exists() && !dir.is_dir() {
        return Err(format!("--findings {shown}: not a directory"));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("--findings {shown}: cannot create: {e}"))?;
    std::fs::read_dir(dir).map_err(|e| format!("--findings {shown}: cannot read: {e}"))?;
    let probe = dir.join(".raftsim-write-probe");
    std::fs::write(&probe, b"").map_err(|e| format!("--findings {shown}: cannot write: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A situation in a hunt's report.
#[derive(Clone, Debug, Serialize)]
pub struct SituationReport {
    /// Its name.
    pub name: &'static str,
    /// Runs that reached it.
    pub runs: u64,
}

/// The summary of a hunt, for people (`human`) and machines (serialized).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// "found", "clean" or "interrupted".
    pub verdict: &'static str,
    /// The scenario files.
    pub scenarios: Vec<String>,
    /// The seed base.
    pub seed_base: u64,
    /// Threads.
    pub jobs: usize,
    /// The mutation, if any.
    pub mutation: Option<String>,
    /// Runs made.
    pub runs: u64,
    /// Events simulated.
    pub events: u64,
    /// Regions (scenario, variant) tried.
    pub regions: usize,
    /// Wall-clock seconds, measured by the caller.
    pub wall_s: f64,
    /// The violation found.
    pub finding: Option<Finding>,
    /// Every situation with the runs that reached it.
    pub situations: Vec<SituationReport>,
    /// The situations no run reached.
    pub never_reached: Vec<&'static str>,
}

impl Report {
    /// The report of `hunt`, run from `plan` in `wall_s` seconds; `interrupted` if Ctrl-C
    /// stopped it.
    pub fn new(plan: &Plan, hunt: &Hunt, wall_s: f64, interrupted: bool) -> Report {
        let names = Situations::default().list();
        let situations: Vec<SituationReport> = names
            .iter()
            .zip(&hunt.reached)
            .map(|((name, _, _), runs)| SituationReport { name, runs: *runs })
            .collect();
        let verdict = match (&hunt.finding, interrupted) {
            (Some(_), _) => "found",
            (None, true) => "interrupted",
            (None, false) => "clean",
        };
        Report {
            verdict,
            scenarios: plan.scenarios.iter().map(|s| s.path.clone()).collect(),
            seed_base: plan.seed_base,
            jobs: plan.jobs,
            mutation: plan.mutation.clone(),
            runs: hunt.runs.len() as u64,
            events: hunt.events,
            regions: hunt.regions,
            wall_s,
            finding: hunt.finding.clone(),
            never_reached: situations
                .iter()
                .filter(|s| s.runs == 0)
                .map(|s| s.name)
                .collect(),
            situations,
        }
    }

    /// The human summary.
    pub fn human(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let mutation = self
            .mutation
            .as_ref()
            .map(|m| format!(", mutation {m}"))
            .unwrap_or_default();
        let rate = self.runs as f64 / self.wall_s.max(1e-9);
        let _ = writeln!(
            s,
            "{}  hunt of {} scenarios, seed base {}, {} jobs{mutation}",
            self.verdict.to_uppercase(),
            self.scenarios.len(),
            self.seed_base,
            self.jobs
        );
        let _ = writeln!(
            s,
            "runs        {} in {:.1} s ({rate:.1} runs/s, {} events), {} regions (scenario, variant)",
            self.runs, self.wall_s, self.events, self.regions
        );
        if let Some(f) = &self.finding {
            let _ = writeln!(s, "invariant   {}: {}", f.invariant, f.detail);
            let _ = writeln!(
                s,
                "at          {:.6} s of simulated time, after {} events",
                f.time_ns as f64 / 1e9,
                f.events
            );
            let _ = writeln!(
                s,
                "scenario    {} ({}), variant {}: {}",
                f.scenario, f.path, f.variant, f.variant_description
            );
            let _ = writeln!(
                s,
                "seed        {} (run {} of the hunt)",
                f.seed, f.runs_until
            );
            let _ = writeln!(s, "finding     {}", f.file);
            let _ = writeln!(s, "reproduce   {}", f.reproduce);
            return s;
        }
        let reached = self.situations.len() - self.never_reached.len();
        let _ = writeln!(
            s,
            "situations  {reached} of {} reached (runs reaching each):",
            self.situations.len()
        );
        for sit in &self.situations {
            let _ = writeln!(s, "  {:<32} {:>8}", sit.name, sit.runs);
        }
        if !self.never_reached.is_empty() {
            let _ = writeln!(s, "never reached: {}", self.never_reached.join(", "));
        }
        s
    }
}
