//! `raftsim shrink`: a failing run made into the smallest scenario file that still fails the
//! same way.
//!
//! 1. Run the scenario with the seed; it must fail. Its invariant is the target: a candidate
//!    counts only if it breaks the same one.
//! 2. Make it explicit: the run's [`Explicit`] record becomes the file's `[[schedule]]` (every
//!    drawn fault at its exact time, every nemesis at the time it was armed), `workload.at`
//!    (the proposals' times) and `[[operation]]`s (the clients' operations), with every
//!    random fault knob and the swarm draw switched off. The file no longer depends on the
//!    draw order of faults and workload. If the explicit file does not fail, shrinking goes
//!    on from the file as it was, with only its own `[[schedule]]` to cut.
//! 3. Repeat until a round changes nothing: cut the duration to the violation; for a
//!    linearizability violation keep only the checker's minimal sub-history; keep only the
//!    last stretch before the violation; move everything earlier; drop or thin each kind of
//!    item, each client's and each key's operations; ddmin's complement steps, one pass per
//!    chunk size; fewer nodes; fewer clients; random knobs off (loss, duplication,
//!    reordering, latency and sync spread, torn writes, clock offset and drift), snapshot
//!    thresholds halved, bounds that cannot be the target (liveness, `[[expect]]`) dropped;
//!    settings nothing reads back to their defaults.
//! 4. A candidate counts if it fails with its seed or one of the next `seeds - 1`: once
//!    faults and workload are listed, a seed is only jitter, and most failures move with any
//!    change of timing. Once a round changes nothing, the rounds run again with four times
//!    the seeds, twice (unless `seeds` is 1).
//!
//! Every candidate is written as a scenario file and parsed back before it runs, so what is
//! kept is always a valid file. The result depends only on the scenario, the seed, the
//! mutation and which candidates fail: not on `jobs` (a batch keeps its first failing
//! candidate in list order) and not on time, unless `stop` cuts it short.

use crate::checker::Invariant;
use crate::node::NodeId;
use crate::pool;
use crate::scenario::{self, Action, FaultSettings, Scenario, ScheduledAction, ScriptedOp};
use crate::sim::{Explicit, RunOptions};
use std::sync::atomic::AtomicBool;

/// Seeds a candidate may fail with, by default (see [`Request::seeds`]).
pub const SEEDS_DEFAULT: u64 = 4;
/// Times the seeds per candidate are multiplied by `WIDENING_FACTOR` once the rounds change
/// nothing: 4, then 16, then 64 seeds by default.
const WIDENINGS_MAX: usize = 2;
/// See `WIDENINGS_MAX`.
const WIDENING_FACTOR: u64 = 4;
/// Rounds of the reduction loop, at most (each round that changes nothing ends it).
const ROUNDS_MAX: usize = 8;
/// Probes of the binary search for the shortest duration.
const DURATION_PROBES_MAX: usize = 12;
/// Halvings of one kind of item, at most.
const THIN_STEPS_MAX: usize = 12;
/// Fewer items of a kind than this are left to the removal passes.
const THIN_ITEMS_MIN: usize = 8;
/// Times one knob is applied in a row, at most (halving a threshold).
const KNOB_STEPS_MAX: usize = 16;
/// Passes removing single items, at most.
const SINGLE_PASSES_MAX: usize = 3;
/// One millisecond in nanoseconds.
const MS: u64 = 1_000_000;

/// What to shrink, and how.
#[derive(Clone, Debug)]
pub struct Request {
    /// The scenario as loaded.
    pub scenario: Scenario,
    /// The seed of the failing run.
    pub seed: u64,
    /// The mutation of the failing run.
    pub mutation: Option<String>,
    /// Threads for candidate runs.
    pub jobs: usize,
    /// Stop after making the run explicit: the same run, written down, nothing cut.
    pub explicit_only: bool,
    /// Seeds a candidate may fail with: its own, then the next `seeds - 1`. More than one
    /// lets a smaller file that fails the same way with a nearby seed count: most failures
    /// move with every change of timing, and a seed is only the network's, disks' and nodes'
    /// jitter once faults and workload are listed.
    pub seeds: u64,
}

/// How big a scenario and its run are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// Events of the run.
    pub events: u64,
    /// `[[schedule]]` actions the file lists.
    pub actions: u64,
    /// Random fault kinds switched on (`*_every`, `churn_every`, clock jumps).
    pub random_fault_kinds: u64,
    /// Proposals the file lists (`workload.at`), or the workload's `count`.
    pub proposals: u64,
    /// Client operations the file lists (`[[operation]]`), or `clients.operations`.
    pub operations: u64,
    /// Nodes.
    pub nodes: u64,
    /// Clients.
    pub clients: u64,
    /// The run's duration.
    pub duration_ns: u64,
}

