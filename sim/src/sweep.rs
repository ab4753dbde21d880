//! Many seeds of many scenarios, one simulator per thread.
//!
//! Each run is still single-threaded and deterministic; the threads only share the list of
//! (scenario, seed) items and hand back each run's summary. Results are sorted by item, so
//! the set of failing seeds, the counts and the report do not depend on the number of jobs or
//! on which thread ran what.

use crate::checker::Violation;
use crate::history::linearizability::Verdict;
use crate::node::SimNode;
use crate::pool;
use crate::report::RecoveryReport;
use crate::scenario::Scenario;
use crate::sim::{Recovery, RunOptions, Simulator};
use crate::situations::Situations;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

/// Seeds in one sweep, at most: a bound on the work list's memory.
pub const SEEDS_MAX: u64 = 100_000_000;
/// Threads, at most.
pub const JOBS_MAX: usize = pool::JOBS_MAX;

/// An inclusive range of seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SeedRange {
    /// The first seed.
    pub first: u64,
    /// The last seed, included.
    pub last: u64,
}

impl SeedRange {
    /// Parses `A..B` or `A..=B` (both ends included) or `N` (seeds 1 to N).
    pub fn parse(text: &str) -> Result<SeedRange, String> {
        let number = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{s}` is not a seed (an integer from 0 to 2^64-1)"))
        };
        let range = match text.split_once("..") {
            Some((a, b)) => SeedRange {
                first: number(a)?,
                last: number(b.strip_prefix('=').unwrap_or(b))?,
            },
            None => SeedRange {
                first: 1,
                last: number(text)?,
            },
        };
        if range.first > range.last {
            return Err(format!("`{text}`: the first seed is greater than the last"));
        }
        if range.last - range.first >= SEEDS_MAX {
            return Err(format!("`{text}`: more than {SEEDS_MAX} seeds"));
        }
        Ok(range)
    }

    /// Seeds in the range.
    pub fn len(self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: a range holds at least its first seed.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// One of `count` disjoint parts of a sweep, numbered from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// Which part, 1 to `count`.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N (shard K of N, e.g. 2/4)"))?;
        let k: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("`{k}` in `{text}` is not a number"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` in `{text}` is not a number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(format!("`{text}`: K must be from 1 to N, and N at least 1"));
        }
        Ok(Shard { index: k, count: n })
    }

    /// Whether this shard runs `seed` of `range`. Seeds are dealt round-robin, so every shard
    /// gets a share of early and late seeds, and the shards together cover the range once.
    pub fn owns(self, range: SeedRange, seed: u64) -> bool {
        (seed - range.first) % self.count == self.index - 1
    }

    /// How many seeds of `range` this shard runs: 0 when there are more shards than seeds
    /// and this is one of the shards left over.
    pub fn seeds_in(self, range: SeedRange) -> u64 {
        match range.len().checked_sub(self.index) {
            None => 0,
            Some(after_first) => after_first / self.count + 1,
        }
    }
}

/// A scenario to sweep, with the path it was read from (for reproduce commands).
#[derive(Clone, Debug)]
pub struct SweepScenario {
    /// The file.
    pub path: String,
    /// Its contents.
    pub scenario: Scenario,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The scenarios, each run with every seed of the shard.
    pub scenarios: Vec<SweepScenario>,
    /// The seeds.
    pub seeds: SeedRange,
    /// This machine's part of the seeds.
    pub shard: Shard,
    /// A deliberately broken rule for every run.
    pub mutation: Option<String>,
    /// Threads.
    pub jobs: usize,
    /// Stop at the first failure in run order (seed-major: every scenario's first seed, then
    /// every scenario's second, ...).
    pub fail_fast: bool,
}

