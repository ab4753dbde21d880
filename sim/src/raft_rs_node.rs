//! tikv/raft-rs (crates.io `raft` 0.7, named `raftrs` here) behind the [`SimNode`] boundary,
//! with the same replicated key-value store and session table as [`crate::RaftNode`].
//!
//! Choices the adapter makes, and why:
//!
//! - **Time.** raft-rs counts ticks. One tick is a fifth of the heartbeat interval
//!   ([`TICKS_PER_HEARTBEAT`]), so the heartbeat is 5 ticks and the election timeout range
//!   `[election_timeout_min, election_timeout_max)` maps to ticks with a resolution of a fifth
//!   of a heartbeat (10ms with the default 50ms heartbeat, 15..30 ticks for 150ms..300ms).
//!   `fire_timer` runs one `tick()` per elapsed tick interval, at most [`TICKS_PER_FIRE_MAX`]
//!   (a node paused for long does not replay every tick it missed).
//! - **Determinism.** raft-rs draws its randomized election timeout from `thread_rng` whenever
//!   it resets (`become_follower`/`candidate`/`leader`, which always change the term or the
//!   role). After every input, and after every single tick, the adapter looks whether (term,
//!   role) changed and, if so, overrides the draw with one from its own `ChaCha8Rng` seeded
//!   from `StartContext::rng_seed`, uniformly in the mapped range. Nothing random of raft-rs
//!   is ever consulted before the override.
//! - **Durability.** The Ready cycle runs in raft-rs's asynchronous form: each `Ready`'s
//!   entries go into raft-rs's storage (its cache) and into the `Output`'s `log_write`,
//!   its hard state into `hard_state`, and then `advance_append_async`. Each output with
//!   `must_sync` queues the number of its last `Ready`; the simulator completes syncs in order,
//!   and each `log_synced` calls `on_persist_ready` for the front of the queue. Only then does
//!   raft-rs count those entries as persisted (a leader's own match index, a follower's
//!   acknowledgements, which raft-rs only sends as persisted messages). All of an output's
//!   messages wait for its sync (raft-rs would let a leader's appends go before it; waiting is
//!   the conservative choice the `Output` offers).
//! - **Restart.** A node restarts from `DurableState` with `applied = 0`: raft-rs hands the
//!   committed entries again, and the state machine is rebuilt from them.
//! - **Limits.** `max_size_per_msg` is `msg_entries_max` times [`ENTRY_BYTES_ESTIMATE`] (raft-rs
//!   limits bytes, the scenario counts entries); `max_inflight_msgs` is `inflight_msgs_max`;
//!   `max_uncommitted_size` stays unlimited (raft-rs counts bytes there too).
//! - **Membership.** `change_membership` proposes one `ConfChangeV2`: raft-rs's simple change
//!   for a single server, a joint configuration (`Explicit`) for more, which a leader leaves
//!   with an empty change once it applied it. raft-rs puts a configuration in effect when it
//!   is applied, not when it is appended: the adapter declares [`ConfigRule::Applied`], and the
//!   checker counts each commit's quorum with the configuration the leader had applied.
//!   Every server, one that joins later too, starts from the cluster's first configuration
//!   (`StartContext::cluster_voters`) and applies the log's changes to it, as raft-rs asks
//!   ("all start states are the same on all nodes"). A configuration entry is stored as the
//!   [`Membership`] it puts in effect, and a restart rebuilds the `ConfChangeV2` entries from
//!   the differences between consecutive memberships.
//! - **The leader's own removal.** raft-rs 0.7 keeps a leader that applied its own removal in
//!   office, and then panics in `maybe_commit` (its progress is gone). raft-rs's contract, as
//!   TiKV applies it, is never to remove the leader: a leader asked to remove itself, or to
//!   leave a joint configuration in which it is only an outgoing voter, transfers leadership to
//!   the most up-to-date remaining voter and answers `Busy`; the simulator asks the new leader.
//!   A leader that applies its own removal anyway (elected with it unapplied in its log) steps
//!   down. `scenarios/regressions/raft-rs/` holds the run that showed the panic.
//! - **Removed servers** that never apply their removal campaign forever; without
//!   `check_quorum` (an `[implementation_options]` switch) raft-rs members step down for their
//!   vote requests, and the cluster may stay leaderless (`scenarios/regressions/raft-rs/`).
//! - **Snapshots** (section 7). raft-rs's storage is [`SimStorage`]: the log after the latest
//!   snapshot, and that snapshot with the state machine's bytes. Once `snapshot_entries`
//!   entries (or `snapshot_bytes` bytes of commands) were applied, a node snapshots the
//!   `Replicated<KvStore>` at its applied index with the configuration then in effect, keeps
//!   `snapshot_catch_up_entries` entries before it, and the disk persists it
//!   (`Output::snapshot`). A leader sends it whole when a follower needs compacted entries,
//!   and reports it sent (`SnapshotStatus::Finish`) as a transport would; a lost one is sent
//!   again after raft-rs's probe. A follower installs it from the Ready (state machine,
//!   storage, configurations) and does not campaign until its sync completes (raft-rs counts
//!   it applied only then). A snapshot that does not name the follower asking (it joined
//!   after it was taken, and raft-rs's follower would refuse it) is "temporarily unavailable",
//!   and a new one is taken. A restart starts from the disk's snapshot and the entries after.

// Generated protobuf structs are built field by field.
#![allow(clippy::field_reassign_with_default)]