impl Sizes {
    fn of(s: &Scenario, events: u64) -> Sizes {
        let kinds = random_fault_knobs(&mut s.clone()).map(|every| every.is_some());
        let proposals = match s.workload.at_ns.len() {
            0 if s.workload.rate_per_s > 0.0 => s.workload.count,
            n => n as u64,
        };
        Sizes {
            events,
            actions: s.schedule.len() as u64,
            random_fault_kinds: kinds.iter().filter(|&&on| on).count() as u64,
            proposals,
            operations: if s.clients.count == 0 {
                0
            } else {
                s.clients.operations
            },
            nodes: s.nodes,
            clients: s.clients.count,
            duration_ns: s.duration_ns,
        }
    }

    /// Schedule actions and operations (proposals and client operations) together: what the
    /// shrink benchmark bounds.
    pub fn actions_and_operations(&self) -> u64 {
        self.actions + self.proposals + self.operations
    }
}

/// The smallest failing scenario found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The scenario.
    pub scenario: Scenario,
    /// The invariant it breaks, as the original run did.
    pub invariant: Invariant,
    /// The original scenario and run.
    pub before: Sizes,
    /// The result and its run.
    pub after: Sizes,
    /// The explicit form of the original run failed the same way (else shrinking went on
    /// from the file as written).
    pub explicit: bool,
    /// The explicit form's run was the original run, event for event (same trace hash).
    pub explicit_exact: bool,
    /// Candidate runs, counted up to each batch's first failing candidate (so a function of
    /// the request, whatever `jobs`).
    pub runs: u64,
    /// False if `stop` ended shrinking early: a smaller file may exist.
    pub complete: bool,
}

/// Why shrinking could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShrinkError {
    /// The seed passes: there is nothing to shrink.
    Passes {
        /// Events of the run.
        events: u64,
    },
    /// The run could not start (a bad mutation name or setting).
    Run(String),
}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::Passes { events } => write!(
                f,
                "the run passes ({events} events, no violation): there is nothing to shrink; \
                 give a seed that fails (`raftsim sweep` or `raftsim hunt` finds one)"
            ),
            ShrinkError::Run(e) => write!(f, "the run cannot start: {e}"),
        }
    }
}

/// One thing ddmin may leave out.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Action(ScheduledAction),
    Proposal(u64),
    Operation(ScriptedOp),
}

impl Item {
    fn at_ns(&self) -> u64 {
        match self {
            Item::Action(a) => a.at_ns,
            Item::Proposal(t) => *t,
            Item::Operation(o) => o.at_ns,
        }
    }
}

/// A scenario taken apart: the items, and the rest.
#[derive(Clone, Debug)]
struct Form {
    rest: Scenario,
    items: Vec<Item>,
    /// The workload and the operations are lists (else they are drawn, and only the
    /// file's own schedule is in `items`).
    explicit: bool,
}

impl Form {
    fn new(s: &Scenario, explicit: bool) -> Form {
        let mut items: Vec<Item> = s.schedule.iter().cloned().map(Item::Action).collect();
        if explicit {
            items.extend(s.workload.at_ns.iter().map(|&t| Item::Proposal(t)));
            items.extend(s.operations.iter().cloned().map(Item::Operation));
        }
        items.sort_by_key(Item::at_ns);
        let mut rest = s.clone();
        rest.schedule.clear();
        if explicit {
            rest.workload.at_ns.clear();
            rest.operations.clear();
        }
        Form {
            rest,
            items,
            explicit,
        }
    }

    fn with_items(&self, items: Vec<Item>) -> Form {
        Form {
            items,
            ..self.clone()
        }
    }

    fn scenario(&self) -> Scenario {
        let mut s = self.rest.clone();
        for item in &self.items {
            match item {
                Item::Action(a) => s.schedule.push(a.clone()),
                Item::Proposal(t) => s.workload.at_ns.push(*t),
                Item::Operation(o) => s.operations.push(o.clone()),
            }
        }
        if self.explicit {
            s.workload.rate_per_s = 0.0;
            s.workload.count = 0;
            s.clients.operations = s.operations.iter().filter(|o| o.op.is_some()).count() as u64;
        }
        s
    }
}

/// The outcome of one candidate that failed as wanted.
#[derive(Clone, Debug)]
struct Failing {
    events: u64,
    violation_ns: u64,
    /// The seed it fails with.
    seed: u64,
    /// For a linearizability violation, the operations of the checker's minimal failing
    /// sub-history, each as (client, its n-th operation from 0).
    evidence: Vec<(u64, usize)>,
}

