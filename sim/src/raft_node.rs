//! raftsim's own `raft` crate behind the [`SimNode`] boundary, with the replicated key-value
//! store and its session table as the state machine.

use crate::client_desk::{tagged, ClientDesk, ENTRY_RAW, ENTRY_SESSION};
use crate::node::{
    ClientId, ClientOp, ClientReply, ClientRequest, DurableState, EntryKind, HardState, LogWrite,
    MessageInfo, NodeId, NodeView, OpResult, Output, Refusal, Role, SimNode, StartContext,
    StoredCheckpoint, StoredEntry, StoredSnapshot,
};
use crate::situations::Situations;
use raft::{KvOp, KvStore, Replicated, SessionLimits, Stamped};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A `raft::Node` with its state machine, adapted to the simulator.
#[derive(Debug)]
pub struct RaftNode {
    node: raft::Node,
    state_machine: Replicated<KvStore>,
    /// The clients waiting here, and the replies and applied commands not yet handed over.
    desk: ClientDesk,
    /// The deliberately broken rule, if any; the host reads the session and read mutations.
    mutation: Option<raft::Mutation>,
    /// The node's clock at its latest input, for the `session-expiry-by-local-clock` mutation
    /// only (the real rule never reads a server's clock when applying).
    local_now_ns: u64,
    /// The node's counters as of the last output; the next output reports the difference.
    counters_reported: raft::Counters,
    /// Situations seen by the adapter itself since the last output.
    situations: Situations,
    /// The last configuration entry applied since the last output.
    config_applied: Option<(u64, crate::node::Membership)>,
    /// The session table's limits, to restore it from a snapshot.
    limits: SessionLimits,
    /// Compact once this many entries (0: never), or entries of this many bytes (0: never),
    /// were applied since the last snapshot (section 7).
    snapshot_entries: u64,
    snapshot_bytes: u64,
    /// Entries, and their bytes, applied since the last snapshot.
    applied_since_snapshot: u64,
    applied_bytes_since_snapshot: u64,
    /// Write the state machine to disk once this many entries (0: never) were applied since
    /// the last checkpoint or snapshot, so that a restart replays only what follows it.
    checkpoint_entries: u64,
    applied_since_checkpoint: u64,
}

impl RaftNode {
    /// The wrapped node.
    pub fn inner(&self) -> &raft::Node {
        &self.node
    }

    /// The key-value store as applied so far.
    pub fn store(&self) -> &KvStore {
        self.state_machine.app()
    }

    /// Snapshots the state machine and compacts the log once enough was applied since the
    /// last snapshot; the next `Ready` carries the snapshot to persist.
    fn maybe_compact(&mut self) {
        let by_entries =
            self.snapshot_entries > 0 && self.applied_since_snapshot >= self.snapshot_entries;
        let by_bytes =
            self.snapshot_bytes > 0 && self.applied_bytes_since_snapshot >= self.snapshot_bytes;
        if !(by_entries || by_bytes) {
            return;
        }
        let index = self.state_machine.applied_index();
        let data = match self.mutation {
            Some(raft::Mutation::SnapshotWithoutSessions) => self.snapshot_without_sessions(),
            _ => self.state_machine.snapshot(),
        };
        // Compaction only fails for an index already compacted: then there is nothing to do.
        let _ = self.node.compact(index, data);
        self.applied_since_snapshot = 0;
        self.applied_bytes_since_snapshot = 0;
        self.applied_since_checkpoint = 0;
    }

    /// The `snapshot-without-sessions` mutation's snapshot: the store through the applied
    /// index, with an empty session table.
    fn snapshot_without_sessions(&self) -> Vec<u8> {
        let mut bare = Replicated::new(self.store().clone(), self.limits);
        let index = self.state_machine.applied_index();
        if index > 0 {
            bare.skip(index);
        }
        bare.snapshot()
    }

