//! A run as pictures: the data of its timeline chart and of its HTML page
//! ([`reports::model`]), built from its full trace and its clients' history.
//!
//! One builder serves both `raftsim run --chart/--report` (the run in memory) and
//! `raftsim chart TRACE` (a trace file, see [`crate::trace_file`]): both turn their events into
//! [`Step`]s first, so a run and its trace file give the same picture.

use crate::history::{self, Call, Completion, Operation};
use crate::node::{NodeId, Role};
use crate::trace::{format_time, Event, Record};
use reports::model as m;
use std::collections::{BTreeMap, BTreeSet};

/// What the timeline needs of one trace event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A node's role or term changed.
    Role {
        /// The node.
        node: NodeId,
        /// Its new role.
        role: Role,
        /// Its term.
        term: u64,
    },
    /// A node crashed.
    Crash {
        /// The node.
        node: NodeId,
        /// What the crash lost, for the marker's tooltip.
        label: String,
    },
    /// A node restarted from its disk.
    Restart {
        /// The node.
        node: NodeId,
    },
    /// A spare started empty to join.
    Join {
        /// The node.
        node: NodeId,
    },
    /// A node froze until `until_ns`.
    Pause {
        /// The node.
        node: NodeId,
        /// When it resumes.
        until_ns: u64,
    },
    /// A fault that lasts until the network heals (partition, one-way cut, bridge).
    Cut {
        /// Which.
        kind: m::FaultKind,
        /// The nodes it involves.
        nodes: Vec<NodeId>,
        /// A short description.
        label: String,
    },
    /// Links held their messages until `until_ns`.
    Clog {
        /// The nodes involved.
        nodes: Vec<NodeId>,
        /// When the links flow again.
        until_ns: u64,
        /// A short description.
        label: String,
    },
    /// Every partition healed.
    Heal,
    /// The fault window ended: everything healed and restarted.
    FaultWindowEnd,
    /// A one-off event drawn as a marker: a clock jump, a membership change, a network
    /// change, a nemesis firing.
    Marker {
        /// Which.
        kind: m::FaultKind,
        /// The node it concerns, if one.
        node: Option<NodeId>,
        /// A short description.
        label: String,
    },
    /// A node's commit index advanced.
    Commit {
        /// The node.
        node: NodeId,
        /// The new commit index.
        index: u64,
    },
    /// A message arrived or was dropped.
    Message {
        /// Sender.
        from: NodeId,
        /// Recipient.
        to: NodeId,
        /// When it was sent.
        sent_ns: u64,
        /// The RPC.
        kind: String,
        /// False if dropped.
        delivered: bool,
    },
}

impl Step {
    /// The network split into `groups`.
    pub fn partition(groups: &[Vec<NodeId>]) -> Step {
        Step::Cut {
            kind: m::FaultKind::Partition,
            nodes: Vec::new(),
            label: groups_label(groups),
        }
    }

    /// Messages from `from` to `to` dropped.
    pub fn one_way(from: &[NodeId], to: &[NodeId]) -> Step {
        Step::Cut {
            kind: m::FaultKind::OneWay,
            nodes: union(from, to),
            label: format!("{} -/-> {}", set_label(from), set_label(to)),
        }
    }

    /// Two sides that only `node` connects.
    pub fn bridge(groups: &[Vec<NodeId>], node: NodeId) -> Step {
        Step::Cut {
            kind: m::FaultKind::Bridge,
            nodes: Vec::new(),
            label: format!("{} bridged by {node}", groups_label(groups)),
        }
    }

    /// Links from `from` to `to` held until `until_ns`.
    pub fn clog(from: &[NodeId], to: &[NodeId], until_ns: u64) -> Step {
        Step::Clog {
            nodes: union(from, to),
            until_ns,
            label: format!("clog {} -> {}", set_label(from), set_label(to)),
        }
    }

    /// `node` crashed, losing or tearing its unsynced writes.
    pub fn crash(node: NodeId, writes_lost: u64, writes_torn: u64) -> Step {
        Step::Crash {
            node,
            label: format!("crash: {writes_lost} unsynced writes lost, {writes_torn} torn"),
        }
    }