use crate::checker::ConfigRule;
use crate::client_desk::{tagged, ClientDesk, ENTRY_RAW, ENTRY_SESSION};
use crate::node::{
    ClientId, ClientReply, ClientRequest, DurableState, EntryKind, HardState, LogWrite, Membership,
    MessageInfo, NodeId, NodeView, Output, Refusal, Role, SimNode, StartContext, StoredEntry,
    StoredSnapshot,
};
use crate::raft_rs_storage::SimStorage;
use crate::situations::Situations;
use protobuf::Message as _;
use raft::{KvStore, Replicated, SessionLimits};
use raftrs::eraftpb::{
    ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, ConfState, Entry,
    EntryType, MessageType, Snapshot,
};
use raftrs::{RawNode, SnapshotStatus, StateRole, Storage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash, Hasher};

/// Ticks per heartbeat interval.
pub const TICKS_PER_HEARTBEAT: u64 = 5;
/// Most ticks one `fire_timer` runs.
pub const TICKS_PER_FIRE_MAX: u64 = 1000;
/// Bytes per entry assumed to turn `msg_entries_max` into raft-rs's byte limit.
pub const ENTRY_BYTES_ESTIMATE: u64 = 128;
/// Outstanding syncs remembered, at most (the simulator completes each in order; more than
/// this outstanding would mean the host lost track).
const UNSYNCED_MAX: usize = 1 << 16;
/// Ready rounds one `take_output` runs, at most.
const READY_ROUNDS_MAX: usize = 64;

/// A raft-rs message, hashed over its protobuf encoding and serialized as JSON of the fields
/// a trace reader wants.
#[derive(Clone, Debug)]
pub struct RsMessage(pub raftrs::eraftpb::Message);

impl Hash for RsMessage {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.write_to_bytes().unwrap_or_default().hash(state);
    }
}

#[derive(serde::Serialize)]
struct MessageJson {
    msg_type: &'static str,
    from: u64,
    to: u64,
    term: u64,
    log_term: u64,
    index: u64,
    commit: u64,
    reject: bool,
    reject_hint: u64,
    /// (index, term, entry type) of each entry.
    entries: Vec<(u64, u64, &'static str)>,
    /// (index, term) of a snapshot's metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot: Option<(u64, u64)>,
}

impl serde::Serialize for RsMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = &self.0;
        MessageJson {
            msg_type: type_name(m.get_msg_type()),
            from: m.from,
            to: m.to,
            term: m.term,
            log_term: m.log_term,
            index: m.index,
            commit: m.commit,
            reject: m.reject,
            reject_hint: m.reject_hint,
            entries: m
                .entries
                .iter()
                .map(|e| (e.index, e.term, entry_type_name(e.get_entry_type())))
                .collect(),
            snapshot: m
                .snapshot
                .as_ref()
                .map(|s| (s.get_metadata().index, s.get_metadata().term)),
        }
        .serialize(serializer)
    }
}

fn type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::MsgHup => "MsgHup",
        MessageType::MsgBeat => "MsgBeat",
        MessageType::MsgPropose => "MsgPropose",
        MessageType::MsgAppend => "MsgAppend",
        MessageType::MsgAppendResponse => "MsgAppendResponse",
        MessageType::MsgRequestVote => "MsgRequestVote",
        MessageType::MsgRequestVoteResponse => "MsgRequestVoteResponse",
        MessageType::MsgSnapshot => "MsgSnapshot",
        MessageType::MsgHeartbeat => "MsgHeartbeat",
        MessageType::MsgHeartbeatResponse => "MsgHeartbeatResponse",
        MessageType::MsgUnreachable => "MsgUnreachable",
        MessageType::MsgSnapStatus => "MsgSnapStatus",
        MessageType::MsgCheckQuorum => "MsgCheckQuorum",
        MessageType::MsgTransferLeader => "MsgTransferLeader",
        MessageType::MsgTimeoutNow => "MsgTimeoutNow",
        MessageType::MsgReadIndex => "MsgReadIndex",
        MessageType::MsgReadIndexResp => "MsgReadIndexResp",
        MessageType::MsgRequestPreVote => "MsgRequestPreVote",
        MessageType::MsgRequestPreVoteResponse => "MsgRequestPreVoteResponse",
    }
}

/// The kind a nemesis or a trace names a message by: raftsim's own names where the meaning is
/// the same (section 5's RPCs), raft-rs's otherwise.
fn kind_name(t: MessageType) -> &'static str {
    match t {
        MessageType::MsgAppend => "AppendEntries",
        MessageType::MsgAppendResponse => "AppendEntriesResponse",
        MessageType::MsgRequestVote => "RequestVote",
        MessageType::MsgRequestVoteResponse => "RequestVoteResponse",
        MessageType::MsgHeartbeat => "Heartbeat",
        MessageType::MsgHeartbeatResponse => "HeartbeatResponse",
        MessageType::MsgSnapshot => "InstallSnapshot",
        other => type_name(other),
    }
}

fn entry_type_name(t: EntryType) -> &'static str {
    match t {
        EntryType::EntryNormal => "EntryNormal",
        EntryType::EntryConfChange => "EntryConfChange",
        EntryType::EntryConfChangeV2 => "EntryConfChangeV2",
    }
}