    /// The value a read mutation answers `key` with at once, or `None` to log the read as the
    /// real rule does.
    fn read_locally(&self, key: &str) -> Option<String> {
        let leader = self.node.role() == raft::Role::Leader;
        match self.mutation? {
            raft::Mutation::ReadWithoutQuorum if leader => {
                self.store().get(key).map(str::to_string)
            }
            raft::Mutation::FollowerLocalRead => self.store().get(key).map(str::to_string),
            raft::Mutation::DirtyReadBeforeCommit if leader => self.dirty_get(key),
            _ => return None,
        }
        .or(Some(String::new()))
    }

    /// The value of `key` with every entry of the log applied, committed or not.
    fn dirty_get(&self, key: &str) -> Option<String> {
        let mut dirty = self.state_machine.clone();
        let log = self.node.log();
        for entry in log.slice(dirty.applied_index() + 1, log.last_index()) {
            match &entry.payload {
                raft::Payload::Command(data) if data.first() == Some(&ENTRY_SESSION) => {
                    dirty.apply(entry.index, &data[1..]);
                }
                _ => dirty.skip(entry.index),
            }
        }
        dirty.app().get(key).map(str::to_string)
    }

    /// A session command with the leader's stamp replaced by this server's clock, for the
    /// `session-expiry-by-local-clock` mutation; bytes that are not a command stay as they are.
    fn stamped_locally(&self, bytes: &[u8]) -> Vec<u8> {
        match Stamped::<KvOp>::decode(bytes) {
            Ok(stamped) => Stamped {
                time_ns: self.local_now_ns,
                ..stamped
            }
            .encode(),
            Err(_) => bytes.to_vec(),
        }
    }

    /// The leader's snapshot replaces the state machine: it reflects every entry through its
    /// index. Entries applied after it follow.
    fn install(&mut self, snapshot: &raft::Snapshot) {
        self.state_machine = Replicated::restore(&snapshot.data, self.limits).unwrap_or_else(|e| {
            panic!(
                "node {}: a leader's snapshot through index {} does not decode: {e}",
                self.node.id(),
                snapshot.index
            )
        });
        self.applied_since_snapshot = 0;
        self.applied_bytes_since_snapshot = 0;
        self.applied_since_checkpoint = 0;
    }

    /// The state machine as of `last`, the entry just applied, once enough was applied since
    /// the last checkpoint or snapshot.
    fn maybe_checkpoint(&mut self, last: Option<&raft::Entry>) -> Option<StoredCheckpoint> {
        let last = last?;
        let due =
            self.checkpoint_entries > 0 && self.applied_since_checkpoint >= self.checkpoint_entries;
        if !due {
            return None;
        }
        debug_assert_eq!(self.state_machine.applied_index(), last.index);
        self.applied_since_checkpoint = 0;
        Some(StoredCheckpoint {
            index: last.index,
            term: last.term,
            data: self.state_machine.snapshot(),
        })
    }

    fn apply(&mut self, entry: &raft::Entry) {
        self.applied_since_snapshot += 1;
        self.applied_since_checkpoint += 1;
        if let raft::Payload::Command(data) = &entry.payload {
            self.applied_bytes_since_snapshot += data.len() as u64;
        }
        if let raft::Payload::Config(m) = &entry.payload {
            self.config_applied = Some((entry.index, sim_membership((**m).clone())));
        }
        let session_command = match &entry.payload {
            raft::Payload::Command(data) if data.first() == Some(&ENTRY_SESSION) => &data[1..],
            // No-ops, and raw proposals of the load workload, are not session commands.
            _ => {
                self.state_machine.skip(entry.index);
                return;
            }
        };
        let local_stamp;
        let session_command = match self.mutation {
            Some(raft::Mutation::SessionExpiryByLocalClock) => {
                local_stamp = self.stamped_locally(session_command);
                &local_stamp[..]
            }
            _ => session_command,
        };
        self.desk.apply(
            &mut self.state_machine,
            entry.index,
            session_command,
            &mut self.situations,
        );
    }