/// One run, boiled down.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// Index of the scenario in the plan.
    pub scenario: usize,
    /// The seed.
    pub seed: u64,
    /// The violation, if the run found one.
    pub violation: Option<Violation>,
    /// Events simulated.
    pub events: u64,
    /// Simulated time reached.
    pub sim_time_ns: u64,
    /// The run stopped at its event budget.
    pub budget_exhausted: bool,
    /// The verdict on the clients' history, if there were clients and no safety violation.
    pub linearizability: Option<Verdict>,
    /// Protocol situations reached.
    pub situations: Situations,
    /// Time to a leader after each kind of fault.
    pub recovery: BTreeMap<&'static str, Recovery>,
    /// How long the clients took to drain after the fault window (see `Outcome::drain_ns`).
    pub drain_ns: Option<Option<u64>>,
    /// Each recovery, for the sweep's distributions (not in the JSON summary).
    #[serde(skip)]
    pub recovery_samples: Vec<crate::sim::RecoverySample>,
    /// Latencies of the clients' operations that completed (ok or fail), at most
    /// `LATENCIES_PER_RUN_MAX`, evenly spread over the run (not in the JSON summary).
    #[serde(skip)]
    pub client_latencies_ns: Vec<u64>,
}

/// Client latencies kept per run for a sweep's distribution.
pub const LATENCIES_PER_RUN_MAX: usize = 2048;

/// The latencies of the operations of `history` that completed, at most
/// `LATENCIES_PER_RUN_MAX` of them, taken at an even stride.
pub fn client_latencies_ns(history: &[crate::history::Event]) -> Vec<u64> {
    let ops = crate::history::operations(history).unwrap_or_default();
    let all: Vec<u64> = ops
        .iter()
        .filter(|op| op.return_pos.is_some())
        .filter_map(|op| Some(op.return_ns?.saturating_sub(op.invoke_ns?)))
        .collect();
    let stride = all.len().div_ceil(LATENCIES_PER_RUN_MAX).max(1);
    all.into_iter().step_by(stride).collect()
}

/// How far a sweep got; passed to the progress callback after each run.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Runs finished.
    pub done: u64,
    /// Runs in the plan.
    pub total: u64,
    /// Runs that found a violation.
    pub failed: u64,
}

/// The result of a sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Every run finished, in (scenario, seed) order.
    pub runs: Vec<RunSummary>,
    /// Runs in the plan.
    pub planned: u64,
    /// The sweep was stopped (Ctrl-C) before it ran every seed.
    pub interrupted: bool,
    /// `--fail-fast` stopped it.
    pub stopped_at_failure: bool,
    /// A run could not start: the message.
    pub error: Option<String>,
}

impl Sweep {
    /// Runs that found a violation.
    pub fn failures(&self) -> impl Iterator<Item = &RunSummary> {
        self.runs.iter().filter(|r| r.violation.is_some())
    }

    /// Failing runs per invariant name.
    pub fn failures_by_invariant(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for run in self.failures() {
            let name = run.violation.as_ref().expect("a failure").invariant.name();
            *counts.entry(name).or_insert(0) += 1;
        }
        counts
    }

    /// The situations of all runs, added up.
    pub fn situations(&self) -> Situations {
        let mut total = Situations::default();
        for run in &self.runs {
            total.add(&run.situations);
        }
        total
    }

    /// Recovery figures of all runs, added up per fault kind.
    pub fn recovery(&self) -> BTreeMap<&'static str, Recovery> {
        let mut total: BTreeMap<&'static str, Recovery> = BTreeMap::new();
        for run in &self.runs {
            for (kind, r) in &run.recovery {
                total.entry(kind).or_default().add(r);
            }
        }
        total
    }

    /// Events simulated in all runs.
    pub fn events(&self) -> u64 {
        self.runs.iter().map(|r| r.events).sum()
    }
}

