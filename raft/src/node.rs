use crate::counters::Counters;
use crate::membership::{Change, Stage};
use crate::progress::Progress;
use crate::snapshot::{self, Chunk, Incoming, Received, SNAPSHOT_BYTES_MAX};
use crate::{
    Body, ChangeError, ChangeOutcome, CompactError, Config, Entry, HardState, Index, Log, LogWrite,
    Membership, Message, Mutation, NodeId, Payload, ProposeError, Ready, RestoreError, Snapshot,
    StepError, Term,
};
use rand::RngCore;
use std::collections::BTreeMap;
use std::fmt;

/// A node's role (section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Passive: answers leaders and candidates.
    Follower,
    /// Campaigning for leadership of its term.
    Candidate,
    /// Handles all client requests of its term.
    Leader,
}

enum RoleState {
    Follower {
        leader: Option<NodeId>,
    },
    Candidate {
        votes_granted: Vec<NodeId>,
    },
    Leader {
        progress: BTreeMap<NodeId, Progress>,
    },
}

/// One Raft server as a pure state machine. Time is the node's local clock, in nanoseconds,
/// handed in with every input; randomness comes from the generator the host passes at start.
pub struct Node {
    config: Config,
    rng: Box<dyn RngCore + Send>,
    term: Term,
    vote: Option<NodeId>,
    log: Log,
    commit_index: Index,
    /// Entries through this index were handed to the host in `Ready::committed`.
    applied_index: Index,
    /// The host reported the log durable through here; a leader counts itself only up to it.
    synced_index: Index,
    role: RoleState,
    /// Local time at which a follower or candidate starts an election.
    election_deadline_ns: u64,
    /// The randomized election timeout (section 5.2), drawn when the node starts, when it
    /// campaigns and when its term changes. Each reset in between waits the same span, so
    /// the draws follow elections, not how many heartbeats arrived: a host that removes one
    /// message from a run does not shift every later timeout.
    election_timeout_ns: u64,
    /// Local time at which a leader sends its next heartbeat.
    heartbeat_deadline_ns: u64,
    // What the next `Ready` carries.
    hard_state_persisted: HardState,
    log_unpersisted_from: Option<Index>,
    outbox: Vec<Message>,
    counters: Counters,
    /// A leader saw an entry of an earlier term on a quorum that it could not commit yet.
    prior_term_entry_on_quorum: bool,
    /// The configuration in effect: the last configuration entry in the log, else `bootstrap`
    /// (section 6: a server uses the latest configuration in its log, committed or not).
    membership: Membership,
    /// The index of the entry `membership` comes from; 0 for `bootstrap`.
    membership_index: Index,
    /// The configuration from `Config::voters`, before any configuration entry.
    bootstrap: Membership,
    /// The configuration before `membership`. While `membership` is not committed, a leader
    /// still replicates to the members of this one, so that a removed server learns that it
    /// was removed (and stops campaigning) before the leader forgets it.
    membership_prev: Membership,
    /// The membership change this leader is carrying out.
    change: Option<Change>,
    /// How the last accepted change ended, for the next `Ready`.
    change_outcome: Option<ChangeOutcome>,
    /// The latest snapshot, which stands for the log through its index; a leader sends it to
    /// followers that need compacted entries (section 7). The log may keep up to
    /// `snapshot_catch_up_entries` entries before its index, so that a follower a little
    /// behind gets entries rather than the whole snapshot.
    snapshot: Option<Snapshot>,
    /// `snapshot` is not yet in a `Ready`: `Some(true)` if it came from the leader.
    snapshot_unpersisted: Option<bool>,
    /// A snapshot a leader is sending this node, partly received (volatile).
    incoming: Option<Incoming>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.config.id)
            .field("role", &self.role())
            .field("term", &self.term)
            .field("vote", &self.vote)
            .field("last_index", &self.log.last_index())
            .field("commit_index", &self.commit_index)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Starts a node, fresh (empty `hard_state`, no snapshot, no entries) or from the durable
    /// state of an earlier incarnation: its hard state, its latest snapshot, and the log
    /// entries after the snapshot (from index 1 without one). The host restores its state
    /// machine from the snapshot; `Ready::committed` hands over the committed entries after
    /// it. The election timer starts at `now_ns`.
    pub fn restore(
        config: Config,
        hard_state: HardState,
        snapshot: Option<Snapshot>,
        entries: Vec<Entry>,
        rng: Box<dyn RngCore + Send>,
        now_ns: u64,
    ) -> Result<Node, RestoreError> {
        config.validate().map_err(RestoreError::Config)?;
        let (snapshot_index, snapshot_term) =
            snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
        let log = Log::after_snapshot(snapshot_index, snapshot_term, entries)
            .map_err(RestoreError::Corrupt)?;
        Node::restore_log(config, hard_state, snapshot, log, rng, now_ns)
    }

    /// [`Node::restore`] from a log already built, whose compacted index and term are the
    /// snapshot's (or 0): a host that kept the log of a node it restarts, where its disk holds
    /// the same, spares reading and checking every entry again.
    pub fn restore_log(
        config: Config,
        hard_state: HardState,
        snapshot: Option<Snapshot>,
        log: Log,
        rng: Box<dyn RngCore + Send>,
        now_ns: u64,
    ) -> Result<Node, RestoreError> {
        config.validate().map_err(RestoreError::Config)?;
        let (snapshot_index, snapshot_term) =
            snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
        if (log.compacted_index(), log.compacted_term()) != (snapshot_index, snapshot_term) {
            return Err(RestoreError::Corrupt(format!(
                "log compacted through index {} of term {}, snapshot through {snapshot_index} \
                 of term {snapshot_term}",
                log.compacted_index(),
                log.compacted_term()
            )));
        }
        check_restored(&config, &hard_state, &log).map_err(RestoreError::Corrupt)?;
        // A snapshot taken before any configuration entry, by a server that joined with no
        // voters, carries the empty configuration.
        let snapshot_config = snapshot
            .as_ref()
            .map(|s| &s.membership)
            .filter(|m| **m != Membership::default());
        if let Some(reason) = snapshot_config.and_then(|m| m.validate().err()) {
            return Err(RestoreError::Corrupt(format!(
                "snapshot configuration: {reason}"
            )));
        }
        let mut node = Node {
            config,
            rng,
            term: hard_state.term,
            vote: hard_state.vote,
            log,
            // The snapshot covers only committed entries, even if the commit index written
            // after it was lost.
            commit_index: hard_state.commit.max(snapshot_index),
            applied_index: snapshot_index,
            synced_index: 0,
            role: RoleState::Follower { leader: None },
            election_deadline_ns: 0,
            election_timeout_ns: 0,
            heartbeat_deadline_ns: 0,
            hard_state_persisted: hard_state,
            log_unpersisted_from: None,
            outbox: Vec::new(),
            counters: Counters::default(),
            prior_term_entry_on_quorum: false,
            membership: Membership::default(),
            membership_index: 0,
            bootstrap: Membership::default(),
            membership_prev: Membership::default(),
            change: None,
            change_outcome: None,
            snapshot,
            snapshot_unpersisted: None,
            incoming: None,
        };
        node.bootstrap = Membership::simple(&node.config.voters);
        node.membership_from_log();
        node.synced_index = node.log.last_index();
        node.draw_election_timeout();
        node.reset_election_deadline(now_ns);
        Ok(node)
    }

    // ---- Observers ----------------------------------------------------------------------

    /// The situations this node went through since it was restored.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The configuration in effect on this node (the latest in its log).
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The latest snapshot, taken here or received from a leader.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// True while this leader carries out a membership change.
    pub fn membership_change_pending(&self) -> bool {
        self.change.is_some()
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Its current role.
    pub fn role(&self) -> Role {
        match self.role {
            RoleState::Follower { .. } => Role::Follower,
            RoleState::Candidate { .. } => Role::Candidate,
            RoleState::Leader { .. } => Role::Leader,
        }
    }
    /// Its current term.
    pub fn term(&self) -> Term {
        self.term
    }
    /// Whom it voted for in the current term.
    pub fn vote(&self) -> Option<NodeId> {
        self.vote
    }
    /// The leader of the current term, if known.
    pub fn leader(&self) -> Option<NodeId> {
        match self.role {
            RoleState::Follower { leader } => leader,
            RoleState::Candidate { .. } => None,
            RoleState::Leader { .. } => Some(self.config.id),
        }
    }
    /// Its log.
    pub fn log(&self) -> &Log {
        &self.log
    }
    /// Its log, given up by a node that is done: a host whose disk holds the same entries (a
    /// crash that lost none of their writes) restores the next node from them without reading
    /// them back.
    pub fn into_log(self) -> Log {
        self.log
    }
    /// The highest index it knows to be committed.
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }
    /// The local time at which it next wants `tick`.
    pub fn next_deadline_ns(&self) -> u64 {
        match self.role {
            RoleState::Leader { .. } => self.heartbeat_deadline_ns,
            _ => self.election_deadline_ns,
        }
    }
    /// A leader's match index for `peer` (Figure 2), for tests and views.
    pub fn match_index(&self, peer: NodeId) -> Option<Index> {
        match &self.role {
            RoleState::Leader { progress } => progress.get(&peer).map(|p| p.match_index),
            _ => None,
        }
    }

    // ---- Inputs -------------------------------------------------------------------------

    /// Fires the timers whose deadline is at or before `now_ns`: a heartbeat round for a
    /// leader, an election for anyone else (section 5.2).
    pub fn tick(&mut self, now_ns: u64) {
        if matches!(self.role, RoleState::Leader { .. }) {
            if now_ns >= self.heartbeat_deadline_ns {
                self.heartbeat_deadline_ns = now_ns + self.config.heartbeat_interval_ns;
                if let RoleState::Leader { progress } = &mut self.role {
                    progress.values_mut().for_each(Progress::heartbeat);
                }
                self.broadcast_append(true);
            }
        } else if now_ns >= self.election_deadline_ns {
            if self.membership.is_voter(self.config.id) {
                self.campaign(now_ns);
            } else {
                // A learner, a removed server or one not yet added never campaigns.
                self.draw_election_timeout();
                self.reset_election_deadline(now_ns);
            }
        }
    }

    /// Proposes an application command. Only a leader accepts; the entry's index is returned.
    pub fn propose(&mut self, command: Vec<u8>) -> Result<Index, ProposeError> {
        if !matches!(self.role, RoleState::Leader { .. }) {
            return Err(ProposeError::NotLeader {
                leader_hint: self.leader(),
                term: self.term,
            });
        }
        let uncommitted = self.log.last_index() - self.commit_index;
        if uncommitted >= self.config.uncommitted_entries_max {
            return Err(ProposeError::Backpressure);
        }
        let index = self.append_entry(Payload::Command(command.into()));
        self.broadcast_append(false);
        Ok(index)
    }

    /// Tells the node that its log is durable through (`index`, `term`). A leader counts its
    /// own copy of an entry toward a quorum only once it is durable.
    pub fn log_synced(&mut self, index: Index, term: Term) {
        if index > self.log.last_index() || self.log.term(index) != Some(term) {
            // The log was truncated and rewritten after that write: nothing new is durable.
            return;
        }
        self.synced_index = self.synced_index.max(index);
        if matches!(self.role, RoleState::Leader { .. }) {
            self.maybe_commit();
        }
    }

    /// Handles a message from another node. A message that is malformed or not for this node is
    /// rejected with an error and changes nothing.
    pub fn step(&mut self, now_ns: u64, msg: Message) -> Result<(), StepError> {
        self.check_message(&msg)?;
        if matches!(msg.body, Body::RequestVote { .. }) && !self.membership.is_member(msg.from) {
            // Section 6: a server removed from the configuration must not disrupt the cluster;
            // its vote requests are ignored, term and all.
            self.counters.votes_ignored_non_member += 1;
            return Ok(());
        }
        if msg.term > self.term {
            // Section 5.1: a higher term makes any node a follower of that term. The leader of
            // that term is known only from an AppendEntries.
            let from_leader = matches!(
                msg.body,
                Body::AppendEntries { .. } | Body::InstallSnapshot { .. }
            );
            let leader = from_leader.then_some(msg.from);
            self.become_follower(now_ns, msg.term, leader);
        }
        match msg.body {
            Body::RequestVote {
                last_log_index,
                last_log_term,
            } => {
                self.handle_request_vote(now_ns, msg.from, msg.term, last_log_index, last_log_term);
                Ok(())
            }
            Body::RequestVoteResponse { granted } => {
                self.handle_vote_response(now_ns, msg.from, msg.term, granted);
                Ok(())
            }
            Body::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.handle_append(
                now_ns,
                msg.from,
                msg.term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            ),
            Body::AppendEntriesResponse {
                success,
                match_index,
                conflict_index,
                conflict_term,
            } => {
                self.handle_append_response(
                    msg.from,
                    msg.term,
                    success,
                    match_index,
                    conflict_index,
                    conflict_term,
                );
                Ok(())
            }
            Body::InstallSnapshot {
                last_included_index,
                last_included_term,
                membership,
                size_bytes,
                offset,
                data,
            } => {
                let chunk = Chunk {
                    index: last_included_index,
                    term: last_included_term,
                    membership: *membership,
                    size_bytes,
                    offset,
                    data,
                };
                self.handle_snapshot_chunk(now_ns, msg.from, msg.term, chunk)
            }
            Body::InstallSnapshotResponse {
                last_included_index,
                offset_next,
            } => {
                self.handle_snapshot_response(msg.from, msg.term, last_included_index, offset_next);
                Ok(())
            }
        }
    }

    /// The host's state machine survived the restart holding the entries through `index` (a
    /// durable state machine, as etcd keeps its consistent index in the same transaction as
    /// its data): the next `Ready` commits from the entry after it, so a restart replays only
    /// what the state machine had not persisted. Call it right after [`Node::restore`]; the
    /// index lies between the snapshot's and the commit index, both included.
    pub fn restore_applied(&mut self, index: Index) -> Result<(), RestoreError> {
        let snapshot_index = self.snapshot.as_ref().map_or(0, |s| s.index);
        if index < snapshot_index || index > self.commit_index {
            return Err(RestoreError::Corrupt(format!(
                "applied index {index} outside the snapshot's {snapshot_index} through the \
                 commit index {}",
                self.commit_index
            )));
        }
        self.applied_index = index;
        Ok(())
    }

    /// The host's state machine has applied the entries through `index` and `data` is its
    /// state: that becomes this node's snapshot, and the log through `index` is forgotten
    /// (section 7). The next `Ready` carries the snapshot to persist.
    pub fn compact(&mut self, index: Index, data: Vec<u8>) -> Result<(), CompactError> {
        if index > self.applied_index {
            return Err(CompactError::NotApplied {
                index,
                applied: self.applied_index,
            });
        }
        let snapshot_index = self.snapshot.as_ref().map_or(0, |s| s.index);
        if index <= snapshot_index {
            return Err(CompactError::AlreadyCompacted {
                index,
                snapshot_index,
            });
        }
        assert_ne!(
            self.snapshot_unpersisted,
            Some(true),
            "a leader's snapshot is in the next Ready; nothing after it was applied yet"
        );
        let snapshot = Snapshot {
            index,
            term: self.log.term(index).expect("applied entries are held"),
            membership: self.membership_at(index),
            data,
        };
        let keep_from = index.saturating_sub(self.config.snapshot_catch_up_entries);
        self.log.compact(keep_from);
        self.snapshot = Some(snapshot);
        self.snapshot_unpersisted = Some(false);
        Ok(())
    }

    /// Takes what the host must now persist, send and apply.
    pub fn take_ready(&mut self) -> Ready {
        let hard_state = HardState {
            term: self.term,
            vote: self.vote,
            commit: self.commit_index,
        };
        let hard_state_changed = hard_state != self.hard_state_persisted;
        let term_or_vote_changed = hard_state.term != self.hard_state_persisted.term
            || hard_state.vote != self.hard_state_persisted.vote;
        self.hard_state_persisted = hard_state;
        // Entries the snapshot now covers need no writing: the snapshot goes first.
        let first_index = self.log.first_index();
        let log_write = self.log_unpersisted_from.take().map(|from| LogWrite {
            from_index: from.max(first_index),
            entries: self.log.slice(from, self.log.last_index()).to_vec(),
        });
        let snapshot_from_leader = self.snapshot_unpersisted.take();
        let snapshot = snapshot_from_leader.and(self.snapshot.clone());
        let committed = self
            .log
            .slice(self.applied_index + 1, self.commit_index)
            .to_vec();
        self.applied_index = self.commit_index;
        let must_sync = self.must_sync(
            term_or_vote_changed,
            log_write.is_some(),
            snapshot_from_leader == Some(true),
        );
        Ready {
            hard_state: hard_state_changed.then_some(self.hard_state_written(hard_state)),
            must_sync,
            log_write,
            snapshot,
            snapshot_from_leader: snapshot_from_leader == Some(true),
            messages: std::mem::take(&mut self.outbox),
            committed,
            membership_change: self.change_outcome.take(),
        }
    }

    /// Whether the writes of the next `Ready` must be durable before its messages go out: a
    /// new term or vote, log entries, and (as a follower acknowledges it) an installed
    /// snapshot. The `AckBeforeSync` mutation leaves a follower's log writes out.
    fn must_sync(&self, term_or_vote: bool, log_write: bool, leader_snapshot: bool) -> bool {
        let mutation = self.config.mutation;
        let is_leader = matches!(self.role, RoleState::Leader { .. });
        let unsynced_ack = mutation == Some(Mutation::AckBeforeSync) && !is_leader;
        term_or_vote || leader_snapshot || (log_write && !unsynced_ack)
    }

    /// The hard state as written to disk: all of it, except under the `VoteNotPersisted`
    /// mutation, which leaves the vote out.
    fn hard_state_written(&self, hard_state: HardState) -> HardState {
        match self.mutated(Mutation::VoteNotPersisted) {
            true => HardState {
                vote: None,
                ..hard_state
            },
            false => hard_state,
        }
    }

    // ---- Message validation --------------------------------------------------------------

    fn check_message(&self, msg: &Message) -> Result<(), StepError> {
        if msg.to != self.config.id {
            return Err(StepError::WrongRecipient { to: msg.to });
        }
        if msg.from == self.config.id || msg.from == 0 {
            return Err(StepError::UnknownSender { from: msg.from });
        }
        if msg.term == 0 {
            return Err(StepError::Malformed { reason: "term 0" });
        }
        if msg.term > TERM_MAX || message_indexes(&msg.body).any(|i| i > INDEX_MAX) {
            return Err(StepError::Malformed {
                reason: "a term or index beyond any real log",
            });
        }
        match &msg.body {
            Body::RequestVote {
                last_log_index,
                last_log_term,
            } => {
                if last_log_term > &msg.term || (*last_log_index == 0) != (*last_log_term == 0) {
                    return Err(StepError::Malformed {
                        reason: "candidate's last log entry is impossible",
                    });
                }
            }
            Body::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                ..
            } => {
                check_entries(
                    &self.config,
                    msg.term,
                    *prev_log_index,
                    *prev_log_term,
                    entries,
                )?;
            }
            Body::AppendEntriesResponse {
                success: false,
                match_index,
                conflict_index,
                ..
            } => {
                if *conflict_index == 0 || conflict_index > &match_index.saturating_add(1) {
                    return Err(StepError::Malformed {
                        reason: "conflict hint beyond the rejected index",
                    });
                }
            }
            Body::InstallSnapshot {
                last_included_index,
                last_included_term,
                membership,
                size_bytes,
                offset,
                data,
            } => {
                let end = offset.checked_add(data.len() as u64);
                if *last_included_index == 0
                    || *last_included_term == 0
                    || last_included_term > &msg.term
                {
                    return Err(StepError::Malformed {
                        reason: "snapshot's last entry is impossible",
                    });
                }
                if data.len() as u64 > self.config.snapshot_chunk_bytes_max {
                    return Err(StepError::Malformed {
                        reason: "more bytes than snapshot_chunk_bytes_max",
                    });
                }
                if *size_bytes > SNAPSHOT_BYTES_MAX || end.is_none_or(|end| end > *size_bytes) {
                    return Err(StepError::Malformed {
                        reason: "snapshot chunk beyond the snapshot's size",
                    });
                }
                membership
                    .validate()
                    .map_err(|reason| StepError::Malformed { reason })?;
            }
            Body::RequestVoteResponse { .. }
            | Body::AppendEntriesResponse { .. }
            | Body::InstallSnapshotResponse { .. } => {}
        }
        Ok(())
    }

    // ---- Elections (section 5.2) ---------------------------------------------------------

    fn campaign(&mut self, now_ns: u64) {
        if self.term >= TERM_MAX {
            // Terms stop here (see `TERM_MAX`): no election can be held.
            self.reset_election_deadline(now_ns);
            return;
        }
        self.counters.elections_started += 1;
        if matches!(self.role, RoleState::Candidate { .. }) {
            self.counters.elections_restarted += 1;
        }
        self.term += 1;
        self.vote = Some(self.config.id);
        self.role = RoleState::Candidate {
            votes_granted: vec![self.config.id],
        };
        self.draw_election_timeout();
        self.reset_election_deadline(now_ns);
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        let id = self.config.id;
        let voters: Vec<NodeId> = self
            .membership
            .all_voters()
            .into_iter()
            .filter(|&v| v != id)
            .collect();
        for peer in voters {
            self.send(
                peer,
                Body::RequestVote {
                    last_log_index,
                    last_log_term,
                },
            );
        }
        // A single-node cluster is its own quorum.
        self.maybe_win_election(now_ns);
    }

    fn handle_request_vote(
        &mut self,
        now_ns: u64,
        candidate: NodeId,
        term: Term,
        last_log_index: Index,
        last_log_term: Term,
    ) {
        if term < self.term {
            self.send(candidate, Body::RequestVoteResponse { granted: false });
            return;
        }
        debug_assert_eq!(term, self.term);
        let vote_free = self.vote.is_none()
            || self.vote == Some(candidate)
            || self.mutated(Mutation::VoteTwicePerTerm);
        // Section 5.4.1: vote only for a candidate whose log is at least as up-to-date.
        let up_to_date = last_log_term > self.log.last_term()
            || (last_log_term == self.log.last_term() && last_log_index >= self.log.last_index());
        let log_ok = up_to_date || self.config.mutation == Some(Mutation::VoteWithoutLogCheck);
        let granted = vote_free && log_ok;
        if vote_free && !log_ok {
            self.counters.votes_refused_log_behind += 1;
        }
        if granted {
            self.vote = Some(candidate);
            self.reset_election_deadline(now_ns);
        }
        self.send(candidate, Body::RequestVoteResponse { granted });
    }

    fn handle_vote_response(&mut self, now_ns: u64, voter: NodeId, term: Term, granted: bool) {
        let stale = term != self.term && !self.mutated(Mutation::CountStaleVoteResponses);
        if stale || !granted {
            return;
        }
        let RoleState::Candidate { votes_granted } = &mut self.role else {
            return;
        };
        if !votes_granted.contains(&voter) {
            votes_granted.push(voter);
        }
        self.maybe_win_election(now_ns);
    }

    fn maybe_win_election(&mut self, now_ns: u64) {
        let RoleState::Candidate { votes_granted } = &self.role else {
            return;
        };
        if self
            .quorum_membership()
            .has_quorum(|id| votes_granted.contains(&id))
        {
            self.become_leader(now_ns);
        }
    }

    fn become_leader(&mut self, now_ns: u64) {
        let next_index = self.log.last_index() + 1;
        let progress = self
            .peers()
            .map(|peer| (peer, Progress::new(next_index)))
            .collect();
        self.role = RoleState::Leader { progress };
        self.prior_term_entry_on_quorum = false;
        self.heartbeat_deadline_ns = now_ns + self.config.heartbeat_interval_ns;
        // Section 5.4.2 and 8: a leader commits entries of earlier terms only through an entry of
        // its own, so it appends one at once.
        self.append_entry(Payload::Noop);
        self.broadcast_append(true);
        self.maybe_commit();
        // A joint configuration left by an earlier leader is finished by this one.
        self.maybe_advance_membership();
    }

    fn become_follower(&mut self, now_ns: u64, term: Term, leader: Option<NodeId>) {
        assert!(term >= self.term, "a node's term never goes backwards");
        if term > self.term {
            self.term = term;
            self.vote = None;
            self.draw_election_timeout();
        }
        if matches!(self.role, RoleState::Leader { .. }) {
            self.counters.leader_stepped_down += 1;
            // The change was this leader's own plan; the next leader finishes only a joint
            // configuration it finds in its log.
            if self.change.take().is_some_and(|c| c.requested) {
                self.change_outcome = Some(ChangeOutcome::Abandoned);
            }
            // A leader's election deadline is stale: without a fresh one, a deposed leader
            // would start an election at once and disrupt the new term.
            self.reset_election_deadline(now_ns);
        }
        self.role = RoleState::Follower { leader };
    }

    /// A leader of the current term spoke: follow it and wait a full election timeout. A
    /// leader that hears from another leader of its own term refuses (`second_leader` says
    /// which RPC): Election Safety is broken elsewhere, and following would hide it.
    fn follow(
        &mut self,
        now_ns: u64,
        leader: NodeId,
        second_leader: &'static str,
    ) -> Result<(), StepError> {
        if let RoleState::Leader { .. } = self.role {
            return Err(StepError::Malformed {
                reason: second_leader,
            });
        }
        self.role = RoleState::Follower {
            leader: Some(leader),
        };
        self.reset_election_deadline(now_ns);
        Ok(())
    }

    fn draw_election_timeout(&mut self) {
        let span = self.config.election_timeout_max_ns - self.config.election_timeout_min_ns;
        let jitter = self.rng.next_u64() % span;
        self.election_timeout_ns = self.config.election_timeout_min_ns + jitter;
        debug_assert!(self.election_timeout_ns >= self.config.election_timeout_min_ns);
        debug_assert!(self.election_timeout_ns < self.config.election_timeout_max_ns);
    }

    fn reset_election_deadline(&mut self, now_ns: u64) {
        debug_assert!(self.election_timeout_ns >= self.config.election_timeout_min_ns);
        self.election_deadline_ns = now_ns + self.election_timeout_ns;
    }

    // ---- Log replication (section 5.3) ---------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn handle_append(
        &mut self,
        now_ns: u64,
        leader: NodeId,
        term: Term,
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry>,
        leader_commit: Index,
    ) -> Result<(), StepError> {
        // The mutation lets a follower or candidate take a stale leader's entries; a leader
        // still refuses, as `follow` would report a second leader otherwise.
        let stale_accepted = self.mutated(Mutation::AcceptStaleTermAppend)
            && !matches!(self.role, RoleState::Leader { .. });
        if term < self.term && !stale_accepted {
            // Section 5.1: a stale leader learns the current term from the rejection.
            self.counters.appends_rejected_stale_term += 1;
            self.send_append_response(leader, false, prev_log_index, 1, None);
            return Ok(());
        }
        debug_assert!(term == self.term || stale_accepted);
        self.follow(
            now_ns,
            leader,
            "AppendEntries from a second leader of this term",
        )?;

        // Entries at or below the commit index are known to match every leader's (section 5.4);
        // skip them rather than compare.
        let (prev_log_index, prev_log_term, entries) = if prev_log_index < self.commit_index {
            let skip = (self.commit_index - prev_log_index).min(entries.len() as u64) as usize;
            let prev = prev_log_index + skip as u64;
            let prev_term = match skip {
                0 => prev_log_term,
                _ => entries[skip - 1].term,
            };
            (prev, prev_term, entries[skip..].to_vec())
        } else {
            (prev_log_index, prev_log_term, entries)
        };
        if prev_log_index < self.commit_index {
            // Everything sent is committed here already.
            self.send_append_response(leader, true, self.commit_index, 0, None);
            return Ok(());
        }
        match self.log.term(prev_log_index) {
            None => {
                let conflict_index = self.log.last_index() + 1;
                self.send_append_response(leader, false, prev_log_index, conflict_index, None);
                return Ok(());
            }
            Some(t) if t != prev_log_term && !self.mutated(Mutation::SkipPrevTermCheck) => {
                let conflict_index = self
                    .log
                    .first_index_of_term_at(prev_log_index, self.commit_index + 1);
                self.send_append_response(leader, false, prev_log_index, conflict_index, Some(t));
                return Ok(());
            }
            Some(_) => {}
        }
        let last_new_index = prev_log_index + entries.len() as u64;
        self.append_from_leader(entries)?;
        if self.mutated(Mutation::TruncateOnStaleAppend) && self.log.last_index() > last_new_index {
            // The broken rule: the log ends where the message's entries end.
            self.truncate_log_from(last_new_index + 1);
            self.mark_unpersisted(last_new_index + 1);
        }
        // Figure 2: commitIndex = min(leaderCommit, index of last new entry).
        let commit_limit = match self.mutated(Mutation::CommitBeyondLastNewEntry) {
            true => self.log.last_index(),
            false => last_new_index,
        };
        let commit_new = leader_commit.min(commit_limit);
        if commit_new > self.commit_index {
            self.commit_index = commit_new;
            self.commit_advanced();
        }
        self.send_append_response(leader, true, last_new_index, 0, None);
        Ok(())
    }

    /// Stores entries that follow a matching entry: an existing entry that conflicts (same index,
    /// other term) is deleted with all that follow it; an entry that matches is kept (section 5.3).
    fn append_from_leader(&mut self, entries: Vec<Entry>) -> Result<(), StepError> {
        let first_new = entries
            .iter()
            .position(|e| self.log.term(e.index) != Some(e.term));
        let Some(first_new) = first_new else {
            return Ok(());
        };
        let index = entries[first_new].index;
        if index <= self.log.last_index() {
            if index <= self.commit_index {
                return Err(StepError::ConflictWithCommitted { index });
            }
            self.truncate_log_from(index);
        }
        self.mark_unpersisted(index);
        for entry in entries.into_iter().skip(first_new) {
            self.log.push(entry);
            self.membership_from_entry(self.log.last_index());
        }
        Ok(())
    }

    /// Deletes the uncommitted entries from `index` on (section 5.3).
    fn truncate_log_from(&mut self, index: Index) {
        debug_assert!(index > self.commit_index);
        self.counters.uncommitted_truncations += 1;
        self.counters.uncommitted_entries_truncated += self.log.last_index() - index + 1;
        self.log.truncate_from(index);
        self.synced_index = self.synced_index.min(index - 1);
        let rolled_back = self.membership_index >= index;
        if rolled_back && !self.mutated(Mutation::ConfigKeptAfterTruncation) {
            // Section 6: a configuration whose entry is deleted is no longer in effect.
            self.counters.configurations_rolled_back += 1;
            self.membership_from_log();
        }
    }

    fn handle_append_response(
        &mut self,
        follower: NodeId,
        term: Term,
        success: bool,
        match_index: Index,
        conflict_index: Index,
        conflict_term: Option<Term>,
    ) {
        if term != self.term {
            return;
        }
        let last_index = self.log.last_index();
        let RoleState::Leader { progress } = &mut self.role else {
            return;
        };
        let Some(pr) = progress.get_mut(&follower) else {
            return;
        };
        if success {
            if match_index > last_index {
                return; // Acknowledges entries this leader never sent: ignore.
            }
            let match_index = match self.config.mutation {
                // The broken rule: whatever was sent counts as stored.
                Some(Mutation::MatchIndexFromNextIndex) => {
                    match_index.max(pr.next_index.saturating_sub(1).min(last_index))
                }
                _ => match_index,
            };
            // While probing, next_index - 1 is where the logs were found to match: everything
            // after it up to the leader's last entry is what the follower must be sent.
            let match_point = pr.next_index.saturating_sub(1);
            if pr.repairing && last_index.saturating_sub(match_point) > 10 {
                self.counters.follower_repairs_over_10 += 1;
            }
            if pr.acknowledged(match_index) {
                self.maybe_commit();
                // A learner's progress counts for its promotion, never for commitment.
                self.maybe_advance_membership();
            }
        } else {
            let next_index = self.backtrack(match_index, conflict_index, conflict_term);
            let RoleState::Leader { progress } = &mut self.role else {
                return;
            };
            let Some(pr) = progress.get_mut(&follower) else {
                return;
            };
            if !pr.rejected(match_index, next_index) {
                return;
            }
        }
        self.send_append(follower, false);
    }

    /// Fast log backtracking: skip the follower's whole conflicting term, or jump to the end of
    /// a follower's short log, instead of one entry per round trip.
    /// The next index never passes the rejected one: the entry there did not match, so it
    /// must be sent again, whatever a contradictory hint says.
    fn backtrack(
        &self,
        rejected_index: Index,
        conflict_index: Index,
        conflict_term: Option<Term>,
    ) -> Index {
        let hint = conflict_term
            .and_then(|t| self.log.last_index_of_term(t))
            .map_or(conflict_index, |last| last + 1);
        hint.min(rejected_index).clamp(1, self.log.last_index() + 1)
    }

    /// Section 5.3 and 5.4.2: the leader commits the highest index replicated on a quorum, but
    /// only if that entry is of its own term.
    fn maybe_commit(&mut self) {
        let RoleState::Leader { progress } = &self.role else {
            return;
        };
        let synced = self.synced_index;
        let id = self.config.id;
        let quorum_index = self.quorum_membership().quorum_index(|peer| match peer {
            _ if peer == id => synced,
            _ => progress.get(&peer).map_or(0, |p| p.match_index),
        });
        if quorum_index <= self.commit_index {
            return;
        }
        let own_term = self.log.term(quorum_index) == Some(self.term);
        if !own_term && self.config.mutation != Some(Mutation::CommitPriorTermByCounting) {
            self.prior_term_entry_on_quorum = true;
            return;
        }
        if own_term && self.prior_term_entry_on_quorum {
            self.prior_term_entry_on_quorum = false;
            self.counters.commits_waited_for_current_term += 1;
        }
        assert!(
            quorum_index <= self.log.last_index(),
            "commit beyond the log"
        );
        self.commit_index = quorum_index;
        self.commit_advanced();
        // Followers learn the new commit index at once rather than at the next heartbeat.
        self.broadcast_append(true);
        if self.membership_index <= self.commit_index {
            self.sync_progress();
        }
        self.maybe_advance_membership();
    }

    fn broadcast_append(&mut self, empty_ok: bool) {
        let peers: Vec<NodeId> = self.peers().collect();
        for peer in peers {
            self.send_append(peer, empty_ok);
        }
    }

    /// Sends `peer` the entries it lacks if flow control allows, else (if `empty_ok`) an empty
    /// AppendEntries that carries the commit index and probes the follower's log position.
    fn send_append(&mut self, peer: NodeId, empty_ok: bool) {
        let (last_index, entries_max, inflight_max) = (
            self.log.last_index(),
            self.config.msg_entries_max,
            self.config.inflight_msgs_max,
        );
        let RoleState::Leader { progress } = &mut self.role else {
            return;
        };
        let Some(pr) = progress.get_mut(&peer) else {
            return;
        };
        if pr.sending_snapshot() || pr.next_index <= self.log.compacted_index() {
            // The entries the follower needs are compacted away (section 7).
            self.send_snapshot_chunk(peer);
            return;
        }
        let has_entries = pr.next_index <= last_index;
        let send_entries = has_entries && pr.can_send_entries(inflight_max);
        if !send_entries && !empty_ok {
            return;
        }
        let prev_log_index = pr.next_index - 1;
        let entries = if send_entries {
            let to = (prev_log_index + entries_max).min(last_index);
            pr.sent_entries(to);
            self.log.slice(prev_log_index + 1, to).to_vec()
        } else {
            Vec::new()
        };
        let prev_log_term = self
            .log
            .term(prev_log_index)
            .expect("leader holds every entry before next_index");
        let leader_commit = self.commit_index;
        self.send(
            peer,
            Body::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            },
        );
    }

    /// Sends `peer` the next chunk of the latest snapshot, unless one is unanswered.
    fn send_snapshot_chunk(&mut self, peer: NodeId) {
        let snapshot = self
            .snapshot
            .as_ref()
            .expect("a compacted log has a snapshot");
        let size_bytes = snapshot.data.len() as u64;
        let RoleState::Leader { progress } = &mut self.role else {
            return;
        };
        let Some(pr) = progress.get_mut(&peer) else {
            return;
        };
        let Some(chunk) = pr.next_snapshot_chunk(
            snapshot.index,
            size_bytes,
            self.config.snapshot_chunk_bytes_max,
        ) else {
            return;
        };
        self.counters.snapshots_sent += u64::from(chunk.started);
        self.counters.snapshot_chunks_resent += u64::from(chunk.resent);
        let body = Body::InstallSnapshot {
            last_included_index: snapshot.index,
            last_included_term: snapshot.term,
            membership: Box::new(snapshot.membership.clone()),
            size_bytes,
            offset: chunk.offset,
            data: snapshot.data[chunk.offset as usize..chunk.end as usize].to_vec(),
        };
        self.send(peer, body);
    }

    /// A follower's answer to a chunk that did not complete the snapshot.
    fn handle_snapshot_response(
        &mut self,
        follower: NodeId,
        term: Term,
        index: Index,
        offset_next: u64,
    ) {
        if term != self.term {
            return;
        }
        let size_bytes = self.snapshot.as_ref().map_or(0, |s| s.data.len() as u64);
        let RoleState::Leader { progress } = &mut self.role else {
            return;
        };
        let Some(pr) = progress.get_mut(&follower) else {
            return;
        };
        match pr.snapshot_answered(index, offset_next, size_bytes) {
            None => return, // Stale: about another snapshot, or the transfer is over.
            Some(restarted) => self.counters.snapshot_transfers_restarted += u64::from(restarted),
        }
        self.send_snapshot_chunk(follower);
    }

    /// A chunk of a snapshot from the leader (section 7, Figure 13).
    fn handle_snapshot_chunk(
        &mut self,
        now_ns: u64,
        leader: NodeId,
        term: Term,
        chunk: Chunk,
    ) -> Result<(), StepError> {
        let index = chunk.index;
        if term < self.term {
            // Section 5.1: the stale leader learns the current term from the answer.
            self.send(
                leader,
                Body::InstallSnapshotResponse {
                    last_included_index: index,
                    offset_next: 0,
                },
            );
            return Ok(());
        }
        self.follow(
            now_ns,
            leader,
            "InstallSnapshot from a second leader of this term",
        )?;
        if index <= self.commit_index && !self.mutated(Mutation::InstallOlderSnapshot) {
            // Everything the snapshot covers is committed here already.
            self.incoming = None;
            self.send_append_response(leader, true, self.commit_index, 0, None);
            return Ok(());
        }
        let offset_checked = !self.mutated(Mutation::SnapshotChunkOffsetIgnored);
        match snapshot::receive(&mut self.incoming, chunk, offset_checked) {
            Received::Partial { offset_next } => self.send(
                leader,
                Body::InstallSnapshotResponse {
                    last_included_index: index,
                    offset_next,
                },
            ),
            Received::Complete(snapshot) => {
                self.install_snapshot(snapshot);
                self.send_append_response(leader, true, index, 0, None);
            }
        }
        Ok(())
    }

    /// Replaces the log through the snapshot's index with it; entries after it stay if the
    /// log holds its last entry, else the whole log goes (Figure 13, steps 6 and 7).
    fn install_snapshot(&mut self, snapshot: Snapshot) {
        let (index, term) = (snapshot.index, snapshot.term);
        assert!(
            index > self.commit_index || self.mutated(Mutation::InstallOlderSnapshot),
            "a snapshot within the committed log is not installed"
        );
        let retain = self.log.term(index) == Some(term);
        let entries = match retain {
            true => self.log.slice(index + 1, self.log.last_index()).to_vec(),
            false => Vec::new(),
        };
        if !retain {
            // Written after the snapshot: drops whatever the durable log holds past it.
            self.log_unpersisted_from = Some(index + 1);
        }
        self.log = Log::after_snapshot(index, term, entries).expect("a suffix of a valid log");
        self.synced_index = self.synced_index.min(self.log.last_index());
        self.commit_index = index;
        self.applied_index = index;
        self.snapshot = Some(snapshot);
        self.snapshot_unpersisted = Some(true);
        self.counters.snapshots_installed += 1;
        self.membership_from_log();
    }

    fn send_append_response(
        &mut self,
        leader: NodeId,
        success: bool,
        match_index: Index,
        conflict_index: Index,
        conflict_term: Option<Term>,
    ) {
        self.send(
            leader,
            Body::AppendEntriesResponse {
                success,
                match_index,
                conflict_index,
                conflict_term,
            },
        );
    }

    // ---- Helpers -------------------------------------------------------------------------

    fn append_entry(&mut self, payload: Payload) -> Index {
        let index = self.log.last_index() + 1;
        self.log.push(Entry {
            term: self.term,
            index,
            payload,
        });
        self.mark_unpersisted(index);
        self.membership_from_entry(index);
        index
    }

    // ---- Membership (section 6) ----------------------------------------------------------

    /// If the entry at `index` is a configuration, it is in effect from now on.
    fn membership_from_entry(&mut self, index: Index) {
        if self.mutated(Mutation::ConfigOnCommit) {
            return; // The broken rule waits for `commit_advanced`.
        }
        if let Some(Entry {
            payload: Payload::Config(m),
            ..
        }) = self.log.entry(index)
        {
            self.membership_prev = std::mem::replace(&mut self.membership, (**m).clone());
            self.membership_index = index;
            self.sync_progress();
        }
    }

    /// The configuration in effect: the last configuration entry of the log, else the
    /// snapshot's, else the bootstrap one.
    fn membership_from_log(&mut self) {
        let horizon = match self.mutated(Mutation::ConfigOnCommit) {
            true => self.commit_index.min(self.log.last_index()),
            false => self.log.last_index(),
        };
        let mut configs = self.configs_at_or_before(horizon);
        let last = configs.next();
        let prev = configs.next();
        drop(configs);
        (self.membership, self.membership_index) = last.unwrap_or((self.bootstrap.clone(), 0));
        self.membership_prev = prev.map_or_else(|| self.bootstrap.clone(), |(m, _)| m);
        self.sync_progress();
    }

    /// The commit index moved forward. Only the `ConfigOnCommit` mutation acts on it: it
    /// takes a configuration into effect once committed.
    fn commit_advanced(&mut self) {
        if self.mutated(Mutation::ConfigOnCommit) {
            self.membership_from_log();
        }
    }

    /// The configuration in effect at `index`, for a snapshot through it.
    fn membership_at(&self, index: Index) -> Membership {
        self.configs_at_or_before(index)
            .next()
            .map_or_else(|| self.bootstrap.clone(), |(m, _)| m)
    }

    /// The configurations of the log's entries at or before `index`, latest first, with
    /// their indexes, then the snapshot's (at its index).
    fn configs_at_or_before(&self, index: Index) -> impl Iterator<Item = (Membership, Index)> + '_ {
        let configs = self.log.config_indexes();
        let held = configs[..configs.partition_point(|&i| i <= index)]
            .iter()
            .rev()
            .filter_map(|&i| match self.log.entry(i) {
                Some(Entry {
                    payload: Payload::Config(m),
                    ..
                }) => Some(((**m).clone(), i)),
                _ => None,
            });
        let snapshot = self
            .snapshot
            .as_ref()
            .filter(|s| s.index <= index)
            .map(|s| (s.membership.clone(), s.index));
        held.chain(snapshot)
    }

    /// A leader tracks the members of the configuration in effect, and until that one is
    /// committed also those of the one before.
    fn sync_progress(&mut self) {
        let id = self.config.id;
        let mut members = self.membership.members();
        if self.membership_index > self.commit_index {
            members.extend(self.membership_prev.members());
        }
        let next_index = self.log.last_index() + 1;
        let RoleState::Leader { progress } = &mut self.role else {
            return;
        };
        progress.retain(|peer, _| members.contains(peer));
        for &peer in members.iter().filter(|&&p| p != id) {
            progress
                .entry(peer)
                .or_insert_with(|| Progress::new(next_index));
        }
    }

    /// Starts a membership change: `add` join as learners, are promoted once caught up, and
    /// `remove` leave, through the joint configuration (section 6). Only a leader that has
    /// committed an entry of its term, with no other change in progress, accepts one.
    pub fn change_membership(
        &mut self,
        add: &[NodeId],
        remove: &[NodeId],
    ) -> Result<(), ChangeError> {
        if !matches!(self.role, RoleState::Leader { .. }) {
            return Err(ChangeError::NotLeader {
                leader_hint: self.leader(),
            });
        }
        if self.log.term(self.commit_index) != Some(self.term) {
            return Err(ChangeError::NotReady);
        }
        if self.change.is_some()
            || self.membership.is_joint()
            || self.membership_index > self.commit_index
        {
            return Err(ChangeError::InProgress);
        }
        let m = &self.membership;
        if let Some(&id) = add.iter().find(|&&id| id == 0 || m.voters.contains(&id)) {
            return Err(ChangeError::Invalid {
                reason: "an added server is already a voter",
                node: id,
            });
        }
        if let Some(&id) = remove.iter().find(|&&id| !m.voters.contains(&id)) {
            return Err(ChangeError::Invalid {
                reason: "a removed server is not a voter",
                node: id,
            });
        }
        if let Some(&id) = add.iter().find(|id| remove.contains(id)) {
            return Err(ChangeError::Invalid {
                reason: "a server both added and removed",
                node: id,
            });
        }
        let mut voters_new: Vec<NodeId> = m
            .voters
            .iter()
            .copied()
            .filter(|v| !remove.contains(v))
            .collect();
        voters_new.extend(add);
        voters_new.sort_unstable();
        voters_new.dedup();
        if voters_new.is_empty() {
            return Err(ChangeError::Invalid {
                reason: "no voter would be left",
                node: 0,
            });
        }
        let mut added = add.to_vec();
        added.sort_unstable();
        added.dedup();
        let new_learners: Vec<NodeId> = added
            .iter()
            .copied()
            .filter(|a| !m.learners.contains(a))
            .collect();
        let stage = if new_learners.is_empty() {
            Stage::CatchingUp {
                entry: self.membership_index,
            }
        } else {
            let mut learners = m.learners.clone();
            learners.extend(&new_learners);
            learners.sort_unstable();
            let entry = self.append_entry(Payload::Config(Box::new(Membership {
                learners,
                ..m.clone()
            })));
            self.broadcast_append(false);
            Stage::CatchingUp { entry }
        };
        self.change = Some(Change {
            voters_new,
            added,
            stage,
            requested: true,
        });
        self.maybe_advance_membership();
        Ok(())
    }

    /// Moves the change on: promote caught-up learners through C(old,new), then C(new) once
    /// the joint configuration commits; finish a joint configuration an earlier leader left;
    /// step down once a C(new) without this leader commits.
    fn maybe_advance_membership(&mut self) {
        if !matches!(self.role, RoleState::Leader { .. }) {
            return;
        }
        let commit_index = self.commit_index;
        let committed = move |index: Index| index <= commit_index;
        match self.change.as_ref().map(|c| c.stage) {
            Some(Stage::CatchingUp { entry })
                if committed(entry) && self.learners_caught_up(entry) =>
            {
                let change = self.change.as_ref().expect("matched");
                let m = &self.membership;
                let learners = m
                    .learners
                    .iter()
                    .copied()
                    .filter(|l| !change.added.contains(l))
                    .collect();
                let joint = Membership {
                    voters: change.voters_new.clone(),
                    voters_outgoing: m.voters.clone(),
                    learners,
                };
                let entry = self.append_entry(Payload::Config(Box::new(joint)));
                self.change.as_mut().expect("matched").stage = Stage::Joint { entry };
                self.broadcast_append(false);
            }
            Some(Stage::Final { entry }) if committed(entry) => {
                if self.change.take().is_some_and(|c| c.requested) {
                    self.change_outcome = Some(ChangeOutcome::Committed(self.membership.clone()));
                }
                if !self.membership.is_voter(self.config.id) {
                    // Section 6: a leader not in C(new) steps down once C(new) is committed.
                    self.counters.leader_removed += 1;
                    self.role = RoleState::Follower { leader: None };
                }
            }
            Some(_) => {}
            None => {}
        }
        let joint_done = committed(self.membership_index)
            || self.mutated(Mutation::FinalConfigBeforeJointCommits);
        let joint_committed = self.membership.is_joint() && joint_done;
        if joint_committed && matches!(self.role, RoleState::Leader { .. }) {
            let final_config = Membership {
                voters: self.membership.voters.clone(),
                voters_outgoing: Vec::new(),
                learners: self.membership.learners.clone(),
            };
            let entry = self.append_entry(Payload::Config(Box::new(final_config)));
            if let Some(change) = self.change.as_mut() {
                change.stage = Stage::Final { entry };
            } else {
                let voters_new = self.membership.voters.clone();
                self.change = Some(Change {
                    voters_new,
                    added: Vec::new(),
                    stage: Stage::Final { entry },
                    requested: false,
                });
            }
            self.broadcast_append(false);
        }
    }

    /// The configuration whose majorities decide elections and commitment: the one in
    /// effect, except under the `JointOneMajority` mutation.
    fn quorum_membership(&self) -> std::borrow::Cow<'_, Membership> {
        if self.config.mutation == Some(Mutation::JointOneMajority) && self.membership.is_joint() {
            let new_only = Membership {
                voters_outgoing: Vec::new(),
                ..self.membership.clone()
            };
            return std::borrow::Cow::Owned(new_only);
        }
        std::borrow::Cow::Borrowed(&self.membership)
    }

    /// True if every server being added has acknowledged the entry that made it a learner
    /// (`entry`) and has a log within `learner_lag_entries_max` of ours: a server that is down
    /// or far behind is never promoted, so adding it never stalls commitment.
    fn learners_caught_up(&self, entry: Index) -> bool {
        let (Some(change), RoleState::Leader { progress }) = (&self.change, &self.role) else {
            return false;
        };
        let last = self.log.last_index();
        change.added.iter().all(|id| {
            progress.get(id).is_some_and(|p| {
                p.match_index >= entry
                    && last - p.match_index.min(last) <= self.config.learner_lag_entries_max
            })
        })
    }

    fn mark_unpersisted(&mut self, index: Index) {
        let from = self.log_unpersisted_from.map_or(index, |f| f.min(index));
        self.log_unpersisted_from = Some(from);
    }

    /// Every other member of the configuration in effect: voters of both sets and learners.
    fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        let id = self.config.id;
        self.membership
            .members()
            .into_iter()
            .filter(move |&p| p != id)
    }

    /// True if this node runs with the deliberately broken rule `m`.
    fn mutated(&self, m: Mutation) -> bool {
        self.config.mutation == Some(m)
    }

    fn send(&mut self, to: NodeId, body: Body) {
        self.outbox.push(Message {
            from: self.config.id,
            to,
            term: self.term,
            body,
        });
    }
}

