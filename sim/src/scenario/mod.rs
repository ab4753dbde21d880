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
//! serde and `toml` do the typing (the `Raw*` structs in `raw.rs` mirror the file); the
//! checks that need more than a type (ranges, node ids, times within the run) are in `Cx`
//! (`validate.rs`). `duration.rs` reads and writes durations, `write.rs` writes a scenario
//! back, and `tests.rs` tests reading files.

mod duration;
mod raw;
#[cfg(test)]
mod tests;
mod validate;
pub use validate::{EVERY_MIN_NS, HEARTBEAT_MIN_NS};
mod write;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use self::duration::{format_duration, parse_duration};
use self::duration::{NS_PER_MS, NS_PER_S};
use self::raw::RawScenario;
use self::validate::Cx;

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
    /// `checkpoint_entries` (default 1000; 0, off): a node writes its state machine to disk
    /// once it has applied this many entries since its last checkpoint or snapshot, without
    /// compacting its log, and a restart replays only the entries after the checkpoint. Off,
    /// the state machine is volatile and a restart replays the whole log after the snapshot
    /// (section 7 of the paper), which makes a long run without compaction quadratic.
    pub checkpoint_entries: u64,
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
    match crate::history::input::read_to_string(path, "the scenario file") {
        Ok(text) => parse(&file, &text),
        Err(e) => Err(ScenarioError {
            file,
            line: None,
            field: None,
            message: e.message,
        }),
    }
}

/// Parse scenario text; `file` is the name used in messages (and for the default name).
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let cx = Cx { file, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    cx.scenario(raw)
}

/// How long `hold-stale` holds a message at most when `for` is not given.
pub const HOLD_STALE_FOR_DEFAULT_NS: u64 = 10 * NS_PER_S;
/// The largest `for` of `hold-stale`.
pub const HOLD_STALE_FOR_MAX_NS: u64 = 60 * NS_PER_S;
/// The largest cluster a scenario (or a trace file) may have.
pub const MAX_NODES: u64 = 64;

const DEFAULT_START_NS: u64 = NS_PER_S;
/// The most `[[operation]]` tables, and the most `workload.at` times, a file may list.
pub const OPERATIONS_EXPLICIT_MAX: usize = 100_000;
