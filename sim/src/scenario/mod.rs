//! Scenario files: the TOML description of one simulated cluster run.
//!
//! [`load`] and [`parse`] turn a scenario file into a [`Scenario`], applying
//! defaults and checking every value; [`Scenario::to_toml`] writes one back. Every
//! [`ScenarioError`] names the file, the 1-based line and the dotted path of the offending
//! field (for example `network.loss` or `schedule[2].groups`, where the schedule index is the
//! 0-based position of the `[[schedule]]` table in the file).
//!
//! Durations are strings such as `"150ms"` or `"1.5s"`; see [`parse_duration`].
//!
//! serde and `toml` do the typing (the `Raw*` structs below mirror the file); the checks
//! that need more than a type (ranges, node ids, times within the run) are in `Cx`.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;
use toml_edit::{ImDocument, Item, TableLike, Value};

/// A node id; the nodes of a cluster of `n` nodes are `1..=n`.
pub type NodeId = u64;

/// A parsed and validated scenario file. Times are virtual nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `name`; default: the file name without directories and `.toml`.
    pub name: String,
    /// `seed` (required): the default seed for runs.
    pub seed: u64,
    /// `nodes` (required): the cluster size, `1..=64`.
    pub nodes: u64,
    /// `duration` (required), e.g. `"60s"`: the length of a run, `> 0` and `<= 24h`.
    pub duration_ns: u64,
    /// `implementation` (default `"raftsim"`): the Raft the scenario runs against, by its
    /// registered name; `--impl` overrides it.
    pub implementation: crate::implementation::Implementation,
    /// The `[implementation_options]` table: settings only one implementation knows, passed
    /// to it as text (`key = "value"`, numbers and booleans as written); it refuses those it
    /// does not know when a node starts.
    pub implementation_options: std::collections::BTreeMap<String, String>,
    /// The `[raft]` section.
    pub raft: RaftSettings,
    /// The `[network]` section.
    pub network: NetworkSettings,
    /// The `[disk]` section.
    pub disk: DiskSettings,
    /// The `[faults]` section.
    pub faults: FaultSettings,
    /// The `[workload]` section.
    pub workload: Workload,
    /// The `[clients]` section.
    pub clients: Clients,
    /// The `[clocks]` section.
    pub clocks: ClockSettings,
    /// The `[liveness]` section.
    pub liveness: LivenessSettings,
    /// The `[swarm]` section.
    pub swarm: SwarmSettings,
    /// The `[membership]` section.
    pub membership: MembershipSettings,
    /// The `[[schedule]]` tables, sorted by `at_ns` (stable: ties keep file order).
    pub schedule: Vec<ScheduledAction>,
    /// The `[[expect]]` tables: bounds on what happens in a stretch of the run.
    pub expect: Vec<Expectation>,
    /// The `[[operation]]` tables, sorted by `at_ns` (stable): an explicit client workload.
    /// When there are any, the clients run exactly these and draw none.
    pub operations: Vec<ScriptedOp>,
}

/// One `[[operation]]` table: `client = 2`, `at = "1.5s"`, `f = "put"`, `key = "k1"`,
/// `value = "x"` (`get` takes no value; `cas` takes `expected` and `new`; `register` takes no
/// key and opens a session if the client has none). At `at` (or when the client's operation
/// before it ends, if later) the client starts it, opening a session first if it has none.
/// This is how `raftsim shrink` writes a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedOp {
    /// The client, `1..=clients.count`.
    pub client: u64,
    /// When the client may start it.
    pub at_ns: u64,
    /// The operation; `None` opens a session (`f = "register"`).
    pub op: Option<crate::node::ClientOp>,
    /// 1-based line of the `[[operation]]` header in the file, for messages.
    pub line: usize,
}

/// One `[[expect]]` table: bounds on what happens between `from` and `to`. A bound that does
/// not hold is an `expectation` violation at `to`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// `from`: the start of the stretch.
    pub from_ns: u64,
    /// `to`: its end, `> from` and `<=` the duration.
    pub to_ns: u64,
    /// `commits_max`: at most this many entries become committed in the stretch.
    pub commits_max: Option<u64>,
    /// `commits_min`: at least this many.
    pub commits_min: Option<u64>,
    /// `messages_max`: at most this many messages between nodes are sent.
    pub messages_max: Option<u64>,
    /// `leaders_max`: at most this many new leaders (terms with a leader) appear.
    pub leaders_max: Option<u64>,
    /// `leader`: whether a leader followed by a majority exists at `to`.
    pub leader: Option<bool>,
    /// 1-based line of the `[[expect]]` header.
    pub line: usize,
}

/// The `[raft]` section: settings of every Raft node.
#[derive(Clone, Debug, PartialEq)]
pub struct RaftSettings {
    /// Lower bound of `election_timeout` (default `["150ms", "300ms"]`); `> 0` and `< max`.
    pub election_timeout_min_ns: u64,
    /// Upper bound of `election_timeout`.
    pub election_timeout_max_ns: u64,
    /// `heartbeat_interval` (default `"50ms"`); `> 0` and `<` the election timeout minimum.
    pub heartbeat_interval_ns: u64,
    /// `msg_entries_max` (default 64): most entries in one append message, `1..=4096`.
    pub msg_entries_max: u64,
    /// `inflight_msgs_max` (default 16): most unacknowledged append messages, `1..=1024`.
    pub inflight_msgs_max: u64,
    /// `uncommitted_entries_max` (default 4096): most uncommitted entries, `>= 1`.
    pub uncommitted_entries_max: u64,
    /// `session_timeout` (default `"30s"`): a client session unused this long in log time
    /// expires; `> 0`.
    pub session_timeout_ns: u64,
    /// `sessions_max` (default 1024): most client sessions; `1..=1000000`.
    pub sessions_max: u64,
    /// `value_bytes_max` (default 65536): largest value the key-value store holds; `>= 1`.
    pub value_bytes_max: u64,
    /// `learner_lag_entries_max` (default 64): a server being added is promoted from learner
    /// once its log is within this many entries of the leader's; `>= 1`.
    pub learner_lag_entries_max: u64,
    /// `snapshot_entries` (default 0, off): a node snapshots its state machine and compacts
    /// its log once it has applied this many entries since its last snapshot (section 7).
    pub snapshot_entries: u64,
    /// `snapshot_bytes` (default 0, off): the same, once the entries applied since the last
    /// snapshot hold this many bytes.
    pub snapshot_bytes: u64,
    /// `snapshot_chunk_bytes` (default 65536): most snapshot bytes in one InstallSnapshot
    /// message; `1..=16777216`.
    pub snapshot_chunk_bytes: u64,
    /// `snapshot_catch_up_entries` (default 64): a compaction keeps this many entries before
    /// the snapshot's index in memory, so a follower a little behind gets entries, not the
    /// snapshot.
    pub snapshot_catch_up_entries: u64,
}

/// The `[membership]` section: which nodes start as the cluster, and random membership churn.
#[derive(Clone, Debug, PartialEq)]
pub struct MembershipSettings {
    /// `initial` (default: `nodes`): nodes `1..=initial` form the first configuration; the
    /// others are spares, down and empty until a change adds them.
    pub initial: u64,
    /// `churn_every`: mean time between random membership changes (add a spare, remove a
    /// voter, or replace one), within the fault window; `None` = none.
    pub churn_every_ns: Option<u64>,
    /// `voters_min` (default 3, at most `initial`): random churn never goes below this.
    pub voters_min: u64,
    /// `voters_max` (default `nodes`): random churn never goes above this.
    pub voters_max: u64,
}

/// The `[network]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSettings {
    /// Lower bound of `latency` (default `["1ms", "10ms"]`); `<= max`.
    pub latency_min_ns: u64,
    /// Upper bound of `latency`.
    pub latency_max_ns: u64,
    /// `loss` (default 0.0): the probability that a message is dropped, `0.0 <= loss < 1.0`.
    pub loss: f64,
    /// `latency_distribution` (default `"uniform"`): how a latency is drawn from `latency`.
    pub latency_distribution: LatencyDistribution,
    /// `tail_probability` (default 0.01): with `"long-tail"`, the share of messages whose
    /// latency is drawn from `tail_latency` instead; `0.0..=1.0`.
    pub tail_probability: f64,
    /// Lower bound of `tail_latency` (default `["100ms", "1s"]`), drawn log-uniformly.
    pub tail_latency_min_ns: u64,
    /// Upper bound of `tail_latency`.
    pub tail_latency_max_ns: u64,
    /// `duplicate` (default 0.0): the probability that a message is delivered twice, the copy
    /// with a latency of its own; `0.0 <= duplicate < 1.0`.
    pub duplicate: f64,
    /// `reorder` (default 0.0): the probability that a message is held back by an extra
    /// `reorder_delay`, so that later messages overtake it; `0.0 <= reorder < 1.0`.
    pub reorder: f64,
    /// Lower bound of `reorder_delay` (default `["10ms", "100ms"]`).
    pub reorder_delay_min_ns: u64,
    /// Upper bound of `reorder_delay`.
    pub reorder_delay_max_ns: u64,
}

impl NetworkSettings {
    /// Latency only, drawn uniformly from `[min, max]`: no loss, duplication or reordering.
    pub fn uniform(latency_min_ns: u64, latency_max_ns: u64) -> NetworkSettings {
        NetworkSettings {
            latency_min_ns,
            latency_max_ns,
            loss: 0.0,
            latency_distribution: LatencyDistribution::Uniform,
            tail_probability: 0.01,
            tail_latency_min_ns: 100 * NS_PER_MS,
            tail_latency_max_ns: NS_PER_S,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay_min_ns: 10 * NS_PER_MS,
            reorder_delay_max_ns: 100 * NS_PER_MS,
        }
    }
}

/// How message latencies are drawn from `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyDistribution {
    /// Every latency in `[min, max]` equally likely.
    Uniform,
    /// Bell-shaped around the middle of `[min, max]` (the mean of four uniform draws).
    Normal,
    /// Uniform in `[min, max]`, except a `tail_probability` share drawn log-uniformly from
    /// `tail_latency`: the slow outliers of a real network.
    LongTail,
}

/// When `crash-after-send` crashes a node that produced a message waiting for a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendMoment {
    /// As soon as the node produced it: its unsynced writes are lost and it is never sent.
    BeforeSync,
    /// Right after the sync that released it, once it went out.
    AfterSync,
}

/// Whose term must move on before `hold-stale` lets a held message go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaleUntil {
    /// The sender's term (as the simulator's view of it shows it) exceeds the message's.
    SenderTerm,
    /// The receiver's term exceeds the message's.
    ReceiverTerm,
}

/// Where in a snapshot transfer `crash-during-snapshot` crashes the follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotStage {
    /// Right after it handled a chunk that is not the last.
    Transfer,
    /// Right after it installed the snapshot from the last chunk, before the sync.
    Install,
}

/// The I/O boundary at which `crash-at-io` crashes a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IoBoundary {
    /// Right after a write is issued: nothing of it is synced.
    AfterWrite,
    /// While a sync is in flight: a torn prefix of the unsynced writes survives.
    MidSync,
    /// Right after a sync completed, before the node hears of it (and before the messages
    /// it released are sent).
    AfterSync,
}

/// The `[disk]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskSettings {
    /// Lower bound of `sync_latency` (default `["100us", "1ms"]`); `<= max`.
    pub sync_latency_min_ns: u64,
    /// Upper bound of `sync_latency`.
    pub sync_latency_max_ns: u64,
    /// `torn_writes` (default 0.0): the probability that a crash tears the unsynced writes,
    /// keeping a random prefix of them (the last possibly cut inside a log write) instead of
    /// losing them all; `0.0..=1.0`.
    pub torn_writes: f64,
}

/// The `[clocks]` section: each node's own clock. A node's timers run on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClockSettings {
    /// `offset_max` (default `"0s"`): each node's clock starts ahead of the simulation's by
    /// an offset drawn from `[0, offset_max]`.
    pub offset_max_ns: u64,
    /// `drift_ppm_max` (default 0): each node's clock runs fast or slow by a rate drawn from
    /// `[-drift_ppm_max, drift_ppm_max]` parts per million; `0..=100000`.
    pub drift_ppm_max: u64,
    /// `jump_every`: mean time between forward jumps of a random node's clock (as after a
    /// suspended virtual machine resumes); `None` = no random jumps.
    pub jump_every_ns: Option<u64>,
    /// Lower bound of `jump` (default `["100ms", "2s"]`): how far a clock jumps.
    pub jump_min_ns: u64,
    /// Upper bound of `jump`.
    pub jump_max_ns: u64,
}

/// The `[liveness]` section: what must happen once the fault window ends, partitions and
/// clogs heal, loss, duplication, reordering and slow outliers stop, and every node is up
/// (the quiet period). A failure is a `liveness` violation.
#[derive(Clone, Debug, PartialEq)]
pub struct LivenessSettings {
    /// `leader_within`: a leader followed by a majority must exist this long after the fault
    /// window ends; `None` = not checked.
    pub leader_within_ns: Option<u64>,
    /// `clients_within`: every client operation in flight when the window ends must complete
    /// this long after the window ends, and none started after it may be given up; `None` =
    /// not checked.
    pub clients_within_ns: Option<u64>,
}

/// The `[swarm]` section (Groce et al., "Swarm Testing"): each seed enables a random subset
/// of the fault kinds the scenario names, at random intensities.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmSettings {
    /// `enabled` (default false).
    pub enabled: bool,
}

/// The `[faults]` section: random crashes and partitions.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSettings {
    /// `crash_every`: mean time between random crashes (exponential); `None` = no random crashes.
    pub crash_every_ns: Option<u64>,
    /// Lower bound of `down_for` (default `["1s", "4s"]`): how long a randomly crashed node stays down.
    pub down_for_min_ns: u64,
    /// Upper bound of `down_for`.
    pub down_for_max_ns: u64,
    /// `max_down`: most nodes down at once through random crashes; default `(nodes - 1) / 2`, `< nodes`.
    pub max_down: u64,
    /// `partition_every`: mean time between random partitions; `None` = no random partitions.
    pub partition_every_ns: Option<u64>,
    /// Lower bound of `partition_for` (default `["1s", "5s"]`): how long a random partition lasts.
    pub partition_for_min_ns: u64,
    /// Upper bound of `partition_for`.
    pub partition_for_max_ns: u64,
    /// `until`: end of the fault window, when random faults stop and everything heals and
    /// restarts; default = the duration, must be `<=` the duration.
    pub until_ns: u64,
    /// `pause_every`: mean time between pauses of a random node (it freezes, as in a long
    /// garbage-collection pause, then resumes with stale timers); `None` = none.
    pub pause_every_ns: Option<u64>,
    /// Lower bound of `pause_for` (default `["100ms", "2s"]`).
    pub pause_for_min_ns: u64,
    /// Upper bound of `pause_for`.
    pub pause_for_max_ns: u64,
    /// `clog_every`: mean time between clogs of a random link (everything sent on it is held,
    /// then released at once in a shuffled order); `None` = none.
    pub clog_every_ns: Option<u64>,
    /// Lower bound of `clog_for` (default `["100ms", "1s"]`).
    pub clog_for_min_ns: u64,
    /// Upper bound of `clog_for`.
    pub clog_for_max_ns: u64,
    /// `one_way_every`: mean time between one-way partitions (a random group's messages to
    /// the rest are dropped, not the reverse), lasting `partition_for`; `None` = none.
    pub one_way_every_ns: Option<u64>,
    /// `bridge_every`: mean time between bridge partitions (two sides that see one node in
    /// common, which sees both), lasting `partition_for`; `None` = none.
    pub bridge_every_ns: Option<u64>,
    /// `isolate_leader_every`: mean time between partitions of the current leader from all
    /// others, lasting `partition_for`; `None` = none.
    pub isolate_leader_every_ns: Option<u64>,
    /// `crash_leader_every`: mean time between crashes of the current leader, down for
    /// `down_for`; `None` = none.
    pub crash_leader_every_ns: Option<u64>,
    /// `partition_after_append_every`: mean time between armings of a nemesis that isolates
    /// the leader right after it appends a new entry, before it can commit it; `None` = none.
    pub partition_after_append_every_ns: Option<u64>,
    /// `drop_quorum_ack_every`: mean time between armings of a nemesis that drops the one
    /// append acknowledgement that would complete a quorum; `None` = none.
    pub drop_quorum_ack_every_ns: Option<u64>,
    /// `crash_before_sync_every`: mean time between armings of a nemesis that crashes a node
    /// right after a write, before its sync; `None` = none.
    pub crash_before_sync_every_ns: Option<u64>,
    /// `crash_after_send_every`: mean time between armings of `crash-after-send` (a message
    /// kind the run has sent, a moment, any node, down for `down_for`); `None` = none.
    pub crash_after_send_every_ns: Option<u64>,
    /// `hold_stale_every`: mean time between armings of `hold-stale` (a message kind the run
    /// has delivered, either term); `None` = none.
    pub hold_stale_every_ns: Option<u64>,
    /// `replay_old_every`: mean time between armings of `replay-old`; `None` = none.
    pub replay_old_every_ns: Option<u64>,
    /// `crash_during_snapshot_every`: mean time between armings of `crash-during-snapshot`
    /// (either stage, any node, down for `down_for`); `None` = none.
    pub crash_during_snapshot_every_ns: Option<u64>,
    /// `change_while_down_every`: mean time between armings of `change-while-down` (crashed
    /// or isolated, for `down_for`); `None` = none.
    pub change_while_down_every_ns: Option<u64>,
    /// `crash_at_io_every`: mean time between armings of `crash-at-io` (any boundary, any
    /// node, down for `down_for`); `None` = none.
    pub crash_at_io_every_ns: Option<u64>,
}

