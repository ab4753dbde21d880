//! The boundary between the simulator and a Raft implementation: the simulator drives a node
//! through [`SimNode`] and judges it by what it writes to its disk and by its [`NodeView`].
//! Nothing else of an implementation is visible to the simulator or its checkers.

use crate::checker::ConfigRule;
use crate::situations::Situations;
use std::fmt::Debug;
use std::hash::Hash;

/// A node's identity: 1..=nodes.
pub type NodeId = u64;

/// A node's role as the checkers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Passive.
    Follower,
    /// Campaigning.
    Candidate,
    /// Leading its term.
    Leader,
}

/// What the checkers may read of a running node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// Current role.
    pub role: Role,
    /// Current term.
    pub term: u64,
    /// Vote in the current term.
    pub vote: Option<NodeId>,
    /// Highest index known committed.
    pub commit_index: u64,
    /// The leader this node follows, if known (a leader names itself).
    pub leader: Option<NodeId>,
}

/// A log entry as stored on the simulated disk.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredEntry {
    /// Position in the log, from 1.
    pub index: u64,
    /// Term of the leader that created it.
    pub term: u64,
    /// What the entry is for.
    pub kind: EntryKind,
    /// The entry's bytes, shared with the node's log and messages rather than copied.
    pub data: std::sync::Arc<[u8]>,
}

/// What a log entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A new leader's empty entry.
    Noop,
    /// A client command.
    Command,
    /// A cluster configuration; `data` is a [`Membership::encode`].
    Config,
}

/// A cluster configuration as the simulator sees it in a configuration entry: the voters, the
/// outgoing voters during joint consensus, the learners.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Membership {
    /// Voters of the new (or only) configuration.
    pub voters: Vec<NodeId>,
    /// Voters of the old configuration during joint consensus; empty otherwise.
    pub voters_outgoing: Vec<NodeId>,
    /// Members without a vote.
    pub learners: Vec<NodeId>,
}

impl Membership {
    /// `voters` only.
    pub fn simple(voters: &[NodeId]) -> Membership {
        Membership {
            voters: voters.to_vec(),
            ..Membership::default()
        }
    }

    /// Three lists, each a little-endian `u32` count and that many `u64` ids.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for list in [&self.voters, &self.voters_outgoing, &self.learners] {
            out.extend_from_slice(&(list.len() as u32).to_le_bytes());
            for id in list {
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
        out
    }

    /// The inverse of [`Membership::encode`]; `None` for anything else.
    pub fn decode(mut bytes: &[u8]) -> Option<Membership> {
        let mut lists: [Vec<NodeId>; 3] = Default::default();
        for list in &mut lists {
            let (count, rest) = bytes.split_first_chunk::<4>()?;
            bytes = rest;
            for _ in 0..u32::from_le_bytes(*count) {
                let (id, rest) = bytes.split_first_chunk::<8>()?;
                list.push(u64::from_le_bytes(*id));
                bytes = rest;
            }
        }
        let [voters, voters_outgoing, learners] = lists;
        bytes.is_empty().then_some(Membership {
            voters,
            voters_outgoing,
            learners,
        })
    }

    /// True if the nodes for which `yes` holds are a majority of the voters and, during joint
    /// consensus, of the outgoing voters too.
    pub fn has_quorum(&self, yes: impl Fn(NodeId) -> bool) -> bool {
        let majority = |set: &[NodeId]| {
            !set.is_empty() && set.iter().filter(|&&id| yes(id)).count() > set.len() / 2
        };
        majority(&self.voters)
            && (self.voters_outgoing.is_empty() || majority(&self.voters_outgoing))
    }

    /// True if `id` votes in this configuration.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.voters_outgoing.contains(&id)
    }
}

/// The persistent state of Figure 2 (plus a commit index that may be stored without a sync).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HardState {
    /// Current term.
    pub term: u64,
    /// Vote in that term.
    pub vote: Option<NodeId>,
    /// A lower bound of the commit index.
    pub commit: u64,
}