/// The work list: every (scenario, seed) of the shard, seed-major: every scenario's first
/// seed, then every scenario's second, and so on. A bug that only one file of many exposes is
/// then reached within the first round, and `--fail-fast` stops at the earliest seed that
/// fails anywhere rather than after every seed of the files before it.
fn items(plan: &Plan) -> Vec<(usize, u64)> {
    let mut items = Vec::new();
    for seed in plan.seeds.first..=plan.seeds.last {
        if plan.shard.owns(plan.seeds, seed) {
            for scenario in 0..plan.scenarios.len() {
                items.push((scenario, seed));
            }
        }
    }
    items
}

/// Runs the plan on `plan.jobs` threads, each scenario against the implementation it names
/// (`Scenario::implementation`). `stop` is polled between runs (set it from a Ctrl-C
/// handler); `on_run` sees every finished run, in the order runs finish.
pub fn run(plan: &Plan, stop: &AtomicBool, on_run: impl FnMut(&RunSummary, Progress)) -> Sweep {
    run_by(plan, stop, on_run, crate::run)
}

/// [`run`] against one implementation of the boundary, whatever the scenarios name.
pub fn run_with<N: SimNode>(
    plan: &Plan,
    stop: &AtomicBool,
    on_run: impl FnMut(&RunSummary, Progress),
) -> Sweep {
    run_by(plan, stop, on_run, run_as::<N>)
}

/// How a run is made: [`crate::run`] (the scenario's implementation) or [`run_as`].
pub type Runner = fn(&Scenario, u64, RunOptions) -> Result<crate::Outcome, String>;

/// Runs `scenario` against `N`.
pub fn run_as<N: SimNode>(
    scenario: &Scenario,
    seed: u64,
    options: RunOptions,
) -> Result<crate::Outcome, String> {
    Simulator::<N>::new(scenario.clone(), seed, options).run()
}

fn run_by(
    plan: &Plan,
    stop: &AtomicBool,
    mut on_run: impl FnMut(&RunSummary, Progress),
    runner: Runner,
) -> Sweep {
    assert!(plan.jobs >= 1 && plan.jobs <= JOBS_MAX);
    let items = items(plan);
    let mut progress = Progress {
        done: 0,
        total: items.len() as u64,
        failed: 0,
    };
    // A run that cannot start (an `Err`) stops the sweep: every other run would fail alike.
    let batch = pool::run(
        &items,
        plan.jobs,
        stop,
        true,
        |&(scenario, seed)| run_one(plan, scenario, seed, runner),
        |result| match result {
            Ok(summary) => plan.fail_fast && summary.violation.is_some(),
            Err(_) => true,
        },
        |_, result| {
            if let Ok(summary) = result {
                progress.done += 1;
                progress.failed += u64::from(summary.violation.is_some());
                on_run(summary, progress);
            }
        },
    );
    let mut error = None;
    let mut runs = Vec::with_capacity(batch.results.len());
    for (_, result) in batch.results {
        match result {
            Ok(summary) => runs.push(summary),
            Err(e) => error = error.or(Some(e)),
        }
    }
    runs.sort_by_key(|r| (r.scenario, r.seed));
    Sweep {
        interrupted: batch.interrupted && error.is_none(),
        planned: items.len() as u64,
        runs,
        stopped_at_failure: batch.first_failure.is_some() && error.is_none(),
        error,
    }
}

fn run_one(plan: &Plan, scenario: usize, seed: u64, runner: Runner) -> Result<RunSummary, String> {
    let entry = &plan.scenarios[scenario];
    summarize_by(
        &entry.scenario,
        scenario,
        seed,
        plan.mutation.as_deref(),
        runner,
    )
    .map_err(|e| format!("{}: {e}", entry.path))
}

/// Runs `scenario` (number `index` of a plan) with `seed` and boils the outcome down. A panic
/// outside the simulator's own catch (in building the simulator, in the history checker) is a
/// finding too, at time 0. An `Err` is a run that could not start.
pub fn summarize<N: SimNode>(
    scenario: &Scenario,
    index: usize,
    seed: u64,
    mutation: Option<&str>,
) -> Result<RunSummary, String> {
    summarize_by(scenario, index, seed, mutation, run_as::<N>)
}

