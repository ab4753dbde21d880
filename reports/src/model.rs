//! What a chart or a page shows, as plain data. Times are simulated nanoseconds from the
//! start of the run; nodes and clients are named by their ids.

use serde::{Deserialize, Serialize};

/// A node's role over a span of time: the lanes' colored bands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Following (or waiting for) a leader.
    Follower,
    /// Campaigning.
    Candidate,
    /// Leading its term.
    Leader,
    /// Crashed, or not started yet (a spare).
    Down,
    /// Frozen by a pause fault.
    Paused,
}

/// One band of a node's lane: `role` in `term` over `[from_ns, to_ns)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSpan {
    /// The node.
    pub node: u64,
    /// Its role.
    pub role: Role,
    /// Its term (0 while down before it ever ran).
    pub term: u64,
    /// Start of the span.
    pub from_ns: u64,
    /// End of the span (exclusive).
    pub to_ns: u64,
}

/// A node's commit index advanced to `index` at `time_ns` (the thin line in its lane).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitPoint {
    /// The node.
    pub node: u64,
    /// When.
    pub time_ns: u64,
    /// The new commit index.
    pub index: u64,
}

/// What kind of fault or cluster event a [`Fault`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The network split into groups (until healed).
    Partition,
    /// Messages from some nodes to others are dropped, one way.
    OneWay,
    /// Two sides that only one node connects.
    Bridge,
    /// Links hold their messages for a while.
    Clog,
    /// A node crashed.
    Crash,
    /// A node restarted from its disk.
    Restart,
    /// A node froze for a while.
    Pause,
    /// A node's clock leapt forward.
    ClockJump,
    /// A membership change was accepted, committed or abandoned, or a server began to join.
    Membership,
    /// The network's loss, delay or duplication settings changed.
    Network,
    /// A nemesis armed or fired.
    Nemesis,
}

/// A fault or cluster event. With `to_ns`, a band over `[from_ns, to_ns)`; without, a
/// marker at `from_ns`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// What it is.
    pub kind: FaultKind,
    /// When it started (or happened).
    pub from_ns: u64,
    /// When it ended, for faults that last.
    pub to_ns: Option<u64>,
    /// The nodes it affects (their lanes are marked); empty: the whole cluster.
    pub nodes: Vec<u64>,
    /// A short description, e.g. `{1,2} | {3,4,5}` or `clock +1.5 s`.
    pub label: String,
}

/// How a client operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpOutcome {
    /// It took effect and the client got the answer.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown: the client gave up (timed out) or the run ended first.
    Unknown,
}

/// One client operation: a bar in its client's lane from invocation to completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientOp {
    /// Its position in the run's history table (0-based): pages link bars to rows by it.
    pub id: usize,
    /// The client (a lane).
    pub client: u64,
    /// When the client invoked it.
    pub invoke_ns: u64,
    /// When it completed; `None` if it never did (drawn to the end of the run).
    pub complete_ns: Option<u64>,
    /// How it ended.
    pub outcome: OpOutcome,
    /// A short label, e.g. `put k3 7` or `get k1 → 4`.
    pub label: String,
    /// Part of the evidence of a violation (the minimal non-linearizable sub-history).
    pub highlighted: bool,
}

/// One message between two nodes: an arrow in a zoomed chart (a Lamport diagram).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Sender.
    pub from: u64,
    /// Recipient.
    pub to: u64,
    /// When it was sent.
    pub sent_ns: u64,
    /// When it arrived (or was dropped).
    pub arrived_ns: u64,
    /// The RPC, e.g. `AppendEntries`.
    pub kind: String,
    /// False if the network dropped it (drawn dashed, ending in a cross).
    pub delivered: bool,
}

/// Where a run went wrong: a red marker at the time it was detected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationMark {
    /// When it was detected.
    pub time_ns: u64,
    /// One line, e.g. `election safety: two leaders in term 4`.
    pub title: String,
    /// The nodes involved (their lanes are highlighted); empty: none in particular.
    pub nodes: Vec<u64>,
}

/// Everything a timeline chart shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The chart's title, e.g. `figure8 · seed 7`.
    pub title: String,
    /// One lane per node, in this order.
    pub nodes: Vec<u64>,
    /// One lane per client, in this order, below the nodes.
    pub clients: Vec<u64>,
    /// The end of the run.
    pub end_ns: u64,
    /// Role bands; together they cover each node's lane from 0 to `end_ns`.
    pub roles: Vec<RoleSpan>,
    /// Commit index changes, by time.
    pub commits: Vec<CommitPoint>,
    /// Faults and cluster events, by start time.
    pub faults: Vec<Fault>,
    /// Client operations, by invocation.
    pub ops: Vec<ClientOp>,
    /// Messages, by send time.
    pub messages: Vec<Message>,
    /// Messages of the run left out of `messages`, all arrived before
    /// `messages_left_out_before_ns`: a long run's chart keeps only its last moments' (where a
    /// failing run's page zooms) and counts the others.
    #[serde(default)]
    pub messages_left_out: u64,
    /// See `messages_left_out`.
    #[serde(default)]
    pub messages_left_out_before_ns: u64,
    /// The violation, if the run failed.
    pub violation: Option<ViolationMark>,
}

/// One row of a run page's history table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// The operation's id ([`ClientOp::id`]): the row's anchor is `op-{id}`.
    pub id: usize,
    /// The client.
    pub client: u64,
    /// The call, e.g. `cas k1 3 4`.
    pub call: String,
    /// What came back, e.g. `ok 4`, `fail`, `unknown`.
    pub result: String,
    /// How it ended.
    pub outcome: OpOutcome,
    /// When it was invoked.
    pub invoke_ns: u64,
    /// When it completed, if it did.
    pub complete_ns: Option<u64>,
    /// Part of the minimal non-linearizable sub-history.
    pub highlighted: bool,
}