/// A snapshot of a node's state machine (Raft paper, section 7): it stands for every log entry
/// through `index`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredSnapshot {
    /// The last index it covers.
    pub index: u64,
    /// The term of the entry at `index`.
    pub term: u64,
    /// The configuration in effect at `index`.
    pub membership: Membership,
    /// The state machine's state, opaque to the simulator.
    pub data: Vec<u8>,
}

/// A durable copy of a node's state machine as of entry `index`: a snapshot the log is not
/// compacted by. A node restarts from it and replays only the entries after it, as a server
/// whose state machine lives on disk does, instead of the whole log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The last entry the state machine reflects.
    pub index: u64,
    /// That entry's term.
    pub term: u64,
    /// The state machine's state, opaque to the simulator.
    pub data: Vec<u8>,
}

/// What survives a crash: the synced writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DurableState {
    /// The last synced hard state.
    pub hard_state: HardState,
    /// The last synced snapshot, if any.
    pub snapshot: Option<StoredSnapshot>,
    /// The synced log: consecutive entries, from index 1 or from just after the snapshot. A
    /// crash between writing a snapshot and compacting the log may leave entries the snapshot
    /// covers; [`DurableState::log_after_snapshot`] is what a node restarts with.
    pub log: Vec<StoredEntry>,
    /// The last synced state machine checkpoint, if any. It may be older than the snapshot.
    pub checkpoint: Option<StoredCheckpoint>,
}

impl DurableState {
    /// The log entries that follow the snapshot, as a node restarts with them (section 7): all
    /// of them without a snapshot; with one, the entries after its index if the log holds its
    /// last entry (same index and term) or starts right after it, and none otherwise (the log
    /// is from before a snapshot a leader sent, which replaced it).
    pub fn log_after_snapshot(&self) -> &[StoredEntry] {
        let Some(snapshot) = &self.snapshot else {
            return &self.log;
        };
        let Some(first) = self.log.first().map(|e| e.index) else {
            return &[];
        };
        if first == snapshot.index + 1 {
            return &self.log;
        }
        let Some(position) = snapshot.index.checked_sub(first) else {
            return &[]; // A gap after the snapshot.
        };
        match self.log.get(position as usize) {
            Some(e) if e.term == snapshot.term => &self.log[position as usize + 1..],
            _ => &[],
        }
    }

    /// Whether a node restarting from this state would hold entry (`index`, `term`): in its
    /// log after the snapshot, or covered by the snapshot (which holds committed entries only).
    pub fn holds(&self, index: u64, term: u64) -> bool {
        if self.snapshot.as_ref().is_some_and(|s| index <= s.index) {
            return true;
        }
        let log = self.log_after_snapshot();
        let Some(first) = log.first().map(|e| e.index) else {
            return false;
        };
        index
            .checked_sub(first)
            .and_then(|position| log.get(position as usize))
            .is_some_and(|e| e.index == index && e.term == term)
    }

    /// The checkpoint a node restarts its state machine from: the durable one, if it is
    /// ahead of the snapshot, committed, and of an entry the log still holds (it is not when
    /// the node installed a leader's snapshot after it). Otherwise the node restarts from the
    /// snapshot and replays the log after it.
    pub fn checkpoint_to_restore(&self) -> Option<&StoredCheckpoint> {
        let c = self.checkpoint.as_ref()?;
        let snapshot_index = self.snapshot.as_ref().map_or(0, |s| s.index);
        let usable = c.index > snapshot_index
            && c.index <= self.hard_state.commit
            && self.holds(c.index, c.term);
        usable.then_some(c)
    }