/// The `[workload]` section: client proposals.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// `rate`: proposals per simulated second; default 0 (no workload), `0 <= rate <= 1e6`.
    pub rate_per_s: f64,
    /// `count`: total proposals; default 0 (none).
    pub count: u64,
    /// `start` (default `"1s"`): when proposals begin; must be `<` the duration when given.
    pub start_ns: u64,
    /// `at` (default none): the proposals' times, sorted, instead of `rate` and `count` (an
    /// explicit workload, as `raftsim shrink` writes it).
    pub at_ns: Vec<u64>,
}

/// The `[clients]` section: simulated clients of the replicated key-value store, each with one
/// operation outstanding at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Clients {
    /// `count` (default 0: no clients): how many clients, `0..=1000`.
    pub count: u64,
    /// `operations` (default 0): operations in all, across clients.
    pub operations: u64,
    /// `keys` (default 5): how many keys, `1..=100000`, named `k1`, `k2`, ...
    pub keys: u64,
    /// `key_distribution` (default `"uniform"`): how keys are drawn.
    pub key_distribution: KeyDistribution,
    /// `mix` (default `{ get = 0.4, put = 0.2, append = 0.2, cas = 0.2 }`): relative weights of
    /// the operations; each `>= 0`, some `> 0`.
    pub mix: OpMix,
    /// Lower bound of `think_time` (default `["0ms", "20ms"]`): the pause between a client's
    /// operations.
    pub think_time_min_ns: u64,
    /// Upper bound of `think_time`.
    pub think_time_max_ns: u64,
    /// `timeout` (default `"500ms"`): how long a client waits for a reply before it retries
    /// with the same sequence number at another node; `> 0`.
    pub timeout_ns: u64,
    /// `attempts_max` (default 8): tries of one operation before the client gives up on it
    /// (its outcome is then unknown); `1..=1000`.
    pub attempts_max: u64,
    /// `start` (default `"1s"`): when clients begin; `<` the duration when given.
    pub start_ns: u64,
}

/// How clients pick keys.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Key `i` (from 1) with weight `1 / i^exponent`: a few hot keys.
    Zipf {
        /// The exponent, `> 0` and `<= 10` (default 1.0 in the file).
        exponent: f64,
    },
}

/// Relative weights of the client operations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpMix {
    /// Weight of `get`.
    pub get: f64,
    /// Weight of `put`.
    pub put: f64,
    /// Weight of `append`.
    pub append: f64,
    /// Weight of `cas`.
    pub cas: f64,
}

/// One `[[schedule]]` table: an action at a fixed time.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledAction {
    /// `at`, e.g. `"5s"`; `<=` the duration.
    pub at_ns: u64,
    /// What happens.
    pub action: Action,
    /// 1-based line of the `[[schedule]]` header in the file, for messages.
    pub line: usize,
}

/// A scheduled action.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `action = "partition"`, `groups = [[1, 2], [3, 4, 5]]`: each node in at most one group,
    /// every id in `1..=nodes`; nodes not named form one more group of their own. The result
    /// has at least two non-empty groups.
    Partition {
        /// The named groups, as written.
        groups: Vec<Vec<NodeId>>,
    },
    /// `action = "heal"`: remove every partition.
    Heal,
    /// `action = "crash"`, `node = 3`, optional `torn = true`: with `torn`, a random prefix
    /// of the node's unsynced writes survives (whatever `disk.torn_writes` says).
    Crash {
        /// The node to crash.
        node: NodeId,
        /// Keep a torn prefix of the unsynced writes.
        torn: bool,
    },
    /// `action = "network"` with any of `latency`, `latency_distribution`, `loss`,
    /// `duplicate`, `reorder`: the network's settings from now on (until another `network`
    /// action, or the quiet period after the fault window).
    Network {
        /// New `[min, max]` latency.
        latency: Option<(u64, u64)>,
        /// New latency distribution.
        latency_distribution: Option<LatencyDistribution>,
        /// New loss probability.
        loss: Option<f64>,
        /// New duplication probability.
        duplicate: Option<f64>,
        /// New reordering probability.
        reorder: Option<f64>,
    },
    /// `action = "restart"`, `node = 3`.
    Restart {
        /// The node to restart.
        node: NodeId,
    },
    /// `action = "one-way"`, `from = [1, 2]`, `to = [3]`: messages from each `from` node to
    /// each `to` node are dropped; the other direction still works. Until `heal`.
    OneWay {
        /// Senders cut off.
        from: Vec<NodeId>,
        /// Receivers they cannot reach.
        to: Vec<NodeId>,
    },
    /// `action = "bridge"`, `groups = [[1, 2], [4, 5]]`, `node = 3`: the two groups cannot
    /// talk to each other, the bridge node talks to both (and any node not named talks to
    /// the bridge only). Until `heal`.
    Bridge {
        /// The two sides.
        groups: Vec<Vec<NodeId>>,
        /// The node both sides see.
        node: NodeId,
    },
    /// `action = "clog"`, `from = [1]`, `to = [2, 3]`, `for = "500ms"`: messages on those
    /// links are held for `for`, then delivered at once in a shuffled order.
    Clog {
        /// Senders.
        from: Vec<NodeId>,
        /// Receivers.
        to: Vec<NodeId>,
        /// How long.
        for_ns: u64,
    },
    /// `action = "pause"`, `node = 2`, `for = "1s"`: the node freezes; what reaches it waits.
    Pause {
        /// The node.
        node: NodeId,
        /// How long.
        for_ns: u64,
    },
    /// `action = "clock-jump"`, `node = 2`, `by = "2s"`: the node's clock leaps forward.
    ClockJump {
        /// The node.
        node: NodeId,
        /// How far.
        by_ns: u64,
    },
    /// `action = "isolate-leader"`, `for = "2s"`: the current leader, if any, is cut off from
    /// every other node.
    IsolateLeader {
        /// How long.
        for_ns: u64,
    },
    /// `action = "crash-leader"`, `for = "2s"`: the current leader, if any, crashes and
    /// restarts `for` later.
    CrashLeader {
        /// How long it stays down.
        for_ns: u64,
    },
    /// `action = "partition-after-append"`, `for = "2s"`: the next time a leader appends a
    /// new entry, it is isolated at once, before it can commit the entry.
    PartitionAfterAppend {
        /// How long the isolation lasts.
        for_ns: u64,
    },
    /// `action = "drop-quorum-ack"`: the next append acknowledgement that would complete a
    /// quorum for a new entry is dropped.
    DropQuorumAck,
    /// `action = "crash-before-sync"`, `for = "1s"`, optional `node = 2`: the next time the
    /// node (or any node) writes, it crashes before the write is synced; it restarts `for`
    /// later.
    CrashBeforeSync {
        /// The node, or any.
        node: Option<NodeId>,
        /// How long it stays down.
        for_ns: u64,
    },
    /// `action = "crash-after-send"`, `when = "before-sync"`, `for = "1s"`, optional
    /// `kind = "RequestVoteResponse"` (default: any kind ending in `Response`), `node`,
    /// `pause = true`: the next time the node (or any node) produces a message of that kind
    /// that waits for a sync, it crashes (or pauses) before the sync or right after it.
    CrashAfterSend {
        /// The message kind, or any response.
        kind: Option<String>,
        /// Before or after the sync.
        when: SendMoment,
        /// The node, or any.
        node: Option<NodeId>,
        /// How long it stays down (or paused).
        for_ns: u64,
        /// Pause rather than crash.
        pause: bool,
    },
    /// `action = "hold-stale"`, `until = "sender-term"`, optional `kind`, `for` (default
    /// `"10s"`, at most `"60s"`): the next message of that kind (or any) to arrive is held
    /// back until that term moves past the message's, then delivered; delivered anyway after
    /// `for`, or when the fault window ends.
    HoldStale {
        /// The message kind, or any.
        kind: Option<String>,
        /// Whose term must move on.
        until: StaleUntil,
        /// The longest it is held.
        for_ns: u64,
    },
    /// `action = "replay-old"`: the next time a node becomes leader, up to 8 messages of the
    /// last 256 sent are delivered again to their receivers, among those whose term is below
    /// the receiver's.
    ReplayOld,
    /// `action = "crash-during-snapshot"`, `stage = "transfer"`, `for = "1s"`, optional
    /// `node`: the next follower (or `node`) that handles a snapshot chunk that is not the
    /// last (`transfer`), or installs a snapshot (`install`, before its sync), crashes.
    CrashDuringSnapshot {
        /// Where in the transfer.
        stage: SnapshotStage,
        /// The node, or any.
        node: Option<NodeId>,
        /// How long it stays down.
        for_ns: u64,
    },
    /// `action = "change-while-down"`, `for = "2s"`, optional `isolate = true`: once a leader
    /// is followed by a majority and no membership change is under way, a voter that is not
    /// the leader crashes (or is cut off) for `for`, and a change is requested at once: add a
    /// server that is not a voter if there is one, else remove another voter and then add it
    /// back.
    ChangeWhileDown {
        /// How long the voter stays down (or cut off).
        for_ns: u64,
        /// Cut it off rather than crash it.
        isolate: bool,
    },
    /// `action = "crash-at-io"`, `boundary = "mid-sync"`, `for = "1s"`, optional `node`: the
    /// next time the node (or any node) reaches that I/O boundary, it crashes, losing what
    /// was not synced.
    CrashAtIo {
        /// Which boundary.
        boundary: IoBoundary,
        /// The node, or any.
        node: Option<NodeId>,
        /// How long it stays down.
        for_ns: u64,
    },
    /// `action = "add-server"`, `node = 4`: the node starts empty and the leader adds it (as a
    /// learner first, then through the joint configuration).
    AddServer {
        /// The server.
        node: NodeId,
    },
    /// `action = "remove-server"`, `node = 2`: the leader removes it from the configuration.
    RemoveServer {
        /// The server.
        node: NodeId,
    },
    /// `action = "replace-server"`, `from = [1]`, `to = [4]`: one change that removes `from`
    /// and adds `to`.
    ReplaceServer {
        /// Servers removed.
        from: Vec<NodeId>,
        /// Servers added.
        to: Vec<NodeId>,
    },
    /// `action = "replace-leader"`, `node = 4`: one change that removes whichever node leads
    /// when the change is made and adds `node`.
    ReplaceLeader {
        /// The server added.
        node: NodeId,
    },
}

/// Why a scenario file was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file name, as given.
    pub file: String,
    /// 1-based line; `None` only when the file cannot be read.
    pub line: Option<usize>,
    /// Dotted path of the field, e.g. `network.loss`, `schedule[2].groups`, `duration`;
    /// `None` for errors that concern no single field (such as TOML syntax errors).
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Parse a scenario file from disk.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&file, &text),
        Err(e) => Err(ScenarioError {
            file,
            line: None,
            field: None,
            message: format!("cannot read the scenario file: {e}"),
        }),
    }
}

/// Parse scenario text; `file` is the name used in messages (and for the default name).
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let cx = Cx { file, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    cx.scenario(raw)
}

impl Scenario {
    /// This scenario as a scenario file that [`parse`] reads back to an equal `Scenario`
    /// (except [`ScheduledAction::line`], which becomes the line in the new text). Every
    /// field is written, durations with [`format_duration`]; only `workload.start` is left
    /// out when it is the default and the run ends before it, as a file may not say that.
    ///
    /// # Panics
    ///
    /// If an integer (such as `seed`) is above `i64::MAX`, which TOML cannot represent; a
    /// scenario from [`parse`] never has one.
    pub fn to_toml(&self) -> String {
        let dur = |ns| Some(spanless(Dur(ns)));
        let range = |min, max| Some(spanless(DurRange { min, max }));
        let int = |n| Some(spanless(Int(n)));
        let (r, f, w, n) = (&self.raft, &self.faults, &self.workload, &self.network);
        let omit_start = w.start_ns == DEFAULT_START_NS && w.start_ns >= self.duration_ns;
        let raw = RawScenario {
            name: Some(self.name.clone()),
            seed: Int(self.seed),
            nodes: spanless(Int(self.nodes)),
            duration: spanless(Dur(self.duration_ns)),
            implementation: (self.implementation != Default::default())
                .then(|| spanless(self.implementation.name().to_string())),
            implementation_options: (self.implementation_options.iter())
                .map(|(k, v)| (k.clone(), spanless(toml::Value::String(v.clone()))))
                .collect(),
            raft: RawRaft {
                election_timeout: range(r.election_timeout_min_ns, r.election_timeout_max_ns),
                heartbeat_interval: dur(r.heartbeat_interval_ns),
                msg_entries_max: int(r.msg_entries_max),
                inflight_msgs_max: int(r.inflight_msgs_max),
                uncommitted_entries_max: int(r.uncommitted_entries_max),
                session_timeout: dur(r.session_timeout_ns),
                sessions_max: int(r.sessions_max),
                value_bytes_max: int(r.value_bytes_max),
                learner_lag_entries_max: int(r.learner_lag_entries_max),
                snapshot_entries: int(r.snapshot_entries),
                snapshot_bytes: int(r.snapshot_bytes),
                snapshot_chunk_bytes: int(r.snapshot_chunk_bytes),
                snapshot_catch_up_entries: int(r.snapshot_catch_up_entries),
            },
            network: RawNetwork {
                latency: range(n.latency_min_ns, n.latency_max_ns),
                loss: Some(spanless(n.loss)),
                latency_distribution: Some(spanless(n.latency_distribution)),
                tail_probability: Some(spanless(n.tail_probability)),
                tail_latency: range(n.tail_latency_min_ns, n.tail_latency_max_ns),
                duplicate: Some(spanless(n.duplicate)),
                reorder: Some(spanless(n.reorder)),
                reorder_delay: range(n.reorder_delay_min_ns, n.reorder_delay_max_ns),
            },
            disk: RawDisk {
                sync_latency: range(self.disk.sync_latency_min_ns, self.disk.sync_latency_max_ns),
                torn_writes: Some(spanless(self.disk.torn_writes)),
            },
            clocks: RawClocks {
                offset_max: dur(self.clocks.offset_max_ns),
                drift_ppm_max: int(self.clocks.drift_ppm_max),
                jump_every: self.clocks.jump_every_ns.and_then(dur),
                jump: range(self.clocks.jump_min_ns, self.clocks.jump_max_ns),
            },
            liveness: RawLiveness {
                leader_within: self.liveness.leader_within_ns.and_then(dur),
                clients_within: self.liveness.clients_within_ns.and_then(dur),
            },
            swarm: RawSwarm {
                enabled: Some(spanless(self.swarm.enabled)),
            },
            membership: RawMembership {
                initial: int(self.membership.initial),
                churn_every: self.membership.churn_every_ns.and_then(dur),
                voters_min: int(self.membership.voters_min),
                voters_max: int(self.membership.voters_max),
            },
            faults: RawFaults {
                crash_every: f.crash_every_ns.and_then(dur),
                down_for: range(f.down_for_min_ns, f.down_for_max_ns),
                max_down: int(f.max_down),
                partition_every: f.partition_every_ns.and_then(dur),
                partition_for: range(f.partition_for_min_ns, f.partition_for_max_ns),
                until: dur(f.until_ns),
                pause_every: f.pause_every_ns.and_then(dur),
                pause_for: range(f.pause_for_min_ns, f.pause_for_max_ns),
                clog_every: f.clog_every_ns.and_then(dur),
                clog_for: range(f.clog_for_min_ns, f.clog_for_max_ns),
                one_way_every: f.one_way_every_ns.and_then(dur),
                bridge_every: f.bridge_every_ns.and_then(dur),
                isolate_leader_every: f.isolate_leader_every_ns.and_then(dur),
                crash_leader_every: f.crash_leader_every_ns.and_then(dur),
                partition_after_append_every: f.partition_after_append_every_ns.and_then(dur),
                drop_quorum_ack_every: f.drop_quorum_ack_every_ns.and_then(dur),
                crash_before_sync_every: f.crash_before_sync_every_ns.and_then(dur),
                crash_after_send_every: f.crash_after_send_every_ns.and_then(dur),
                hold_stale_every: f.hold_stale_every_ns.and_then(dur),
                replay_old_every: f.replay_old_every_ns.and_then(dur),
                crash_during_snapshot_every: f.crash_during_snapshot_every_ns.and_then(dur),
                change_while_down_every: f.change_while_down_every_ns.and_then(dur),
                crash_at_io_every: f.crash_at_io_every_ns.and_then(dur),
            },
            workload: match w.at_ns.is_empty() {
                true => RawWorkload {
                    rate: Some(spanless(w.rate_per_s)),
                    count: Some(Int(w.count)),
                    start: if omit_start { None } else { dur(w.start_ns) },
                    at: None,
                },
                false => RawWorkload {
                    rate: None,
                    count: None,
                    start: None,
                    at: Some(spanless(
                        w.at_ns.iter().map(|&t| spanless(Dur(t))).collect(),
                    )),
                },
            },
            clients: RawClients::new(&self.clients, self.duration_ns),
            schedule: self.schedule.iter().map(RawAction::new).collect(),
            expect: self.expect.iter().map(RawExpect::new).collect(),
            operation: self.operations.iter().map(RawOperation::new).collect(),
        };
        match toml::to_string(&raw) {
            Ok(text) => text,
            Err(e) => panic!("cannot write scenario {:?}: {e}", self.name),
        }
    }
}

