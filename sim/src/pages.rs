//! The data of the HTML pages (`raftsim run --report`, `raftsim sweep --report`): what a run
//! or a sweep shows, as [`reports::model`] pages. `reports` lays them out.

use crate::report::Report;
use crate::sweep::{self, Plan, Sweep};
use crate::timeline;
use crate::trace::{format_time, Event, Record};
use crate::trace_file::{self, Header};
use crate::Outcome;
use reports::model as m;
use std::collections::BTreeMap;

/// Events before a violation that its page lists.
const EVENTS_BEFORE_VIOLATION_MAX: usize = 200;
/// Events of a passing run that its page lists (role changes and faults, from the start).
const EVENTS_OF_A_PASS_MAX: usize = 2_000;
/// Failing runs of a sweep that get a page of their own (each is run again to draw it).
pub const FAILING_RUN_PAGES_MAX: usize = 20;

/// The page of one run kept with its full trace.
pub fn run_page(header: &Header, outcome: &Outcome, report: &Report) -> m::RunPage {
    let facts = trace_file::facts(header, outcome);
    run_page_of(
        header,
        outcome,
        report,
        &facts,
        outcome.trace.all().unwrap_or(&[]),
    )
}

/// The page of one run from its facts and the records kept of it: every record, or those
/// [`Kept`] kept.
pub fn run_page_of(
    header: &Header,
    outcome: &Outcome,
    report: &Report,
    facts: &timeline::RunFacts,
    records: &[Record],
) -> m::RunPage {
    let timeline = timeline::timeline(facts);
    let events = listed_events(records, outcome);
    let ops: Vec<usize> = timeline
        .ops
        .iter()
        .filter(|op| op.highlighted)
        .map(|op| op.id)
        .collect();
    let violations = outcome
        .violation
        .iter()
        .map(|v| m::ViolationText {
            title: format!("{} at {}", v.invariant.name(), format_time(v.time_ns)),
            detail: v.detail.clone(),
            time_ns: v.time_ns,
            events: leading_events(records, v),
            ops: ops.clone(),
        })
        .collect();
    m::RunPage {
        title: format!(
            "{} · seed {} · {}",
            header.scenario, header.seed, report.verdict
        ),
        verdict: report.verdict.to_string(),
        reproduce: report.reproduce.clone(),
        summary: summary(report),
        history: timeline::history_rows(&facts.history, &facts.evidence),
        zoom: zoom_window(outcome),
        timeline,
        violations,
        events,
    }
}

/// How much of the run before a safety violation its page draws again, zoomed in.
const ZOOM_BEFORE_NS: u64 = 300_000_000;
/// And after it (the chart needs a window that ends after the violation's marker).
const ZOOM_AFTER_NS: u64 = 10_000_000;

/// The window before a safety violation, where every message is worth seeing. A history
/// violation is found at the end of the run and its evidence spans it: no zoom.
fn zoom_window(outcome: &Outcome) -> Option<(u64, u64)> {
    use crate::Invariant;
    let v = outcome.violation.as_ref()?;
    if matches!(
        v.invariant,
        Invariant::Linearizability | Invariant::ExactlyOnce
    ) {
        return None;
    }
    let to = v
        .time_ns
        .saturating_add(ZOOM_AFTER_NS)
        .min(outcome.sim_time_ns.max(v.time_ns + 1));
    let from = v.time_ns.saturating_sub(ZOOM_BEFORE_NS);
    (from < to).then_some((from, to))
}

fn summary(report: &Report) -> Vec<(String, String)> {
    let mut rows = vec![
        ("scenario".to_string(), report.scenario_path.clone()),
        ("seed".into(), report.seed.to_string()),
        ("trace hash".into(), report.trace_hash.clone()),
        ("events".into(), report.events.to_string()),
        ("simulated time".into(), format_time(report.sim_time_ns)),
        (
            "terms with a leader".into(),
            report.leaders.len().to_string(),
        ),
        (
            "entries committed".into(),
            report.entries_committed.to_string(),
        ),
        (
            "crashes / restarts".into(),
            format!("{} / {}", report.stats.crashes, report.stats.restarts),
        ),
    ];
    if let Some(c) = &report.clients {
        rows.push((
            "client operations".into(),
            format!(
                "{}: {} ok, {} fail, {} unknown",
                c.operations, c.ok, c.fail, c.info
            ),
        ));
        let verdict = match c.linearizability {
            Some(crate::history::linearizability::Verdict::Linearizable) => "linearizable",
            Some(crate::history::linearizability::Verdict::NotLinearizable) => "not linearizable",
            Some(crate::history::linearizability::Verdict::Unknown) => "unknown (out of steps)",
            None => "not checked (the run stopped at a safety violation)",
        };
        rows.push(("linearizability".into(), verdict.to_string()));
    }
    rows
}