/// The operations of a linearizability report's minimal sub-histories, each as (client, its
/// n-th operation from 0) in the run's history.
fn evidence(outcome: &crate::Outcome) -> Vec<(u64, usize)> {
    let Some(report) = &outcome.linearizability else {
        return Vec::new();
    };
    let history = &outcome.history;
    let invoke = crate::history::EventKind::Invoke;
    let mut found: Vec<(u64, usize)> = (report.keys.iter())
        .flat_map(|k| &k.minimal)
        .filter_map(|op| {
            let pos = usize::try_from(op.invoke_pos).ok()?;
            let client = history.get(pos)?.process;
            let nth = (history[..pos].iter())
                .filter(|e| e.process == client && e.kind == invoke)
                .count();
            Some((client, nth))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

struct Shrinker<'a> {
    /// Seeds tried per candidate: its own, then the next ones.
    seeds: u64,
    mutation: Option<String>,
    target: Invariant,
    /// The condition the original run failed, for an expectation or a liveness failure: a
    /// candidate failing another one (a 1-node cluster that commits nothing, say) does not
    /// count.
    clause: Option<String>,
    jobs: usize,
    stop: &'a AtomicBool,
    runs: u64,
    stopped: bool,
}

impl Shrinker<'_> {
    /// Runs `s` with its seed, then the next seeds, until one breaks the target invariant;
    /// with the runs made.
    fn check(&self, s: &Scenario) -> (u64, Option<Failing>) {
        for k in 0..self.seeds {
            let seed = s.seed.wrapping_add(k);
            let options = RunOptions {
                keep_trace: false,
                mutation: self.mutation.clone(),
                events_max: None,
            };
            let Ok(outcome) = crate::run(s, seed, options) else {
                return (k + 1, None);
            };
            if let Some(v) = outcome
                .violation
                .as_ref()
                .filter(|v| v.invariant == self.target && v.clause == self.clause)
            {
                let failing = Failing {
                    events: outcome.trace.len(),
                    violation_ns: v.time_ns,
                    seed,
                    evidence: evidence(&outcome),
                };
                return (k + 1, Some(failing));
            }
        }
        (self.seeds, None)
    }

    /// The first candidate (in list order) that is a valid file and fails as wanted, with its
    /// position. Invalid candidates count as passing.
    fn first_failing(&mut self, candidates: &[Scenario]) -> Option<(usize, Scenario, Failing)> {
        if self.stopped || candidates.is_empty() {
            return None;
        }
        let batch = pool::run(
            candidates,
            self.jobs,
            self.stop,
            true,
            |s| match reparse(s) {
                Some(s) => match self.check(&s) {
                    (runs, Some(failing)) => (runs, Some((s, failing))),
                    (runs, None) => (runs, None),
                },
                None => (0, None),
            },
            |(_, found)| found.is_some(),
            |_, _| {},
        );
        self.runs += batch.results.iter().map(|(_, (runs, _))| runs).sum::<u64>();
        if batch.interrupted {
            self.stopped = true;
            return None;
        }
        let index = batch.first_failure?;
        let (_, (_, result)) = batch.results.into_iter().find(|(i, _)| *i == index)?;
        let (s, failing) = result?;
        Some((index, s, failing))
    }

    /// Keeps the first candidate form that fails.
    fn try_forms(&mut self, forms: Vec<Form>) -> Option<(Form, Failing)> {
        self.try_forms_at(forms)
            .map(|(_, form, failing)| (form, failing))
    }

    /// The first candidate form that fails, with its position.
    fn try_forms_at(&mut self, forms: Vec<Form>) -> Option<(usize, Form, Failing)> {
        let scenarios: Vec<Scenario> = forms.iter().map(Form::scenario).collect();
        let (index, _, failing) = self.first_failing(&scenarios)?;
        let mut form = forms.into_iter().nth(index)?;
        form.rest.seed = failing.seed;
        Some((index, form, failing))
    }
}

/// The scenario as its file reads back: what a user would run. `None` if it is not valid.
fn reparse(s: &Scenario) -> Option<Scenario> {
    scenario::parse("shrink candidate", &s.to_toml()).ok()
}

/// Shrinks the failing run of `request`. `stop` ends it early (a deadline or Ctrl-C), with
/// the smallest failing scenario found so far.
pub fn shrink(request: &Request, stop: &AtomicBool) -> Result<Shrunk, ShrinkError> {
    let options = RunOptions {
        keep_trace: false,
        mutation: request.mutation.clone(),
        events_max: None,
    };
    let original =
        crate::run(&request.scenario, request.seed, options).map_err(ShrinkError::Run)?;
    let Some(violation) = &original.violation else {
        return Err(ShrinkError::Passes {
            events: original.trace.len(),
        });
    };
    let before = Sizes::of(&request.scenario, original.trace.len());
    let mut shrinker = Shrinker {
        seeds: request.seeds.max(1),
        mutation: request.mutation.clone(),
        target: violation.invariant,
        clause: violation.clause.clone(),
        jobs: request.jobs.clamp(1, pool::JOBS_MAX),
        stop,
        runs: 1,
        stopped: false,
    };
    let mut drawn = without_swarm(&request.scenario, request.seed);
    drawn.seed = request.seed;
    let as_written = Failing {
        events: original.trace.len(),
        violation_ns: violation.time_ns,
        seed: request.seed,
        evidence: evidence(&original),
    };
    let mut explicit_exact = false;
    let (mut form, mut failing) = match &original.explicit {
        Some(record) => {
            let candidate = Form::new(&make_explicit(&drawn, record), true);
            // The explicit file must fail with the run's own seed: it is that run.
            let seeds = std::mem::replace(&mut shrinker.seeds, 1);
            let tried = shrinker.try_forms(vec![candidate]);
            shrinker.seeds = seeds;
            match tried {
                Some((form, failing)) => {
                    explicit_exact = failing.seed == request.seed
                        && exact(&form, &shrinker, original.trace.hash());
                    (form, failing)
                }
                None => (Form::new(&drawn, false), as_written),
            }
        }
        None => (Form::new(&drawn, false), as_written),
    };
    let explicit = form.explicit;
    let rounds = if request.explicit_only { 0 } else { ROUNDS_MAX };
    // Once a round changes nothing, the same steps again with four times the seeds per
    // candidate: a cut that fails only with some nearby seed is still a smaller file that
    // fails the same way.
    for widening in 0..=WIDENINGS_MAX {
        if widening > 0 {
            if shrinker.seeds == 1 {
                break; // One seed asked for: the original seed throughout.
            }
            shrinker.seeds = shrinker.seeds.saturating_mul(WIDENING_FACTOR);
        }
        for _ in 0..rounds {
            let size_before = size_key(&form);
            (form, failing) = round(&mut shrinker, form, failing);
            if size_key(&form) == size_before || shrinker.stopped {
                break;
            }
        }
        if shrinker.stopped {
            break;
        }
    }
    let scenario = form.scenario();
    Ok(Shrunk {
        after: Sizes::of(&scenario, failing.events),
        scenario,
        invariant: shrinker.target,
        before,
        explicit,
        explicit_exact,
        runs: shrinker.runs,
        complete: !shrinker.stopped,
    })
}

/// Every step once, in order.
fn round(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let (form, failing) = shorten(sh, form, failing);
    let (form, failing) = keep_evidence(sh, form, failing);
    let (form, failing) = keep_recent(sh, form, failing);
    let (form, failing) = move_earlier(sh, form, failing);
    let (form, failing) = cut_items(sh, form, failing);
    let (form, failing) = fewer_nodes(sh, form, failing);
    let (form, failing) = fewer_clients(sh, form, failing);
    let (form, failing) = knobs_off(sh, form, failing);
    tidy(sh, form, failing)
}

/// A measure that every accepted step lowers, for the loop's end.
fn size_key(form: &Form) -> (usize, u64, u64, u64, String) {
    let s = form.scenario();
    (
        form.items.len(),
        s.nodes,
        s.clients.count,
        s.duration_ns,
        s.to_toml(),
    )
}

/// The explicit form's run is the original one if its trace hash is the same.
fn exact(form: &Form, shrinker: &Shrinker<'_>, hash: u64) -> bool {
    let options = RunOptions {
        keep_trace: false,
        mutation: shrinker.mutation.clone(),
        events_max: None,
    };
    let s = form.scenario();
    crate::run(&s, s.seed, options).is_ok_and(|o| o.trace.hash() == hash)
}

/// The scenario this seed ran: with `[swarm]`, its draw, then the swarm off.
fn without_swarm(s: &Scenario, seed: u64) -> Scenario {
    let mut s = match s.swarm.enabled {
        true => crate::swarm::draw(s, seed).0,
        false => s.clone(),
    };
    s.swarm.enabled = false;
    s
}

/// `s` (swarm already drawn) with every random fault, the membership churn and the workload
/// replaced by what the run did.
pub fn make_explicit(s: &Scenario, record: &Explicit) -> Scenario {
    let mut s = s.clone();
    random_faults_off(&mut s);
    s.schedule = record.actions.clone();
    s.workload.at_ns = record.proposals_ns.clone();
    s.workload.rate_per_s = 0.0;
    s.workload.count = 0;
    s.operations = record.operations.clone();
    s.clients.operations = s.operations.iter().filter(|o| o.op.is_some()).count() as u64;
    s
}

/// Switches off every random fault kind (their occurrences are in the schedule now).
fn random_faults_off(s: &mut Scenario) {
    for every in random_fault_knobs(s) {
        *every = None;
    }
}

/// The mean interval of every random fault kind, the clock jumps and the membership churn.
fn random_fault_knobs(s: &mut Scenario) -> [&mut Option<u64>; 19] {
    let f = &mut s.faults;
    [
        &mut f.crash_every_ns,
        &mut f.partition_every_ns,
        &mut f.pause_every_ns,
        &mut f.clog_every_ns,
        &mut f.one_way_every_ns,
        &mut f.bridge_every_ns,
        &mut f.isolate_leader_every_ns,
        &mut f.crash_leader_every_ns,
        &mut f.partition_after_append_every_ns,
        &mut f.drop_quorum_ack_every_ns,
        &mut f.crash_before_sync_every_ns,
        &mut f.crash_after_send_every_ns,
        &mut f.hold_stale_every_ns,
        &mut f.replay_old_every_ns,
        &mut f.crash_during_snapshot_every_ns,
        &mut f.change_while_down_every_ns,
        &mut f.crash_at_io_every_ns,
        &mut s.clocks.jump_every_ns,
        &mut s.membership.churn_every_ns,
    ]
}

// ---- Steps: each returns the form it keeps and that form's failing run. -------------------

/// The run stops at a safety violation: nothing after it matters. A violation found at the
/// end (linearizability, an acknowledged write lost) leaves a binary search for the shortest
/// duration that still fails.
fn shorten(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let duration_ns = form.rest.duration_ns;
    if failing.violation_ns < duration_ns {
        if let Some(kept) = sh.try_forms(vec![with_duration(&form, failing.violation_ns)]) {
            return kept;
        }
    }
    let mut best = (form, failing);
    let floor_ns = best.0.items.iter().map(Item::at_ns).max().unwrap_or(0);
    let (mut lo, mut hi) = (floor_ns, best.0.rest.duration_ns);
    for _ in 0..DURATION_PROBES_MAX {
        if hi - lo <= MS {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        match sh.try_forms(vec![with_duration(&best.0, mid)]) {
            Some(kept) => {
                hi = mid;
                best = kept;
            }
            None => lo = mid,
        }
    }
    best
}

/// `form` ending at `duration_ns`: items after it dropped, the fault window and the
/// `[[expect]]` stretches clamped to it.
fn with_duration(form: &Form, duration_ns: u64) -> Form {
    // Whole milliseconds read better, and the run stops at the violation anyway.
    let duration_ns = duration_ns.div_ceil(MS).max(1) * MS;
    let mut f = form.clone();
    let s = &mut f.rest;
    s.duration_ns = duration_ns;
    s.faults.until_ns = s.faults.until_ns.min(duration_ns);
    s.expect.retain(|e| e.to_ns <= duration_ns);
    // A start at or after the end is refused by the file: nothing started there anyway.
    let start_default_ns = s.bare().map_or(0, |d| d.workload.start_ns);
    if s.workload.start_ns >= duration_ns {
        s.workload.count = 0;
        s.workload.rate_per_s = 0.0;
        s.workload.start_ns = start_default_ns;
    }
    if s.clients.start_ns >= duration_ns {
        s.clients.start_ns = start_default_ns;
    }
    f.items.retain(|i| i.at_ns() <= duration_ns);
    f
}

/// Settings nothing reads any more back to their defaults, so that the file shows only what
/// matters: the random faults' ranges once none is drawn, the clients' drawing settings once
/// they run listed operations (or there are none), the workload's once it is listed.
fn tidy(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let Some(d) = form.rest.bare() else {
        return (form, failing);
    };
    let mut f = form.clone();
    let s = &mut f.rest;
    if Sizes::of(s, 0).random_fault_kinds == 0 {
        let until_ns = s.faults.until_ns;
        s.faults = FaultSettings {
            until_ns,
            ..d.faults
        };
        s.clocks.jump_min_ns = d.clocks.jump_min_ns;
        s.clocks.jump_max_ns = d.clocks.jump_max_ns;
        s.membership.voters_min = d.membership.voters_min.min(s.membership.initial);
        s.membership.voters_max = d.membership.voters_max;
    }
    if form.explicit || s.clients.count == 0 {
        let c = &mut s.clients;
        let kept = (
            c.count,
            c.operations,
            c.timeout_ns,
            c.attempts_max,
            c.start_ns,
        );
        *c = d.clients.clone();
        (c.count, c.operations) = (kept.0, kept.1);
        if kept.0 > 0 {
            (c.timeout_ns, c.attempts_max, c.start_ns) = (kept.2, kept.3, kept.4);
        }
    }
    if form.explicit || s.workload.count == 0 {
        s.workload.rate_per_s = 0.0;
        s.workload.count = 0;
        s.workload.start_ns = d.workload.start_ns;
    }
    if f.rest == form.rest {
        return (form, failing);
    }
    sh.try_forms(vec![f]).unwrap_or((form, failing))
}

/// ddmin (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input", 2002)
/// over the items, after trying to drop each kind of item at once.
fn cut_items(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let mut best = (form, failing);
    let kinds: [fn(&Item) -> bool; 3] = [
        |i| matches!(i, Item::Proposal(_)),
        |i| matches!(i, Item::Operation(_)),
        |i| matches!(i, Item::Action(_)),
    ];
    for is_kind in kinds {
        if best.0.items.iter().any(is_kind) {
            let items = best
                .0
                .items
                .iter()
                .filter(|i| !is_kind(i))
                .cloned()
                .collect();
            if let Some(kept) = sh.try_forms(vec![best.0.with_items(items)]) {
                best = kept;
            }
        }
    }
    best = thin(sh, best);
    // Whole groups next: every operation of one client, or on one key.
    for group in groups(&best.0.items) {
        let items: Vec<Item> = (best.0.items.iter())
            .filter(|i| !group(i))
            .cloned()
            .collect();
        if items.len() < best.0.items.len() {
            if let Some(kept) = sh.try_forms(vec![best.0.with_items(items)]) {
                best = kept;
            }
        }
    }
    // ddmin's complement steps (remove one chunk, keep the rest), taken in one pass over the
    // items per chunk size, halving the size down to single items; then passes of single
    // items until one removes nothing. A removal that keeps the failure is kept at once and
    // the pass goes on from the same place, so a pass costs about items / size runs: a
    // failure that every change of timing can move (most of them) never makes it retry
    // chunks it already tried, as restarting ddmin from the first chunk would.
    let mut size = (best.0.items.len() / 2).max(1);
    let mut single_passes = 0;
    while !best.0.items.is_empty() && !sh.stopped {
        let before = best.0.items.len();
        best = removal_pass(sh, best, size);
        if size > 1 {
            size /= 2;
            continue;
        }
        single_passes += 1;
        if best.0.items.len() == before || single_passes >= SINGLE_PASSES_MAX {
            break;
        }
    }
    best
}

/// One pass removing chunks of `size` items, `jobs` candidates at a time.
fn removal_pass(sh: &mut Shrinker<'_>, mut best: (Form, Failing), size: usize) -> (Form, Failing) {
    let mut at = 0;
    while at < best.0.items.len() && !sh.stopped {
        let items = &best.0.items;
        let starts: Vec<usize> = (0..sh.jobs)
            .map(|k| at + k * size)
            .take_while(|&start| start < items.len())
            .collect();
        let forms: Vec<Form> = (starts.iter())
            .map(|&start| {
                let end = (start + size).min(items.len());
                let rest = items[..start]
                    .iter()
                    .chain(&items[end..])
                    .cloned()
                    .collect();
                best.0.with_items(rest)
            })
            .collect();
        match sh.try_forms_at(forms) {
            // The items after the removed chunk moved up to its place: try them next.
            Some((k, form, failing)) => {
                at = starts[k];
                best = (form, failing);
            }
            None => at = starts.last().map_or(usize::MAX, |s| s + size),
        }
    }
    best
}

/// A linearizability violation names the few operations that show it (the checker's minimal
/// sub-history): keep only those, or those and every other operation on their keys.
fn keep_evidence(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    if failing.evidence.is_empty() || !form.explicit {
        return (form, failing);
    }
    // The n-th operation of each client, as the listed order gives it.
    let mut nth_of: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    let mut tagged: Vec<(Item, Option<(u64, usize)>)> = Vec::new();
    for item in &form.items {
        let tag = match item {
            Item::Operation(o) if o.op.is_some() => {
                let n = nth_of.entry(o.client).or_insert(0);
                *n += 1;
                Some((o.client, *n - 1))
            }
            _ => None,
        };
        tagged.push((item.clone(), tag));
    }
    let keys: Vec<String> = (tagged.iter())
        .filter(|(_, tag)| tag.is_some_and(|t| failing.evidence.contains(&t)))
        .filter_map(|(item, _)| match item {
            Item::Operation(ScriptedOp { op: Some(op), .. }) => Some(op.key().to_string()),
            _ => None,
        })
        .collect();
    let keep = |only_evidence: bool| -> Vec<Item> {
        (tagged.iter())
            .filter(|(item, tag)| match (item, tag) {
                (Item::Operation(_), Some(t)) if failing.evidence.contains(t) => true,
                (Item::Operation(ScriptedOp { op: Some(op), .. }), _) => {
                    !only_evidence && keys.iter().any(|k| k == op.key())
                }
                _ => true,
            })
            .map(|(item, _)| item.clone())
            .collect()
    };
    let forms: Vec<Form> = [keep(true), keep(false)]
        .into_iter()
        .filter(|items| items.len() < form.items.len())
        .map(|items| form.with_items(items))
        .collect();
    sh.try_forms(forms).unwrap_or((form, failing))
}

/// Everything moved earlier, so the run is shorter: the items (and the end) by the idle
/// stretch before the first one, or by half of it.
fn move_earlier(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let Some(first_ns) = form.items.iter().map(Item::at_ns).min() else {
        return (form, failing);
    };
    // Not before the clients' and the workload's start, nor into the first election.
    let floor_ns = form.rest.clients.start_ns.min(form.rest.workload.start_ns);
    let idle_ns = first_ns.saturating_sub(floor_ns.max(form.rest.raft.election_timeout_max_ns));
    let forms: Vec<Form> = [idle_ns, idle_ns / 2]
        .into_iter()
        .filter(|&by| by >= MS)
        .map(|by| {
            let mut f = form.clone();
            for item in &mut f.items {
                match item {
                    Item::Action(a) => a.at_ns -= by,
                    Item::Proposal(t) => *t -= by,
                    Item::Operation(o) => o.at_ns -= by,
                }
            }
            let end_ns = f.rest.duration_ns - by;
            with_duration(&f, end_ns)
        })
        .collect();
    sh.try_forms(forms).unwrap_or((form, failing))
}

/// Halves each kind of item while the run still fails: every other proposal (or operation,
/// or action), then every other of those left... A failure that needs load or faults of a
/// kind, but none in particular, keeps failing at half the density, while cutting one
/// stretch out of the run changes what comes after it.
fn thin(sh: &mut Shrinker<'_>, mut best: (Form, Failing)) -> (Form, Failing) {
    let kinds: [fn(&Item) -> bool; 3] = [
        |i| matches!(i, Item::Proposal(_)),
        |i| matches!(i, Item::Operation(_)),
        |i| matches!(i, Item::Action(_)),
    ];
    for is_kind in kinds {
        for _ in 0..THIN_STEPS_MAX {
            if best.0.items.iter().filter(|i| is_kind(i)).count() < THIN_ITEMS_MIN {
                break;
            }
            let forms: Vec<Form> = [0, 1]
                .into_iter()
                .map(|parity| {
                    let mut nth = 0;
                    let items = (best.0.items.iter())
                        .filter(|i| {
                            if !is_kind(i) {
                                return true;
                            }
                            nth += 1;
                            nth % 2 == parity
                        })
                        .cloned()
                        .collect();
                    best.0.with_items(items)
                })
                .collect();
            match sh.try_forms(forms) {
                Some(kept) => best = kept,
                None => break,
            }
        }
    }
    best
}

/// Which items belong to a group.
type Group = Box<dyn Fn(&Item) -> bool>;

/// Tests for the groups of operations worth dropping together: one per client, one per key.
fn groups(items: &[Item]) -> Vec<Group> {
    let mut clients: Vec<u64> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for item in items {
        if let Item::Operation(o) = item {
            clients.push(o.client);
            if let Some(op) = &o.op {
                keys.push(op.key().to_string());
            }
        }
    }
    clients.sort_unstable();
    clients.dedup();
    keys.sort_unstable();
    keys.dedup();
    let mut tests: Vec<Group> = Vec::new();
    for client in clients {
        tests.push(Box::new(
            move |i| matches!(i, Item::Operation(o) if o.client == client),
        ));
    }
    for key in keys {
        tests.push(Box::new(move |i| {
            matches!(i, Item::Operation(ScriptedOp { op: Some(op), .. }) if op.key() == key)
        }));
    }
    tests
}

/// What happens shortly before a violation matters most: keep only the items of the last
/// stretch before it, the shortest of 100 ms, 200 ms, 400 ms... that still fails.
fn keep_recent(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let end_ns = failing.violation_ns.min(form.rest.duration_ns);
    let mut forms = Vec::new();
    let mut window_ns = 100 * MS;
    while window_ns < end_ns {
        let from_ns = end_ns - window_ns;
        let items: Vec<Item> = (form.items.iter())
            .filter(|i| i.at_ns() >= from_ns)
            .cloned()
            .collect();
        if items.len() < form.items.len() && forms.last().is_none_or(|f: &Form| f.items != items) {
            forms.push(form.with_items(items));
        }
        window_ns *= 2;
    }
    sh.try_forms(forms).unwrap_or((form, failing))
}

/// The smallest cluster that still fails: actions that name a node beyond it are dropped.
fn fewer_nodes(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let nodes = form.rest.nodes;
    let forms: Vec<Form> = (1..nodes).map(|k| with_nodes(&form, k)).collect();
    sh.try_forms(forms).unwrap_or((form, failing))
}

fn with_nodes(form: &Form, nodes: u64) -> Form {
    let mut f = form.clone();
    let s = &mut f.rest;
    s.nodes = nodes;
    let m = &mut s.membership;
    m.initial = m.initial.min(nodes);
    m.voters_max = m.voters_max.min(nodes);
    m.voters_min = m.voters_min.min(m.initial).min(m.voters_max);
    s.faults.max_down = s.faults.max_down.min(nodes - 1);
    f.items.retain(|i| match i {
        Item::Action(a) => action_nodes(&a.action).iter().all(|&id| id <= nodes),
        Item::Proposal(_) | Item::Operation(_) => true,
    });
    f
}

/// Every node an action names.
fn action_nodes(action: &Action) -> Vec<NodeId> {
    match action {
        Action::Partition { groups } => groups.iter().flatten().copied().collect(),
        Action::Bridge { groups, node } => {
            let mut ids: Vec<NodeId> = groups.iter().flatten().copied().collect();
            ids.push(*node);
            ids
        }
        Action::OneWay { from, to } | Action::Clog { from, to, .. } => {
            from.iter().chain(to).copied().collect()
        }
        Action::ReplaceServer { from, to } => from.iter().chain(to).copied().collect(),
        Action::Crash { node, .. }
        | Action::Restart { node }
        | Action::Pause { node, .. }
        | Action::ClockJump { node, .. }
        | Action::AddServer { node }
        | Action::RemoveServer { node }
        | Action::ReplaceLeader { node } => vec![*node],
        Action::CrashBeforeSync { node, .. }
        | Action::CrashAfterSend { node, .. }
        | Action::CrashDuringSnapshot { node, .. }
        | Action::CrashAtIo { node, .. } => node.iter().copied().collect(),
        Action::Heal
        | Action::Network { .. }
        | Action::IsolateLeader { .. }
        | Action::CrashLeader { .. }
        | Action::PartitionAfterAppend { .. }
        | Action::DropQuorumAck
        | Action::HoldStale { .. }
        | Action::ReplayOld
        | Action::ChangeWhileDown { .. } => Vec::new(),
    }
}

/// Clients without operations left go, and the rest are numbered from 1; then the smallest
/// client count that still fails when clients draw their work.
fn fewer_clients(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    if !form.explicit {
        return (form, failing);
    }
    let mut used: Vec<u64> = (form.items.iter())
        .filter_map(|i| match i {
            Item::Operation(o) => Some(o.client),
            _ => None,
        })
        .collect();
    used.sort_unstable();
    used.dedup();
    if used.len() as u64 == form.rest.clients.count {
        return (form, failing);
    }
    let mut f = form.clone();
    f.rest.clients.count = used.len() as u64;
    for item in &mut f.items {
        if let Item::Operation(o) = item {
            o.client = used
                .binary_search(&o.client)
                .map_or(o.client, |i| i as u64 + 1);
        }
    }
    sh.try_forms(vec![f]).unwrap_or((form, failing))
}

/// Random knobs switched off, one at a time, each kept if the run still fails.
fn knobs_off(sh: &mut Shrinker<'_>, form: Form, failing: Failing) -> (Form, Failing) {
    let target = sh.target;
    let knobs: [fn(&mut Scenario, Invariant); 14] = [
        |s, t| {
            if t != Invariant::Liveness {
                s.liveness.leader_within_ns = None;
                s.liveness.clients_within_ns = None;
            }
        },
        |s, t| {
            if t != Invariant::Expectation {
                s.expect.clear();
            }
        },
        |s, _| s.network.loss = 0.0,
        |s, _| s.network.duplicate = 0.0,
        |s, _| s.network.reorder = 0.0,
        |s, _| s.network.tail_probability = 0.0,
        |s, _| s.network.latency_max_ns = s.network.latency_min_ns,
        |s, _| s.disk.torn_writes = 0.0,
        |s, _| s.disk.sync_latency_max_ns = s.disk.sync_latency_min_ns,
        |s, _| s.clocks.drift_ppm_max = 0,
        |s, _| s.clocks.offset_max_ns = 0,
        // Smaller thresholds need fewer entries to reach a snapshot, so fewer operations.
        |s, _| s.raft.snapshot_entries /= 2,
        |s, _| s.raft.snapshot_bytes /= 2,
        |s, _| s.raft.snapshot_catch_up_entries /= 2,
    ];
    let mut best = (form, failing);
    // A knob is applied again while the run still fails (halving goes on).
    for knob in knobs {
        for _ in 0..KNOB_STEPS_MAX {
            let mut f = best.0.clone();
            knob(&mut f.rest, target);
            if f.rest == best.0.rest {
                break;
            }
            match sh.try_forms(vec![f]) {
                Some(kept) => best = kept,
                None => break,
            }
        }
    }
    best
}

/// The text of a shrunk scenario file: a header comment (where it came from, the invariant,
/// the sizes before and after, how to run it), then the scenario with only the fields that
/// differ from the defaults.
pub fn file_text(shrunk: &Shrunk, original_command: &str, mutation: Option<&str>) -> String {
    let sizes = |s: &Sizes| {
        format!(
            "{} nodes, {} clients, {}, {} schedule actions, {} random fault kinds, {} proposals, \
             {} client operations; {} events",
            s.nodes,
            s.clients,
            scenario::format_duration(s.duration_ns),
            s.actions,
            s.random_fault_kinds,
            s.proposals,
            s.operations,
            s.events
        )
    };
    let mutation_flag = mutation
        .map(|m| format!(" --mutation {m}"))
        .unwrap_or_default();
    let seed = shrunk.scenario.seed;
    let mut text = String::new();
    text.push_str(&format!(
        "# Shrunk by `raftsim shrink` from: {original_command}\n"
    ));
    text.push_str(&format!(
        "# Invariant: {} (as in the original run)\n",
        shrunk.invariant.name()
    ));
    text.push_str(&format!("# Before: {}\n", sizes(&shrunk.before)));
    text.push_str(&format!("# After:  {}\n", sizes(&shrunk.after)));
    if !shrunk.complete {
        text.push_str("# Stopped before the end: a smaller file may exist.\n");
    }
    text.push_str(&format!(
        "# Run it: raftsim run FILE --seed {seed}{mutation_flag}\n\n"
    ));
    text.push_str(&shrunk.scenario.to_toml_short());
    text
}