impl Scenario {
    /// The scenario with this one's seed, nodes and duration and every other field at its
    /// default; `None` only if those three cannot be written (a seed above `i64::MAX`).
    pub fn bare(&self) -> Option<Scenario> {
        let text = format!(
            "seed = {}\nnodes = {}\nduration = \"{}\"\n",
            self.seed,
            self.nodes,
            format_duration(self.duration_ns)
        );
        parse("defaults", &text).ok()
    }

    /// This scenario as a scenario file that leaves out every field equal to its default,
    /// for files people read (shrunk findings). It reads back to the same scenario as
    /// [`Scenario::to_toml`]; if leaving defaults out would change anything (a default that
    /// depends on another field), it is [`Scenario::to_toml`] itself.
    pub fn to_toml_short(&self) -> String {
        let full = self.to_toml();
        let Some(defaults) = self.bare() else {
            return full;
        };
        let (Ok(mut doc), Ok(plain)) = (
            full.parse::<toml_edit::DocumentMut>(),
            defaults.to_toml().parse::<toml_edit::DocumentMut>(),
        ) else {
            return full;
        };
        drop_defaults(
            doc.as_table_mut(),
            plain.as_table(),
            &["name", "seed", "nodes", "duration"],
        );
        let short = doc.to_string();
        let same = |text: &str| {
            parse("short", text).is_ok_and(|mut s| {
                let mut me = self.clone();
                for a in me.schedule.iter_mut().chain(s.schedule.iter_mut()) {
                    a.line = 0;
                }
                for o in me.operations.iter_mut().chain(s.operations.iter_mut()) {
                    o.line = 0;
                }
                me.expect
                    .iter_mut()
                    .chain(s.expect.iter_mut())
                    .for_each(|e| e.line = 0);
                s == me
            })
        };
        if same(&short) {
            short
        } else {
            full
        }
    }
}

/// Removes from `table` every value equal to the one at the same place in `defaults`, and
/// every section left empty. Arrays of tables (`[[schedule]]`) are kept whole.
fn drop_defaults(table: &mut toml_edit::Table, defaults: &toml_edit::Table, keep: &[&str]) {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    for key in keys.into_iter().filter(|k| !keep.contains(&k.as_str())) {
        let Some(default) = defaults.get(&key) else {
            continue;
        };
        let remove = match table.get_mut(&key) {
            Some(Item::Table(t)) => match default.as_table() {
                Some(d) => {
                    drop_defaults(t, d, &[]);
                    t.is_empty()
                }
                None => false,
            },
            Some(Item::Value(v)) => default
                .as_value()
                .is_some_and(|d| d.to_string().trim() == v.to_string().trim()),
            _ => false,
        };
        if remove {
            table.remove(&key);
        }
    }
}

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_M: u64 = 60 * NS_PER_S;
const NS_PER_H: u64 = 60 * NS_PER_M;
const MAX_DURATION_NS: u64 = 24 * NS_PER_H;
/// How long `hold-stale` holds a message at most when `for` is not given.
pub const HOLD_STALE_FOR_DEFAULT_NS: u64 = 10 * NS_PER_S;
/// The largest `for` of `hold-stale`.
pub const HOLD_STALE_FOR_MAX_NS: u64 = 60 * NS_PER_S;
/// The largest cluster a scenario (or a trace file) may have.
pub const MAX_NODES: u64 = 64;

/// Units from largest to smallest.
const UNITS: [(&str, u64); 6] = [
    ("h", NS_PER_H),
    ("m", NS_PER_M),
    ("s", NS_PER_S),
    ("ms", NS_PER_MS),
    ("us", NS_PER_US),
    ("ns", 1),
];

const DURATION_HINT: &str =
    "expected a number followed by a unit (ns, us, ms, s, m, h), such as \"150ms\" or \"1.5s\"";

/// Parse a duration string like "150ms", "1.5s", "250us", "10ns", "2m", "1h", "0s" into
/// nanoseconds. The number may have a decimal fraction, but the result must be a whole
/// number of nanoseconds; spaces, signs and values beyond `u64::MAX` ns are errors.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("\"{s}\" is not a valid duration: {why}; {DURATION_HINT}");
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    if s.starts_with(['+', '-']) {
        return Err(bad("a sign is not allowed"));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(bad("spaces are not allowed"));
    }
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(num_end);
    if num.is_empty() {
        return Err(bad("it does not start with a number"));
    }
    if unit.is_empty() {
        return Err(bad("the unit is missing"));
    }
    let Some(&(_, mult)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(bad(&format!("unknown unit \"{unit}\"")));
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() || frac.contains('.') || (num.contains('.') && frac.is_empty()) {
        return Err(bad(&format!("malformed number \"{num}\"")));
    }
    let too_large = || bad("it is too large (at most 18446744073709551615ns, about 584 years)");
    let mut int_value: u128 = 0;
    for d in int.bytes() {
        int_value = int_value * 10 + u128::from(d - b'0');
        if int_value > u128::from(u64::MAX) {
            return Err(too_large());
        }
    }
    let frac = frac.trim_end_matches('0');
    let not_whole = || bad("it is not a whole number of nanoseconds");
    // A fraction with more than 19 significant digits can never give whole nanoseconds
    // with the units above (the largest, 1h, is 2^13 * 3^2 * 5^11 ns).
    if frac.len() > 19 {
        return Err(not_whole());
    }
    let mut frac_value: u128 = 0;
    let mut scale: u128 = 1;
    for d in frac.bytes() {
        frac_value = frac_value * 10 + u128::from(d - b'0');
        scale *= 10;
    }
    let mult = u128::from(mult);
    let frac_ns = frac_value * mult;
    if !frac_ns.is_multiple_of(scale) {
        return Err(not_whole());
    }
    let total = int_value * mult + frac_ns / scale;
    u64::try_from(total).map_err(|_| too_large())
}

/// Format nanoseconds as the shortest exact duration string ("1.5s", "150ms", "250us",
/// "10ns", "2m", "0s"). Never uses a number below 1 ("0.15s" is written "150ms"); on a
/// tie in length, the form with fewer decimals wins, then the larger unit.
pub fn format_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let mut best = format!("{ns}ns");
    let mut best_key = (best.len(), 0usize);
    for (unit, mult) in UNITS {
        let int = ns / mult;
        if int == 0 {
            continue;
        }
        let mut rem = u128::from(ns % mult);
        let mult = u128::from(mult);
        let mut digits = String::new();
        let mut terminates = true;
        while rem != 0 {
            if digits.len() >= 13 {
                terminates = false;
                break;
            }
            rem *= 10;
            let digit = u32::try_from(rem / mult).unwrap_or(0);
            digits.push(char::from_digit(digit, 10).unwrap_or('0'));
            rem %= mult;
        }
        if !terminates {
            continue;
        }
        let text = if digits.is_empty() {
            format!("{int}{unit}")
        } else {
            format!("{int}.{digits}{unit}")
        };
        let key = (text.len(), digits.len());
        if key < best_key {
            best_key = key;
            best = text;
        }
    }
    best
}

const DEFAULT_START_NS: u64 = NS_PER_S;
/// The most `[[operation]]` tables, and the most `workload.at` times, a file may list.
pub const OPERATIONS_EXPLICIT_MAX: usize = 100_000;

// ----- the file as serde sees it -----

/// An optional field, with its place in the file.
type Opt<T> = Option<Spanned<T>>;

/// A value to write: it has no place in any text.
fn spanless<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

/// The whole file. Every field of a section is optional, so a missing section is empty.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    seed: Int,
    nodes: Spanned<Int>,
    duration: Spanned<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    implementation: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    implementation_options: std::collections::BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    raft: RawRaft,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    disk: RawDisk,
    #[serde(default)]
    faults: RawFaults,
    #[serde(default)]
    workload: RawWorkload,
    #[serde(default)]
    clients: RawClients,
    #[serde(default)]
    clocks: RawClocks,
    #[serde(default)]
    liveness: RawLiveness,
    #[serde(default)]
    swarm: RawSwarm,
    #[serde(default)]
    membership: RawMembership,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    schedule: Vec<Spanned<RawAction>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    expect: Vec<Spanned<RawExpect>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    operation: Vec<Spanned<RawOperation>>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an `[[expect]]` table")]
struct RawExpect {
    from: Spanned<Dur>,
    to: Spanned<Dur>,
    commits_max: Opt<Int>,
    commits_min: Opt<Int>,
    messages_max: Opt<Int>,
    leaders_max: Opt<Int>,
    leader: Opt<bool>,
}

impl RawExpect {
    fn new(e: &Expectation) -> Spanned<RawExpect> {
        let int = |v: Option<u64>| v.map(|n| spanless(Int(n)));
        spanless(RawExpect {
            from: spanless(Dur(e.from_ns)),
            to: spanless(Dur(e.to_ns)),
            commits_max: int(e.commits_max),
            commits_min: int(e.commits_min),
            messages_max: int(e.messages_max),
            leaders_max: int(e.leaders_max),
            leader: e.leader.map(spanless),
        })
    }
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[clocks]` section)")]
struct RawClocks {
    offset_max: Opt<Dur>,
    drift_ppm_max: Opt<Int>,
    jump_every: Opt<Dur>,
    jump: Opt<DurRange>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[liveness]` section)")]
struct RawLiveness {
    leader_within: Opt<Dur>,
    clients_within: Opt<Dur>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[swarm]` section)")]
struct RawSwarm {
    enabled: Opt<bool>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[raft]` section)")]
struct RawRaft {
    election_timeout: Opt<DurRange>,
    heartbeat_interval: Opt<Dur>,
    msg_entries_max: Opt<Int>,
    inflight_msgs_max: Opt<Int>,
    uncommitted_entries_max: Opt<Int>,
    session_timeout: Opt<Dur>,
    sessions_max: Opt<Int>,
    value_bytes_max: Opt<Int>,
    learner_lag_entries_max: Opt<Int>,
    snapshot_entries: Opt<Int>,
    snapshot_bytes: Opt<Int>,
    snapshot_chunk_bytes: Opt<Int>,
    snapshot_catch_up_entries: Opt<Int>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[membership]` section)")]
struct RawMembership {
    initial: Opt<Int>,
    churn_every: Opt<Dur>,
    voters_min: Opt<Int>,
    voters_max: Opt<Int>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[network]` section)")]
struct RawNetwork {
    latency: Opt<DurRange>,
    loss: Opt<f64>,
    latency_distribution: Opt<LatencyDistribution>,
    tail_probability: Opt<f64>,
    tail_latency: Opt<DurRange>,
    duplicate: Opt<f64>,
    reorder: Opt<f64>,
    reorder_delay: Opt<DurRange>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[disk]` section)")]
struct RawDisk {
    sync_latency: Opt<DurRange>,
    torn_writes: Opt<f64>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[faults]` section)")]
struct RawFaults {
    crash_every: Opt<Dur>,
    down_for: Opt<DurRange>,
    max_down: Opt<Int>,
    partition_every: Opt<Dur>,
    partition_for: Opt<DurRange>,
    until: Opt<Dur>,
    pause_every: Opt<Dur>,
    pause_for: Opt<DurRange>,
    clog_every: Opt<Dur>,
    clog_for: Opt<DurRange>,
    one_way_every: Opt<Dur>,
    bridge_every: Opt<Dur>,
    isolate_leader_every: Opt<Dur>,
    crash_leader_every: Opt<Dur>,
    partition_after_append_every: Opt<Dur>,
    drop_quorum_ack_every: Opt<Dur>,
    crash_before_sync_every: Opt<Dur>,
    crash_after_send_every: Opt<Dur>,
    hold_stale_every: Opt<Dur>,
    replay_old_every: Opt<Dur>,
    crash_during_snapshot_every: Opt<Dur>,
    change_while_down_every: Opt<Dur>,
    crash_at_io_every: Opt<Dur>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[workload]` section)")]
struct RawWorkload {
    rate: Opt<f64>,
    count: Option<Int>,
    start: Opt<Dur>,
    at: Opt<Vec<Spanned<Dur>>>,
}

/// One `[[operation]]` table.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an `[[operation]]` table")]
struct RawOperation {
    client: Spanned<Int>,
    at: Spanned<Dur>,
    f: Spanned<RawOpKind>,
    key: Option<Spanned<String>>,
    value: Option<Spanned<String>>,
    expected: Option<Spanned<String>>,
    new: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum RawOpKind {
    Register,
    Get,
    Put,
    Append,
    Cas,
}

impl RawOperation {
    fn new(o: &ScriptedOp) -> Spanned<Self> {
        use crate::node::ClientOp;
        let text = |s: &String| Some(spanless(s.clone()));
        let (f, key, value, expected, new) = match &o.op {
            None => (RawOpKind::Register, None, None, None, None),
            Some(ClientOp::Get { key }) => (RawOpKind::Get, text(key), None, None, None),
            Some(ClientOp::Put { key, value }) => {
                (RawOpKind::Put, text(key), text(value), None, None)
            }
            Some(ClientOp::Append { key, value }) => {
                (RawOpKind::Append, text(key), text(value), None, None)
            }
            Some(ClientOp::Cas { key, expected, new }) => {
                (RawOpKind::Cas, text(key), None, text(expected), text(new))
            }
        };
        spanless(RawOperation {
            client: spanless(Int(o.client)),
            at: spanless(Dur(o.at_ns)),
            f: spanless(f),
            key,
            value,
            expected,
            new,
        })
    }
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[clients]` section)")]
struct RawClients {
    count: Opt<Int>,
    operations: Opt<Int>,
    keys: Opt<Int>,
    key_distribution: Opt<RawKeyDistribution>,
    zipf_exponent: Opt<f64>,
    mix: Option<Spanned<RawMix>>,
    think_time: Opt<DurRange>,
    timeout: Opt<Dur>,
    attempts_max: Opt<Int>,
    start: Opt<Dur>,
}

impl RawClients {
    fn new(c: &Clients, duration_ns: u64) -> RawClients {
        fn f<T>(x: T) -> Opt<T> {
            Some(spanless(x))
        }
        let (distribution, exponent) = match c.key_distribution {
            KeyDistribution::Uniform => (RawKeyDistribution::Uniform, None),
            KeyDistribution::Zipf { exponent } => (RawKeyDistribution::Zipf, f(exponent)),
        };
        let omit_start = c.start_ns == DEFAULT_START_NS && c.start_ns >= duration_ns;
        RawClients {
            count: f(Int(c.count)),
            operations: f(Int(c.operations)),
            keys: f(Int(c.keys)),
            key_distribution: f(distribution),
            zipf_exponent: exponent,
            mix: f(RawMix {
                get: f(c.mix.get),
                put: f(c.mix.put),
                append: f(c.mix.append),
                cas: f(c.mix.cas),
            }),
            think_time: f(DurRange {
                min: c.think_time_min_ns,
                max: c.think_time_max_ns,
            }),
            timeout: f(Dur(c.timeout_ns)),
            attempts_max: f(Int(c.attempts_max)),
            start: if omit_start { None } else { f(Dur(c.start_ns)) },
        }
    }
}

#[derive(Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum RawKeyDistribution {
    Uniform,
    Zipf,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of weights, such as { get = 1, put = 1 }"
)]
struct RawMix {
    get: Opt<f64>,
    put: Opt<f64>,
    append: Opt<f64>,
    cas: Opt<f64>,
}