    /// For a restart whose crash left the log as issued below `log_intact_below` (see
    /// `CrashLoss`): the snapshot's index, and how many of the entries after it the node
    /// held as they are on disk; `None` when none can be kept (the intact part ends at the
    /// snapshot, or the durable log does not start right after it).
    pub fn kept_on_restart(&self, log_intact_below: u64) -> Option<(u64, usize)> {
        let base = self.snapshot.as_ref().map_or(0, |s| s.index);
        let log = self.log_after_snapshot();
        if log_intact_below <= base + 1 || log.first().is_some_and(|e| e.index != base + 1) {
            return None;
        }
        let kept = (log_intact_below - 1 - base).min(log.len() as u64);
        Some((base, kept as usize))
    }

    /// The index through which a restarted node's state machine already reflects the log:
    /// its checkpoint's, else its snapshot's, else 0.
    pub fn applied_on_restart(&self) -> u64 {
        match (self.checkpoint_to_restore(), &self.snapshot) {
            (Some(c), _) => c.index,
            (None, Some(s)) => s.index,
            (None, None) => 0,
        }
    }

    /// The (index, term) of the last entry a node restarts with: the log's last, else the
    /// snapshot's, else (0, 0).
    pub fn last(&self) -> (u64, u64) {
        match (self.log_after_snapshot().last(), &self.snapshot) {
            (Some(e), _) => (e.index, e.term),
            (None, Some(s)) => (s.index, s.term),
            (None, None) => (0, 0),
        }
    }
}

/// A change to the log: drop entries from `from_index` on, then append `entries`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogWrite {
    /// First index replaced.
    pub from_index: u64,
    /// New entries from `from_index`.
    pub entries: Vec<StoredEntry>,
}

/// What a node asks of its host after an input, acted on in this order: write, sync if
/// `must_sync` (messages wait for it), send. The node applies committed entries to its own
/// state machine and reports what it executed in `applied`.
#[derive(Clone, Debug)]
pub struct Output<M> {
    /// New hard state.
    pub hard_state: Option<HardState>,
    /// Log change.
    pub log_write: Option<LogWrite>,
    /// The messages depend on the writes being durable.
    pub must_sync: bool,
    /// Messages, each with its destination.
    pub messages: Vec<(NodeId, M)>,
    /// Replies to clients, each with the client it goes to.
    pub replies: Vec<(ClientId, ClientReply)>,
    /// Client commands the node's state machine applied, in log order.
    pub applied: Vec<Applied>,
    /// Situations the node went through since its last output (zero for any it cannot see).
    pub situations: Situations,
    /// The last configuration entry the node applied in this output, with its index.
    pub config_applied: Option<(u64, Membership)>,
    /// A snapshot to persist before `log_write`; once it is durable the disk drops the log
    /// entries it covers, keeping those after it as [`DurableState::log_after_snapshot`] does.
    pub snapshot: Option<StoredSnapshot>,
    /// A checkpoint of the state machine to persist after everything else in this output.
    pub checkpoint: Option<StoredCheckpoint>,
}

impl<M> Default for Output<M> {
    fn default() -> Self {
        Output {
            hard_state: None,
            log_write: None,
            must_sync: false,
            messages: Vec::new(),
            replies: Vec::new(),
            applied: Vec::new(),
            situations: Situations::default(),
            config_applied: None,
            snapshot: None,
            checkpoint: None,
        }
    }
}

/// A simulated client's number, 1..=clients (not a session id).
pub type ClientId = u64;

/// A key-value operation, as clients ask for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ClientOp {
    /// Read a key; a missing key reads as "".
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Append to a key.
    Append {
        /// The key.
        key: String,
        /// The suffix.
        value: String,
    },
    /// Set a key to `new` if it is `expected`.
    Cas {
        /// The key.
        key: String,
        /// The value expected.
        expected: String,
        /// The new value.
        new: String,
    },
}

impl ClientOp {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            ClientOp::Get { key }
            | ClientOp::Put { key, .. }
            | ClientOp::Append { key, .. }
            | ClientOp::Cas { key, .. } => key,
        }
    }
}