/// A raft-rs `RawNode` with its state machine, adapted to the simulator.
pub struct RaftRsNode {
    raw: RawNode<SimStorage>,
    id: NodeId,
    /// The adapter's own random stream: every election timeout comes from it.
    rng: ChaCha8Rng,
    /// Election timeouts in ticks: `[min, max)`.
    election_ticks: (usize, usize),
    /// (term, role) when the election timeout was last drawn.
    drawn_for: (u64, StateRole),
    tick_ns: u64,
    next_tick_ns: u64,
    state_machine: Replicated<KvStore>,
    /// The session table's limits, to restore it from a snapshot.
    limits: SessionLimits,
    /// The last entry applied to `state_machine` (or the snapshot's index).
    applied_index: u64,
    /// Entries, and bytes of their commands, applied since the last snapshot.
    applied_since_snapshot: (u64, u64),
    /// `snapshot_entries`, `snapshot_bytes`, `snapshot_catch_up_entries` (section 7).
    snapshot_policy: (u64, u64, u64),
    /// The number of the Ready that installed a leader's snapshot, until its sync completes.
    /// raft-rs counts the snapshot applied only then (`advance_apply`), and a campaign before
    /// it would read the entries after its old applied index, which the snapshot replaced:
    /// raft-rs panics (`hup`, "unexpected error getting unapplied entries"). So the node
    /// neither ticks nor takes a `MsgTimeoutNow` meanwhile, as TiKV does not campaign while
    /// it applies a snapshot.
    snapshot_unpersisted: Option<u64>,
    desk: ClientDesk,
    situations: Situations,
    config_applied: Option<(u64, Membership)>,
    /// Per sync requested and not yet reported: the last Ready it covers, and the (index,
    /// term) of the last entry written then.
    unsynced: VecDeque<(u64, u64, u64)>,
    /// The configuration before the log's first configuration entry: the cluster's first,
    /// or after a snapshot the snapshot's.
    initial: Membership,
    /// The configuration each configuration entry of the log puts in effect, by index.
    configs: BTreeMap<u64, Membership>,
    /// Errors raft-rs returned from `apply_conf_change` (never expected).
    pub conf_change_errors: Vec<String>,
}

impl std::fmt::Debug for RaftRsNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftRsNode")
            .field("id", &self.id)
            .field("term", &self.raw.raft.term)
            .field("state", &self.raw.raft.state)
            .finish_non_exhaustive()
    }
}

fn sorted(mut ids: Vec<NodeId>) -> Vec<NodeId> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn is_conf_change(entry: &Entry) -> bool {
    entry.get_entry_type() != EntryType::EntryNormal
}

/// The configuration change an entry holds (a legacy `ConfChange` as its V2 form).
fn decode_conf_change(entry: &Entry) -> Result<ConfChangeV2, String> {
    use raftrs::eraftpb::ConfChange;
    match entry.get_entry_type() {
        EntryType::EntryConfChangeV2 => {
            let mut cc = ConfChangeV2::default();
            cc.merge_from_bytes(&entry.data)
                .map_err(|e| format!("entry {}: {e}", entry.index))?;
            Ok(cc)
        }
        EntryType::EntryConfChange => {
            let mut cc = ConfChange::default();
            cc.merge_from_bytes(&entry.data)
                .map_err(|e| format!("entry {}: {e}", entry.index))?;
            let mut single = ConfChangeSingle::default();
            single.node_id = cc.node_id;
            single.set_change_type(cc.get_change_type());
            let mut v2 = ConfChangeV2::default();
            v2.set_changes(vec![single].into());
            Ok(v2)
        }
        EntryType::EntryNormal => Err(format!("entry {}: not a configuration", entry.index)),
    }
}

/// The configuration `cc` puts in effect on top of `base`.
fn apply_change(base: &Membership, cc: &ConfChangeV2) -> Membership {
    if cc.leave_joint() {
        return Membership {
            voters: base.voters.clone(),
            voters_outgoing: Vec::new(),
            learners: base.learners.clone(),
        };
    }
    let mut voters = base.voters.clone();
    let mut learners = base.learners.clone();
    for change in cc.get_changes() {
        let id = change.node_id;
        voters.retain(|&v| v != id);
        learners.retain(|&v| v != id);
        match change.get_change_type() {
            ConfChangeType::AddNode => voters.push(id),
            ConfChangeType::AddLearnerNode => learners.push(id),
            ConfChangeType::RemoveNode => {}
        }
    }
    Membership {
        voters: sorted(voters),
        voters_outgoing: if cc.enter_joint().is_some() {
            base.voters.clone()
        } else {
            Vec::new()
        },
        learners: sorted(learners),
    }
}

/// A `ConfChangeV2` that takes `prev` to `next` (the inverse of [`apply_change`] for the
/// changes this adapter makes).
fn change_between(prev: &Membership, next: &Membership) -> ConfChangeV2 {
    let mut cc = ConfChangeV2::default();
    if !prev.voters_outgoing.is_empty()
        && next.voters_outgoing.is_empty()
        && prev.voters == next.voters
        && prev.learners == next.learners
    {
        return cc; // Leaving a joint configuration.
    }
    let mut changes = Vec::new();
    let single = |id, t| {
        let mut c = ConfChangeSingle::default();
        c.node_id = id;
        c.set_change_type(t);
        c
    };
    for &id in &next.voters {
        if !prev.voters.contains(&id) {
            changes.push(single(id, ConfChangeType::AddNode));
        }
    }
    for &id in &next.learners {
        if !prev.learners.contains(&id) {
            changes.push(single(id, ConfChangeType::AddLearnerNode));
        }
    }
    for &id in prev.voters.iter().chain(&prev.learners) {
        if !next.voters.contains(&id) && !next.learners.contains(&id) {
            changes.push(single(id, ConfChangeType::RemoveNode));
        }
    }
    cc.set_transition(if next.voters_outgoing.is_empty() {
        ConfChangeTransition::Auto
    } else {
        ConfChangeTransition::Explicit
    });
    cc.set_changes(changes.into());
    cc
}