    /// `node`'s clock leapt `by_ns` forward.
    pub fn clock_jump(node: NodeId, by_ns: u64) -> Step {
        Step::Marker {
            kind: m::FaultKind::ClockJump,
            node: Some(node),
            label: format!("clock +{}", format_time(by_ns)),
        }
    }

    /// A membership change, described.
    pub fn membership(what: &str) -> Step {
        Step::Marker {
            kind: m::FaultKind::Membership,
            node: None,
            label: what.to_string(),
        }
    }

    /// The network's settings changed.
    pub fn network(settings: &str) -> Step {
        Step::Marker {
            kind: m::FaultKind::Network,
            node: None,
            label: format!("network: {settings}"),
        }
    }

    /// A nemesis fired (at `node`, if one).
    pub fn nemesis(name: &str, node: Option<NodeId>) -> Step {
        Step::Marker {
            kind: m::FaultKind::Nemesis,
            node,
            label: format!("nemesis {name}"),
        }
    }
}

/// A step with its time and trace position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedStep {
    /// Position in the trace.
    pub seq: u64,
    /// Simulated time.
    pub time_ns: u64,
    /// What happened.
    pub step: Step,
}

/// The step of a trace record, if the timeline draws it.
pub fn step_of(record: &Record) -> Option<TimedStep> {
    let step = match &record.event {
        Event::Role { node, role, term } => Step::Role {
            node: *node,
            role: *role,
            term: *term,
        },
        Event::Crash {
            node,
            writes_lost,
            writes_torn,
        } => Step::crash(*node, *writes_lost, *writes_torn),
        Event::Restart { node } => Step::Restart { node: *node },
        Event::Join { node } => Step::Join { node: *node },
        Event::Pause { node, until_ns } => Step::Pause {
            node: *node,
            until_ns: *until_ns,
        },
        Event::Partition { groups } => Step::partition(groups),
        Event::OneWay { from, to } => Step::one_way(from, to),
        Event::Bridge { groups, node } => Step::bridge(groups, *node),
        Event::Clog { from, to, until_ns } => Step::clog(from, to, *until_ns),
        Event::Heal => Step::Heal,
        Event::FaultWindowEnd => Step::FaultWindowEnd,
        Event::ClockJump { node, by_ns } => Step::clock_jump(*node, *by_ns),
        Event::Membership { what } => Step::membership(what),
        Event::Network { settings } => Step::network(settings),
        Event::Nemesis {
            name,
            fired: true,
            node,
        } => Step::nemesis(name, *node),
        Event::Commit { node, index } => Step::Commit {
            node: *node,
            index: *index,
        },
        Event::Deliver { to, msg, sent_ns } => Step::Message {
            from: msg.from,
            to: *to,
            sent_ns: *sent_ns,
            kind: msg.kind.to_string(),
            delivered: true,
        },
        Event::Drop {
            to, msg, sent_ns, ..
        } => Step::Message {
            from: msg.from,
            to: *to,
            sent_ns: *sent_ns,
            kind: msg.kind.to_string(),
            delivered: false,
        },
        _ => return None,
    };
    Some(TimedStep {
        seq: record.seq,
        time_ns: record.time_ns,
        step,
    })
}

fn union(a: &[NodeId], b: &[NodeId]) -> Vec<NodeId> {
    let set: BTreeSet<NodeId> = a.iter().chain(b).copied().collect();
    set.into_iter().collect()
}

fn set_label(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(u64::to_string).collect();
    format!("{{{}}}", names.join(","))
}

fn groups_label(groups: &[Vec<NodeId>]) -> String {
    let sets: Vec<String> = groups.iter().map(|g| set_label(g)).collect();
    sets.join(" | ")
}

