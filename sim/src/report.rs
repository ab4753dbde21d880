//! What a run tells its user: a human summary, or one JSON object.

use crate::checker::Invariant;
use crate::checker::Violation;
use crate::history::linearizability::{KeyReport, Verdict};
use crate::history::EventKind;
use crate::sim::{Outcome, Stats};
use crate::trace::format_time;
use serde::Serialize;
use std::fmt::Write as _;

/// The leader of one term.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LeaderOfTerm {
    /// The term.
    pub term: u64,
    /// Its leader.
    pub node: u64,
}

/// The machine-readable result of `raftsim run --json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// "pass" or "violation".
    pub verdict: &'static str,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file.
    pub scenario_path: String,
    /// The seed.
    pub seed: u64,
    /// The trace hash, 16 hex digits.
    pub trace_hash: String,
    /// Events in the trace.
    pub events: u64,
    /// Simulated time reached.
    pub sim_time_ns: u64,
    /// Wall-clock time of the run, measured by the caller (not part of the run).
    pub wall_time_ms: f64,
    /// The violations found (the run stops at the first).
    pub violations: Vec<Violation>,
    /// The leader of each term, by term.
    pub leaders: Vec<LeaderOfTerm>,
    /// Entries known committed.
    pub entries_committed: u64,
    /// Counters.
    pub stats: Stats,
    /// True if the run stopped at the event budget.
    pub budget_exhausted: bool,
    /// The command that reproduces this run.
    pub reproduce: String,
    /// The last events before a safety violation (empty for history checks, whose evidence is
    /// the history itself).
    pub recent_events: Vec<String>,
    /// The clients' operations and the verdict on their history; `None` without clients.
    pub clients: Option<ClientsReport>,
    /// Time to a leader followed by a majority after each kind of fault.
    pub recovery: Vec<RecoveryReport>,
    /// Protocol situations the run reached.
    pub situations: crate::Situations,
    /// The swarm draw of this seed, if the scenario asks for swarm testing.
    pub swarm: Option<String>,
    /// How long after the fault window the clients' operations then in flight took to
    /// complete; `null` without clients or a window end, `"never"` if one did not.
    pub clients_drained_ns: Option<Drain>,
    /// Membership changes requested, completed and abandoned.
    pub membership: crate::sim::MembershipStats,
}

/// The time the clients took to drain after the fault window.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Drain {
    /// Nanoseconds after the window's end.
    After(u64),
    /// Some operation in flight at the window's end never completed.
    Never(&'static str),
}

/// Recovery after one kind of fault.
#[derive(Clone, Debug, Serialize)]
pub struct RecoveryReport {
    /// The fault kind (`partition`, `crash`, `isolate-leader`, ..., `fault-window-end`).
    pub kind: &'static str,
    /// Faults of this kind.
    pub faults: u64,
    /// Faults after which a leader a majority follows was seen before the run ended.
    pub recovered: u64,
    /// Mean time from the fault to that leader.
    pub mean_ns: u64,
    /// Longest time.
    pub max_ns: u64,
}

impl RecoveryReport {
    /// One line per fault kind from `recovery`.
    pub fn list(
        recovery: &std::collections::BTreeMap<&'static str, crate::sim::Recovery>,
    ) -> Vec<RecoveryReport> {
        recovery
            .iter()
            .map(|(&kind, r)| RecoveryReport {
                kind,
                faults: r.faults,
                recovered: r.recovered,
                mean_ns: r.mean_ns(),
                max_ns: r.max_ns,
            })
            .collect()
    }

    /// The lines of a human report.
    pub fn human(list: &[RecoveryReport], s: &mut String) {
        if list.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "  time to a leader after a fault (mean / max, recovered of faults):"
        );
        for r in list {
            let _ = writeln!(
                s,
                "    {:<24} {:>9} / {:>9} ms  {}/{}",
                r.kind,
                format!("{:.1}", r.mean_ns as f64 / 1e6),
                format!("{:.1}", r.max_ns as f64 / 1e6),
                r.recovered,
                r.faults
            );
        }
    }
}