/// The configuration `current` becomes once `add` are voters and `remove` are gone, or why
/// the request is invalid (the same rules as raftsim's Raft).
fn next_membership(
    current: &Membership,
    add: &[NodeId],
    remove: &[NodeId],
) -> Result<Membership, Refusal> {
    let invalid = |reason: &str, id: NodeId| Err(Refusal::Invalid(format!("{reason}: {id}")));
    if let Some(&id) = add
        .iter()
        .find(|&&id| id == 0 || current.voters.contains(&id))
    {
        return invalid("an added server is already a voter", id);
    }
    if let Some(&id) = remove.iter().find(|&&id| !current.voters.contains(&id)) {
        return invalid("a removed server is not a voter", id);
    }
    if let Some(&id) = add.iter().find(|id| remove.contains(id)) {
        return invalid("a server both added and removed", id);
    }
    let voters: Vec<NodeId> = (current.voters.iter())
        .filter(|v| !remove.contains(v))
        .chain(add)
        .copied()
        .collect();
    if voters.is_empty() {
        return Err(Refusal::Invalid("no voter would remain".into()));
    }
    let learners = (current.learners.iter())
        .filter(|l| !add.contains(l))
        .copied()
        .collect();
    Ok(Membership {
        voters: sorted(voters),
        voters_outgoing: Vec::new(),
        learners: sorted(learners),
    })
}

/// The `ConfState` of `m` (a joint configuration is left explicitly, never automatically).
fn conf_state_of(m: &Membership) -> ConfState {
    let mut cs = ConfState::default();
    cs.voters = m.voters.clone();
    cs.voters_outgoing = m.voters_outgoing.clone();
    cs.learners = m.learners.clone();
    cs
}

/// raft-rs's form of a snapshot from the disk.
fn snapshot_of(stored: &StoredSnapshot) -> Snapshot {
    let mut snapshot = Snapshot::default();
    snapshot.data = stored.data.clone().into();
    let meta = snapshot.mut_metadata();
    (meta.index, meta.term) = (stored.index, stored.term);
    meta.set_conf_state(conf_state_of(&stored.membership));
    snapshot
}

fn membership_of(cs: &ConfState) -> Membership {
    Membership {
        voters: sorted(cs.voters.clone()),
        voters_outgoing: sorted(cs.voters_outgoing.clone()),
        learners: sorted(
            cs.learners
                .iter()
                .chain(&cs.learners_next)
                .copied()
                .collect(),
        ),
    }
}

impl RaftRsNode {
    /// The wrapped raft-rs node.
    pub fn inner(&self) -> &RawNode<SimStorage> {
        &self.raw
    }

    /// The key-value store as applied so far.
    pub fn store(&self) -> &KvStore {
        self.state_machine.app()
    }

    /// The configuration in effect just before `index`.
    fn config_before(&self, index: u64) -> &Membership {
        self.configs
            .range(..index)
            .next_back()
            .map_or(&self.initial, |(_, m)| m)
    }

    /// Overrides raft-rs's `thread_rng` election timeout with the adapter's own draw whenever
    /// raft-rs reset it (a change of term or role).
    fn redraw_timeout(&mut self) {
        let now = (self.raw.raft.term, self.raw.raft.state);
        if now != self.drawn_for {
            self.drawn_for = now;
            self.draw_timeout();
        }
    }

    fn draw_timeout(&mut self) {
        let (min, max) = self.election_ticks;
        let t = self.rng.gen_range(min..max);
        self.raw.raft.set_randomized_election_timeout(t);
    }

    fn stored_entry(&mut self, entry: &Entry) -> StoredEntry {
        let (kind, data) = if is_conf_change(entry) {
            // `configs` already holds what this entry puts in effect.
            let m = self
                .configs
                .get(&entry.index)
                .cloned()
                .unwrap_or_else(|| self.config_before(entry.index).clone());
            (EntryKind::Config, m.encode())
        } else if entry.data.is_empty() {
            (EntryKind::Noop, Vec::new())
        } else {
            (EntryKind::Command, entry.data.to_vec())
        };
        StoredEntry {
            index: entry.index,
            term: entry.term,
            kind,
            data: data.into(),
        }
    }

    /// Notes what the configuration entries among `entries` (replacing the log from the
    /// first's index on) put in effect.
    fn note_configs(&mut self, entries: &[Entry]) {
        let Some(first) = entries.first().map(|e| e.index) else {
            return;
        };
        self.configs.split_off(&first);
        for entry in entries.iter().filter(|e| is_conf_change(e)) {
            let base = self.config_before(entry.index).clone();
            let next = match decode_conf_change(entry) {
                Ok(cc) => apply_change(&base, &cc),
                Err(_) => base,
            };
            self.configs.insert(entry.index, next);
        }
    }