/// A request from a client to a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ClientRequest {
    /// Open a session.
    Register,
    /// Execute `op` once as command `seq` of `session`.
    Op {
        /// The session, from a `Registered` reply.
        session: u64,
        /// From 1; a retry repeats it.
        seq: u64,
        /// The operation.
        op: ClientOp,
    },
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum OpResult {
    /// A get's value.
    Value(String),
    /// A put or append took effect.
    Done,
    /// A cas set the new value.
    CasOk,
    /// A cas found another value; nothing changed.
    CasFailed,
    /// The value would be too large; nothing changed.
    TooLarge,
}

/// A node's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ClientReply {
    /// A session was opened.
    Registered {
        /// Its id.
        session: u64,
    },
    /// Command `seq` of `session` executed (now or earlier) with this result.
    Done {
        /// The session: a client that registered again must not take a late answer to its
        /// old session's command of the same number for its new one.
        session: u64,
        /// The command.
        seq: u64,
        /// Its result.
        result: OpResult,
    },
    /// The session expired; command `seq` was not executed now and may or may not have been
    /// executed before.
    SessionExpired {
        /// The session.
        session: u64,
        /// The command.
        seq: u64,
    },
    /// This node cannot take requests; try `leader_hint`.
    NotLeader {
        /// The leader, if known.
        leader_hint: Option<NodeId>,
    },
    /// The node is overloaded.
    Busy,
}

/// A client command applied by a node's state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Applied {
    /// The log index.
    pub index: u64,
    /// The session.
    pub session: u64,
    /// The command's sequence number.
    pub seq: u64,
    /// True if the state machine executed it for this entry (false: a cached reply).
    pub executed: bool,
}

/// What the boundary tells every implementation at start, for it to map to its own
/// configuration: protocol timing and limits (from the scenario's `[raft]` section) and the
/// scenario's implementation-specific `[implementation_options]`. An implementation refuses
/// an option it does not know, and may ignore a limit it has no notion of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSettings {
    /// Election timeouts are drawn from `[min, max)`.
    pub election_timeout_min_ns: u64,
    /// See `election_timeout_min_ns`.
    pub election_timeout_max_ns: u64,
    /// A leader's heartbeat period.
    pub heartbeat_interval_ns: u64,
    /// Most entries in one append message.
    pub msg_entries_max: u64,
    /// Most unacknowledged append messages per follower.
    pub inflight_msgs_max: u64,
    /// Most uncommitted entries a leader takes.
    pub uncommitted_entries_max: u64,
    /// A client session unused this long in log time expires.
    pub session_timeout_ns: u64,
    /// Most client sessions.
    pub sessions_max: u64,
    /// Largest value the key-value store holds.
    pub value_bytes_max: u64,
    /// A server being added is promoted once this close to the leader's log.
    pub learner_lag_entries_max: u64,
    /// Compact after this many entries applied since the last snapshot (0: never).
    pub snapshot_entries: u64,
    /// Compact after entries of this many bytes (0: never).
    pub snapshot_bytes: u64,
    /// Most snapshot bytes in one message.
    pub snapshot_chunk_bytes: u64,
    /// Checkpoint the state machine after this many entries applied since the last
    /// checkpoint or snapshot (0: never; a restart replays the log from the snapshot).
    pub checkpoint_entries: u64,
    /// Entries kept before a snapshot's index.
    pub snapshot_catch_up_entries: u64,
    /// The scenario's `[implementation_options]`, as text, for the implementation to read.
    pub options: std::collections::BTreeMap<String, String>,
}