/// One `[[schedule]]` table. A flat struct rather than an enum tagged by `action`: serde
/// buffers tagged enums, which loses the places of the fields.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a `[[schedule]]` table")]
struct RawAction {
    at: Spanned<Dur>,
    action: ActionKind,
    groups: Opt<Vec<Spanned<Vec<Spanned<Int>>>>>,
    node: Opt<Int>,
    from: Opt<Vec<Spanned<Int>>>,
    to: Opt<Vec<Spanned<Int>>>,
    #[serde(rename = "for")]
    for_: Opt<Dur>,
    by: Opt<Dur>,
    torn: Opt<bool>,
    latency: Opt<DurRange>,
    latency_distribution: Opt<LatencyDistribution>,
    loss: Opt<f64>,
    duplicate: Opt<f64>,
    reorder: Opt<f64>,
    kind: Opt<String>,
    when: Opt<SendMoment>,
    until: Opt<StaleUntil>,
    stage: Opt<SnapshotStage>,
    boundary: Opt<IoBoundary>,
    pause: Opt<bool>,
    isolate: Opt<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
enum ActionKind {
    Partition,
    Heal,
    Crash,
    Restart,
    OneWay,
    Bridge,
    Clog,
    Pause,
    ClockJump,
    IsolateLeader,
    CrashLeader,
    PartitionAfterAppend,
    DropQuorumAck,
    CrashBeforeSync,
    AddServer,
    RemoveServer,
    ReplaceServer,
    ReplaceLeader,
    Network,
    CrashAfterSend,
    HoldStale,
    ReplayOld,
    CrashDuringSnapshot,
    ChangeWhileDown,
    CrashAtIo,
}

impl ActionKind {
    const ALL: [ActionKind; 25] = [
        ActionKind::Partition,
        ActionKind::Heal,
        ActionKind::Crash,
        ActionKind::Restart,
        ActionKind::OneWay,
        ActionKind::Bridge,
        ActionKind::Clog,
        ActionKind::Pause,
        ActionKind::ClockJump,
        ActionKind::IsolateLeader,
        ActionKind::CrashLeader,
        ActionKind::PartitionAfterAppend,
        ActionKind::DropQuorumAck,
        ActionKind::CrashBeforeSync,
        ActionKind::AddServer,
        ActionKind::RemoveServer,
        ActionKind::ReplaceServer,
        ActionKind::ReplaceLeader,
        ActionKind::Network,
        ActionKind::CrashAfterSend,
        ActionKind::HoldStale,
        ActionKind::ReplayOld,
        ActionKind::CrashDuringSnapshot,
        ActionKind::ChangeWhileDown,
        ActionKind::CrashAtIo,
    ];

    /// The name in a file.
    fn name(self) -> &'static str {
        match self {
            ActionKind::Partition => "partition",
            ActionKind::Heal => "heal",
            ActionKind::Crash => "crash",
            ActionKind::Restart => "restart",
            ActionKind::OneWay => "one-way",
            ActionKind::Bridge => "bridge",
            ActionKind::Clog => "clog",
            ActionKind::Pause => "pause",
            ActionKind::ClockJump => "clock-jump",
            ActionKind::IsolateLeader => "isolate-leader",
            ActionKind::CrashLeader => "crash-leader",
            ActionKind::PartitionAfterAppend => "partition-after-append",
            ActionKind::DropQuorumAck => "drop-quorum-ack",
            ActionKind::CrashBeforeSync => "crash-before-sync",
            ActionKind::AddServer => "add-server",
            ActionKind::RemoveServer => "remove-server",
            ActionKind::ReplaceServer => "replace-server",
            ActionKind::ReplaceLeader => "replace-leader",
            ActionKind::Network => "network",
            ActionKind::CrashAfterSend => "crash-after-send",
            ActionKind::HoldStale => "hold-stale",
            ActionKind::ReplayOld => "replay-old",
            ActionKind::CrashDuringSnapshot => "crash-during-snapshot",
            ActionKind::ChangeWhileDown => "change-while-down",
            ActionKind::CrashAtIo => "crash-at-io",
        }
    }

    /// The fields besides `at` and `action` that the action takes: (required, optional).
    fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ActionKind::Partition => (&["groups"], &[]),
            ActionKind::Heal | ActionKind::DropQuorumAck | ActionKind::ReplayOld => (&[], &[]),
            ActionKind::Crash => (&["node"], &["torn"]),
            ActionKind::Restart => (&["node"], &[]),
            ActionKind::OneWay => (&["from", "to"], &[]),
            ActionKind::Bridge => (&["groups", "node"], &[]),
            ActionKind::Clog => (&["from", "to", "for"], &[]),
            ActionKind::Pause => (&["node", "for"], &[]),
            ActionKind::ClockJump => (&["node", "by"], &[]),
            ActionKind::IsolateLeader | ActionKind::CrashLeader => (&["for"], &[]),
            ActionKind::PartitionAfterAppend => (&["for"], &[]),
            ActionKind::CrashBeforeSync => (&["for"], &["node"]),
            ActionKind::AddServer | ActionKind::RemoveServer | ActionKind::ReplaceLeader => {
                (&["node"], &[])
            }
            ActionKind::ReplaceServer => (&["from", "to"], &[]),
            ActionKind::CrashAfterSend => (&["when", "for"], &["kind", "node", "pause"]),
            ActionKind::HoldStale => (&["until"], &["kind", "for"]),
            ActionKind::CrashDuringSnapshot => (&["stage", "for"], &["node"]),
            ActionKind::ChangeWhileDown => (&["for"], &["isolate"]),
            ActionKind::CrashAtIo => (&["boundary", "for"], &["node"]),
            ActionKind::Network => (
                &[],
                &[
                    "latency",
                    "latency_distribution",
                    "loss",
                    "duplicate",
                    "reorder",
                ],
            ),
        }
    }
}

impl RawAction {
    fn new(a: &ScheduledAction) -> Spanned<Self> {
        let id = |n: &NodeId| spanless(Int(*n));
        let ids = |v: &[NodeId]| Some(spanless(v.iter().map(id).collect::<Vec<_>>()));
        let groups_of = |groups: &[Vec<NodeId>]| {
            let g = groups.iter().map(|g| spanless(g.iter().map(id).collect()));
            Some(spanless(g.collect()))
        };
        let dur = |ns: &u64| Some(spanless(Dur(*ns)));
        let mut raw = RawAction {
            at: spanless(Dur(a.at_ns)),
            action: ActionKind::Heal,
            groups: None,
            node: None,
            from: None,
            to: None,
            for_: None,
            by: None,
            torn: None,
            latency: None,
            latency_distribution: None,
            loss: None,
            duplicate: None,
            reorder: None,
            kind: None,
            when: None,
            until: None,
            stage: None,
            boundary: None,
            pause: None,
            isolate: None,
        };
        if raw_protocol_action(&a.action, &mut raw) {
            return spanless(raw);
        }
        match &a.action {
            Action::Partition { groups } => {
                raw.action = ActionKind::Partition;
                raw.groups = groups_of(groups);
            }
            Action::Heal => raw.action = ActionKind::Heal,
            Action::Crash { node, torn } => {
                (raw.action, raw.node) = (ActionKind::Crash, Some(id(node)));
                raw.torn = torn.then(|| spanless(true));
            }
            Action::Network {
                latency,
                latency_distribution,
                loss,
                duplicate,
                reorder,
            } => {
                raw.action = ActionKind::Network;
                raw.latency = latency.map(|(min, max)| spanless(DurRange { min, max }));
                raw.latency_distribution = latency_distribution.map(spanless);
                (raw.loss, raw.duplicate, raw.reorder) = (
                    loss.map(spanless),
                    duplicate.map(spanless),
                    reorder.map(spanless),
                );
            }
            Action::Restart { node } => {
                (raw.action, raw.node) = (ActionKind::Restart, Some(id(node)));
            }
            Action::OneWay { from, to } => {
                (raw.action, raw.from, raw.to) = (ActionKind::OneWay, ids(from), ids(to));
            }
            Action::Bridge { groups, node } => {
                raw.action = ActionKind::Bridge;
                (raw.groups, raw.node) = (groups_of(groups), Some(id(node)));
            }
            Action::Clog { from, to, for_ns } => {
                raw.action = ActionKind::Clog;
                (raw.from, raw.to, raw.for_) = (ids(from), ids(to), dur(for_ns));
            }
            Action::Pause { node, for_ns } => {
                raw.action = ActionKind::Pause;
                (raw.node, raw.for_) = (Some(id(node)), dur(for_ns));
            }
            Action::ClockJump { node, by_ns } => {
                raw.action = ActionKind::ClockJump;
                (raw.node, raw.by) = (Some(id(node)), dur(by_ns));
            }
            Action::IsolateLeader { for_ns } => {
                (raw.action, raw.for_) = (ActionKind::IsolateLeader, dur(for_ns));
            }
            Action::CrashLeader { for_ns } => {
                (raw.action, raw.for_) = (ActionKind::CrashLeader, dur(for_ns));
            }
            Action::PartitionAfterAppend { for_ns } => {
                (raw.action, raw.for_) = (ActionKind::PartitionAfterAppend, dur(for_ns));
            }
            Action::DropQuorumAck => raw.action = ActionKind::DropQuorumAck,
            Action::CrashBeforeSync { node, for_ns } => {
                raw.action = ActionKind::CrashBeforeSync;
                (raw.node, raw.for_) = (node.as_ref().map(id), dur(for_ns));
            }
            Action::AddServer { node } => {
                (raw.action, raw.node) = (ActionKind::AddServer, Some(id(node)));
            }
            Action::RemoveServer { node } => {
                (raw.action, raw.node) = (ActionKind::RemoveServer, Some(id(node)));
            }
            Action::ReplaceLeader { node } => {
                (raw.action, raw.node) = (ActionKind::ReplaceLeader, Some(id(node)));
            }
            Action::ReplaceServer { from, to } => {
                (raw.action, raw.from, raw.to) = (ActionKind::ReplaceServer, ids(from), ids(to));
            }
            _ => unreachable!("raw_protocol_action wrote it"),
        }
        spanless(raw)
    }
}

/// Writes the fields of a protocol-timed fault into `raw`; false for any other action.
fn raw_protocol_action(action: &Action, raw: &mut RawAction) -> bool {
    let id = |n: &NodeId| spanless(Int(*n));
    let dur = |ns: &u64| Some(spanless(Dur(*ns)));
    let flag = |b: &bool| b.then(|| spanless(true));
    match action {
        Action::CrashAfterSend {
            kind,
            when,
            node,
            for_ns,
            pause,
        } => {
            raw.action = ActionKind::CrashAfterSend;
            (raw.kind, raw.when) = (kind.clone().map(spanless), Some(spanless(*when)));
            (raw.node, raw.for_, raw.pause) = (node.as_ref().map(id), dur(for_ns), flag(pause));
        }
        Action::HoldStale {
            kind,
            until,
            for_ns,
        } => {
            raw.action = ActionKind::HoldStale;
            (raw.kind, raw.until) = (kind.clone().map(spanless), Some(spanless(*until)));
            raw.for_ = dur(for_ns);
        }
        Action::ReplayOld => raw.action = ActionKind::ReplayOld,
        Action::CrashDuringSnapshot {
            stage,
            node,
            for_ns,
        } => {
            (raw.action, raw.stage) = (ActionKind::CrashDuringSnapshot, Some(spanless(*stage)));
            (raw.node, raw.for_) = (node.as_ref().map(id), dur(for_ns));
        }
        Action::ChangeWhileDown { for_ns, isolate } => {
            raw.action = ActionKind::ChangeWhileDown;
            (raw.for_, raw.isolate) = (dur(for_ns), flag(isolate));
        }
        Action::CrashAtIo {
            boundary,
            node,
            for_ns,
        } => {
            (raw.action, raw.boundary) = (ActionKind::CrashAtIo, Some(spanless(*boundary)));
            (raw.node, raw.for_) = (node.as_ref().map(id), dur(for_ns));
        }
        _ => return false,
    }
    true
}