    fn apply(&mut self, entry: &Entry) {
        self.applied_index = entry.index;
        self.applied_since_snapshot.0 += 1;
        if is_conf_change(entry) {
            self.state_machine.skip(entry.index);
            match decode_conf_change(entry).and_then(|cc| {
                self.raw
                    .apply_conf_change(&cc)
                    .map_err(|e| format!("entry {}: {e}", entry.index))
            }) {
                Ok(cs) => {
                    self.config_applied = Some((entry.index, membership_of(&cs)));
                    self.step_down_if_removed();
                }
                Err(e) => self.conf_change_errors.push(e),
            }
            return;
        }
        self.applied_since_snapshot.1 += entry.data.len() as u64;
        let session_command = match entry.data.first() {
            Some(&ENTRY_SESSION) => &entry.data[1..],
            // No-ops, and raw proposals of the load workload, are not session commands.
            _ => {
                self.state_machine.skip(entry.index);
                return;
            }
        };
        self.desk.apply(
            &mut self.state_machine,
            entry.index,
            session_command,
            &mut self.situations,
        );
    }

    /// A leader asked to remove itself transfers its leadership to the most up-to-date voter
    /// of `next` first (raft-rs keeps a removed leader in office), and the change is asked of
    /// that node.
    fn hand_over(&mut self, next: &Membership) -> Refusal {
        let prs = self.raw.raft.prs();
        let target = next
            .voters
            .iter()
            .copied()
            .filter(|&v| v != self.id)
            .filter_map(|v| prs.get(v).map(|p| (p.matched, std::cmp::Reverse(v))))
            .max()
            .map(|(_, std::cmp::Reverse(v))| v);
        if let Some(target) = target {
            self.raw.transfer_leader(target);
            self.redraw_timeout();
        }
        Refusal::Busy
    }

    fn leader_hint(&self) -> Option<NodeId> {
        Some(self.raw.raft.leader_id).filter(|&l| l != 0)
    }

    fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    /// A leader leaves a joint configuration it applied (raft-rs leaves by itself only one
    /// entered with an `Auto` transition; this adapter enters with `Explicit`). A leader that
    /// is only an outgoing voter would remove itself by leaving: it hands over to an incoming
    /// voter instead, which then leaves.
    fn maybe_leave_joint(&mut self) {
        let raft = &self.raw.raft;
        let cs = raft.prs().conf().to_conf_state();
        let ready = self.is_leader()
            && !cs.voters_outgoing.is_empty()
            && !cs.auto_leave
            && raft.pending_conf_index <= raft.raft_log.applied;
        if !ready {
            return;
        }
        if !cs.voters.contains(&self.id) {
            if raft.lead_transferee.is_none() {
                self.hand_over(&membership_of(&cs));
            }
            return;
        }
        let _ = self
            .raw
            .propose_conf_change(Vec::new(), ConfChangeV2::default());
    }

    /// After applying a configuration: a leader that is no longer a voter steps down. raft-rs
    /// 0.7 keeps it in office (`post_conf_change`, whose notes say it should step down) and
    /// then panics in `maybe_commit` on its missing progress. A leader gets there when it was
    /// elected with its own removal still unapplied in its log.
    fn step_down_if_removed(&mut self) {
        let raft = &mut self.raw.raft;
        if raft.state == StateRole::Leader && !raft.prs().conf().voters().contains(self.id) {
            let term = raft.term;
            raft.become_follower(term, raftrs::INVALID_ID);
            self.situations.leader_removed += 1;
        }
    }

    /// One round of raft-rs's Ready cycle, added to `out`; false if there was nothing to do.
    fn ready_round(&mut self, out: &mut Output<RsMessage>, last_ready: &mut Option<u64>) -> bool {
        if !self.raw.has_ready() {
            return false;
        }
        let mut rd = self.raw.ready();
        let first_new = out.messages.len();
        out.messages.extend(
            rd.take_messages()
                .into_iter()
                .chain(rd.take_persisted_messages())
                .map(|m| (m.to, RsMessage(m))),
        );
        self.report_snapshots_sent(&out.messages[first_new..]);
        if !rd.snapshot().is_empty() {
            self.install(rd.snapshot().clone(), out);
            self.snapshot_unpersisted = Some(rd.number());
        }
        // Committed entries are at most the persisted ones (raft-rs bounds them so).
        let committed = rd.take_committed_entries();
        for entry in &committed {
            self.apply(entry);
        }
        let entries = rd.take_entries();
        if !entries.is_empty() {
            self.note_configs(&entries);
            let stored: Vec<StoredEntry> = entries.iter().map(|e| self.stored_entry(e)).collect();
            let from = stored[0].index;
            match &mut out.log_write {
                Some(w)
                    if from <= w.from_index + w.entries.len() as u64 && from >= w.from_index =>
                {
                    w.entries.truncate((from - w.from_index) as usize);
                    w.entries.extend(stored);
                }
                Some(w) if from < w.from_index => {
                    *w = LogWrite {
                        from_index: from,
                        entries: stored,
                    };
                }
                _ => {
                    out.log_write = Some(LogWrite {
                        from_index: from,
                        entries: stored,
                    })
                }
            }
            // raft-rs reads its log from the storage once the Ready is advanced.
            if let Err(e) = self.raw.mut_store().append(&entries) {
                panic!("node {}: the storage refused entries: {e}", self.id);
            }
        }
        if let Some(hs) = rd.hs() {
            out.hard_state = Some(HardState {
                term: hs.term,
                vote: Some(hs.vote).filter(|&v| v != 0),
                commit: hs.commit,
            });
            self.raw.mut_store().set_hard_state(hs.clone());
        }
        if rd.must_sync() {
            out.must_sync = true;
            *last_ready = Some(rd.number());
        }
        self.raw.advance_append_async(rd);
        if !committed.is_empty() {
            self.raw.advance_apply();
            self.maybe_compact(out);
        }
        true
    }