impl NodeSettings {
    /// The settings a scenario gives its nodes.
    pub fn of(scenario: &crate::scenario::Scenario) -> NodeSettings {
        let r = &scenario.raft;
        NodeSettings {
            election_timeout_min_ns: r.election_timeout_min_ns,
            election_timeout_max_ns: r.election_timeout_max_ns,
            heartbeat_interval_ns: r.heartbeat_interval_ns,
            msg_entries_max: r.msg_entries_max,
            inflight_msgs_max: r.inflight_msgs_max,
            uncommitted_entries_max: r.uncommitted_entries_max,
            session_timeout_ns: r.session_timeout_ns,
            sessions_max: r.sessions_max,
            value_bytes_max: r.value_bytes_max,
            learner_lag_entries_max: r.learner_lag_entries_max,
            snapshot_entries: r.snapshot_entries,
            snapshot_bytes: r.snapshot_bytes,
            snapshot_chunk_bytes: r.snapshot_chunk_bytes,
            checkpoint_entries: r.checkpoint_entries,
            snapshot_catch_up_entries: r.snapshot_catch_up_entries,
            options: scenario.implementation_options.clone(),
        }
    }
}

/// How a node is (re)started.
#[derive(Clone, Debug)]
pub struct StartContext<'a> {
    /// Its id.
    pub id: NodeId,
    /// The voters of the cluster's first configuration; empty for a server that joins later
    /// and learns the configuration from the leader's log.
    pub voters: &'a [NodeId],
    /// The voters of the cluster's first configuration, also for a server that joins later:
    /// for an implementation that, like raft-rs, starts every server from the same initial
    /// configuration and applies the log's changes to it ([`ConfigRule::Applied`]).
    pub cluster_voters: &'a [NodeId],
    /// Protocol timing and limits, and implementation-specific options.
    pub settings: &'a NodeSettings,
    /// Seed for the node's own random stream (election jitter); different per incarnation.
    pub rng_seed: u64,
    /// The node's local time.
    pub now_ns: u64,
    /// A deliberately broken rule, by name; `None` in normal runs.
    pub mutation: Option<&'a str>,
}

/// A short description of a message for traces and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MessageInfo {
    /// The RPC's name.
    pub kind: &'static str,
    /// The sender.
    pub from: NodeId,
    /// The sender's term.
    pub term: u64,
    /// For a successful append acknowledgement, the index it acknowledges through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_index: Option<u64>,
    /// For one chunk of a snapshot, whether it completes the snapshot (the nemesis that
    /// crashes a follower during a transfer tells a chunk from the last one by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_last: Option<bool>,
}

/// By hand, to leave `snapshot_last` out: it is a function of the message, whose full
/// content a delivery hashes anyway, and hashing it would change the trace hash of every
/// run recorded before it existed.
impl Hash for MessageInfo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.from.hash(state);
        self.term.hash(state);
        self.ack_index.hash(state);
    }
}

/// Why a proposal was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not the leader; try `leader_hint`.
    NotLeader {
        /// The leader to try, if known.
        leader_hint: Option<NodeId>,
    },
    /// The leader is overloaded, or (for a membership change) another change is in progress
    /// or it is not ready: try again later.
    Busy,
    /// The request makes no sense (adding a voter, removing a stranger): never retried.
    Invalid(String),
}

/// A Raft implementation as the simulator drives it: raftsim's API boundary. Everything the
/// simulator and its checkers know of an implementation crosses here.
///
/// The contract, in the order a run uses it:
/// - [`SimNode::start`] builds a node from [`StartContext`] (its id, the first
///   configuration's voters, [`NodeSettings`], a seed for all of its randomness, its local
///   time, a mutation name) and the [`DurableState`] its previous incarnation synced. A node
///   draws no randomness but from that seed, reads no clock but the times handed in, and
///   starts no thread, so that one seed gives one run.
/// - Inputs: [`SimNode::deliver`] (an `Err` for a message it rejects; a message from the
///   network, however malformed, never panics it), [`SimNode::fire_timer`] at
///   [`SimNode::next_timer_ns`], [`SimNode::propose`], [`SimNode::submit`],
///   [`SimNode::log_synced`] when the disk made writes durable, and
///   [`SimNode::change_membership`].
/// - After every input the simulator takes an [`Output`]: the writes (persisted in order, and
///   synced first when `must_sync`, with the messages held until then), the messages, client
///   replies, the commands applied, the last configuration applied.
/// - The checkers read [`SimNode::view`], the disk and the commands applied, after every
///   event.
///
/// A complete one-node example that compiles and passes the checkers is
/// `sim/tests/it/own_raft.rs`; `raft_node.rs` (raftsim's Raft) and `raft_rs_node.rs`
/// (tikv/raft-rs) are full ones. Register an implementation in [`crate::implementation`] to
/// run it with `--impl`.
pub trait SimNode: Sized {
    /// The implementation's message type: hashed into the trace, and kept as data in a full
    /// trace (`raftsim run --trace`), so it must serialize.
    type Message: Clone + Debug + Hash + serde::Serialize;