/// One trace event shown on a run page; its anchor is `event-{seq}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// Its position in the trace.
    pub seq: u64,
    /// When it happened.
    pub time_ns: u64,
    /// What happened, one line.
    pub text: String,
}

/// A violation as a run page explains it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationText {
    /// One line, e.g. `linearizability: key k3 is not linearizable`.
    pub title: String,
    /// The explanation, possibly several lines.
    pub detail: String,
    /// When it was detected.
    pub time_ns: u64,
    /// The trace events that led to it, by `seq` (links to their [`EventRow`]s).
    pub events: Vec<u64>,
    /// The client operations that show it, by id (links to their [`HistoryRow`]s).
    pub ops: Vec<usize>,
}

/// One self-contained page about one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPage {
    /// The page's title, e.g. `figure8 · seed 7 · violation`.
    pub title: String,
    /// `pass` or `violation`.
    pub verdict: String,
    /// The command that reproduces the run.
    pub reproduce: String,
    /// Key figures as (name, value), in order: events, simulated time, leaders, ...
    pub summary: Vec<(String, String)>,
    /// The run's timeline (drawn inline as SVG).
    pub timeline: Timeline,
    /// The violations found (empty for a pass).
    pub violations: Vec<ViolationText>,
    /// The clients' history, one row per operation.
    pub history: Vec<HistoryRow>,
    /// The trace events worth reading: those before a violation, or the role and fault events
    /// of a passing run.
    pub events: Vec<EventRow>,
    /// A window, `(from_ns, to_ns)`, drawn again below the timeline, zoomed in, with every
    /// message as an arrow: the moments before a safety violation.
    #[serde(default)]
    pub zoom: Option<(u64, u64)>,
}

/// A sample of one quantity over a sweep's runs: drawn as a histogram and a CDF.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// What was measured, e.g. `time to a new leader after a leader crash`.
    pub title: String,
    /// The unit of `values`, e.g. `ms`.
    pub unit: String,
    /// The measurements, in any order.
    pub values: Vec<f64>,
}

/// One run of a sweep, as its page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLink {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// `pass` or `violation`.
    pub verdict: String,
    /// The first failure, one line.
    pub failure: Option<String>,
    /// The run's own page, relative to the sweep page, if one was written.
    pub page: Option<String>,
    /// The command that reproduces the run.
    pub reproduce: String,
}

/// How often a sweep reached one protocol situation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SituationRow {
    /// The situation, e.g. `leader-stepped-down`.
    pub name: String,
    /// Runs that reached it.
    pub runs: u64,
    /// Times it was reached, over all runs.
    pub times: u64,
}

/// One self-contained page about one sweep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepPage {
    /// The page's title, e.g. `sweep · figure8 · seeds 1..200`.
    pub title: String,
    /// The command that ran the sweep.
    pub command: String,
    /// Key figures as (name, value), in order.
    pub summary: Vec<(String, String)>,
    /// The failing runs (every one, with a link to its page where written).
    pub failures: Vec<RunLink>,
    /// Distributions over the runs, each drawn as a histogram and a CDF.
    pub distributions: Vec<Distribution>,
    /// Failing runs per invariant, as (invariant, runs).
    pub failures_per_invariant: Vec<(String, u64)>,
    /// Situations reached.
    pub situations: Vec<SituationRow>,
}

/// The page about one checked history (`raftsim check-history FILE --report DIR`), in the
/// manner of Porcupine's visualizer: per key, every operation on an axis, one lane per
/// client; the longest linearization the search found and where it stopped; the minimal
/// failing sub-history highlighted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The page's title (the file checked).
    pub title: String,
    /// `linearizable`, `not linearizable` or `unknown`.
    pub verdict: String,
    /// Label and value rows: the file, its format, the model, the operations, the verdict.
    pub summary: Vec<(String, String)>,
    /// What the x axis is: `time (ms)` when every operation has a time, else `event
    /// position in the file`.
    pub axis: String,
    /// The keys, failing ones first.
    pub keys: Vec<HistoryKey>,
}

/// One key of a checked history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryKey {
    /// `key k1`, or `the register`.
    pub name: String,
    /// `linearizable`, `not linearizable` or `unknown`.
    pub verdict: String,
    /// One sentence on the search: how far it got, or why it gave up.
    pub note: String,
    /// Where, on the axis, the longest linearization stopped: the return of the first
    /// operation (by return) it could not take. `None` when every operation was taken.
    pub stuck_at: Option<f64>,
    /// The operations, in history order.
    pub ops: Vec<HistoryOp>,
    /// Operations of the key left out of the drawing (beyond the page's cap).
    pub ops_left_out: usize,
}

/// One operation of a checked history: a bar in its client's lane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryOp {
    /// Its id on the page (its position among all operations of the file).
    pub id: usize,
    /// The client.
    pub process: u64,
    /// What it asked and what it got, e.g. `write 3 -> ok` or `read -> ok 3`.
    pub label: String,
    /// Where its bar starts, in axis units.
    pub start: f64,
    /// Where it ends; `None` if it never returned (its outcome is unknown).
    pub end: Option<f64>,
    /// How it ended.
    pub outcome: OpOutcome,
    /// Part of the minimal failing sub-history.
    pub minimal: bool,
    /// Its place (from 1) in the longest linearization found, if it is in it.
    pub linearized: Option<usize>,
    /// The lines of the file it comes from, e.g. `lines 3, 8`.
    pub lines: String,
}