/// What a run's timeline is drawn from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFacts {
    /// The chart's title.
    pub title: String,
    /// Nodes `1..=nodes` (spares included).
    pub nodes: u64,
    /// Nodes `1..=members_initial` run from the start; the others are spares.
    pub members_initial: u64,
    /// The end of the run.
    pub end_ns: u64,
    /// The trace's steps, in trace order.
    pub steps: Vec<TimedStep>,
    /// Messages left out of `steps`, and the time before which they all arrived (see
    /// [`StepsKept`]); (0, 0) when every message is there.
    pub messages_left_out: (u64, u64),
    /// The clients' history.
    pub history: Vec<history::Event>,
    /// The violation, if the run failed.
    pub violation: Option<m::ViolationMark>,
    /// Invocation positions (in `history`) of the operations that show the violation.
    pub evidence: BTreeSet<u64>,
}

/// The per-node state while the role bands are laid out.
#[derive(Clone, Copy, Debug)]
struct Lane {
    role: m::Role,
    term: u64,
    since_ns: u64,
    /// A pause in progress: (from, until).
    pause: Option<(u64, u64)>,
}

/// The role bands of every node.
struct Bands {
    lanes: BTreeMap<NodeId, Lane>,
    spans: Vec<m::RoleSpan>,
}

impl Bands {
    fn new(nodes: u64, members_initial: u64) -> Bands {
        let lanes = (1..=nodes)
            .map(|id| {
                let role = if id <= members_initial {
                    m::Role::Follower
                } else {
                    m::Role::Down
                };
                let lane = Lane {
                    role,
                    term: 0,
                    since_ns: 0,
                    pause: None,
                };
                (id, lane)
            })
            .collect();
        Bands {
            lanes,
            spans: Vec::new(),
        }
    }

    /// Ends a pause that is over by `now_ns` (or cut short by what happens at `now_ns`).
    fn settle_pause(&mut self, node: NodeId, now_ns: u64) {
        let Some(lane) = self.lanes.get_mut(&node) else {
            return;
        };
        let Some((from, until)) = lane.pause else {
            return;
        };
        let end = until.min(now_ns);
        self.spans.push(m::RoleSpan {
            node,
            role: m::Role::Paused,
            term: lane.term,
            from_ns: from,
            to_ns: end,
        });
        lane.pause = None;
        lane.since_ns = end;
    }

    /// `node` becomes `role` in `term` at `now_ns`.
    fn change(&mut self, node: NodeId, role: m::Role, term: u64, now_ns: u64) {
        self.settle_pause(node, now_ns);
        let Some(lane) = self.lanes.get_mut(&node) else {
            return;
        };
        if lane.since_ns < now_ns {
            self.spans.push(m::RoleSpan {
                node,
                role: lane.role,
                term: lane.term,
                from_ns: lane.since_ns,
                to_ns: now_ns,
            });
        }
        *lane = Lane {
            role,
            term,
            since_ns: now_ns,
            pause: None,
        };
    }

    fn pause(&mut self, node: NodeId, now_ns: u64, until_ns: u64) {
        self.settle_pause(node, now_ns);
        let Some(&lane) = self.lanes.get(&node) else {
            return;
        };
        self.change(node, lane.role, lane.term, now_ns);
        if let Some(lane) = self.lanes.get_mut(&node) {
            lane.pause = Some((now_ns, until_ns));
        }
    }

    fn term(&self, node: NodeId) -> u64 {
        self.lanes.get(&node).map_or(0, |l| l.term)
    }

    fn finish(mut self, end_ns: u64) -> Vec<m::RoleSpan> {
        let nodes: Vec<NodeId> = self.lanes.keys().copied().collect();
        for node in nodes {
            let lane = self.lanes[&node];
            self.change(node, lane.role, lane.term, end_ns);
        }
        self.spans
            .sort_by_key(|s| (s.node, s.from_ns, s.to_ns, s.role as u8));
        self.spans.retain(|s| s.from_ns < s.to_ns);
        self.spans
    }
}

fn model_role(role: Role) -> m::Role {
    match role {
        Role::Follower => m::Role::Follower,
        Role::Candidate => m::Role::Candidate,
        Role::Leader => m::Role::Leader,
    }
}

/// Faults that last, open until they end.
#[derive(Default)]
struct OpenFaults {
    /// The current partition (a new one replaces it).
    partition: Option<usize>,
    /// One-way cuts and bridges, until the network heals.
    cuts: Vec<usize>,
}