/// What the clients did, and the linearizability verdict on their history.
#[derive(Clone, Debug, Serialize)]
pub struct ClientsReport {
    /// Operations invoked.
    pub operations: u64,
    /// Completed ok.
    pub ok: u64,
    /// Certainly not executed (a failed cas, a refused request).
    pub fail: u64,
    /// Outcome unknown (the client gave up, or its session expired).
    pub info: u64,
    /// Linearizability of the whole history: `linearizable`, `not-linearizable`, `unknown`;
    /// `null` when the run stopped at a safety violation before it could be checked.
    pub linearizability: Option<Verdict>,
    /// Per key verdicts, with the minimal failing sub-history and the longest linearization
    /// of a key that is not linearizable.
    pub keys: Vec<KeyReport>,
}

impl ClientsReport {
    fn new(outcome: &Outcome) -> Option<ClientsReport> {
        if outcome.history.is_empty() {
            return None;
        }
        let count = |kind| outcome.history.iter().filter(|e| e.kind == kind).count() as u64;
        let lin = outcome.linearizability.as_ref();
        Some(ClientsReport {
            operations: count(EventKind::Invoke),
            ok: count(EventKind::Ok),
            fail: count(EventKind::Fail),
            info: count(EventKind::Info),
            linearizability: lin.map(|r| r.verdict),
            keys: lin.map_or(Vec::new(), |r| r.keys.clone()),
        })
    }

    fn human(&self, s: &mut String) {
        let verdict = match self.linearizability {
            Some(Verdict::Linearizable) => "linearizable",
            Some(Verdict::NotLinearizable) => "NOT linearizable",
            Some(Verdict::Unknown) => "unknown (the checker's step budget ran out)",
            None => "not checked",
        };
        let steps: u64 = self.keys.iter().map(|k| k.steps).sum();
        let _ = writeln!(
            s,
            "  clients              {} operations: {} ok, {} fail, {} unknown; history {verdict} ({} keys, {steps} search steps)",
            self.operations,
            self.ok,
            self.fail,
            self.info,
            self.keys.len()
        );
    }
}

impl Report {
    /// Builds the report of a run made with `mutation` (if any).
    pub fn new(
        outcome: &Outcome,
        scenario: &str,
        scenario_path: &str,
        mutation: Option<&str>,
        wall_time_ms: f64,
    ) -> Report {
        let mutation_flag = mutation.map_or(String::new(), |m| format!(" --mutation {m}"));
        let violations: Vec<Violation> = outcome.violation.iter().cloned().collect();
        let history_violation = violations.iter().any(|v| {
            matches!(
                v.invariant,
                Invariant::Linearizability | Invariant::ExactlyOnce
            )
        });
        let recent_events = if violations.is_empty() || history_violation {
            Vec::new()
        } else {
            outcome.trace.recent().map(|r| r.to_string()).collect()
        };
        Report {
            verdict: if !violations.is_empty() {
                "violation"
            } else if outcome.budget_exhausted {
                "budget-exhausted"
            } else {
                "pass"
            },
            scenario: scenario.to_string(),
            scenario_path: scenario_path.to_string(),
            seed: outcome.seed,
            trace_hash: format!("{:016x}", outcome.trace.hash()),
            events: outcome.trace.len(),
            sim_time_ns: outcome.sim_time_ns,
            wall_time_ms,
            violations,
            leaders: outcome
                .leaders
                .iter()
                .map(|(&term, &node)| LeaderOfTerm { term, node })
                .collect(),
            entries_committed: outcome.entries_committed,
            stats: outcome.stats.clone(),
            budget_exhausted: outcome.budget_exhausted,
            reproduce: format!(
                "raftsim run {scenario_path} --seed {}{mutation_flag}{}",
                outcome.seed,
                crate::implementation::flag(outcome.implementation)
            ),
            recent_events,
            clients: ClientsReport::new(outcome),
            recovery: RecoveryReport::list(&outcome.recovery),
            situations: outcome.situations,
            swarm: outcome.swarm.clone(),
            membership: outcome.membership,
            clients_drained_ns: outcome
                .drain_ns
                .map(|d| d.map_or(Drain::Never("never"), Drain::After)),
        }
    }