    /// A leader tells raft-rs that each snapshot it sends is on its way (`Finish`), as a
    /// transport that accepted it would: raft-rs then probes the follower after its next
    /// heartbeat, and sends a snapshot again if the follower does not have it. Without a
    /// report, a lost snapshot would leave the follower's progress paused for good.
    fn report_snapshots_sent(&mut self, messages: &[(NodeId, RsMessage)]) {
        for (to, m) in messages {
            if m.0.get_msg_type() == MessageType::MsgSnapshot {
                self.raw.report_snapshot(*to, SnapshotStatus::Finish);
                self.situations.snapshot_sent += 1;
            }
        }
    }

    /// A leader's snapshot (section 7), which raft-rs has restored its log from: the storage,
    /// the state machine and the configurations start over from it, and the disk persists it.
    fn install(&mut self, snapshot: Snapshot, out: &mut Output<RsMessage>) {
        let meta = snapshot.get_metadata();
        let (index, term) = (meta.index, meta.term);
        let membership = membership_of(meta.get_conf_state());
        self.state_machine = Replicated::restore(&snapshot.data, self.limits).unwrap_or_else(|e| {
            panic!(
                "node {}: a leader's snapshot through index {index} does not decode: {e}",
                self.id
            )
        });
        self.configs.clear();
        self.initial = membership.clone();
        self.applied_index = index;
        self.applied_since_snapshot = (0, 0);
        self.situations.snapshot_installed += 1;
        out.snapshot = Some(StoredSnapshot {
            index,
            term,
            membership,
            data: snapshot.data.to_vec(),
        });
        // Entries already in this output that the snapshot covers are not written.
        if let Some(w) = &mut out.log_write {
            w.entries.retain(|e| e.index > index);
            w.from_index = w.from_index.max(index + 1);
        }
        self.raw.mut_store().install(snapshot);
    }

    /// Takes a snapshot at the applied index once `snapshot_entries` entries (or
    /// `snapshot_bytes` bytes of commands) were applied since the last one, and compacts the
    /// log before it but `snapshot_catch_up_entries`.
    /// A snapshot raft-rs asked the storage for and could not have (a follower joined after
    /// the last one) is taken too, if anything was applied since.
    fn maybe_compact(&mut self, out: &mut Output<RsMessage>) {
        let (entries, bytes) = self.applied_since_snapshot;
        let (entries_max, bytes_max, catch_up) = self.snapshot_policy;
        let due = (entries_max > 0 && entries >= entries_max)
            || (bytes_max > 0 && bytes >= bytes_max)
            || self.raw.store().take_wanted();
        let index = self.applied_index;
        if !due || index <= self.raw.store().snapshot_taken().get_metadata().index {
            return;
        }
        let Ok(term) = self.raw.store().term(index) else {
            return;
        };
        let cs = self.raw.raft.prs().conf().to_conf_state();
        let data = self.state_machine.snapshot();
        let mut snapshot = Snapshot::default();
        snapshot.data = data.clone().into();
        let meta = snapshot.mut_metadata();
        (meta.index, meta.term) = (index, term);
        meta.set_conf_state(cs.clone());
        let keep_from = (index + 1).saturating_sub(catch_up);
        if self.raw.mut_store().compact(snapshot, keep_from).is_err() {
            return;
        }
        self.applied_since_snapshot = (0, 0);
        out.snapshot = Some(StoredSnapshot {
            index,
            term,
            membership: membership_of(&cs),
            data,
        });
    }
}

impl SimNode for RaftRsNode {
    type Message = RsMessage;
    const CONFIG_RULE: ConfigRule = ConfigRule::Applied;