/// The events a page lists: those before the violation, or a passing run's role changes and
/// faults.
fn listed_events(records: &[Record], outcome: &Outcome) -> Vec<m::EventRow> {
    let row = |r: &Record| m::EventRow {
        seq: r.seq,
        time_ns: r.time_ns,
        text: r.to_string(),
    };
    if let Some(v) = &outcome.violation {
        let before: Vec<&Record> = records.iter().filter(|r| r.time_ns <= v.time_ns).collect();
        let from = before.len().saturating_sub(EVENTS_BEFORE_VIOLATION_MAX);
        return before[from..].iter().map(|r| row(r)).collect();
    }
    records
        .iter()
        .filter(|r| worth_listing(&r.event))
        .take(EVENTS_OF_A_PASS_MAX)
        .map(row)
        .collect()
}

/// Events a violation links to: the last role changes, crashes, restarts, pauses and commits
/// of the nodes it names, and the partitions and heals, before it was detected.
const LEADING_EVENTS_MAX: usize = 12;

fn leading_events(records: &[Record], v: &crate::Violation) -> Vec<u64> {
    let involves = |node: &u64| v.nodes.is_empty() || v.nodes.contains(node);
    let leading = |event: &Event| match event {
        Event::Role { node, .. }
        | Event::Crash { node, .. }
        | Event::Restart { node }
        | Event::Join { node }
        | Event::Pause { node, .. }
        | Event::Commit { node, .. } => involves(node),
        Event::Partition { .. }
        | Event::Heal
        | Event::OneWay { .. }
        | Event::Bridge { .. }
        | Event::FaultWindowEnd => true,
        _ => false,
    };
    let before = records.iter().rev().filter(|r| r.time_ns <= v.time_ns);
    // Only events that the page lists can be linked to.
    let mut seqs: Vec<u64> = before
        .take(EVENTS_BEFORE_VIOLATION_MAX)
        .filter(|r| leading(&r.event))
        .take(LEADING_EVENTS_MAX)
        .map(|r| r.seq)
        .collect();
    seqs.reverse();
    seqs
}

/// What a run's chart and page need of it, kept as the run goes and within bounds: its
/// timeline's steps ([`timeline::StepsKept`]), the first records worth listing (a passing
/// run's page lists those), and the last records (a failing run's page lists those before
/// its violation). A chart and a page of a run of any length then need neither every event
/// nor every message in memory.
#[derive(Debug)]
pub struct Kept {
    steps: timeline::StepsKept,
    listed: Vec<Record>,
    recent: std::collections::VecDeque<Record>,
}

/// The last records kept: those a violation's page lists, and as many again for the records
/// that follow the violation in its event.
const RECENT_RECORDS_MAX: usize = 2 * EVENTS_BEFORE_VIOLATION_MAX;

impl Kept {
    /// Keeps what the pictures of a run that ends at `end_ns` need.
    pub fn new(end_ns: u64) -> Kept {
        Kept {
            steps: timeline::StepsKept::new(end_ns),
            listed: Vec::new(),
            recent: std::collections::VecDeque::new(),
        }
    }

    /// Takes the run's next record.
    pub fn add(&mut self, record: &Record) {
        self.steps.add(record);
        if self.listed.len() < EVENTS_OF_A_PASS_MAX && worth_listing(&record.event) {
            self.listed.push(record.clone());
        }
        if self.recent.len() == RECENT_RECORDS_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(record.clone());
    }

    /// The run's facts, and the records kept, in trace order.
    pub fn finish(self, header: &Header, outcome: &Outcome) -> (timeline::RunFacts, Vec<Record>) {
        let (steps, left_out) = self.steps.finish();
        let facts = trace_file::facts_of_steps(header, outcome, steps, left_out);
        let recent_from = self.recent.front().map_or(u64::MAX, |r| r.seq);
        let mut records: Vec<Record> = self
            .listed
            .into_iter()
            .filter(|r| r.seq < recent_from)
            .collect();
        records.extend(self.recent);
        (facts, records)
    }
}

/// A [`crate::trace::RecordSink`] that keeps a run's pictures ([`Kept`]), shared with the
/// caller, and hands every record on to `next` (a trace file's records), if any.
pub struct KeptSink {
    /// What is kept; the caller takes it once the run is over.
    pub kept: std::sync::Arc<std::sync::Mutex<Kept>>,
    /// Where the records go too.
    pub next: Option<Box<dyn crate::trace::RecordSink>>,
}