    /// The situations since the last call: the node's counters' growth, and the adapter's own.
    fn take_situations(&mut self) -> Situations {
        let now = self.node.counters();
        let was = std::mem::replace(&mut self.counters_reported, now);
        let mut s = std::mem::take(&mut self.situations);
        s.election_repeated += now.elections_restarted - was.elections_restarted;
        s.vote_refused_log_behind += now.votes_refused_log_behind - was.votes_refused_log_behind;
        s.old_leader_stepped_down += now.leader_stepped_down - was.leader_stepped_down;
        s.stale_append_rejected +=
            now.appends_rejected_stale_term - was.appends_rejected_stale_term;
        s.uncommitted_entry_overwritten +=
            now.uncommitted_truncations - was.uncommitted_truncations;
        s.follower_repaired_over_10 += now.follower_repairs_over_10 - was.follower_repairs_over_10;
        s.commit_waited_for_current_term +=
            now.commits_waited_for_current_term - was.commits_waited_for_current_term;
        s.vote_ignored_non_member += now.votes_ignored_non_member - was.votes_ignored_non_member;
        s.configuration_rolled_back +=
            now.configurations_rolled_back - was.configurations_rolled_back;
        s.leader_removed += now.leader_removed - was.leader_removed;
        s.snapshot_sent += now.snapshots_sent - was.snapshots_sent;
        s.snapshot_chunk_resent += now.snapshot_chunks_resent - was.snapshot_chunks_resent;
        s.snapshot_transfer_restarted +=
            now.snapshot_transfers_restarted - was.snapshot_transfers_restarted;
        s.snapshot_installed += now.snapshots_installed - was.snapshots_installed;
        s
    }
}

fn sim_membership(m: raft::Membership) -> crate::node::Membership {
    crate::node::Membership {
        voters: m.voters,
        voters_outgoing: m.voters_outgoing,
        learners: m.learners,
    }
}

fn raft_membership(m: crate::node::Membership) -> raft::Membership {
    raft::Membership {
        voters: m.voters,
        voters_outgoing: m.voters_outgoing,
        learners: m.learners,
    }
}

fn to_stored_snapshot(s: raft::Snapshot) -> StoredSnapshot {
    StoredSnapshot {
        index: s.index,
        term: s.term,
        membership: sim_membership(s.membership),
        data: s.data,
    }
}

fn from_stored_snapshot(s: &StoredSnapshot) -> raft::Snapshot {
    raft::Snapshot {
        index: s.index,
        term: s.term,
        membership: raft_membership(s.membership.clone()),
        data: s.data.clone(),
    }
}

fn to_stored(entry: raft::Entry) -> StoredEntry {
    let (kind, data) = match entry.payload {
        raft::Payload::Noop => (EntryKind::Noop, Vec::new().into()),
        raft::Payload::Command(bytes) => (EntryKind::Command, bytes),
        raft::Payload::Config(m) => (EntryKind::Config, sim_membership(*m).encode().into()),
    };
    StoredEntry {
        index: entry.index,
        term: entry.term,
        kind,
        data,
    }
}

/// The entry as the node wrote it; `Err` if a configuration entry's bytes are not one (a disk
/// the simulator corrupted, which it never does).
fn from_stored(entry: &StoredEntry) -> Result<raft::Entry, String> {
    let payload = match entry.kind {
        EntryKind::Noop => raft::Payload::Noop,
        EntryKind::Command => raft::Payload::Command(entry.data.clone()),
        EntryKind::Config => {
            let m = crate::node::Membership::decode(&entry.data)
                .ok_or_else(|| format!("entry {}: not a configuration", entry.index))?;
            raft::Payload::Config(Box::new(raft_membership(m)))
        }
    };
    Ok(raft::Entry {
        term: entry.term,
        index: entry.index,
        payload,
    })
}