/// [`summarize`], the run made by `runner`.
pub fn summarize_by(
    scenario: &Scenario,
    index: usize,
    seed: u64,
    mutation: Option<&str>,
    runner: Runner,
) -> Result<RunSummary, String> {
    let options = RunOptions {
        keep_trace: false,
        mutation: mutation.map(str::to_string),
        events_max: None,
    };
    let caught = crate::panic::catch(|| runner(scenario, seed, options));
    let outcome = match caught {
        Ok(result) => result?,
        Err(message) => return Ok(RunSummary::panicked(index, seed, message)),
    };
    Ok(RunSummary {
        scenario: index,
        seed,
        events: outcome.trace.len(),
        sim_time_ns: outcome.sim_time_ns,
        budget_exhausted: outcome.budget_exhausted,
        linearizability: outcome.linearizability.as_ref().map(|r| r.verdict),
        situations: outcome.situations,
        recovery: outcome.recovery,
        drain_ns: outcome.drain_ns,
        client_latencies_ns: client_latencies_ns(&outcome.history),
        recovery_samples: outcome.recovery_samples,
        violation: outcome.violation,
    })
}

impl RunSummary {
    /// A run that panicked where the simulator could not say when.
    pub fn panicked(scenario: usize, seed: u64, message: String) -> RunSummary {
        RunSummary {
            scenario,
            seed,
            violation: Some(Violation {
                invariant: crate::checker::Invariant::Panic,
                nodes: Vec::new(),
                time_ns: 0,
                detail: format!("panicked: {message}"),
                clause: None,
            }),
            events: 0,
            sim_time_ns: 0,
            budget_exhausted: false,
            linearizability: None,
            situations: Situations::default(),
            recovery: BTreeMap::new(),
            drain_ns: None,
            recovery_samples: Vec::new(),
            client_latencies_ns: Vec::new(),
        }
    }
}

/// The command that reproduces one run of a sweep.
pub fn reproduce(plan: &Plan, run: &RunSummary) -> String {
    let mutation = match &plan.mutation {
        Some(m) => format!(" --mutation {m}"),
        None => String::new(),
    };
    let entry = &plan.scenarios[run.scenario];
    format!(
        "raftsim run {} --seed {}{mutation}{}",
        entry.path,
        run.seed,
        crate::implementation::flag(entry.scenario.implementation)
    )
}

/// One failing run in a sweep report.
#[derive(Clone, Debug, Serialize)]
pub struct FailureReport {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The invariant broken.
    pub invariant: &'static str,
    /// When, in simulated time.
    pub time_ns: u64,
    /// What was seen (first line).
    pub detail: String,
    /// The command that replays the run.
    pub reproduce: String,
}

/// One situation's count in a sweep report.
#[derive(Clone, Debug, Serialize)]
pub struct SituationReport {
    /// The situation's name.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Times it occurred, all runs together.
    pub count: u64,
    /// Runs in which it occurred at least once.
    pub runs: u64,
}

/// The summary of a sweep, for people (`human`) and machines (serialized).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The scenario files.
    pub scenarios: Vec<String>,
    /// The seed range.
    pub seeds: SeedRange,
    /// This machine's shard, `K/N`.
    pub shard: String,
    /// Threads.
    pub jobs: usize,
    /// The mutation, if any.
    pub mutation: Option<String>,
    /// Runs planned for this shard.
    pub planned: u64,
    /// Runs finished.
    pub runs: u64,
    /// Runs that found a violation.
    pub failed: u64,
    /// Runs whose history check ran out of steps ("unknown").
    pub linearizability_unknown: u64,
    /// Runs stopped at the event budget.
    pub budget_exhausted: u64,
    /// Stopped by Ctrl-C.
    pub interrupted: bool,
    /// Stopped by `--fail-fast` at the first failure.
    pub stopped_at_failure: bool,
    /// Events simulated, all runs.
    pub events: u64,
    /// Wall-clock seconds, measured by the caller.
    pub wall_s: f64,
    /// Runs per wall-clock second.
    pub seeds_per_s: f64,
    /// Failing runs per invariant.
    pub failures_by_invariant: BTreeMap<&'static str, u64>,
    /// The failing runs, in (scenario, seed) order.
    pub failures: Vec<FailureReport>,
    /// Every situation, with how often and in how many runs it was reached.
    pub situations: Vec<SituationReport>,
    /// Runs whose scenario sets liveness deadlines.
    pub liveness_checked: u64,
    /// Of those, runs that missed a deadline.
    pub liveness_failed: u64,
    /// Time to a leader after each kind of fault, over all runs.
    pub recovery: Vec<RecoveryReport>,
    /// Clients' drain time after the fault window, over the runs that have one.
    pub drain: DrainReport,
}