/// The timeline of a run.
pub fn timeline(facts: &RunFacts) -> m::Timeline {
    let mut bands = Bands::new(facts.nodes, facts.members_initial);
    let mut faults: Vec<m::Fault> = Vec::new();
    let mut open = OpenFaults::default();
    let mut commits = Vec::new();
    let mut messages = Vec::new();
    for s in &facts.steps {
        let now = s.time_ns;
        match &s.step {
            Step::Role { node, role, term } => {
                bands.change(*node, model_role(*role), *term, now);
            }
            Step::Crash { node, label } => {
                let term = bands.term(*node);
                bands.change(*node, m::Role::Down, term, now);
                faults.push(marker(m::FaultKind::Crash, now, Some(*node), label.clone()));
            }
            Step::Restart { node } => {
                let term = bands.term(*node);
                bands.change(*node, m::Role::Follower, term, now);
                faults.push(marker(
                    m::FaultKind::Restart,
                    now,
                    Some(*node),
                    "restart from disk".into(),
                ));
            }
            Step::Join { node } => {
                bands.change(*node, m::Role::Follower, 0, now);
                faults.push(marker(
                    m::FaultKind::Membership,
                    now,
                    Some(*node),
                    format!("node {node} starts empty to join"),
                ));
            }
            Step::Pause { node, until_ns } => {
                bands.pause(*node, now, *until_ns);
                faults.push(m::Fault {
                    kind: m::FaultKind::Pause,
                    from_ns: now,
                    to_ns: Some(*until_ns),
                    nodes: vec![*node],
                    label: format!("pause until {}", format_time(*until_ns)),
                });
            }
            Step::Cut { kind, nodes, label } => {
                if *kind == m::FaultKind::Partition {
                    close(&mut faults, open.partition.take(), now);
                }
                let at = faults.len();
                faults.push(m::Fault {
                    kind: *kind,
                    from_ns: now,
                    to_ns: None,
                    nodes: nodes.clone(),
                    label: label.clone(),
                });
                if *kind == m::FaultKind::Partition {
                    open.partition = Some(at);
                } else {
                    open.cuts.push(at);
                }
            }
            Step::Clog {
                nodes,
                until_ns,
                label,
            } => faults.push(m::Fault {
                kind: m::FaultKind::Clog,
                from_ns: now,
                to_ns: Some(*until_ns),
                nodes: nodes.clone(),
                label: label.clone(),
            }),
            Step::Heal | Step::FaultWindowEnd => {
                close(&mut faults, open.partition.take(), now);
                for at in std::mem::take(&mut open.cuts) {
                    close(&mut faults, Some(at), now);
                }
                if s.step == Step::FaultWindowEnd {
                    faults.push(marker(
                        m::FaultKind::Network,
                        now,
                        None,
                        "fault window ends: heal and restart all".into(),
                    ));
                }
            }
            Step::Marker { kind, node, label } => {
                faults.push(marker(*kind, now, *node, label.clone()));
            }
            Step::Commit { node, index } => commits.push(m::CommitPoint {
                node: *node,
                time_ns: now,
                index: *index,
            }),
            Step::Message {
                from,
                to,
                sent_ns,
                kind,
                delivered,
            } => messages.push(m::Message {
                from: *from,
                to: *to,
                sent_ns: *sent_ns,
                arrived_ns: now,
                kind: kind.clone(),
                delivered: *delivered,
            }),
        }
    }
    let end_ns = facts.end_ns;
    for fault in &mut faults {
        if fault.to_ns.is_none() && lasting(fault.kind) {
            fault.to_ns = Some(end_ns);
        }
    }
    faults.sort_by_key(|f| f.from_ns);
    messages.sort_by_key(|msg| (msg.sent_ns, msg.arrived_ns));
    let ops = client_ops(&facts.history, &facts.evidence);
    let clients: BTreeSet<u64> = ops.iter().map(|op| op.client).collect();
    m::Timeline {
        title: facts.title.clone(),
        nodes: (1..=facts.nodes).collect(),
        clients: clients.into_iter().collect(),
        end_ns,
        roles: bands.finish(end_ns),
        commits,
        faults,
        ops,
        messages,
        messages_left_out: facts.messages_left_out.0,
        messages_left_out_before_ns: facts.messages_left_out.1,
        violation: facts.violation.clone(),
    }
}