impl crate::trace::RecordSink for KeptSink {
    fn write(&mut self, record: &Record) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.add(record);
        }
        if let Some(next) = &mut self.next {
            next.write(record);
        }
    }

    fn wants_messages(&self) -> bool {
        // Pictures draw a message from its event alone.
        self.next.as_ref().is_some_and(|next| next.wants_messages())
    }

    fn finish(self: Box<Self>) -> std::io::Result<std::path::PathBuf> {
        match self.next {
            Some(next) => next.finish(),
            None => Ok(std::path::PathBuf::new()),
        }
    }
}

fn worth_listing(event: &Event) -> bool {
    !matches!(
        event,
        Event::Deliver { .. }
            | Event::Drop { .. }
            | Event::Timer { .. }
            | Event::Synced { .. }
            | Event::Commit { .. }
            | Event::ClientRequest { .. }
            | Event::ClientReply { .. }
            | Event::Propose { .. }
    )
}

/// The page of a sweep; `pages` maps (scenario index, seed) to the relative link of a failing
/// run's own page.
pub fn sweep_page(
    plan: &Plan,
    sweep: &Sweep,
    report: &sweep::Report,
    command: &str,
    pages: &BTreeMap<(usize, u64), String>,
) -> m::SweepPage {
    let failures = sweep
        .failures()
        .map(|run| {
            let v = run.violation.as_ref().expect("a failure");
            m::RunLink {
                scenario: plan.scenarios[run.scenario].scenario.name.clone(),
                seed: run.seed,
                verdict: "violation".into(),
                failure: Some(format!(
                    "{} at {}: {}",
                    v.invariant.name(),
                    format_time(v.time_ns),
                    v.detail.lines().next().unwrap_or("")
                )),
                page: pages.get(&(run.scenario, run.seed)).cloned(),
                reproduce: sweep::reproduce(plan, run),
            }
        })
        .collect();
    m::SweepPage {
        title: format!(
            "sweep · {} · seeds {}..{}",
            scenario_names(plan),
            plan.seeds.first,
            plan.seeds.last
        ),
        command: command.to_string(),
        summary: sweep_summary(report),
        failures,
        distributions: distributions(sweep),
        failures_per_invariant: report
            .failures_by_invariant
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        situations: report
            .situations
            .iter()
            .map(|s| m::SituationRow {
                name: s.name.to_string(),
                runs: s.runs,
                times: s.count,
            })
            .collect(),
    }
}

fn scenario_names(plan: &Plan) -> String {
    let names: Vec<&str> = plan
        .scenarios
        .iter()
        .map(|s| s.scenario.name.as_str())
        .collect();
    match names.len() {
        0..=3 => names.join(", "),
        n => format!("{} and {} more", names[..2].join(", "), n - 2),
    }
}

fn sweep_summary(r: &sweep::Report) -> Vec<(String, String)> {
    vec![
        (
            "runs".to_string(),
            format!("{} of {} planned", r.runs, r.planned),
        ),
        ("failed".into(), r.failed.to_string()),
        ("events".into(), r.events.to_string()),
        (
            "wall time".into(),
            format!(
                "{:.1} s ({:.1} runs/s, {} jobs)",
                r.wall_s, r.seeds_per_s, r.jobs
            ),
        ),
        (
            "liveness".into(),
            format!(
                "{} of {} checked runs missed a deadline",
                r.liveness_failed, r.liveness_checked
            ),
        ),
        (
            "history checks out of steps".into(),
            r.linearizability_unknown.to_string(),
        ),
        (
            "mutation".into(),
            r.mutation.clone().unwrap_or_else(|| "none".into()),
        ),
    ]
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The distributions a sweep page draws: time to a leader after a leader crash, client
/// latency, and the time to a leader after each kind of fault.
fn distributions(sweep: &Sweep) -> Vec<m::Distribution> {
    let samples = || sweep.runs.iter().flat_map(|r| &r.recovery_samples);
    let mut out = vec![
        m::Distribution {
            title: "time to a new leader after a leader crash".into(),
            unit: "ms".into(),
            values: samples()
                .filter(|s| s.leader_hit && s.kind.contains("crash"))
                .map(|s| ms(s.took_ns))
                .collect(),
        },
        m::Distribution {
            title: "client operation latency (completed operations)".into(),
            unit: "ms".into(),
            values: sweep
                .runs
                .iter()
                .flat_map(|r| &r.client_latencies_ns)
                .map(|&ns| ms(ns))
                .collect(),
        },
    ];
    let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for s in samples() {
        by_kind.entry(s.kind).or_default().push(ms(s.took_ns));
    }
    out.extend(by_kind.into_iter().map(|(kind, values)| m::Distribution {
        title: format!("time to a leader after a fault: {kind}"),
        unit: "ms".into(),
        values,
    }));
    out
}

/// Most operations of one key a history page draws and lists; the minimal failing
/// sub-history and the longest linearization are always among them.
const HISTORY_KEY_OPS_MAX: usize = 2000;

/// The page about a checked history (`check-history --report`): its summary, then each key,
/// failing keys first, with its operations on the file's times (milliseconds) when every
/// operation has them, else on their event positions.
pub fn history_page_of(checked: &crate::history::cli::Checked) -> m::HistoryPage {
    use crate::history::linearizability::Verdict;
    let timed = checked
        .ops
        .iter()
        .all(|op| op.invoke_ns.is_some() && (op.return_pos.is_none() || op.return_ns.is_some()));
    let mut keys: Vec<&crate::history::linearizability::KeyReport> =
        checked.report.keys.iter().collect();
    let rank = |v: Verdict| match v {
        Verdict::NotLinearizable => 0,
        Verdict::Unknown => 1,
        Verdict::Linearizable => 2,
    };
    // Stable: keys of one verdict stay in the report's order.
    keys.sort_by_key(|k| rank(k.verdict));
    m::HistoryPage {
        title: checked.file.clone(),
        verdict: verdict_name(checked.report.verdict).to_string(),
        summary: checked.summary_rows(),
        axis: if timed { "time (ms)" } else { "event position" }.to_string(),
        keys: keys
            .into_iter()
            .map(|key| history_key(checked, key, timed))
            .collect(),
    }
}

fn verdict_name(v: crate::history::linearizability::Verdict) -> &'static str {
    use crate::history::linearizability::Verdict;
    match v {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable => "not linearizable",
        Verdict::Unknown => "unknown",
    }
}