/// The log a node restarts with, from the crashed node's `memory` where the crash left the
/// disk's log as issued (below `log_intact_below`) and from the disk after that; `None` when
/// the memory does not start where the disk's log does (it compacted further, or the crash
/// lost its snapshot).
fn log_kept(
    durable: &DurableState,
    mut memory: raft::Log,
    log_intact_below: u64,
) -> Option<raft::Log> {
    let (base, kept) = durable.kept_on_restart(log_intact_below)?;
    let base_term = durable.snapshot.as_ref().map_or(0, |s| s.term);
    if memory.compacted_index() > base || memory.term(base) != Some(base_term) {
        return None;
    }
    // The memory may keep entries the snapshot covers, for slow followers; a restart has none.
    memory.compact(base);
    if memory.last_index() < base + kept as u64 {
        return None;
    }
    let disk = durable.log_after_snapshot();
    // The memory is the disk below the first index the crash reached only if the node logs
    // what it wrote. A node that kept other entries than it wrote would carry them across
    // the crash: its last entry kept must be the disk's, else the log is read back whole
    // (tests compare every entry; this costs one).
    if let Some(last) = kept.checked_sub(1).map(|k| &disk[k]) {
        let same = from_stored(last).ok().as_ref() == memory.entry(last.index);
        if !same {
            return None;
        }
    }
    let rest = disk[kept..]
        .iter()
        .map(from_stored)
        .collect::<Result<_, _>>()
        .ok()?;
    memory.write(base + kept as u64 + 1, rest).ok()?;
    Some(memory)
}

impl RaftNode {
    /// A node restored from `durable`, whose log after the snapshot is `log`.
    fn start_with(
        ctx: &StartContext<'_>,
        durable: &DurableState,
        log: raft::Log,
    ) -> Result<Self, String> {
        let s = ctx.settings;
        if let Some(name) = s.options.keys().next() {
            return Err(format!(
                "implementation_options: raftsim has no option `{name}`"
            ));
        }
        let mutation = match ctx.mutation {
            None => None,
            Some(name) => Some(
                raft::Mutation::from_name(name)
                    .ok_or_else(|| format!("unknown mutation `{name}`"))?,
            ),
        };
        let config = raft::Config {
            id: ctx.id,
            voters: ctx.voters.to_vec(),
            election_timeout_min_ns: s.election_timeout_min_ns,
            election_timeout_max_ns: s.election_timeout_max_ns,
            heartbeat_interval_ns: s.heartbeat_interval_ns,
            msg_entries_max: s.msg_entries_max,
            inflight_msgs_max: s.inflight_msgs_max,
            uncommitted_entries_max: s.uncommitted_entries_max,
            learner_lag_entries_max: s.learner_lag_entries_max,
            snapshot_chunk_bytes_max: s.snapshot_chunk_bytes,
            snapshot_catch_up_entries: s.snapshot_catch_up_entries,
            mutation,
        };
        let hs = durable.hard_state;
        let hard_state = raft::HardState {
            term: hs.term,
            vote: hs.vote,
            commit: hs.commit,
        };
        let snapshot = durable.snapshot.as_ref().map(from_stored_snapshot);
        let rng = Box::new(ChaCha8Rng::seed_from_u64(ctx.rng_seed));
        let mut node =
            raft::Node::restore_log(config, hard_state, snapshot.clone(), log, rng, ctx.now_ns)
                .map_err(|e| e.to_string())?;
        let limits = SessionLimits {
            timeout_ns: s.session_timeout_ns,
            sessions_max: usize::try_from(s.sessions_max).unwrap_or(usize::MAX),
            dedup: mutation != Some(raft::Mutation::NoSessionDedup),
        };
        let store = KvStore::new(usize::try_from(s.value_bytes_max).unwrap_or(usize::MAX));
        let checkpoint = durable.checkpoint_to_restore();
        let state_machine = match (checkpoint, &snapshot) {
            (Some(c), _) => {
                node.restore_applied(c.index).map_err(|e| e.to_string())?;
                Replicated::restore(&c.data, limits)
                    .map_err(|e| format!("checkpoint through index {}: {e}", c.index))?
            }
            (None, Some(s)) => Replicated::restore(&s.data, limits)
                .map_err(|e| format!("snapshot through index {}: {e}", s.index))?,
            (None, None) => Replicated::new(store, limits),
        };
        let situations = Situations {
            restart_from_snapshot: u64::from(snapshot.is_some()),
            restart_from_checkpoint: u64::from(checkpoint.is_some()),
            ..Situations::default()
        };
        Ok(RaftNode {
            node,
            state_machine,
            desk: ClientDesk::default(),
            mutation,
            local_now_ns: ctx.now_ns,
            counters_reported: raft::Counters::default(),
            situations,
            config_applied: None,
            limits,
            snapshot_entries: s.snapshot_entries,
            snapshot_bytes: s.snapshot_bytes,
            applied_since_snapshot: 0,
            applied_bytes_since_snapshot: 0,
            checkpoint_entries: s.checkpoint_entries,
            applied_since_checkpoint: 0,
        })
    }
}