/// A chart is at most this many pixels wide: a commit line needs no more points per node.
const COMMIT_BUCKETS: u64 = reports::timeline::WIDTH_PX_MAX as u64;
/// Messages and commits are kept in full over this last stretch of a run: a failing run's
/// page zooms in on the 300 ms before its violation.
const RECENT_NS: u64 = 1_000_000_000;

/// The steps of a run kept as it goes, within bounds, for `raftsim run --chart/--report`
/// of a run of any length: every step but messages and commits (role changes, faults: a few
/// per fault); of the commits, the last of each node in each of [`COMMIT_BUCKETS`] equal
/// stretches of the run; of the messages, a count, and those of the last [`RECENT_NS`]. In
/// those last moments nothing is left out.
#[derive(Debug)]
pub struct StepsKept {
    /// A chart's window: its messages and commits are kept in full, the other messages not
    /// at all (no chart of the window shows them).
    window: Option<(u64, u64)>,
    /// Messages and commits of the window.
    in_window: Vec<TimedStep>,
    bucket_ns: u64,
    steps: Vec<TimedStep>,
    commits: Vec<TimedStep>,
    /// Per node, the bucket of its last kept commit and that commit's place in `commits`.
    commit_last: BTreeMap<NodeId, (u64, usize)>,
    /// Messages and commits of the last `RECENT_NS`, in trace order.
    recent: std::collections::VecDeque<TimedStep>,
    messages_left_out: u64,
    messages_left_out_before_ns: u64,
}

impl StepsKept {
    /// Keeps the steps of a run that ends at `end_ns`.
    pub fn new(end_ns: u64) -> StepsKept {
        StepsKept {
            window: None,
            in_window: Vec::new(),
            bucket_ns: (end_ns / COMMIT_BUCKETS).max(1),
            steps: Vec::new(),
            commits: Vec::new(),
            commit_last: BTreeMap::new(),
            recent: std::collections::VecDeque::new(),
            messages_left_out: 0,
            messages_left_out_before_ns: 0,
        }
    }

    /// Keeps the steps a chart of the window `from_ns..=to_ns` of a run that ends at `end_ns`
    /// draws: every message and commit in the window, and as [`StepsKept::new`] the rest but
    /// the messages.
    pub fn window(end_ns: u64, from_ns: u64, to_ns: u64) -> StepsKept {
        StepsKept {
            window: Some((from_ns, to_ns)),
            ..StepsKept::new(end_ns)
        }
    }

    /// Takes the run's next record.
    pub fn add(&mut self, record: &Record) {
        if let Some(step) = step_of(record) {
            self.add_step(step);
        }
    }

    /// Takes the run's next step.
    pub fn add_step(&mut self, step: TimedStep) {
        if let Some((from_ns, to_ns)) = self.window {
            self.add_for_window(step, from_ns, to_ns);
            return;
        }
        let time_ns = step.time_ns;
        match &step.step {
            Step::Message { .. } => self.recent.push_back(step),
            Step::Commit { node, .. } => {
                let bucket = step.time_ns / self.bucket_ns;
                match self.commit_last.get(node) {
                    Some(&(b, at)) if b == bucket => self.commits[at] = step.clone(),
                    _ => {
                        self.commit_last.insert(*node, (bucket, self.commits.len()));
                        self.commits.push(step.clone());
                    }
                }
                self.recent.push_back(step);
            }
            _ => self.steps.push(step),
        }
        self.forget_before(time_ns.saturating_sub(RECENT_NS));
    }