/// A non-negative integer (the newtype makes messages say so rather than "u64").
#[derive(Clone, Copy, Serialize)]
#[serde(transparent)]
struct Int(u64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Int, E> {
                let negative = |_| E::invalid_value(Unexpected::Signed(n), &self);
                u64::try_from(n).map(Int).map_err(negative)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in nanoseconds, written as a string such as `"150ms"` (see [`parse_duration`]).
#[derive(Clone, Copy)]
struct Dur(u64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"150ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "durations are strings with a unit, such as \"150ms\"; \
                     found the bare integer {n}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// `[min, max]`: two durations, `min <= max`.
#[derive(Clone, Copy, Deserialize, Serialize)]
#[serde(try_from = "Vec<Dur>", into = "[Dur; 2]")]
struct DurRange {
    min: u64,
    max: u64,
}

impl TryFrom<Vec<Dur>> for DurRange {
    type Error = String;
    fn try_from(v: Vec<Dur>) -> Result<Self, String> {
        let &[Dur(min), Dur(max)] = &v[..] else {
            let n = v.len();
            return Err(format!(
                "expected [min, max], an array of two durations such as [\"1ms\", \"10ms\"], \
                 found an array of {n} elements"
            ));
        };
        let (lo, hi) = (format_duration(min), format_duration(max));
        ensure(min <= max, || {
            format!("min ({lo}) must not be greater than max ({hi})")
        })?;
        Ok(DurRange { min, max })
    }
}

impl From<DurRange> for [Dur; 2] {
    fn from(r: DurRange) -> Self {
        [Dur(r.min), Dur(r.max)]
    }
}

// ----- checks -----

/// `Ok` if `ok`, else the message.
fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

fn between(lo: u64, hi: u64) -> impl Fn(Int) -> Result<(), String> {
    move |Int(n)| {
        ensure((lo..=hi).contains(&n), || match hi {
            u64::MAX => format!("must be at least {lo}, found {n}"),
            _ => format!("must be between {lo} and {hi}, found {n}"),
        })
    }
}

fn positive(Dur(d): Dur) -> Result<(), String> {
    ensure(d > 0, || "must be greater than 0".to_string())
}

/// `min > 0`, and with `strict`, `min < max`.
fn positive_range(strict: bool) -> impl Fn(DurRange) -> Result<(), String> {
    move |DurRange { min, max }| {
        ensure(min > 0, || "min must be greater than 0".to_string())?;
        let (lo, hi) = (format_duration(min), format_duration(max));
        ensure(!strict || min < max, || {
            format!("min ({lo}) must be less than max ({hi})")
        })
    }
}

/// A time within the run: `<= duration`.
fn within_run(duration_ns: u64) -> impl Fn(Dur) -> Result<(), String> {
    move |Dur(t)| {
        let (t_text, d) = (format_duration(t), format_duration(duration_ns));
        ensure(t <= duration_ns, || {
            format!("{t_text} is after the end of the run (duration = {d})")
        })
    }
}

/// The dotted path of the field at `span` in `table` (at `path`): the table itself if `span`
/// is its span (as for a missing field), else the innermost key or value holding its start.
fn field_at(
    table: &dyn TableLike,
    table_span: Option<Range<usize>>,
    path: String,
    span: &Range<usize>,
) -> Option<String> {
    if table_span.as_ref() == Some(span) {
        return Some(path);
    }
    for (key, item) in table.iter() {
        let here = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        let nth = |i: usize| format!("{here}[{i}]");
        let tables: Vec<(String, &dyn TableLike, _)> = match item {
            Item::Table(t) => vec![(here.clone(), t, t.span())],
            Item::Value(Value::InlineTable(t)) => vec![(here.clone(), t, item.span())],
            Item::ArrayOfTables(a) => (a.iter().enumerate())
                .map(|(i, t)| (nth(i), t as _, t.span()))
                .collect(),
            Item::Value(Value::Array(a)) => (a.iter().enumerate())
                .filter_map(|(i, v)| Some((nth(i), v.as_inline_table()? as _, v.span())))
                .collect(),
            _ => Vec::new(),
        };
        for (path, t, t_span) in tables {
            if let Some(found) = field_at(t, t_span, path, span) {
                return Some(found);
            }
        }
        let key_span = table.key(key).and_then(|k| k.span());
        if [key_span, item.span()]
            .iter()
            .flatten()
            .any(|s| s.contains(&span.start))
        {
            return Some(here);
        }
    }
    None
}

/// The file being parsed, for messages.
struct Cx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Cx<'_> {
    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.text
            .bytes()
            .take(offset)
            .filter(|&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at `span` of the (well-formed) text; `missing` names a field that the table
    /// at `span` lacks.
    fn error(&self, span: Range<usize>, missing: Option<&str>, message: String) -> ScenarioError {
        let doc = ImDocument::parse(self.text).ok();
        let root = doc.as_ref().map(|d| d.as_table());
        let at = root.and_then(|t| field_at(t, t.span(), String::new(), &span));
        let field = match (at.filter(|f| !f.is_empty()), missing) {
            (Some(table), Some(key)) => Some(format!("{table}.{key}")),
            (at, key) => key.map(str::to_string).or(at),
        };
        ScenarioError {
            file: self.file.to_string(),
            line: Some(self.line(span.start)),
            field,
            message,
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().replace('\n', "; ");
        if ImDocument::parse(self.text).is_err() {
            return ScenarioError {
                field: None,
                message: format!("invalid TOML: {message}"),
                ..self.error(span, None, String::new())
            };
        }
        // serde's "missing field `x`" has the span of the table that lacks it.
        let missing = message.strip_prefix("missing field `");
        let missing = missing
            .and_then(|m| m.strip_suffix('`'))
            .map(str::to_string);
        self.error(span, missing.as_deref(), message)
    }

    /// `implementation`: a registered name, or the default.
    fn implementation(
        &self,
        name: &Option<Spanned<String>>,
    ) -> Result<crate::implementation::Implementation, ScenarioError> {
        use crate::implementation::Implementation;
        let Some(name) = name else {
            return Ok(Implementation::default());
        };
        Implementation::from_name(name.get_ref()).ok_or_else(|| {
            let message = format!(
                "unknown implementation `{}`; expected one of: {}",
                name.get_ref(),
                Implementation::names()
            );
            self.fail(name, message)
        })
    }

    /// `[implementation_options]`: each a string, a number or a boolean, kept as text.
    fn implementation_options(
        &self,
        raw: &std::collections::BTreeMap<String, Spanned<toml::Value>>,
    ) -> Result<std::collections::BTreeMap<String, String>, ScenarioError> {
        raw.iter()
            .map(|(key, value)| {
                let text = match value.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        let kind = other.type_str();
                        let message =
                            format!("expected a string, a number or a boolean, found {kind}");
                        return Err(self.fail(value, message));
                    }
                };
                Ok((key.clone(), text))
            })
            .collect()
    }

    /// An error at the value `v`.
    fn fail<T>(&self, v: &Spanned<T>, message: String) -> ScenarioError {
        self.error(v.span(), None, message)
    }

    /// The value of a field, checked by `check`.
    fn get<T: Copy>(
        &self,
        v: &Spanned<T>,
        check: impl FnOnce(T) -> Result<(), String>,
    ) -> Result<T, ScenarioError> {
        check(*v.get_ref()).map_err(|m| self.fail(v, m))?;
        Ok(*v.get_ref())
    }

    /// The value of an optional field, checked by `check`, or `default`.
    fn opt<T: Copy>(
        &self,
        v: &Opt<T>,
        default: T,
        check: impl FnOnce(T) -> Result<(), String>,
    ) -> Result<T, ScenarioError> {
        v.as_ref().map_or(Ok(default), |v| self.get(v, check))
    }

    fn scenario(&self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        let Int(nodes) = self.get(&raw.nodes, between(1, MAX_NODES))?;
        let Dur(duration_ns) = self.get(&raw.duration, |Dur(d)| {
            let found = format_duration(d);
            let message = || format!("must be greater than 0 and at most 24h, found {found}");
            ensure(d > 0 && d <= MAX_DURATION_NS, message)
        })?;
        let (r, n, f, w) = (&raw.raft, &raw.network, &raw.faults, &raw.workload);
        let ms = |min, max| DurRange {
            min: min * NS_PER_MS,
            max: max * NS_PER_MS,
        };
        let any = |_| Ok(());
        let int = |v, default, lo, hi| self.opt(v, Int(default), between(lo, hi)).map(|i| i.0);
        let every = |v: &Opt<_>| {
            v.as_ref()
                .map(|v| self.get(v, positive).map(|d| d.0))
                .transpose()
        };

        let election = self.opt(&r.election_timeout, ms(150, 300), positive_range(true))?;
        let Dur(heartbeat) = self.opt(&r.heartbeat_interval, Dur(50 * NS_PER_MS), positive)?;
        if heartbeat >= election.min {
            // Blame the field that was written (the other one is a default).
            let span = match (&r.heartbeat_interval, &r.election_timeout) {
                (Some(h), _) => h.span(),
                (None, e) => e.as_ref().map_or(0..0, Spanned::span),
            };
            let (h, e) = (format_duration(heartbeat), format_duration(election.min));
            let message = format!(
                "heartbeat_interval ({h}) must be less than the election timeout minimum ({e})"
            );
            return Err(self.error(span, None, message));
        }
        let latency = self.opt(&n.latency, ms(1, 10), any)?;
        let loss = self.opt(&n.loss, 0.0, |x| {
            let message =
                || format!("must be at least 0.0 and less than 1.0 (a probability), found {x:?}");
            ensure((0.0..1.0).contains(&x), message)
        })?;
        let sync = DurRange {
            min: 100 * NS_PER_US,
            max: NS_PER_MS,
        };
        let sync = self.opt(&raw.disk.sync_latency, sync, any)?;
        let probability = |v: &Opt<f64>, default: f64, below_one: bool| {
            self.opt(v, default, |x: f64| {
                let ok = x >= 0.0 && if below_one { x < 1.0 } else { x <= 1.0 };
                let bound = if below_one {
                    "less than 1.0"
                } else {
                    "at most 1.0"
                };
                ensure(ok, || {
                    format!("must be at least 0.0 and {bound} (a probability), found {x:?}")
                })
            })
        };
        let base = NetworkSettings::uniform(latency.min, latency.max);
        let tail = DurRange {
            min: base.tail_latency_min_ns,
            max: base.tail_latency_max_ns,
        };
        let tail = self.opt(&n.tail_latency, tail, positive_range(false))?;
        let reorder_delay = DurRange {
            min: base.reorder_delay_min_ns,
            max: base.reorder_delay_max_ns,
        };
        let reorder_delay = self.opt(&n.reorder_delay, reorder_delay, any)?;
        let network = NetworkSettings {
            loss,
            latency_distribution: n
                .latency_distribution
                .as_ref()
                .map_or(LatencyDistribution::Uniform, |d| *d.get_ref()),
            tail_probability: probability(&n.tail_probability, base.tail_probability, false)?,
            tail_latency_min_ns: tail.min,
            tail_latency_max_ns: tail.max,
            duplicate: probability(&n.duplicate, 0.0, true)?,
            reorder: probability(&n.reorder, 0.0, true)?,
            reorder_delay_min_ns: reorder_delay.min,
            reorder_delay_max_ns: reorder_delay.max,
            ..base
        };
        let torn_writes = probability(&raw.disk.torn_writes, 0.0, false)?;
        let c = &raw.clocks;
        let jump = self.opt(&c.jump, ms(100, 2000), positive_range(false))?;
        let clocks = ClockSettings {
            offset_max_ns: self.opt(&c.offset_max, Dur(0), |_| Ok(()))?.0,
            drift_ppm_max: int(&c.drift_ppm_max, 0, 0, 100_000)?,
            jump_every_ns: every(&c.jump_every)?,
            jump_min_ns: jump.min,
            jump_max_ns: jump.max,
        };
        let l = &raw.liveness;
        let liveness = LivenessSettings {
            leader_within_ns: every(&l.leader_within)?,
            clients_within_ns: every(&l.clients_within)?,
        };
        let mb = &raw.membership;
        let initial = int(&mb.initial, nodes, 1, nodes)?;
        let voters_max = int(&mb.voters_max, nodes, 1, nodes)?;
        let voters_min = int(&mb.voters_min, 3.min(initial), 1, initial)?;
        if voters_min > voters_max {
            let span =
                (mb.voters_min.as_ref().or(mb.voters_max.as_ref())).map_or(0..0, Spanned::span);
            let message = format!("voters_min ({voters_min}) is above voters_max ({voters_max})");
            return Err(self.error(span, None, message));
        }
        let membership = MembershipSettings {
            initial,
            churn_every_ns: every(&mb.churn_every)?,
            voters_min,
            voters_max,
        };
        let swarm = SwarmSettings {
            enabled: raw.swarm.enabled.as_ref().is_some_and(|e| *e.get_ref()),
        };
        let pause_for = self.opt(&f.pause_for, ms(100, 2000), positive_range(false))?;
        let clog_for = self.opt(&f.clog_for, ms(100, 1000), positive_range(false))?;
        let down_for = self.opt(&f.down_for, ms(1000, 4000), positive_range(false))?;
        let Int(max_down) = self.opt(&f.max_down, Int((nodes - 1) / 2), |Int(m)| {
            ensure(m < nodes, || {
                format!("must be less than nodes ({nodes}), found {m}")
            })
        })?;
        let partition_for = self.opt(&f.partition_for, ms(1000, 5000), positive_range(false))?;
        let Dur(until_ns) = self.opt(&f.until, Dur(duration_ns), within_run(duration_ns))?;
        let rate_per_s = self.opt(&w.rate, 0.0, |r| {
            let message =
                || format!("must be between 0 and 1000000 proposals per second, found {r:?}");
            ensure((0.0..=1e6).contains(&r), message)
        })?;
        // The default start is not checked: a run that ends before it has no workload.
        let Dur(start_ns) = self.opt(&w.start, Dur(DEFAULT_START_NS), |Dur(s)| {
            let (d, found) = (format_duration(duration_ns), format_duration(s));
            let message =
                || format!("must be before the end of the run (duration = {d}), found {found}");
            ensure(s < duration_ns, message)
        })?;
        let mut clients = self.clients(&raw.clients, duration_ns)?;
        let operations = self.operations(&raw, &mut clients, duration_ns)?;
        let at_ns = self.proposal_times(w, duration_ns)?;
        let mut schedule = (raw.schedule.iter())
            .map(|a| self.action(a, nodes, duration_ns))
            .collect::<Result<Vec<_>, _>>()?;
        schedule.sort_by_key(|a| a.at_ns);
        let expect = (raw.expect.iter())
            .map(|e| self.expectation(e, duration_ns))
            .collect::<Result<Vec<_>, _>>()?;
        let implementation = self.implementation(&raw.implementation)?;
        let implementation_options = self.implementation_options(&raw.implementation_options)?;
        Ok(Scenario {
            expect,
            implementation,
            implementation_options,
            name: raw.name.unwrap_or_else(|| default_name(self.file)),
            seed: raw.seed.0,
            nodes,
            duration_ns,
            raft: RaftSettings {
                election_timeout_min_ns: election.min,
                election_timeout_max_ns: election.max,
                heartbeat_interval_ns: heartbeat,
                msg_entries_max: int(&r.msg_entries_max, 64, 1, 4096)?,
                inflight_msgs_max: int(&r.inflight_msgs_max, 16, 1, 1024)?,
                uncommitted_entries_max: int(&r.uncommitted_entries_max, 4096, 1, u64::MAX)?,
                session_timeout_ns: self
                    .opt(&r.session_timeout, Dur(30 * NS_PER_S), positive)?
                    .0,
                sessions_max: int(&r.sessions_max, 1024, 1, 1_000_000)?,
                value_bytes_max: int(&r.value_bytes_max, 65_536, 1, u64::MAX)?,
                learner_lag_entries_max: int(&r.learner_lag_entries_max, 64, 1, u64::MAX)?,
                snapshot_entries: int(&r.snapshot_entries, 0, 0, u64::MAX)?,
                snapshot_bytes: int(&r.snapshot_bytes, 0, 0, u64::MAX)?,
                snapshot_chunk_bytes: int(&r.snapshot_chunk_bytes, 65_536, 1, 1 << 24)?,
                snapshot_catch_up_entries: int(&r.snapshot_catch_up_entries, 64, 0, u64::MAX)?,
            },
            network,
            disk: DiskSettings {
                sync_latency_min_ns: sync.min,
                sync_latency_max_ns: sync.max,
                torn_writes,
            },
            clocks,
            liveness,
            swarm,
            membership,
            faults: FaultSettings {
                crash_every_ns: every(&f.crash_every)?,
                down_for_min_ns: down_for.min,
                down_for_max_ns: down_for.max,
                max_down,
                partition_every_ns: every(&f.partition_every)?,
                partition_for_min_ns: partition_for.min,
                partition_for_max_ns: partition_for.max,
                until_ns,
                pause_every_ns: every(&f.pause_every)?,
                pause_for_min_ns: pause_for.min,
                pause_for_max_ns: pause_for.max,
                clog_every_ns: every(&f.clog_every)?,
                clog_for_min_ns: clog_for.min,
                clog_for_max_ns: clog_for.max,
                one_way_every_ns: every(&f.one_way_every)?,
                bridge_every_ns: every(&f.bridge_every)?,
                isolate_leader_every_ns: every(&f.isolate_leader_every)?,
                crash_leader_every_ns: every(&f.crash_leader_every)?,
                partition_after_append_every_ns: every(&f.partition_after_append_every)?,
                drop_quorum_ack_every_ns: every(&f.drop_quorum_ack_every)?,
                crash_before_sync_every_ns: every(&f.crash_before_sync_every)?,
                crash_after_send_every_ns: every(&f.crash_after_send_every)?,
                hold_stale_every_ns: every(&f.hold_stale_every)?,
                replay_old_every_ns: every(&f.replay_old_every)?,
                crash_during_snapshot_every_ns: every(&f.crash_during_snapshot_every)?,
                change_while_down_every_ns: every(&f.change_while_down_every)?,
                crash_at_io_every_ns: every(&f.crash_at_io_every)?,
            },
            workload: Workload {
                rate_per_s,
                count: w.count.map_or(0, |c| c.0),
                start_ns,
                at_ns,
            },
            clients,
            schedule,
            operations,
        })
    }

    /// `workload.at`: sorted times within the run, never beside `rate` or `count`.
    fn proposal_times(&self, w: &RawWorkload, duration_ns: u64) -> Result<Vec<u64>, ScenarioError> {
        let Some(at) = &w.at else {
            return Ok(Vec::new());
        };
        if w.rate.is_some() || w.count.is_some() {
            let message = "`at` lists the proposals one by one: leave out `rate` and `count`";
            return Err(self.fail(at, message.to_string()));
        }
        if at.get_ref().len() > OPERATIONS_EXPLICIT_MAX {
            let message = format!("at most {OPERATIONS_EXPLICIT_MAX} proposals");
            return Err(self.fail(at, message));
        }
        let mut times = (at.get_ref().iter())
            .map(|t| self.get(t, within_run(duration_ns)).map(|d| d.0))
            .collect::<Result<Vec<_>, _>>()?;
        times.sort_unstable();
        Ok(times)
    }

    /// The `[[operation]]` tables; with any, `clients.operations` is their number.
    fn operations(
        &self,
        raw: &RawScenario,
        clients: &mut Clients,
        duration_ns: u64,
    ) -> Result<Vec<ScriptedOp>, ScenarioError> {
        if raw.operation.is_empty() {
            return Ok(Vec::new());
        }
        if raw.operation.len() > OPERATIONS_EXPLICIT_MAX {
            let message = format!("at most {OPERATIONS_EXPLICIT_MAX} `[[operation]]` tables");
            return Err(self.fail(&raw.operation[OPERATIONS_EXPLICIT_MAX], message));
        }
        let mut ops = (raw.operation.iter())
            .map(|o| self.operation(o, clients.count, duration_ns))
            .collect::<Result<Vec<_>, _>>()?;
        let count = ops.iter().filter(|o| o.op.is_some()).count() as u64;
        if let Some(given) = &raw.clients.operations {
            if given.get_ref().0 != count {
                let message = format!(
                    "the file lists {count} operations (`[[operation]]` tables other than \
                     f = \"register\"), so `operations` must be {count} or left out, found {}",
                    given.get_ref().0
                );
                return Err(self.fail(given, message));
            }
        }
        clients.operations = count;
        ops.sort_by_key(|o| o.at_ns);
        Ok(ops)
    }

    fn operation(
        &self,
        entry: &Spanned<RawOperation>,
        clients: u64,
        duration_ns: u64,
    ) -> Result<ScriptedOp, ScenarioError> {
        use crate::node::ClientOp;
        let o = entry.get_ref();
        let Int(client) = self.get(&o.client, |Int(c)| {
            ensure((1..=clients).contains(&c), || {
                format!("client {c} does not exist: `clients.count` is {clients}")
            })
        })?;
        let Dur(at_ns) = self.get(&o.at, within_run(duration_ns))?;
        let kind = *o.f.get_ref();
        let name = format!("{kind:?}").to_lowercase();
        if let Some(key) = o.key.as_ref().filter(|k| k.get_ref().is_empty()) {
            return Err(self.fail(key, "must not be empty".to_string()));
        }
        let fields = [
            ("key", &o.key),
            ("value", &o.value),
            ("expected", &o.expected),
            ("new", &o.new),
        ];
        let wanted: &[&str] = match kind {
            RawOpKind::Register => &[],
            RawOpKind::Get => &["key"],
            RawOpKind::Put | RawOpKind::Append => &["key", "value"],
            RawOpKind::Cas => &["key", "expected", "new"],
        };
        for (field, value) in fields {
            match (value, wanted.contains(&field)) {
                (Some(v), false) => {
                    let message = format!("field `{field}` does not belong to f = \"{name}\"");
                    return Err(self.fail(v, message));
                }
                (None, true) => {
                    let message =
                        format!("missing required field `{field}`: f = \"{name}\" needs it");
                    return Err(self.error(entry.span(), Some(field), message));
                }
                _ => {}
            }
        }
        let text = |v: &Option<Spanned<String>>| {
            v.as_ref().map(|v| v.get_ref().clone()).unwrap_or_default()
        };
        let key = text(&o.key);
        let op = match kind {
            RawOpKind::Register => None,
            RawOpKind::Get => Some(ClientOp::Get { key }),
            RawOpKind::Put => Some(ClientOp::Put {
                key,
                value: text(&o.value),
            }),
            RawOpKind::Append => Some(ClientOp::Append {
                key,
                value: text(&o.value),
            }),
            RawOpKind::Cas => Some(ClientOp::Cas {
                key,
                expected: text(&o.expected),
                new: text(&o.new),
            }),
        };
        Ok(ScriptedOp {
            client,
            at_ns,
            op,
            line: self.line(entry.span().start),
        })
    }

    fn clients(&self, c: &RawClients, duration_ns: u64) -> Result<Clients, ScenarioError> {
        let int = |v, default, lo, hi| self.opt(v, Int(default), between(lo, hi)).map(|i| i.0);
        let weight = |v: &Opt<f64>, default| {
            self.opt(v, default, |w: f64| {
                ensure(w.is_finite() && w >= 0.0, || {
                    format!("must be a weight >= 0, found {w:?}")
                })
            })
        };
        let mix = match &c.mix {
            None => OpMix {
                get: 0.4,
                put: 0.2,
                append: 0.2,
                cas: 0.2,
            },
            Some(m) => {
                let r = m.get_ref();
                let mix = OpMix {
                    get: weight(&r.get, 0.0)?,
                    put: weight(&r.put, 0.0)?,
                    append: weight(&r.append, 0.0)?,
                    cas: weight(&r.cas, 0.0)?,
                };
                if mix.get + mix.put + mix.append + mix.cas <= 0.0 {
                    return Err(self.fail(m, "some operation needs a weight above 0".to_string()));
                }
                mix
            }
        };
        let exponent = self.opt(&c.zipf_exponent, 1.0, |x: f64| {
            ensure(x > 0.0 && x <= 10.0, || {
                format!("must be above 0 and at most 10, found {x:?}")
            })
        })?;
        let key_distribution = match c.key_distribution.as_ref().map(|d| *d.get_ref()) {
            None | Some(RawKeyDistribution::Uniform) => KeyDistribution::Uniform,
            Some(RawKeyDistribution::Zipf) => KeyDistribution::Zipf { exponent },
        };
        let think = self.opt(
            &c.think_time,
            DurRange {
                min: 0,
                max: 20 * NS_PER_MS,
            },
            |_| Ok(()),
        )?;
        let Dur(start_ns) = self.opt(&c.start, Dur(DEFAULT_START_NS), |Dur(s)| {
            let (d, found) = (format_duration(duration_ns), format_duration(s));
            let message =
                || format!("must be before the end of the run (duration = {d}), found {found}");
            ensure(s < duration_ns, message)
        })?;
        Ok(Clients {
            count: int(&c.count, 0, 0, 1000)?,
            operations: int(&c.operations, 0, 0, u64::MAX)?,
            keys: int(&c.keys, 5, 1, 100_000)?,
            key_distribution,
            mix,
            think_time_min_ns: think.min,
            think_time_max_ns: think.max,
            timeout_ns: self.opt(&c.timeout, Dur(500 * NS_PER_MS), positive)?.0,
            attempts_max: int(&c.attempts_max, 8, 1, 1000)?,
            start_ns,
        })
    }

    fn action(
        &self,
        entry: &Spanned<RawAction>,
        nodes: u64,
        duration_ns: u64,
    ) -> Result<ScheduledAction, ScenarioError> {
        let a = entry.get_ref();
        let Dur(at_ns) = self.get(&a.at, within_run(duration_ns))?;
        let kind = a.action;
        let name = kind.name();
        let (required, optional) = kind.fields();
        let present = [
            ("torn", a.torn.as_ref().map(Spanned::span)),
            ("latency", a.latency.as_ref().map(Spanned::span)),
            (
                "latency_distribution",
                a.latency_distribution.as_ref().map(Spanned::span),
            ),
            ("loss", a.loss.as_ref().map(Spanned::span)),
            ("duplicate", a.duplicate.as_ref().map(Spanned::span)),
            ("reorder", a.reorder.as_ref().map(Spanned::span)),
            ("groups", a.groups.as_ref().map(Spanned::span)),
            ("node", a.node.as_ref().map(Spanned::span)),
            ("from", a.from.as_ref().map(Spanned::span)),
            ("to", a.to.as_ref().map(Spanned::span)),
            ("for", a.for_.as_ref().map(Spanned::span)),
            ("by", a.by.as_ref().map(Spanned::span)),
            ("kind", a.kind.as_ref().map(Spanned::span)),
            ("when", a.when.as_ref().map(Spanned::span)),
            ("until", a.until.as_ref().map(Spanned::span)),
            ("stage", a.stage.as_ref().map(Spanned::span)),
            ("boundary", a.boundary.as_ref().map(Spanned::span)),
            ("pause", a.pause.as_ref().map(Spanned::span)),
            ("isolate", a.isolate.as_ref().map(Spanned::span)),
        ];
        for (key, span) in &present {
            let Some(span) = span else { continue };
            if required.contains(key) || optional.contains(key) {
                continue;
            }
            let owners: Vec<String> = ActionKind::ALL
                .iter()
                .filter(|k| k.fields().0.contains(key) || k.fields().1.contains(key))
                .map(|k| format!("\"{}\"", k.name()))
                .collect();
            let message = format!(
                "field `{key}` does not belong to action \"{name}\"; it is only allowed with {}",
                owners.join(", ")
            );
            return Err(self.error(span.clone(), None, message));
        }
        let missing = |key: &str| {
            let message = format!("missing required field `{key}`: action \"{name}\" needs it");
            self.error(entry.span(), Some(key), message)
        };
        if let Some((key, _)) = present
            .iter()
            .find(|(key, span)| span.is_none() && required.contains(key))
        {
            return Err(missing(key));
        }
        // Every required field is present from here on.
        let node = || self.node_id(a.node.as_ref().expect("required"), nodes);
        let for_ns = || {
            self.get(a.for_.as_ref().expect("required"), positive)
                .map(|d| d.0)
        };
        let action = match kind {
            ActionKind::Partition => Action::Partition {
                groups: self.groups(a.groups.as_ref().expect("required"), nodes)?,
            },
            ActionKind::Heal => Action::Heal,
            ActionKind::Crash => Action::Crash {
                node: node()?,
                torn: a.torn.as_ref().is_some_and(|t| *t.get_ref()),
            },
            ActionKind::Network => self.network_action(a)?,
            ActionKind::Restart => Action::Restart { node: node()? },
            ActionKind::OneWay => {
                let (from, to) = self.links(a, nodes)?;
                Action::OneWay { from, to }
            }
            ActionKind::Bridge => {
                let node = node()?;
                let groups =
                    self.bridge_groups(a.groups.as_ref().expect("required"), node, nodes)?;
                Action::Bridge { groups, node }
            }
            ActionKind::Clog => {
                let (from, to) = self.links(a, nodes)?;
                Action::Clog {
                    from,
                    to,
                    for_ns: for_ns()?,
                }
            }
            ActionKind::Pause => Action::Pause {
                node: node()?,
                for_ns: for_ns()?,
            },
            ActionKind::ClockJump => Action::ClockJump {
                node: node()?,
                by_ns: self.get(a.by.as_ref().expect("required"), positive)?.0,
            },
            ActionKind::IsolateLeader => Action::IsolateLeader { for_ns: for_ns()? },
            ActionKind::CrashLeader => Action::CrashLeader { for_ns: for_ns()? },
            ActionKind::PartitionAfterAppend => Action::PartitionAfterAppend { for_ns: for_ns()? },
            ActionKind::DropQuorumAck => Action::DropQuorumAck,
            ActionKind::CrashBeforeSync => Action::CrashBeforeSync {
                node: a
                    .node
                    .as_ref()
                    .map(|n| self.node_id(n, nodes))
                    .transpose()?,
                for_ns: for_ns()?,
            },
            ActionKind::AddServer => Action::AddServer { node: node()? },
            ActionKind::RemoveServer => Action::RemoveServer { node: node()? },
            ActionKind::ReplaceLeader => Action::ReplaceLeader { node: node()? },
            ActionKind::ReplaceServer => {
                let (from, to) = self.links(a, nodes)?;
                Action::ReplaceServer { from, to }
            }
            ActionKind::CrashAfterSend
            | ActionKind::HoldStale
            | ActionKind::ReplayOld
            | ActionKind::CrashDuringSnapshot
            | ActionKind::ChangeWhileDown
            | ActionKind::CrashAtIo => self.protocol_action(kind, a, nodes)?,
        };
        let line = self.line(entry.span().start);
        Ok(ScheduledAction {
            at_ns,
            action,
            line,
        })
    }

    fn expectation(
        &self,
        entry: &Spanned<RawExpect>,
        duration_ns: u64,
    ) -> Result<Expectation, ScenarioError> {
        let e = entry.get_ref();
        let Dur(from_ns) = self.get(&e.from, within_run(duration_ns))?;
        let Dur(to_ns) = self.get(&e.to, within_run(duration_ns))?;
        if to_ns <= from_ns {
            let (f, t) = (format_duration(from_ns), format_duration(to_ns));
            return Err(self.fail(&e.to, format!("must be after `from` ({f}), found {t}")));
        }
        let int = |v: &Opt<Int>| v.as_ref().map(|v| v.get_ref().0);
        let expectation = Expectation {
            from_ns,
            to_ns,
            commits_max: int(&e.commits_max),
            commits_min: int(&e.commits_min),
            messages_max: int(&e.messages_max),
            leaders_max: int(&e.leaders_max),
            leader: e.leader.as_ref().map(|v| *v.get_ref()),
            line: self.line(entry.span().start),
        };
        let x = &expectation;
        let bounds = [x.commits_max, x.commits_min, x.messages_max, x.leaders_max];
        if bounds.iter().all(Option::is_none) && x.leader.is_none() {
            let message = "an expectation needs at least one bound: commits_max, commits_min, \
                           messages_max, leaders_max or leader"
                .to_string();
            return Err(self.error(entry.span(), None, message));
        }
        Ok(expectation)
    }

    /// A protocol-timed fault; its required fields are present.
    fn protocol_action(
        &self,
        kind: ActionKind,
        a: &RawAction,
        nodes: u64,
    ) -> Result<Action, ScenarioError> {
        let node = a
            .node
            .as_ref()
            .map(|n| self.node_id(n, nodes))
            .transpose()?;
        let for_ns = |default: Option<u64>, max_ns: u64| {
            let check = |Dur(d): Dur| {
                let found = format_duration(d);
                let at_most = format_duration(max_ns);
                let message =
                    || format!("must be greater than 0 and at most {at_most}, found {found}");
                ensure(d > 0 && d <= max_ns, message)
            };
            match (&a.for_, default) {
                (Some(v), _) => self.get(v, check).map(|d| d.0),
                (None, Some(d)) => Ok(d),
                (None, None) => unreachable!("`for` is required"),
            }
        };
        fn required<T: Copy>(v: &Opt<T>) -> T {
            *v.as_ref().expect("required").get_ref()
        }
        let flag = |v: &Opt<bool>| v.as_ref().is_some_and(|b| *b.get_ref());
        let action = match kind {
            ActionKind::CrashAfterSend => Action::CrashAfterSend {
                kind: self.message_kind(&a.kind)?,
                when: required(&a.when),
                node,
                for_ns: for_ns(None, MAX_DURATION_NS)?,
                pause: flag(&a.pause),
            },
            ActionKind::HoldStale => Action::HoldStale {
                kind: self.message_kind(&a.kind)?,
                until: required(&a.until),
                for_ns: for_ns(Some(HOLD_STALE_FOR_DEFAULT_NS), HOLD_STALE_FOR_MAX_NS)?,
            },
            ActionKind::ReplayOld => Action::ReplayOld,
            ActionKind::CrashDuringSnapshot => Action::CrashDuringSnapshot {
                stage: required(&a.stage),
                node,
                for_ns: for_ns(None, MAX_DURATION_NS)?,
            },
            ActionKind::ChangeWhileDown => Action::ChangeWhileDown {
                for_ns: for_ns(None, MAX_DURATION_NS)?,
                isolate: flag(&a.isolate),
            },
            ActionKind::CrashAtIo => Action::CrashAtIo {
                boundary: required(&a.boundary),
                node,
                for_ns: for_ns(None, MAX_DURATION_NS)?,
            },
            _ => unreachable!("called for protocol-timed faults only"),
        };
        Ok(action)
    }

    /// A message kind as `MessageInfo::kind` names it: an identifier in CamelCase. Whether the
    /// implementation sends it is checked when the run starts (`SimNode::message_kinds`).
    fn message_kind(&self, v: &Opt<String>) -> Result<Option<String>, ScenarioError> {
        let Some(v) = v else { return Ok(None) };
        let kind = v.get_ref();
        let well_formed = kind.len() <= 64
            && kind.starts_with(|c: char| c.is_ascii_uppercase())
            && kind.chars().all(|c| c.is_ascii_alphanumeric());
        if !well_formed {
            let message = format!(
                "must be a message kind in CamelCase such as \"RequestVoteResponse\" or \"AppendEntriesResponse\", found {kind:?}"
            );
            return Err(self.fail(v, message));
        }
        Ok(Some(kind.clone()))
    }

    /// A `network` action: at least one setting, each checked as in `[network]`.
    fn network_action(&self, a: &RawAction) -> Result<Action, ScenarioError> {
        let probability = |v: &Opt<f64>| {
            v.as_ref()
                .map(|v| {
                    self.get(v, |x: f64| {
                        ensure((0.0..1.0).contains(&x), || {
                            format!("must be at least 0.0 and less than 1.0 (a probability), found {x:?}")
                        })
                    })
                })
                .transpose()
        };
        let action = Action::Network {
            latency: a
                .latency
                .as_ref()
                .map(|l| (l.get_ref().min, l.get_ref().max)),
            latency_distribution: a.latency_distribution.as_ref().map(|d| *d.get_ref()),
            loss: probability(&a.loss)?,
            duplicate: probability(&a.duplicate)?,
            reorder: probability(&a.reorder)?,
        };
        if action
            == (Action::Network {
                latency: None,
                latency_distribution: None,
                loss: None,
                duplicate: None,
                reorder: None,
            })
        {
            return Err(self.fail(
                &a.at,
                "action \"network\" needs at least one of latency, latency_distribution, loss, \
                 duplicate, reorder"
                    .to_string(),
            ));
        }
        Ok(action)
    }

    /// A non-empty list of distinct node ids.
    fn node_list(
        &self,
        v: &Spanned<Vec<Spanned<Int>>>,
        nodes: u64,
    ) -> Result<Vec<NodeId>, ScenarioError> {
        if v.get_ref().is_empty() {
            return Err(self.fail(v, "the list is empty: name at least one node".to_string()));
        }
        let mut out = Vec::new();
        for id in v.get_ref() {
            let n = self.node_id(id, nodes)?;
            if out.contains(&n) {
                return Err(self.fail(id, format!("node {n} is named more than once")));
            }
            out.push(n);
        }
        Ok(out)
    }

    /// `from` and `to` of a one-way partition or a clog: two disjoint lists.
    fn links(
        &self,
        a: &RawAction,
        nodes: u64,
    ) -> Result<(Vec<NodeId>, Vec<NodeId>), ScenarioError> {
        let (from_v, to_v) = (
            a.from.as_ref().expect("required"),
            a.to.as_ref().expect("required"),
        );
        let from = self.node_list(from_v, nodes)?;
        let to = self.node_list(to_v, nodes)?;
        if let Some(both) = to.iter().find(|n| from.contains(n)) {
            let message =
                format!("node {both} is in both `from` and `to`: a node always reaches itself");
            return Err(self.fail(to_v, message));
        }
        Ok((from, to))
    }

    /// The two sides of a bridge partition: two non-empty groups without the bridge node.
    fn bridge_groups(
        &self,
        groups: &Spanned<Vec<Spanned<Vec<Spanned<Int>>>>>,
        bridge: NodeId,
        nodes: u64,
    ) -> Result<Vec<Vec<NodeId>>, ScenarioError> {
        if groups.get_ref().len() != 2 {
            let n = groups.get_ref().len();
            let message = format!("a bridge needs exactly two groups (its two sides), found {n}");
            return Err(self.fail(groups, message));
        }
        let mut out: Vec<Vec<NodeId>> = Vec::new();
        for group in groups.get_ref() {
            let ids = self.node_list(group, nodes)?;
            if let Some(n) = ids
                .iter()
                .find(|n| **n == bridge || out.iter().flatten().any(|m| m == *n))
            {
                let message = format!(
                    "node {n} is the bridge or on the other side: the sides and the bridge are disjoint"
                );
                return Err(self.fail(group, message));
            }
            out.push(ids);
        }
        Ok(out)
    }

    fn node_id(&self, v: &Spanned<Int>, nodes: u64) -> Result<NodeId, ScenarioError> {
        let message = |id| format!("node {id} does not exist: the cluster has nodes 1..={nodes}");
        let Int(id) = self.get(v, |Int(id)| {
            ensure((1..=nodes).contains(&id), || message(id))
        })?;
        Ok(id)
    }

    fn groups(
        &self,
        groups: &Spanned<Vec<Spanned<Vec<Spanned<Int>>>>>,
        nodes: u64,
    ) -> Result<Vec<Vec<NodeId>>, ScenarioError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, group) in groups.get_ref().iter().enumerate() {
            if group.get_ref().is_empty() {
                let message = format!(
                    "group {} is empty: every group needs at least one node",
                    i + 1
                );
                return Err(self.fail(group, message));
            }
            let mut ids = Vec::new();
            for v in group.get_ref() {
                let id = self.node_id(v, nodes)?;
                if !seen.insert(id) {
                    let message = "is named more than once: a node can be in at most one group";
                    return Err(self.fail(v, format!("node {id} {message}")));
                }
                ids.push(id);
            }
            out.push(ids);
        }
        // The nodes not named form one more group.
        if out.len() + usize::from((seen.len() as u64) < nodes) < 2 {
            return Err(self.fail(
                groups,
                format!(
                    "the partition does not split the cluster: it must leave at least two groups \
                 (the named groups plus the nodes not named), but all {nodes} nodes end up in one"
                ),
            ));
        }
        Ok(out)
    }
}