fn history_key(
    checked: &crate::history::cli::Checked,
    key: &crate::history::linearizability::KeyReport,
    timed: bool,
) -> m::HistoryKey {
    use crate::history::cli::Checked;
    use crate::history::Completion;
    // Operations are told apart by their invocation's position, which is unique.
    let minimal: std::collections::BTreeSet<u64> =
        key.minimal.iter().map(|op| op.invoke_pos).collect();
    let order: BTreeMap<u64, usize> = (key.longest_linearization.iter().enumerate())
        .map(|(i, op)| (op.invoke_pos, i + 1))
        .collect();
    let at = |pos: u64, ns: Option<u64>| match (timed, ns) {
        (true, Some(ns)) => ns as f64 / 1e6,
        _ => pos as f64,
    };
    let of_key: Vec<(usize, &crate::history::Operation)> = (checked.ops.iter().enumerate())
        .filter(|(_, op)| op.key == key.key)
        .collect();
    let evidence = |op: &crate::history::Operation| {
        minimal.contains(&op.invoke_pos) || order.contains_key(&op.invoke_pos)
    };
    // The cap keeps the evidence and then the first operations of the key.
    let mut kept = 0;
    let mut ops = Vec::new();
    for (id, op) in &of_key {
        if !evidence(op) && kept >= HISTORY_KEY_OPS_MAX {
            continue;
        }
        kept += usize::from(!evidence(op));
        ops.push(m::HistoryOp {
            id: *id,
            process: op.process,
            label: Checked::label(op),
            start: at(op.invoke_pos, op.invoke_ns),
            end: op.return_pos.map(|p| at(p, op.return_ns)),
            outcome: match op.completion {
                Completion::Ok(_) => m::OpOutcome::Ok,
                Completion::Fail => m::OpOutcome::Fail,
                Completion::Info => m::OpOutcome::Unknown,
            },
            minimal: minimal.contains(&op.invoke_pos),
            linearized: order.get(&op.invoke_pos).copied(),
            lines: checked.lines_of(op),
        });
    }
    // Where the longest linearization stopped: the first return, among the operations that
    // took effect for sure, that it did not take.
    let stuck_at = match key.verdict {
        crate::history::linearizability::Verdict::Linearizable => None,
        _ if key.longest_linearization.is_empty() && key.minimal.is_empty() => None,
        _ => (of_key.iter())
            .filter(|(_, op)| matches!(op.completion, Completion::Ok(_)))
            .filter(|(_, op)| !order.contains_key(&op.invoke_pos))
            .filter_map(|(_, op)| op.return_pos.map(|p| at(p, op.return_ns)))
            .min_by(f64::total_cmp),
    };
    m::HistoryKey {
        name: match &key.key {
            Some(k) => format!("key {k}"),
            None => "the register".to_string(),
        },
        verdict: verdict_name(key.verdict).to_string(),
        note: checked.key_note(key),
        stuck_at,
        ops_left_out: of_key.len() - ops.len(),
        ops,
    }
}