    fn add_for_window(&mut self, step: TimedStep, from_ns: u64, to_ns: u64) {
        match &step.step {
            Step::Message { sent_ns, .. } => {
                if *sent_ns <= to_ns && step.time_ns.max(*sent_ns) >= from_ns {
                    self.in_window.push(step);
                }
            }
            Step::Commit { .. } if (from_ns..=to_ns).contains(&step.time_ns) => {
                self.in_window.push(step);
            }
            Step::Commit { node, .. } => {
                let bucket = step.time_ns / self.bucket_ns;
                match self.commit_last.get(node) {
                    Some(&(b, at)) if b == bucket => self.commits[at] = step,
                    _ => {
                        self.commit_last.insert(*node, (bucket, self.commits.len()));
                        self.commits.push(step);
                    }
                }
            }
            _ => self.steps.push(step),
        }
    }

    fn forget_before(&mut self, from_ns: u64) {
        while let Some(old) = self.recent.front().filter(|s| s.time_ns < from_ns) {
            if matches!(old.step, Step::Message { .. }) {
                self.messages_left_out += 1;
                self.messages_left_out_before_ns = old.time_ns + 1;
            }
            self.recent.pop_front();
        }
    }

    /// The steps kept, in trace order, and the messages left out with the time before which
    /// they all arrived.
    pub fn finish(self) -> (Vec<TimedStep>, (u64, u64)) {
        let recent_from_seq = self.recent.front().map_or(u64::MAX, |s| s.seq);
        let mut steps = self.steps;
        steps.extend(self.commits.into_iter().filter(|c| c.seq < recent_from_seq));
        steps.extend(self.recent);
        steps.extend(self.in_window);
        steps.sort_by_key(|s| s.seq);
        let left_out = (self.messages_left_out, self.messages_left_out_before_ns);
        (steps, left_out)
    }
}

fn lasting(kind: m::FaultKind) -> bool {
    matches!(
        kind,
        m::FaultKind::Partition | m::FaultKind::OneWay | m::FaultKind::Bridge
    )
}

fn close(faults: &mut [m::Fault], at: Option<usize>, now_ns: u64) {
    if let Some(fault) = at.and_then(|at| faults.get_mut(at)) {
        fault.to_ns = Some(now_ns);
    }
}

fn marker(kind: m::FaultKind, now_ns: u64, node: Option<NodeId>, label: String) -> m::Fault {
    m::Fault {
        kind,
        from_ns: now_ns,
        to_ns: None,
        nodes: node.into_iter().collect(),
        label,
    }
}

/// The clients' operations, paired from the history (an unpaired history gives none: the
/// run's own history always pairs, a hand-edited trace file may not).
fn paired(history: &[history::Event]) -> Vec<Operation> {
    history::operations(history).unwrap_or_default()
}

fn client_ops(history: &[history::Event], evidence: &BTreeSet<u64>) -> Vec<m::ClientOp> {
    paired(history)
        .iter()
        .enumerate()
        .map(|(id, op)| m::ClientOp {
            id,
            client: op.process,
            invoke_ns: op.invoke_ns.unwrap_or(0),
            complete_ns: op.return_pos.and(op.return_ns),
            outcome: outcome_of(op),
            label: op_label(op),
            highlighted: evidence.contains(&op.invoke_pos),
        })
        .collect()
}

fn outcome_of(op: &Operation) -> m::OpOutcome {
    match op.completion {
        Completion::Ok(_) => m::OpOutcome::Ok,
        Completion::Fail => m::OpOutcome::Fail,
        Completion::Info => m::OpOutcome::Unknown,
    }
}

fn value_text(v: &history::Value) -> String {
    match v {
        history::Value::Nil => "nil".into(),
        history::Value::Int(i) => i.to_string(),
        history::Value::Str(s) => s.clone(),
        history::Value::List(items) => {
            let parts: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", parts.join(" "))
        }
    }
}

/// The call, e.g. `put k3 7`, `cas k1 3 4`, `get k2`.
pub fn call_label(op: &Operation) -> String {
    let key = op.key.as_deref().map_or(String::new(), |k| format!(" {k}"));
    match &op.call {
        Call::Read => format!("get{key}"),
        Call::Write(v) => format!("put{key} {}", value_text(v)),
        Call::Cas(a, b) => format!("cas{key} {} {}", value_text(a), value_text(b)),
        Call::Append(v) => format!("append{key} {}", value_text(v)),
    }
}