    fn start(ctx: &StartContext<'_>, durable: &DurableState) -> Result<Self, String> {
        if let Some(name) = ctx.mutation {
            return Err(format!("raft-rs has no mutation `{name}`"));
        }
        let s = ctx.settings;
        let tick_ns = (s.heartbeat_interval_ns / TICKS_PER_HEARTBEAT).max(1);
        let ticks = |ns: u64| {
            usize::try_from(ns.div_ceil(tick_ns))
                .unwrap_or(usize::MAX)
                .max(1)
        };
        let heartbeat_tick = ticks(s.heartbeat_interval_ns);
        let election_min = ticks(s.election_timeout_min_ns).max(heartbeat_tick + 1);
        let election_max = ticks(s.election_timeout_max_ns).max(election_min + 1);
        let config = raftrs::Config {
            id: ctx.id,
            election_tick: election_min,
            heartbeat_tick,
            min_election_tick: election_min,
            max_election_tick: election_max,
            // Committed entries after the snapshot are handed over again; the state machine is
            // rebuilt from the snapshot and them.
            applied: durable.snapshot.as_ref().map_or(0, |s| s.index),
            max_size_per_msg: s.msg_entries_max.saturating_mul(ENTRY_BYTES_ESTIMATE),
            max_inflight_msgs: usize::try_from(s.inflight_msgs_max).unwrap_or(usize::MAX),
            check_quorum: option_bool(&s.options, "check_quorum")?,
            pre_vote: option_bool(&s.options, "pre_vote")?,
            ..raftrs::Config::default()
        };
        if let Some(name) = (s.options.keys()).find(|k| !OPTIONS.contains(&k.as_str())) {
            return Err(format!(
                "implementation_options: raft-rs has no option `{name}` (it has: {})",
                OPTIONS.join(", ")
            ));
        }
        config.validate().map_err(|e| e.to_string())?;

        // Every server starts from the cluster's first configuration, one that joins later
        // too: raft-rs applies the log's changes to it (see the module's notes). After a
        // snapshot, from the snapshot's.
        let initial = match &durable.snapshot {
            Some(snapshot) => snapshot.membership.clone(),
            None => Membership::simple(&sorted(ctx.cluster_voters.to_vec())),
        };
        let mut configs = BTreeMap::new();
        let mut entries = Vec::new();
        let mut prev = initial.clone();
        for stored in durable.log_after_snapshot() {
            let mut e = Entry::default();
            e.index = stored.index;
            e.term = stored.term;
            match stored.kind {
                EntryKind::Noop => {}
                EntryKind::Command => e.data = stored.data.to_vec().into(),
                EntryKind::Config => {
                    let m = Membership::decode(&stored.data)
                        .ok_or_else(|| format!("entry {}: not a configuration", stored.index))?;
                    let cc = change_between(&prev, &m);
                    e.set_entry_type(EntryType::EntryConfChangeV2);
                    e.data = cc.write_to_bytes().map_err(|e| e.to_string())?.into();
                    configs.insert(stored.index, m.clone());
                    prev = m;
                }
            }
            entries.push(e);
        }
        let mut storage = match &durable.snapshot {
            Some(snapshot) => SimStorage::from_snapshot(snapshot_of(snapshot)),
            None => SimStorage::new(conf_state_of(&initial)),
        };
        storage.append(&entries)?;
        let (last_index, _) = durable.last();
        let snapshot_index = durable.snapshot.as_ref().map_or(0, |s| s.index);
        let hs = durable.hard_state;
        let mut hard = raftrs::eraftpb::HardState::default();
        hard.term = hs.term;
        hard.vote = hs.vote.unwrap_or(0);
        // The commit index is a lower bound the disk may hold ahead of a torn log.
        hard.commit = hs.commit.min(last_index).max(snapshot_index);
        storage.set_hard_state(hard);
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&config, storage, &logger).map_err(|e| e.to_string())?;
        let limits = SessionLimits {
            timeout_ns: s.session_timeout_ns,
            sessions_max: usize::try_from(s.sessions_max).unwrap_or(usize::MAX),
            dedup: true,
        };
        let store = KvStore::new(usize::try_from(s.value_bytes_max).unwrap_or(usize::MAX));
        let state_machine = match &durable.snapshot {
            Some(snapshot) => Replicated::restore(&snapshot.data, limits)
                .map_err(|e| format!("snapshot through index {}: {e}", snapshot.index))?,
            None => Replicated::new(store, limits),
        };
        let mut node = RaftRsNode {
            drawn_for: (raw.raft.term, raw.raft.state),
            raw,
            id: ctx.id,
            rng: ChaCha8Rng::seed_from_u64(ctx.rng_seed),
            election_ticks: (election_min, election_max),
            tick_ns,
            next_tick_ns: ctx.now_ns.saturating_add(tick_ns),
            state_machine,
            limits,
            applied_index: snapshot_index,
            applied_since_snapshot: (0, 0),
            snapshot_policy: (
                s.snapshot_entries,
                s.snapshot_bytes,
                s.snapshot_catch_up_entries,
            ),
            snapshot_unpersisted: None,
            desk: ClientDesk::default(),
            situations: Situations {
                restart_from_snapshot: u64::from(durable.snapshot.is_some()),
                ..Situations::default()
            },
            config_applied: None,
            unsynced: VecDeque::new(),
            initial,
            configs,
            conf_change_errors: Vec::new(),
        };
        node.draw_timeout();
        Ok(node)
    }

    fn deliver(&mut self, _now_ns: u64, msg: RsMessage) -> Result<(), String> {
        let m = msg.0;
        if m.to != self.id {
            return Err(format!(
                "message for node {} delivered to node {}",
                m.to, self.id
            ));
        }
        let t = m.get_msg_type();
        if t == MessageType::MsgTimeoutNow && self.snapshot_unpersisted.is_some() {
            return Err("installing a snapshot: no campaign until it is durable".into());
        }
        if raftrs::raw_node::is_local_msg(t) || t == MessageType::MsgPropose {
            return Err(format!("{} is not a network message", type_name(t)));
        }
        let result = self.raw.step(m).map_err(|e| e.to_string());
        self.redraw_timeout();
        result
    }

    fn next_timer_ns(&self) -> u64 {
        self.next_tick_ns
    }

    fn fire_timer(&mut self, now_ns: u64) {
        if now_ns < self.next_tick_ns {
            return;
        }
        let elapsed = (now_ns - self.next_tick_ns) / self.tick_ns + 1;
        // A node installing a snapshot does not tick: see `snapshot_unpersisted`.
        let ticks = match self.snapshot_unpersisted {
            Some(_) => 0,
            None => elapsed.min(TICKS_PER_FIRE_MAX),
        };
        for _ in 0..ticks {
            self.raw.tick();
            // A tick may start an election: the next tick must see the adapter's draw.
            self.redraw_timeout();
        }
        self.next_tick_ns = self
            .next_tick_ns
            .saturating_add(elapsed.saturating_mul(self.tick_ns));
    }

    fn propose(&mut self, _now_ns: u64, command: Vec<u8>) -> Result<(), Refusal> {
        if !self.is_leader() {
            return Err(Refusal::NotLeader {
                leader_hint: self.leader_hint(),
            });
        }
        let result = self.raw.propose(Vec::new(), tagged(ENTRY_RAW, &command));
        self.redraw_timeout();
        result.map_err(|_| Refusal::Busy)
    }

    fn submit(&mut self, now_ns: u64, client: ClientId, request: ClientRequest) {
        if !self.is_leader() {
            let leader_hint = self.leader_hint();
            self.desk
                .reply(client, ClientReply::NotLeader { leader_hint });
            return;
        }
        let (entry, waiting) = ClientDesk::entry(now_ns, client, request);
        match self.raw.propose(Vec::new(), entry) {
            Ok(()) => self.desk.wait(client, waiting),
            Err(_) => self.desk.reply(client, ClientReply::Busy),
        }
        self.redraw_timeout();
    }

    fn log_synced(&mut self, _index: u64, _term: u64) {
        // Syncs complete in the order they were asked for, one call each.
        if let Some((number, _, _)) = self.unsynced.pop_front() {
            self.raw.on_persist_ready(number);
            if self.snapshot_unpersisted.is_some_and(|n| n <= number) {
                // The snapshot is durable: raft-rs may now count it applied.
                self.snapshot_unpersisted = None;
                self.raw.advance_apply();
            }
        }
        self.redraw_timeout();
    }

    /// One `ConfChangeV2`: a single change as raft-rs's simple change, more as a joint
    /// configuration (`Explicit`, left once applied by `maybe_leave_joint`). See the module's
    /// notes on membership for the leader's own removal.
    fn change_membership(
        &mut self,
        _now_ns: u64,
        add: &[NodeId],
        remove: &[NodeId],
    ) -> Result<(), Refusal> {
        if !self.is_leader() {
            return Err(Refusal::NotLeader {
                leader_hint: self.leader_hint(),
            });
        }
        let raft = &self.raw.raft;
        // raft-rs leaves a new leader's whole log pending (`pending_conf_index`), so this also
        // waits for an entry of the leader's term to apply (the single-server change fix).
        let pending = raft.pending_conf_index > raft.raft_log.applied;
        let cs = raft.prs().conf().to_conf_state();
        if pending || !cs.voters_outgoing.is_empty() || raft.lead_transferee.is_some() {
            return Err(Refusal::Busy);
        }
        let current = membership_of(&cs);
        let next = next_membership(&current, add, remove)?;
        if remove.contains(&self.id) {
            return Err(self.hand_over(&next));
        }
        let mut cc = change_between(&current, &next);
        if cc.get_changes().len() > 1 {
            cc.set_transition(ConfChangeTransition::Explicit);
        }
        let result = self.raw.propose_conf_change(Vec::new(), cc);
        self.redraw_timeout();
        result.map_err(|_| Refusal::Busy)
    }

    fn take_output(&mut self) -> Output<RsMessage> {
        let mut out = Output::default();
        let mut last_ready = None;
        for _ in 0..READY_ROUNDS_MAX {
            self.maybe_leave_joint();
            if !self.ready_round(&mut out, &mut last_ready) {
                break;
            }
        }
        self.maybe_compact(&mut out);
        if let Some(number) = last_ready {
            let (index, term) = out
                .log_write
                .as_ref()
                .and_then(|w| w.entries.last())
                .map_or((0, 0), |e| (e.index, e.term));
            assert!(self.unsynced.len() < UNSYNCED_MAX, "syncs never reported");
            self.unsynced.push_back((number, index, term));
        }
        self.redraw_timeout();
        out.replies = self.desk.take_replies();
        out.applied = self.desk.take_applied();
        out.situations = std::mem::take(&mut self.situations);
        out.config_applied = self.config_applied.take();
        out
    }

    fn view(&self) -> NodeView {
        let raft = &self.raw.raft;
        let role = match raft.state {
            StateRole::Leader => Role::Leader,
            StateRole::Candidate | StateRole::PreCandidate => Role::Candidate,
            StateRole::Follower => Role::Follower,
        };
        NodeView {
            role,
            term: raft.term,
            vote: Some(raft.vote).filter(|&v| v != 0),
            commit_index: raft.raft_log.committed,
            leader: Some(raft.leader_id).filter(|&l| l != 0),
        }
    }

    fn message_info(msg: &RsMessage) -> MessageInfo {
        let m = &msg.0;
        let t = m.get_msg_type();
        MessageInfo {
            kind: kind_name(t),
            from: m.from,
            term: m.term,
            ack_index: (t == MessageType::MsgAppendResponse && !m.reject).then_some(m.index),
            // raft-rs sends a snapshot whole, in one message.
            snapshot_last: (t == MessageType::MsgSnapshot).then_some(true),
        }
    }

    fn message_kinds() -> &'static [&'static str] {
        &[
            "AppendEntries",
            "AppendEntriesResponse",
            "RequestVote",
            "RequestVoteResponse",
            "Heartbeat",
            "HeartbeatResponse",
            "InstallSnapshot",
            "MsgTransferLeader",
            "MsgTimeoutNow",
            "MsgReadIndex",
            "MsgReadIndexResp",
            "MsgRequestPreVote",
            "MsgRequestPreVoteResponse",
        ]
    }
}

/// The `[implementation_options]` raft-rs takes: its own `Config` switches.
const OPTIONS: [&str; 2] = ["check_quorum", "pre_vote"];

/// An option that is `true` or `false`; absent is `false`.
fn option_bool(
    options: &std::collections::BTreeMap<String, String>,
    name: &str,
) -> Result<bool, String> {
    match options.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(format!(
            "implementation_options.{name}: expected true or false, found `{other}`"
        )),
    }
}