    /// The human summary.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let verdict = if !self.violations.is_empty() {
            "VIOLATION"
        } else if self.budget_exhausted {
            "BUDGET EXHAUSTED"
        } else {
            "PASS"
        };
        let _ = writeln!(s, "{verdict}  {} seed {}", self.scenario, self.seed);
        if let Some(swarm) = &self.swarm {
            let _ = writeln!(s, "  swarm                {swarm}");
        }
        let leaders: Vec<String> = self
            .leaders
            .iter()
            .map(|l| format!("{}:{}", l.term, l.node))
            .collect();
        let _ = writeln!(s, "  leaders (term:node)  {}", abbreviate(&leaders, 12));
        let st = &self.stats;
        let _ = writeln!(s, "  entries committed    {}", self.entries_committed);
        let _ = writeln!(
            s,
            "  proposals            {} made, {} taken by a leader",
            st.proposals, st.proposals_accepted
        );
        let _ = writeln!(
            s,
            "  messages             {} sent, {} delivered, {} dropped (loss {}, partition {}, down {}, crash {}), {} rejected",
            st.messages_sent,
            st.messages_delivered,
            st.messages_dropped(),
            st.dropped_loss,
            st.dropped_partition,
            st.dropped_down,
            st.dropped_crashed,
            st.messages_rejected
        );
        let _ = writeln!(s, "  faults               {} crashes ({} unsynced writes lost), {} restarts, {} partitions", st.crashes, st.writes_lost, st.restarts, st.partitions);
        let _ = writeln!(
            s,
            "  disk                 {} log entries at most on a node, largest snapshot {} bytes",
            st.disk_log_entries_max, st.disk_snapshot_bytes_max
        );
        let wall_s = self.wall_time_ms / 1000.0;
        let rate = if wall_s > 0.0 {
            self.events as f64 / wall_s
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "  events               {} in {} simulated, {:.1} ms wall, {:.0} events/s",
            self.events,
            format_time(self.sim_time_ns),
            self.wall_time_ms,
            rate
        );
        if let Some(clients) = &self.clients {
            clients.human(&mut s);
        }
        match self.clients_drained_ns {
            Some(Drain::After(ns)) => {
                let _ = writeln!(
                    s,
                    "  clients drained      {} after the fault window",
                    format_time(ns)
                );
            }
            Some(Drain::Never(_)) => {
                let _ = writeln!(s, "  clients drained      never: an operation in flight at the fault window's end never completed");
            }
            None => {}
        }
        let m = &self.membership;
        if m.requested > 0 {
            let _ = writeln!(
                s,
                "  membership           {} changes requested, {} committed, {} abandoned",
                m.requested, m.completed, m.abandoned
            );
        }
        RecoveryReport::human(&self.recovery, &mut s);
        let _ = writeln!(s, "  trace hash           {}", self.trace_hash);
        if self.budget_exhausted {
            let _ = writeln!(
                s,
                "  note: the run stopped at the event budget before the scenario's end"
            );
        }
        for v in &self.violations {
            let _ = writeln!(
                s,
                "\n{} at {} (nodes {:?}): {}",
                v.invariant.name(),
                format_time(v.time_ns),
                v.nodes,
                v.detail
            );
            if !self.recent_events.is_empty() {
                let _ = writeln!(s, "  events that led to it:");
            }
            for e in &self.recent_events {
                let _ = writeln!(s, "    {e}");
            }
            if v.invariant == Invariant::Linearizability {
                self.linearization_evidence(&mut s);
            }
            let _ = writeln!(s, "\nreproduce: {}", self.reproduce);
        }
        s
    }
}

impl Report {
    /// The longest linearization of each failing key: how far a legal order gets.
    fn linearization_evidence(&self, s: &mut String) {
        let failing = self.clients.iter().flat_map(|c| &c.keys);
        for key in failing.filter(|k| k.verdict == Verdict::NotLinearizable) {
            let name = key.key.as_deref().unwrap_or("(register)");
            let _ = writeln!(
                s,
                "  key {name}: the longest linearization found orders {} of its {} operations; the next cannot follow:",
                key.longest_linearization.len(),
                key.operations
            );
            let tail = key.longest_linearization.len().saturating_sub(8);
            for op in &key.longest_linearization[tail..] {
                let _ = writeln!(s, "    {}", crate::sim::describe(op));
            }
        }
    }
}

fn abbreviate(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(" ");
    }
    let head = items[..max / 2].join(" ");
    let tail = items[items.len() - max / 2..].join(" ");
    format!("{head} ... {tail} ({} terms)", items.len())
}