/// Clients' drain times after the fault window, over a sweep's runs.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct DrainReport {
    /// Runs with clients and a fault window that ended.
    pub runs: u64,
    /// Of those, runs in which an operation in flight at the window's end never completed.
    pub never: u64,
    /// Mean drain time over the others.
    pub mean_ns: u64,
    /// Longest drain time.
    pub max_ns: u64,
}

impl DrainReport {
    fn new(runs: &[RunSummary]) -> DrainReport {
        let mut d = DrainReport::default();
        let mut total = 0u64;
        for drain in runs.iter().filter_map(|r| r.drain_ns) {
            d.runs += 1;
            match drain {
                None => d.never += 1,
                Some(ns) => {
                    total += ns;
                    d.max_ns = d.max_ns.max(ns);
                }
            }
        }
        d.mean_ns = total.checked_div(d.runs - d.never).unwrap_or(0);
        d
    }
}

impl Report {
    /// The report of `sweep`, run from `plan` in `wall_s` seconds.
    pub fn new(plan: &Plan, sweep: &Sweep, wall_s: f64) -> Report {
        let failures = sweep
            .failures()
            .map(|run| {
                let v = run.violation.as_ref().expect("a failure");
                FailureReport {
                    scenario: plan.scenarios[run.scenario].scenario.name.clone(),
                    seed: run.seed,
                    invariant: v.invariant.name(),
                    time_ns: v.time_ns,
                    detail: v.detail.lines().next().unwrap_or("").to_string(),
                    reproduce: reproduce(plan, run),
                }
            })
            .collect::<Vec<_>>();
        let total = sweep.situations();
        let situations = total
            .list()
            .into_iter()
            .enumerate()
            .map(|(i, (name, description, count))| SituationReport {
                name,
                description,
                count,
                runs: sweep
                    .runs
                    .iter()
                    .filter(|r| r.situations.list()[i].2 > 0)
                    .count() as u64,
            })
            .collect();
        let runs = sweep.runs.len() as u64;
        Report {
            scenarios: plan.scenarios.iter().map(|s| s.path.clone()).collect(),
            seeds: plan.seeds,
            shard: format!("{}/{}", plan.shard.index, plan.shard.count),
            jobs: plan.jobs,
            mutation: plan.mutation.clone(),
            planned: sweep.planned,
            runs,
            failed: failures.len() as u64,
            linearizability_unknown: sweep
                .runs
                .iter()
                .filter(|r| r.linearizability == Some(Verdict::Unknown))
                .count() as u64,
            budget_exhausted: sweep.runs.iter().filter(|r| r.budget_exhausted).count() as u64,
            interrupted: sweep.interrupted,
            stopped_at_failure: sweep.stopped_at_failure,
            events: sweep.events(),
            wall_s,
            seeds_per_s: if wall_s > 0.0 {
                runs as f64 / wall_s
            } else {
                0.0
            },
            failures_by_invariant: sweep.failures_by_invariant(),
            failures,
            situations,
            liveness_checked: sweep
                .runs
                .iter()
                .filter(|r| {
                    let l = &plan.scenarios[r.scenario].scenario.liveness;
                    l.leader_within_ns.is_some() || l.clients_within_ns.is_some()
                })
                .count() as u64,
            liveness_failed: sweep
                .failures_by_invariant()
                .get("liveness")
                .copied()
                .unwrap_or(0),
            recovery: RecoveryReport::list(&sweep.recovery()),
            drain: DrainReport::new(&sweep.runs),
        }
    }