/// The file name without directories and without a `.toml` extension.
fn default_name(file: &str) -> String {
    let base = Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
    match base.strip_suffix(".toml") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse `text` and return the error; panics if it parses.
    fn error(text: &str) -> ScenarioError {
        match parse("dir/test.toml", text) {
            Ok(s) => panic!("expected an error, got {s:?}"),
            Err(e) => e,
        }
    }

    /// Assert the error's line, field and a phrase of its message.
    fn check(text: &str, line: usize, field: Option<&str>, phrase: &str) -> ScenarioError {
        let e = error(text);
        assert_eq!(e.file, "dir/test.toml", "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert_eq!(e.field.as_deref(), field, "{e}");
        assert!(e.message.contains(phrase), "{e} lacks {phrase:?}");
        e
    }

    const HEAD: &str = "seed = 1\nnodes = 5\nduration = \"60s\"\n";

    #[test]
    fn syntax_error() {
        let e = check("seed = 1\nnodes = = 5\n", 2, None, "invalid TOML");
        assert!(
            e.to_string().starts_with("dir/test.toml:2: invalid TOML"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_key_is_a_syntax_error() {
        check("seed = 1\nseed = 2\n", 2, None, "invalid TOML");
    }

    #[test]
    fn unknown_top_level_field() {
        let e = check(
            &format!("{HEAD}\ncolour = \"red\"\n"),
            5,
            Some("colour"),
            "unknown field `colour`",
        );
        assert_eq!(
            e.to_string(),
            format!("dir/test.toml:5: field `colour`: {}", e.message)
        );
    }

    #[test]
    fn unknown_field_in_network() {
        check(
            &format!("{HEAD}[network]\nloss = 0.1\njitter = \"1ms\"\n"),
            6,
            Some("network.jitter"),
            "unknown field `jitter`, expected one of `latency`, `loss`",
        );
    }

    #[test]
    fn unknown_field_in_schedule_entry() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\nwhenever = 3\n"),
            7,
            Some("schedule[0].whenever"),
            "unknown field `whenever`",
        );
    }

    #[test]
    fn wrong_type() {
        check(
            "seed = 1\nnodes = \"five\"\nduration = \"60s\"\n",
            2,
            Some("nodes"),
            "invalid type: string \"five\", expected a non-negative integer",
        );
    }

    #[test]
    fn section_of_wrong_type() {
        check(
            &format!("{HEAD}raft = 3\n"),
            4,
            Some("raft"),
            "expected a table",
        );
    }

    #[test]
    fn missing_required_field() {
        check(
            "nodes = 5\nduration = \"60s\"\n",
            1,
            Some("seed"),
            "missing field `seed`",
        );
    }

    #[test]
    fn bad_duration_string() {
        check(
            "seed = 1\nnodes = 5\n\nduration = \"150 parsecs\"\n",
            4,
            Some("duration"),
            "not a valid duration",
        );
    }

    #[test]
    fn bare_integer_duration() {
        check(
            "seed = 1\nnodes = 5\nduration = 60\n",
            3,
            Some("duration"),
            "durations are strings with a unit, such as \"150ms\"",
        );
    }

    #[test]
    fn duration_out_of_bounds() {
        check(
            "seed = 1\nnodes = 5\nduration = \"0s\"\n",
            3,
            Some("duration"),
            "greater than 0",
        );
        check(
            "seed = 1\nnodes = 5\nduration = \"25h\"\n",
            3,
            Some("duration"),
            "at most 24h",
        );
    }

    #[test]
    fn min_greater_than_max() {
        check(
            &format!("{HEAD}[network]\nlatency = [\"10ms\", \"1ms\"]\n"),
            5,
            Some("network.latency"),
            "must not be greater than max",
        );
    }

    #[test]
    fn bad_range_element() {
        check(
            &format!("{HEAD}[disk]\nsync_latency = [\n  \"1ms\",\n  \"2 ms\",\n]\n"),
            7,
            Some("disk.sync_latency"),
            "spaces are not allowed",
        );
    }

    #[test]
    fn loss_out_of_range() {
        check(
            &format!("{HEAD}[network]\nloss = 1.5\n"),
            5,
            Some("network.loss"),
            "less than 1.0",
        );
    }

    #[test]
    fn zero_nodes() {
        check(
            "seed = 1\nnodes = 0\nduration = \"60s\"\n",
            2,
            Some("nodes"),
            "between 1 and 64",
        );
    }

    #[test]
    fn heartbeat_not_below_election_min() {
        check(
            &format!(
                "{HEAD}[raft]\nelection_timeout = [\"100ms\", \"200ms\"]\nheartbeat_interval = \"100ms\"\n"
            ),
            6,
            Some("raft.heartbeat_interval"),
            "must be less than the election timeout minimum",
        );
        // With the default heartbeat, the election timeout is blamed.
        check(
            &format!("{HEAD}[raft]\nelection_timeout = [\"40ms\", \"200ms\"]\n"),
            5,
            Some("raft.election_timeout"),
            "heartbeat_interval (50ms)",
        );
    }

    fn partition(groups: &str) -> String {
        format!("{HEAD}\n[[schedule]]\nat = \"5s\"\naction = \"partition\"\ngroups = {groups}\n")
    }

    #[test]
    fn partition_naming_missing_node() {
        check(
            &partition("[[1, 2], [3, 9]]"),
            8,
            Some("schedule[0].groups"),
            "node 9 does not exist: the cluster has nodes 1..=5",
        );
    }

    #[test]
    fn node_in_two_groups() {
        check(
            &partition("[\n  [1, 2],\n  [2, 3],\n]"),
            10,
            Some("schedule[0].groups"),
            "node 2 is named more than once",
        );
    }

    #[test]
    fn empty_group() {
        check(
            &partition("[[1, 2], []]"),
            8,
            Some("schedule[0].groups"),
            "group 2 is empty",
        );
    }

    #[test]
    fn partition_that_does_not_split() {
        check(
            &partition("[[1, 2, 3, 4, 5]]"),
            8,
            Some("schedule[0].groups"),
            "does not split the cluster",
        );
        check(
            &partition("[]"),
            8,
            Some("schedule[0].groups"),
            "does not split the cluster",
        );
    }

    #[test]
    fn crash_without_node() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\n\n[[schedule]]\nat = \"2s\"\naction = \"crash\"\n"),
            8,
            Some("schedule[1].node"),
            "missing required field `node`",
        );
    }

    #[test]
    fn groups_on_crash() {
        check(
            &format!(
                "{HEAD}[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = 1\ngroups = [[1]]\n"
            ),
            8,
            Some("schedule[0].groups"),
            "does not belong to action \"crash\"",
        );
    }

    #[test]
    fn node_on_partition() {
        check(
            &format!("{}node = 2\n", partition("[[1]]")),
            9,
            Some("schedule[0].node"),
            "only allowed with \"crash\", \"restart\", \"bridge\"",
        );
    }

    #[test]
    fn fault_actions_and_knobs_say_what_is_wrong() {
        let at = |body: &str| format!("{HEAD}[[schedule]]\nat = \"1s\"\n{body}");
        check(
            &at("action = \"bridge\"\ngroups = [[1], [2], [3]]\nnode = 4\n"),
            7,
            Some("schedule[0].groups"),
            "exactly two groups",
        );
        check(
            &at("action = \"bridge\"\ngroups = [[1], [2, 3]]\nnode = 3\n"),
            7,
            Some("schedule[0].groups"),
            "the sides and the bridge are disjoint",
        );
        check(
            &at("action = \"one-way\"\nfrom = [1, 2]\nto = [2]\n"),
            8,
            Some("schedule[0].to"),
            "in both `from` and `to`",
        );
        check(
            &at("action = \"one-way\"\nfrom = []\nto = [2]\n"),
            7,
            Some("schedule[0].from"),
            "the list is empty",
        );
        check(
            &at("action = \"clog\"\nfrom = [1]\nto = [2]\n"),
            4,
            Some("schedule[0].for"),
            "missing required field `for`",
        );
        check(
            &at("action = \"pause\"\nnode = 9\nfor = \"1s\"\n"),
            7,
            Some("schedule[0].node"),
            "node 9 does not exist",
        );
        check(
            &at("action = \"clock-jump\"\nnode = 1\nby = \"0s\"\n"),
            8,
            Some("schedule[0].by"),
            "greater than 0",
        );
        check(
            &at("action = \"drop-quorum-ack\"\nfor = \"1s\"\n"),
            7,
            Some("schedule[0].for"),
            "does not belong to action \"drop-quorum-ack\"",
        );
        check(
            &format!("{HEAD}[disk]\ntorn_writes = 1.5\n"),
            5,
            Some("disk.torn_writes"),
            "at most 1.0",
        );
        check(
            &format!("{HEAD}[network]\nduplicate = 1.0\n"),
            5,
            Some("network.duplicate"),
            "less than 1.0",
        );
        check(
            &format!("{HEAD}[network]\nlatency_distribution = \"pareto\"\n"),
            5,
            Some("network.latency_distribution"),
            "unknown variant `pareto`",
        );
        check(
            &format!("{HEAD}[clocks]\ndrift_ppm_max = 2000000\n"),
            5,
            Some("clocks.drift_ppm_max"),
            "between 0 and 100000",
        );
        check(
            &format!("{HEAD}[liveness]\nleader_within = \"0s\"\n"),
            5,
            Some("liveness.leader_within"),
            "greater than 0",
        );
        check(
            &format!("{HEAD}[swarm]\nenabled = \"yes\"\n"),
            5,
            Some("swarm.enabled"),
            "invalid type",
        );
    }

    #[test]
    fn unknown_action() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"explode\"\n"),
            6,
            Some("schedule[0].action"),
            "unknown variant `explode`, expected one of `partition`, `heal`, `crash`, `restart`, `one-way`",
        );
    }

    #[test]
    fn schedule_at_beyond_duration() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"61s\"\naction = \"heal\"\n"),
            5,
            Some("schedule[0].at"),
            "after the end of the run",
        );
    }

    #[test]
    fn until_beyond_duration() {
        check(
            &format!("{HEAD}[faults]\ncrash_every = \"5s\"\nuntil = \"2m\"\n"),
            6,
            Some("faults.until"),
            "2m is after the end of the run (duration = 1m)",
        );
    }

    #[test]
    fn max_down_must_be_below_nodes() {
        check(
            &format!("{HEAD}[faults]\nmax_down = 5\n"),
            5,
            Some("faults.max_down"),
            "less than nodes (5)",
        );
    }

    #[test]
    fn unreadable_file() {
        let e = match load(Path::new("/nonexistent/dir/x.toml")) {
            Ok(s) => panic!("loaded {s:?}"),
            Err(e) => e,
        };
        assert_eq!(e.line, None);
        assert_eq!(e.field, None);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/dir/x.toml: cannot read"),
            "{e}"
        );
    }

    const FULL: &str = r#"# a full scenario