/// What came back, e.g. `ok 4`, `fail`, `unknown`.
pub fn result_label(op: &Operation) -> String {
    match &op.completion {
        Completion::Ok(v) if op.call == Call::Read => format!("ok {}", value_text(v)),
        Completion::Ok(_) => "ok".into(),
        Completion::Fail => "fail".into(),
        Completion::Info => "unknown".into(),
    }
}

fn op_label(op: &Operation) -> String {
    match (&op.call, &op.completion) {
        (Call::Read, Completion::Ok(v)) => format!("{} -> {}", call_label(op), value_text(v)),
        _ => call_label(op),
    }
}

/// The history as the rows of a run page's table.
pub fn history_rows(history: &[history::Event], evidence: &BTreeSet<u64>) -> Vec<m::HistoryRow> {
    paired(history)
        .iter()
        .enumerate()
        .map(|(id, op)| m::HistoryRow {
            id,
            client: op.process,
            call: call_label(op),
            result: result_label(op),
            outcome: outcome_of(op),
            invoke_ns: op.invoke_ns.unwrap_or(0),
            complete_ns: op.return_pos.and(op.return_ns),
            highlighted: evidence.contains(&op.invoke_pos),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time_ns: u64, step: Step) -> TimedStep {
        TimedStep {
            seq: time_ns,
            time_ns,
            step,
        }
    }

    fn facts(steps: Vec<TimedStep>) -> RunFacts {
        RunFacts {
            title: "t".into(),
            nodes: 3,
            members_initial: 2,
            end_ns: 100,
            steps,
            messages_left_out: (0, 0),
            history: Vec::new(),
            violation: None,
            evidence: BTreeSet::new(),
        }
    }

    #[test]
    fn role_bands_cover_each_lane_and_follow_crashes_pauses_and_joins() {
        let t = timeline(&facts(vec![
            at(
                10,
                Step::Role {
                    node: 1,
                    role: Role::Leader,
                    term: 2,
                },
            ),
            at(
                20,
                Step::Pause {
                    node: 2,
                    until_ns: 30,
                },
            ),
            at(
                40,
                Step::Crash {
                    node: 1,
                    label: "crash".into(),
                },
            ),
            at(50, Step::Join { node: 3 }),
            at(60, Step::Restart { node: 1 }),
        ]));
        let lane = |n: u64| -> Vec<(m::Role, u64, u64, u64)> {
            t.roles
                .iter()
                .filter(|s| s.node == n)
                .map(|s| (s.role, s.term, s.from_ns, s.to_ns))
                .collect()
        };
        assert_eq!(
            lane(1),
            vec![
                (m::Role::Follower, 0, 0, 10),
                (m::Role::Leader, 2, 10, 40),
                (m::Role::Down, 2, 40, 60),
                (m::Role::Follower, 2, 60, 100),
            ]
        );
        assert_eq!(
            lane(2),
            vec![
                (m::Role::Follower, 0, 0, 20),
                (m::Role::Paused, 0, 20, 30),
                (m::Role::Follower, 0, 30, 100),
            ]
        );
        assert_eq!(
            lane(3),
            vec![(m::Role::Down, 0, 0, 50), (m::Role::Follower, 0, 50, 100)]
        );
        let crashes = t
            .faults
            .iter()
            .filter(|f| f.kind == m::FaultKind::Crash)
            .count();
        assert_eq!(crashes, 1);
    }

    #[test]
    fn partitions_last_until_healed_and_a_new_one_replaces_the_old() {
        let cut = |label: &str| Step::Cut {
            kind: m::FaultKind::Partition,
            nodes: Vec::new(),
            label: label.into(),
        };
        let t = timeline(&facts(vec![
            at(10, cut("a")),
            at(20, cut("b")),
            at(30, Step::Heal),
            at(40, cut("c")),
        ]));
        let spans: Vec<(u64, Option<u64>)> = t
            .faults
            .iter()
            .filter(|f| f.kind == m::FaultKind::Partition)
            .map(|f| (f.from_ns, f.to_ns))
            .collect();
        assert_eq!(spans, vec![(10, Some(20)), (20, Some(30)), (40, Some(100))]);
    }
}