impl SimNode for RaftNode {
    type Message = raft::Message;

    fn start(ctx: &StartContext<'_>, durable: &DurableState) -> Result<Self, String> {
        let entries = durable
            .log_after_snapshot()
            .iter()
            .map(from_stored)
            .collect::<Result<Vec<_>, _>>()?;
        let (index, term) = durable
            .snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.index, s.term));
        let log = raft::Log::after_snapshot(index, term, entries)?;
        RaftNode::start_with(ctx, durable, log)
    }

    fn restart(
        ctx: &StartContext<'_>,
        durable: &DurableState,
        dead: Self,
        log_intact_below: u64,
    ) -> Result<Self, String> {
        let log = match log_kept(durable, dead.node.into_log(), log_intact_below) {
            Some(log) => log,
            None => return RaftNode::start(ctx, durable),
        };
        #[cfg(debug_assertions)]
        {
            // Tests run with debug assertions: every restart there checks the entries kept
            // from memory against the disk's.
            let read: Result<Vec<_>, _> = durable
                .log_after_snapshot()
                .iter()
                .map(from_stored)
                .collect();
            let kept = log.slice(log.first_index(), log.last_index());
            assert_eq!(
                read.as_deref(),
                Ok(kept),
                "node {}: the log kept below index {log_intact_below} differs from the disk's",
                ctx.id
            );
        }
        RaftNode::start_with(ctx, durable, log)
    }

    fn deliver(&mut self, now_ns: u64, msg: raft::Message) -> Result<(), String> {
        self.local_now_ns = now_ns;
        self.node.step(now_ns, msg).map_err(|e| e.to_string())
    }

    fn next_timer_ns(&self) -> u64 {
        self.node.next_deadline_ns()
    }

    fn fire_timer(&mut self, now_ns: u64) {
        self.local_now_ns = now_ns;
        self.node.tick(now_ns);
    }

    fn propose(&mut self, now_ns: u64, command: Vec<u8>) -> Result<(), Refusal> {
        self.local_now_ns = now_ns;
        match self.node.propose(tagged(ENTRY_RAW, &command)) {
            Ok(_) => Ok(()),
            Err(raft::ProposeError::NotLeader { leader_hint, .. }) => {
                Err(Refusal::NotLeader { leader_hint })
            }
            Err(raft::ProposeError::Backpressure) => Err(Refusal::Busy),
        }
    }

    fn submit(&mut self, now_ns: u64, client: ClientId, request: ClientRequest) {
        self.local_now_ns = now_ns;
        if let ClientRequest::Op {
            session,
            seq,
            op: ClientOp::Get { key },
        } = &request
        {
            if let Some(value) = self.read_locally(key) {
                let reply = ClientReply::Done {
                    session: *session,
                    seq: *seq,
                    result: OpResult::Value(value),
                };
                self.desk.reply(client, reply);
                return;
            }
        }
        let (entry, waiting) = ClientDesk::entry(now_ns, client, request);
        match self.node.propose(entry) {
            Ok(_) => self.desk.wait(client, waiting),
            Err(raft::ProposeError::NotLeader { leader_hint, .. }) => {
                self.desk
                    .reply(client, ClientReply::NotLeader { leader_hint });
            }
            Err(raft::ProposeError::Backpressure) => self.desk.reply(client, ClientReply::Busy),
        }
    }

    fn log_synced(&mut self, index: u64, term: u64) {
        self.node.log_synced(index, term);
    }

    fn take_output(&mut self) -> Output<raft::Message> {
        self.maybe_compact();
        let ready = self.node.take_ready();
        if let Some(snapshot) = ready
            .snapshot
            .as_ref()
            .filter(|_| ready.snapshot_from_leader)
        {
            self.install(snapshot);
        }
        for entry in &ready.committed {
            self.apply(entry);
        }
        let checkpoint = self.maybe_checkpoint(ready.committed.last());
        Output {
            hard_state: ready.hard_state.map(|h| HardState {
                term: h.term,
                vote: h.vote,
                commit: h.commit,
            }),
            log_write: ready.log_write.map(|w| LogWrite {
                from_index: w.from_index,
                entries: w.entries.into_iter().map(to_stored).collect(),
            }),
            must_sync: ready.must_sync,
            messages: ready.messages.into_iter().map(|m| (m.to, m)).collect(),
            replies: self.desk.take_replies(),
            applied: self.desk.take_applied(),
            situations: self.take_situations(),
            config_applied: self.config_applied.take(),
            snapshot: ready.snapshot.map(to_stored_snapshot),
            checkpoint,
        }
    }

    fn change_membership(
        &mut self,
        _now_ns: u64,
        add: &[NodeId],
        remove: &[NodeId],
    ) -> Result<(), Refusal> {
        match self.node.change_membership(add, remove) {
            Ok(()) => Ok(()),
            Err(raft::ChangeError::NotLeader { leader_hint }) => {
                Err(Refusal::NotLeader { leader_hint })
            }
            Err(raft::ChangeError::NotReady | raft::ChangeError::InProgress) => Err(Refusal::Busy),
            Err(e @ raft::ChangeError::Invalid { .. }) => Err(Refusal::Invalid(e.to_string())),
        }
    }

    fn view(&self) -> NodeView {
        let role = match self.node.role() {
            raft::Role::Follower => Role::Follower,
            raft::Role::Candidate => Role::Candidate,
            raft::Role::Leader => Role::Leader,
        };
        NodeView {
            role,
            term: self.node.term(),
            vote: self.node.vote(),
            commit_index: self.node.commit_index(),
            leader: self.node.leader(),
        }
    }

    fn message_info(msg: &raft::Message) -> MessageInfo {
        MessageInfo {
            kind: msg.body.kind(),
            from: msg.from,
            term: msg.term,
            ack_index: match msg.body {
                raft::Body::AppendEntriesResponse {
                    success: true,
                    match_index,
                    ..
                } => Some(match_index),
                _ => None,
            },
            snapshot_last: match &msg.body {
                raft::Body::InstallSnapshot {
                    size_bytes,
                    offset,
                    data,
                    ..
                } => Some(offset.saturating_add(data.len() as u64) >= *size_bytes),
                _ => None,
            },
        }
    }

    fn message_kinds() -> &'static [&'static str] {
        &[
            "RequestVote",
            "RequestVoteResponse",
            "AppendEntries",
            "AppendEntriesResponse",
            "InstallSnapshot",
            "InstallSnapshotResponse",
        ]
    }
}