fn check_entries(
    config: &Config,
    term: Term,
    prev_log_index: Index,
    prev_log_term: Term,
    entries: &[Entry],
) -> Result<(), StepError> {
    if entries.len() as u64 > config.msg_entries_max {
        return Err(StepError::Malformed {
            reason: "more entries than msg_entries_max",
        });
    }
    if prev_log_term > term || (prev_log_index == 0) != (prev_log_term == 0) {
        return Err(StepError::Malformed {
            reason: "impossible previous entry",
        });
    }
    let mut index_prev = prev_log_index;
    let mut term_prev = prev_log_term;
    for entry in entries {
        if Some(entry.index) != index_prev.checked_add(1)
            || entry.term < term_prev
            || entry.term > term
            || entry.term == 0
        {
            return Err(StepError::Malformed {
                reason: "entries not consecutive or terms out of order",
            });
        }
        if let Payload::Config(m) = &entry.payload {
            m.validate()
                .map_err(|reason| StepError::Malformed { reason })?;
        }
        index_prev = entry.index;
        term_prev = entry.term;
    }
    Ok(())
}

/// The largest term and index a node accepts, from the network or its disk: no real cluster
/// comes near, and the headroom means `+ 1` on a term or index never overflows.
pub(crate) const TERM_MAX: Term = u64::MAX / 4;
pub(crate) const INDEX_MAX: Index = u64::MAX / 4;