    /// When a configuration entry takes effect at a node: once in its log (the thesis's rule,
    /// the default) or once applied (etcd raft, raft-rs). The checker counts a leader's
    /// commit quorum with the configuration this rule puts in effect, and with
    /// [`ConfigRule::Applied`] learns of applied ones from `Output::config_applied`.
    const CONFIG_RULE: ConfigRule = ConfigRule::Appended;

    /// Starts a node fresh (empty `durable`) or from what an earlier incarnation synced.
    fn start(ctx: &StartContext<'_>, durable: &DurableState) -> Result<Self, String>;
    /// Restarts a node after a crash exactly as [`SimNode::start`] would. `dead` is the
    /// crashed incarnation: its log in memory is, below index `log_intact_below`, the durable
    /// log (the crash lost no write there; 0 when nothing is known the same). An
    /// implementation may take those entries from `dead` rather than read them back, so that
    /// a restart costs what the crash changed, not the whole log. The default reads them back.
    fn restart(
        ctx: &StartContext<'_>,
        durable: &DurableState,
        dead: Self,
        log_intact_below: u64,
    ) -> Result<Self, String> {
        let _ = log_intact_below;
        drop(dead);
        Self::start(ctx, durable)
    }
    /// Delivers a message. An `Err` is a message the node rejected; it is traced.
    fn deliver(&mut self, now_ns: u64, msg: Self::Message) -> Result<(), String>;
    /// The local time at which the node next wants `fire_timer`.
    fn next_timer_ns(&self) -> u64;
    /// Called at or after `next_timer_ns`.
    fn fire_timer(&mut self, now_ns: u64);
    /// Proposes a raw command (load without sessions).
    fn propose(&mut self, now_ns: u64, command: Vec<u8>) -> Result<(), Refusal>;
    /// Takes a client's request. A leader logs it and replies once it is applied; any other
    /// node replies at once with `NotLeader`. The reply comes through `take_output`.
    fn submit(&mut self, now_ns: u64, client: ClientId, request: ClientRequest);
    /// The disk made the log durable through (`index`, `term`).
    fn log_synced(&mut self, index: u64, term: u64);
    /// Asks the node to add `add` and remove `remove` from the cluster's voters (section 6 of
    /// the paper). A leader that accepts reports progress through committed configuration
    /// entries (`Output::config_applied`).
    fn change_membership(
        &mut self,
        now_ns: u64,
        add: &[NodeId],
        remove: &[NodeId],
    ) -> Result<(), Refusal>;
    /// Takes what the host must do now.
    fn take_output(&mut self) -> Output<Self::Message>;
    /// The node's state as the checkers see it.
    fn view(&self) -> NodeView;
    /// Describes a message.
    fn message_info(msg: &Self::Message) -> MessageInfo;
    /// Every `MessageInfo::kind` the implementation sends, so that a scenario naming another
    /// is refused before the run; empty (the default) if the implementation does not say.
    fn message_kinds() -> &'static [&'static str] {
        &[]
    }
}