name = "churn"
seed = 7
nodes = 5
duration = "60s"

[raft]
election_timeout = ["200ms", "400ms"]
heartbeat_interval = "40ms"
msg_entries_max = 32
inflight_msgs_max = 8
uncommitted_entries_max = 100

[network]
latency = ["2ms", "20ms"]
loss = 0.05

[disk]
sync_latency = ["50us", "2ms"]

[faults]
crash_every = "5s"
down_for = ["1s", "4s"]
max_down = 2
partition_every = "8s"
partition_for = ["1s", "5s"]
until = "50s"

[workload]
rate = 20
count = 1000
start = "1.5s"

[[schedule]]
at = "9s"
action = "crash"
node = 3

[[schedule]]
at = "5s"
action = "partition"
groups = [[1, 2], [3, 4, 5]]

[[schedule]]
at = "9s"
action = "restart"
node = 3

[[schedule]]
at = "20s"
action = "heal"
"#;

    #[test]
    fn full_file() {
        let s = match parse("scenarios/churn.toml", FULL) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let expected = Scenario {
            implementation: crate::implementation::Implementation::Raftsim,
            implementation_options: Default::default(),
            name: "churn".into(),
            seed: 7,
            nodes: 5,
            duration_ns: 60 * NS_PER_S,
            raft: RaftSettings {
                election_timeout_min_ns: 200 * NS_PER_MS,
                election_timeout_max_ns: 400 * NS_PER_MS,
                heartbeat_interval_ns: 40 * NS_PER_MS,
                msg_entries_max: 32,
                inflight_msgs_max: 8,
                uncommitted_entries_max: 100,
                session_timeout_ns: 30 * NS_PER_S,
                sessions_max: 1024,
                value_bytes_max: 65_536,
                learner_lag_entries_max: 64,
                snapshot_entries: 0,
                snapshot_bytes: 0,
                snapshot_chunk_bytes: 65_536,
                snapshot_catch_up_entries: 64,
            },
            network: NetworkSettings {
                loss: 0.05,
                ..NetworkSettings::uniform(2 * NS_PER_MS, 20 * NS_PER_MS)
            },
            disk: DiskSettings {
                sync_latency_min_ns: 50 * NS_PER_US,
                sync_latency_max_ns: 2 * NS_PER_MS,
                torn_writes: 0.0,
            },
            faults: FaultSettings {
                crash_every_ns: Some(5 * NS_PER_S),
                max_down: 2,
                partition_every_ns: Some(8 * NS_PER_S),
                ..default_faults(50 * NS_PER_S)
            },
            clocks: default_clocks(),
            liveness: LivenessSettings {
                leader_within_ns: None,
                clients_within_ns: None,
            },
            swarm: SwarmSettings { enabled: false },
            membership: MembershipSettings {
                initial: 5,
                churn_every_ns: None,
                voters_min: 3,
                voters_max: 5,
            },
            expect: Vec::new(),
            workload: Workload {
                rate_per_s: 20.0,
                count: 1000,
                start_ns: 1_500 * NS_PER_MS,
                at_ns: Vec::new(),
            },
            clients: default_clients(),
            operations: Vec::new(),
            schedule: vec![
                ScheduledAction {
                    at_ns: 5 * NS_PER_S,
                    action: Action::Partition {
                        groups: vec![vec![1, 2], vec![3, 4, 5]],
                    },
                    line: 39,
                },
                ScheduledAction {
                    at_ns: 9 * NS_PER_S,
                    action: Action::Crash {
                        node: 3,
                        torn: false,
                    },
                    line: 34,
                },
                ScheduledAction {
                    at_ns: 9 * NS_PER_S,
                    action: Action::Restart { node: 3 },
                    line: 44,
                },
                ScheduledAction {
                    at_ns: 20 * NS_PER_S,
                    action: Action::Heal,
                    line: 49,
                },
            ],
        };
        assert_eq!(s, expected);
    }

    #[test]
    fn inline_tables_and_dotted_keys() {
        let text = format!(
            "{HEAD}network.loss = 0\nraft = {{ heartbeat_interval = \"10ms\" }}\n\
             schedule = [{{ at = \"1s\", action = \"crash\", node = 2 }}]\n"
        );
        let s = match parse("x.toml", &text) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s.network.loss, 0.0);
        assert_eq!(s.raft.heartbeat_interval_ns, 10 * NS_PER_MS);
        assert_eq!(s.schedule.len(), 1);
        assert_eq!(s.schedule.first().map(|a| a.line), Some(6));
        check(
            &format!("{HEAD}network.lost = 0\n"),
            4,
            Some("network.lost"),
            "unknown field",
        );
    }

    #[test]
    fn defaults_are_applied() {
        let s = match parse(
            "some/dir/quiet.toml",
            "seed = 3\nnodes = 4\nduration = \"10s\"\n",
        ) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let expected = Scenario {
            implementation: crate::implementation::Implementation::Raftsim,
            implementation_options: Default::default(),
            name: "quiet".into(),
            seed: 3,
            nodes: 4,
            duration_ns: 10 * NS_PER_S,
            raft: RaftSettings {
                election_timeout_min_ns: 150 * NS_PER_MS,
                election_timeout_max_ns: 300 * NS_PER_MS,
                heartbeat_interval_ns: 50 * NS_PER_MS,
                msg_entries_max: 64,
                inflight_msgs_max: 16,
                uncommitted_entries_max: 4096,
                session_timeout_ns: 30 * NS_PER_S,
                sessions_max: 1024,
                value_bytes_max: 65_536,
                learner_lag_entries_max: 64,
                snapshot_entries: 0,
                snapshot_bytes: 0,
                snapshot_chunk_bytes: 65_536,
                snapshot_catch_up_entries: 64,
            },
            network: NetworkSettings::uniform(NS_PER_MS, 10 * NS_PER_MS),
            disk: DiskSettings {
                sync_latency_min_ns: 100 * NS_PER_US,
                sync_latency_max_ns: NS_PER_MS,
                torn_writes: 0.0,
            },
            faults: default_faults(10 * NS_PER_S),
            clocks: default_clocks(),
            liveness: LivenessSettings {
                leader_within_ns: None,
                clients_within_ns: None,
            },
            swarm: SwarmSettings { enabled: false },
            membership: MembershipSettings {
                initial: 4,
                churn_every_ns: None,
                voters_min: 3,
                voters_max: 4,
            },
            expect: Vec::new(),
            workload: Workload {
                rate_per_s: 0.0,
                count: 0,
                start_ns: NS_PER_S,
                at_ns: Vec::new(),
            },
            clients: default_clients(),
            operations: Vec::new(),
            schedule: Vec::new(),
        };
        assert_eq!(s, expected);
        // Empty sections keep the defaults too.
        let with_sections =
            "seed = 3\nnodes = 4\nduration = \"10s\"\n[raft]\n[network]\n[disk]\n[faults]\n[workload]\n";
        assert_eq!(parse("quiet.toml", with_sections), Ok(expected));
    }

    fn default_faults(until_ns: u64) -> FaultSettings {
        FaultSettings {
            crash_every_ns: None,
            down_for_min_ns: NS_PER_S,
            down_for_max_ns: 4 * NS_PER_S,
            max_down: 1,
            partition_every_ns: None,
            partition_for_min_ns: NS_PER_S,
            partition_for_max_ns: 5 * NS_PER_S,
            until_ns,
            pause_every_ns: None,
            pause_for_min_ns: 100 * NS_PER_MS,
            pause_for_max_ns: 2 * NS_PER_S,
            clog_every_ns: None,
            clog_for_min_ns: 100 * NS_PER_MS,
            clog_for_max_ns: NS_PER_S,
            one_way_every_ns: None,
            bridge_every_ns: None,
            isolate_leader_every_ns: None,
            crash_leader_every_ns: None,
            partition_after_append_every_ns: None,
            drop_quorum_ack_every_ns: None,
            crash_before_sync_every_ns: None,
            crash_after_send_every_ns: None,
            hold_stale_every_ns: None,
            replay_old_every_ns: None,
            crash_during_snapshot_every_ns: None,
            change_while_down_every_ns: None,
            crash_at_io_every_ns: None,
        }
    }

    fn default_clocks() -> ClockSettings {
        ClockSettings {
            offset_max_ns: 0,
            drift_ppm_max: 0,
            jump_every_ns: None,
            jump_min_ns: 100 * NS_PER_MS,
            jump_max_ns: 2 * NS_PER_S,
        }
    }

    fn default_clients() -> Clients {
        Clients {
            count: 0,
            operations: 0,
            keys: 5,
            key_distribution: KeyDistribution::Uniform,
            mix: OpMix {
                get: 0.4,
                put: 0.2,
                append: 0.2,
                cas: 0.2,
            },
            think_time_min_ns: 0,
            think_time_max_ns: 20 * NS_PER_MS,
            timeout_ns: 500 * NS_PER_MS,
            attempts_max: 8,
            start_ns: NS_PER_S,
        }
    }

    #[test]
    fn clients_section() {
        let text = "seed = 1\nnodes = 3\nduration = \"10s\"\n[raft]\nsession_timeout = \"5s\"\nsessions_max = 7\n\
                    [clients]\ncount = 4\noperations = 100\nkeys = 9\nkey_distribution = \"zipf\"\n\
                    zipf_exponent = 1.5\nmix = { get = 1, cas = 3 }\nthink_time = [\"1ms\", \"2ms\"]\n\
                    timeout = \"200ms\"\nattempts_max = 3\nstart = \"2s\"\n";
        let s = parse("c.toml", text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.raft.session_timeout_ns, 5 * NS_PER_S);
        assert_eq!(s.raft.sessions_max, 7);
        let expected = Clients {
            count: 4,
            operations: 100,
            keys: 9,
            key_distribution: KeyDistribution::Zipf { exponent: 1.5 },
            mix: OpMix {
                get: 1.0,
                put: 0.0,
                append: 0.0,
                cas: 3.0,
            },
            think_time_min_ns: NS_PER_MS,
            think_time_max_ns: 2 * NS_PER_MS,
            timeout_ns: 200 * NS_PER_MS,
            attempts_max: 3,
            start_ns: 2 * NS_PER_S,
        };
        assert_eq!(s.clients, expected);
        let back = parse("c.toml", &s.to_toml()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.clients, expected);
    }

    #[test]
    fn short_files_read_back_the_same() {
        for entry in std::fs::read_dir("../scenarios").unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let s = load(&path).unwrap();
            let short = s.to_toml_short();
            assert!(
                short.len() < s.to_toml().len(),
                "{}: nothing left out",
                path.display()
            );
            let mut back = parse("short", &short).unwrap();
            let mut me = s.clone();
            for a in me.schedule.iter_mut().chain(back.schedule.iter_mut()) {
                a.line = 0;
            }
            me.expect
                .iter_mut()
                .chain(back.expect.iter_mut())
                .for_each(|e| e.line = 0);
            assert_eq!(back, me, "{}:\n{short}", path.display());
        }
    }

    #[test]
    fn explicit_workload_mistakes() {
        let base = "seed = 1\nnodes = 3\nduration = \"10s\"\n[clients]\ncount = 2\n";
        let op = |body: &str| format!("{base}[[operation]]\n{body}");
        check(
            &op("client = 3\nat = \"1s\"\nf = \"get\"\nkey = \"k1\"\n"),
            7,
            Some("operation[0].client"),
            "client 3 does not exist",
        );
        check(
            &op("client = 1\nat = \"11s\"\nf = \"get\"\nkey = \"k1\"\n"),
            8,
            Some("operation[0].at"),
            "after the end of the run",
        );
        check(
            &op("client = 1\nat = \"1s\"\nf = \"put\"\nkey = \"k1\"\n"),
            6,
            Some("operation[0].value"),
            "missing required field `value`",
        );
        check(
            &op("client = 1\nat = \"1s\"\nf = \"register\"\nkey = \"k1\"\n"),
            10,
            Some("operation[0].key"),
            "does not belong to f = \"register\"",
        );
        check(
            &op("client = 1\nat = \"1s\"\nf = \"scan\"\nkey = \"k1\"\n"),
            9,
            Some("operation[0].f"),
            "register",
        );
        check(
            &format!(
                "{base}operations = 4\n[[operation]]\nclient = 1\nat = \"1s\"\nf = \"register\"\n"
            ),
            6,
            Some("clients.operations"),
            "must be 0 or left out",
        );
        check(
            "seed = 1\nnodes = 3\nduration = \"10s\"\n[workload]\nrate = 5.0\nat = [\"1s\"]\n",
            6,
            Some("workload.at"),
            "leave out `rate` and `count`",
        );
        check(
            "seed = 1\nnodes = 3\nduration = \"10s\"\n[workload]\nat = [\"1s\", \"12s\"]\n",
            5,
            Some("workload.at"),
            "12s is after the end of the run",
        );
        let ok = op(
            "client = 2\nat = \"2s\"\nf = \"cas\"\nkey = \"k1\"\nexpected = \"\"\nnew = \"x\"\n",
        );
        let s = parse("ok.toml", &ok).unwrap();
        assert_eq!(s.clients.operations, 1);
        assert_eq!(s.operations.len(), 1);
        assert_eq!(
            parse("again.toml", &s.to_toml()).unwrap().operations[0].op,
            s.operations[0].op
        );
    }

    #[test]
    fn clients_mistakes() {
        let base = "seed = 1\nnodes = 3\nduration = \"10s\"\n[clients]\n";
        check(
            &format!("{base}mix = {{ get = 0, put = 0 }}\n"),
            5,
            Some("clients.mix"),
            "weight above 0",
        );
        check(
            &format!("{base}mix = {{ get = -1 }}\n"),
            5,
            Some("clients.mix.get"),
            ">= 0",
        );
        check(
            &format!("{base}mix = {{ scan = 1 }}\n"),
            5,
            Some("clients.mix.scan"),
            "unknown field",
        );
        check(
            &format!("{base}key_distribution = \"pareto\"\n"),
            5,
            Some("clients.key_distribution"),
            "uniform",
        );
        check(
            &format!("{base}zipf_exponent = 0.0\n"),
            5,
            Some("clients.zipf_exponent"),
            "above 0",
        );
        check(
            &format!("{base}count = 5000\n"),
            5,
            Some("clients.count"),
            "between 0 and 1000",
        );
        check(
            &format!("{base}timeout = \"0s\"\n"),
            5,
            Some("clients.timeout"),
            "greater than 0",
        );
        check(
            &format!("{base}start = \"11s\"\n"),
            5,
            Some("clients.start"),
            "before the end",
        );
    }

    #[test]
    fn default_name() {
        assert_eq!(super::default_name("a/b/churn.toml"), "churn");
        assert_eq!(super::default_name("churn"), "churn");
        assert_eq!(super::default_name("x.y.toml"), "x.y");
    }

    #[test]
    fn parse_duration_cases() {
        let ok = [
            ("0s", 0),
            ("10ns", 10),
            ("250us", 250_000),
            ("150ms", 150_000_000),
            ("1.5s", 1_500_000_000),
            ("2m", 120_000_000_000),
            ("1h", 3_600_000_000_000),
            ("0.5us", 500),
            ("1.25m", 75_000_000_000),
            ("1.000s", 1_000_000_000),
            ("007ms", 7_000_000),
            ("18446744073709551615ns", u64::MAX),
            ("18446744073.709551615s", u64::MAX),
        ];
        for (s, ns) in ok {
            assert_eq!(parse_duration(s), Ok(ns), "{s}");
        }
        let bad = [
            ("0.5ns", "whole number of nanoseconds"),
            ("1.0000000001ms", "whole number of nanoseconds"),
            ("18446744073709551616ns", "too large"),
            ("5124096h", "too large"),
            ("99999999999999999999999999999999999999999s", "too large"),
            ("", "empty"),
            ("150", "unit is missing"),
            ("ms", "does not start with a number"),
            ("-1s", "sign"),
            ("+1s", "sign"),
            ("1 s", "spaces"),
            ("150 parsecs", "spaces"),
            ("150parsecs", "unknown unit \"parsecs\""),
            ("1.s", "malformed"),
            (".5s", "malformed"),
            ("1.2.3s", "malformed"),
            ("1µs", "unknown unit"),
        ];
        for (s, phrase) in bad {
            match parse_duration(s) {
                Ok(v) => panic!("{s:?} parsed as {v}"),
                Err(m) => assert!(m.contains(phrase), "{s:?}: {m}"),
            }
        }
    }

    #[test]
    fn format_duration_cases() {
        let cases = [
            (0, "0s"),
            (10, "10ns"),
            (250_000, "250us"),
            (150_000_000, "150ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m"),
            (90_000_000_000, "90s"),
            (120_000_000_000, "2m"),
            (5_400_000_000_000, "90m"),
            (86_400_000_000_000, "24h"),
            (1_001_000_000, "1001ms"),
            (1_250_000, "1250us"),
            (2_500_000, "2.5ms"),
        ];
        for (ns, s) in cases {
            assert_eq!(format_duration(ns), s, "{ns}");
        }
        for s in [
            "0s", "10ns", "250us", "150ms", "1.5s", "2m", "24h", "90m", "2.5ms", "3.5us", "12s",
        ] {
            assert_eq!(
                parse_duration(s).map(format_duration),
                Ok(s.to_string()),
                "{s}"
            );
        }
        for ns in [
            1,
            999,
            1_000_001,
            59_999_999_999,
            3_600_000_000_001,
            u64::MAX,
        ] {
            assert_eq!(parse_duration(&format_duration(ns)), Ok(ns), "{ns}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let texts = [
            "",
            "\u{feff}",
            "seed = -1\nnodes = 5\nduration = \"1s\"",
            "seed = 1\nnodes = 5\nduration = \"1s\"\nschedule = 3",
            "seed = 1\nnodes = 5\nduration = \"1s\"\nschedule = [1]",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = 1\naction = \"heal\"",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = 3",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = -3",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = \"partition\"\ngroups = [1]",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[network]\nloss = nan",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[workload]\nrate = inf",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[raft]\nelection_timeout = [\"1s\"]",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[faults.x]\ny = 1",
            "[[[",
            "a = \"\\u00e9\"\n\u{e9} = 1",
        ];
        for t in texts {
            let e = error(t);
            assert!(e.line.is_some(), "{e}");
        }
    }

    #[test]
    fn serde_errors_name_the_field() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\n\n[[schedule]]\naction = \"heal\"\n"),
            8,
            Some("schedule[1].at"),
            "missing field `at`",
        );
        check(
            &format!("{HEAD}schedule = [{{ action = \"heal\" }}]\n"),
            4,
            Some("schedule[0].at"),
            "missing field `at`",
        );
        check(
            &format!("{HEAD}[network]\nlatency = [\"1ms\", \"2ms\", \"3ms\"]\n"),
            5,
            Some("network.latency"),
            "found an array of 3 elements",
        );
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = -3\n"),
            7,
            Some("schedule[0].node"),
            "invalid value: integer `-3`, expected a non-negative integer",
        );
        check(
            &format!("{HEAD}raft.x.y = 1\n"),
            4,
            Some("raft.x"),
            "unknown field `x`",
        );
        check(
            &format!("{HEAD}[workload]\nstart = 1.5\n"),
            5,
            Some("workload.start"),
            "expected a duration string such as \"150ms\"",
        );
    }

    /// `s` with every [`ScheduledAction::line`] set to 0.
    fn without_lines(mut s: Scenario) -> Scenario {
        for a in &mut s.schedule {
            a.line = 0;
        }
        for e in &mut s.expect {
            e.line = 0;
        }
        s
    }

    /// Writes `s`, reads it back, compares, and returns the text.
    fn round_trip(s: &Scenario) -> String {
        let text = s.to_toml();
        let back = match parse("written.toml", &text) {
            Ok(back) => back,
            Err(e) => panic!("{e}\n{text}"),
        };
        // The lines of the read-back entries are those of the new text.
        let lines: Vec<&str> = text.lines().collect();
        for a in &back.schedule {
            let header = a.line.checked_sub(1).and_then(|i| lines.get(i));
            assert_eq!(header, Some(&"[[schedule]]"), "line {}:\n{text}", a.line);
        }
        for e in &back.expect {
            let header = e.line.checked_sub(1).and_then(|i| lines.get(i));
            assert_eq!(header, Some(&"[[expect]]"), "line {}:\n{text}", e.line);
        }
        assert_eq!(without_lines(back), without_lines(s.clone()), "{text}");
        text
    }

    #[test]
    fn round_trip_full() {
        let s = match parse("scenarios/churn.toml", FULL) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let text = round_trip(&s);
        for needle in [
            "name = \"churn\"",
            "duration = \"1m\"",
            "election_timeout = [\"200ms\", \"400ms\"]",
            "sync_latency = [\"50us\", \"2ms\"]",
            "loss = 0.05",
            "start = \"1.5s\"",
            "groups = [[1, 2], [3, 4, 5]]",
            "action = \"restart\"",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn round_trip_defaults() {
        let s = match parse("quiet.toml", "seed = 3\nnodes = 4\nduration = \"10s\"\n") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let text = round_trip(&s);
        // Every field is written, except the random faults that are off.
        for key in [
            "name",
            "seed",
            "nodes",
            "duration",
            "[raft]",
            "election_timeout",
            "heartbeat_interval",
            "msg_entries_max",
            "inflight_msgs_max",
            "uncommitted_entries_max",
            "[network]",
            "latency",
            "loss",
            "[disk]",
            "sync_latency",
            "[faults]",
            "down_for",
            "max_down",
            "partition_for",
            "until",
            "[workload]",
            "rate",
            "count",
            "start",
        ] {
            assert!(text.contains(key), "{key:?} missing from:\n{text}");
        }
        assert!(
            !text.contains("crash_every") && !text.contains("partition_every"),
            "{text}"
        );
        // A run shorter than the default workload start: `start` cannot be written.
        let short = match parse("short.toml", "seed = 3\nnodes = 1\nduration = \"500ms\"\n") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert!(!round_trip(&short).contains("start"));
    }

    #[test]
    fn round_trip_scenario_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        let mut count = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "toml") {
                match load(&path) {
                    Ok(s) => round_trip(&s),
                    Err(e) => panic!("{e}"),
                };
                count += 1;
            }
        }
        assert!(count > 0, "no scenario files in {}", dir.display());
    }

    #[test]
    fn network_and_torn_crash_actions_say_what_is_wrong() {
        let at = |body: &str| format!("{HEAD}[[schedule]]\nat = \"1s\"\n{body}");
        check(
            &at("action = \"network\"\n"),
            5,
            Some("schedule[0].at"),
            "needs at least one of latency",
        );
        check(
            &at("action = \"network\"\nloss = 1.5\n"),
            7,
            Some("schedule[0].loss"),
            "less than 1.0",
        );
        check(
            &at("action = \"heal\"\ntorn = true\n"),
            7,
            Some("schedule[0].torn"),
            "only allowed with \"crash\"",
        );
        let ok = parse("x.toml", &at("action = \"network\"\nduplicate = 0.1\n")).unwrap();
        assert!(
            matches!(ok.schedule[0].action, Action::Network { duplicate: Some(d), loss: None, .. } if d == 0.1)
        );
    }
}