/// The indexes a message names (entries' own indexes follow `prev_log_index` one by one, and
/// `check_entries` holds them to that).
fn message_indexes(body: &Body) -> impl Iterator<Item = Index> {
    let (a, b) = match body {
        Body::RequestVote { last_log_index, .. } => (*last_log_index, 0),
        Body::RequestVoteResponse { .. } => (0, 0),
        Body::AppendEntries {
            prev_log_index,
            entries,
            ..
        } => (
            *prev_log_index,
            prev_log_index.saturating_add(entries.len() as u64),
        ),
        Body::AppendEntriesResponse {
            match_index,
            conflict_index,
            ..
        } => (*match_index, *conflict_index),
        Body::InstallSnapshot {
            last_included_index,
            ..
        }
        | Body::InstallSnapshotResponse {
            last_included_index,
            ..
        } => (*last_included_index, 0),
    };
    [a, b].into_iter()
}

fn check_restored(config: &Config, hard_state: &HardState, log: &Log) -> Result<(), String> {
    if hard_state.term > TERM_MAX || log.last_index() > INDEX_MAX {
        return Err(format!(
            "term {} or last index {} beyond any real log",
            hard_state.term,
            log.last_index()
        ));
    }
    for &index in log.config_indexes() {
        if let Some(Entry {
            payload: Payload::Config(m),
            ..
        }) = log.entry(index)
        {
            m.validate()
                .map_err(|reason| format!("entry {index}: {reason}"))?;
        }
    }
    if log.last_term() > hard_state.term {
        return Err(format!(
            "log term {} above current term {}",
            log.last_term(),
            hard_state.term
        ));
    }
    if hard_state.commit > log.last_index() {
        return Err(format!(
            "commit index {} beyond the log's last index {}",
            hard_state.commit,
            log.last_index()
        ));
    }
    if hard_state.vote == Some(0) || (hard_state.vote.is_some() && hard_state.term == 0) {
        return Err("a vote for node 0, or a vote in term 0".to_string());
    }
    let _ = config;
    Ok(())
}