    /// The human summary.
    pub fn human(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let verdict = match (self.failed, self.interrupted) {
            (0, false) => "PASS",
            (0, true) => "INTERRUPTED",
            _ => "FAIL",
        };
        let _ = writeln!(s, "{verdict}  sweep of {}", self.scenarios.join(" "));
        let mutation = self
            .mutation
            .as_ref()
            .map(|m| format!(", mutation {m}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "seeds        {}..={} (shard {}), {} jobs{mutation}",
            self.seeds.first, self.seeds.last, self.shard, self.jobs
        );
        let _ = writeln!(
            s,
            "runs         {} of {} in {:.1} s ({:.1} seeds/s, {} events)",
            self.runs, self.planned, self.wall_s, self.seeds_per_s, self.events
        );
        if self.interrupted {
            let _ = writeln!(
                s,
                "             interrupted: the counts cover the runs finished"
            );
        }
        if self.stopped_at_failure {
            let _ = writeln!(
                s,
                "             --fail-fast: stopped at the first failing seed"
            );
        }
        let _ = writeln!(s, "failed       {}", self.failed);
        for (invariant, count) in &self.failures_by_invariant {
            let _ = writeln!(s, "  {invariant:<28} {count}");
        }
        if self.linearizability_unknown > 0 {
            let _ = writeln!(
                s,
                "unknown      {} runs whose history check ran out of steps",
                self.linearizability_unknown
            );
        }
        if self.budget_exhausted > 0 {
            let _ = writeln!(
                s,
                "budget       {} runs stopped at the event budget",
                self.budget_exhausted
            );
        }
        if self.liveness_checked > 0 {
            let _ = writeln!(
                s,
                "liveness     {} of {} runs with deadlines met them",
                self.liveness_checked - self.liveness_failed,
                self.liveness_checked
            );
        }
        if self.drain.runs > 0 {
            let d = &self.drain;
            let _ = writeln!(
                s,
                "drain        clients done {:.1} ms (mean), {:.1} ms (max) after the fault window; never in {} of {} runs",
                d.mean_ns as f64 / 1e6,
                d.max_ns as f64 / 1e6,
                d.never,
                d.runs
            );
        }
        RecoveryReport::human(&self.recovery, &mut s);
        const FAILURES_SHOWN_MAX: usize = 50;
        if !self.failures.is_empty() {
            let _ = writeln!(s, "\nfailing seeds");
            for f in self.failures.iter().take(FAILURES_SHOWN_MAX) {
                let _ = writeln!(
                    s,
                    "  {} seed {}: {}: {}",
                    f.scenario, f.seed, f.invariant, f.detail
                );
                let _ = writeln!(s, "    {}", f.reproduce);
            }
            if self.failures.len() > FAILURES_SHOWN_MAX {
                let more = self.failures.len() - FAILURES_SHOWN_MAX;
                let _ = writeln!(s, "  ... and {more} more (all of them in --json)");
            }
        }
        let _ = writeln!(s, "\nsituations reached              times     runs");
        for sit in &self.situations {
            let _ = writeln!(s, "  {:<30} {:>8} {:>8}", sit.name, sit.count, sit.runs);
        }
        let never: Vec<&str> = self
            .situations
            .iter()
            .filter(|x| x.count == 0)
            .map(|x| x.name)
            .collect();
        if !never.is_empty() {
            let _ = writeln!(s, "never reached: {}", never.join(", "));
        }
        s
    }
}
