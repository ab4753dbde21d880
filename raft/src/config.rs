use crate::NodeId;

/// The settings a node is started with. Every limit is named for what it bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This node's id.
    pub id: NodeId,
    /// The voters of the cluster's first configuration, in force until the log holds a
    /// configuration entry. A server that joins later starts with none and learns the
    /// configuration from the leader's log.
    pub voters: Vec<NodeId>,
    /// Election timeouts are drawn uniformly from `[election_timeout_min_ns, election_timeout_max_ns)`
    /// of the node's local time (section 5.2).
    pub election_timeout_min_ns: u64,
    /// See `election_timeout_min_ns`.
    pub election_timeout_max_ns: u64,
    /// A leader sends AppendEntries to every follower at least this often.
    pub heartbeat_interval_ns: u64,
    /// At most this many entries in one AppendEntries, sent or accepted.
    pub msg_entries_max: u64,
    /// At most this many AppendEntries with entries in flight to one follower.
    pub inflight_msgs_max: u64,
    /// A leader refuses proposals while this many entries are not yet committed.
    pub uncommitted_entries_max: u64,
    /// A server being added is promoted from learner to voter once its log is within this
    /// many entries of the leader's (section 6's catch-up phase).
    pub learner_lag_entries_max: u64,
    /// At most this many bytes of a snapshot in one InstallSnapshot message, sent or accepted.
    pub snapshot_chunk_bytes_max: u64,
    /// A compaction keeps this many entries before the snapshot's index in memory, so that a
    /// follower only a little behind (a reordered message, a short pause) is sent entries
    /// rather than the whole snapshot. A restart keeps none.
    pub snapshot_catch_up_entries: u64,
    /// A deliberately wrong rule, for measuring a testbed's power to find bugs. `None` in any
    /// real use.
    pub mutation: Option<Mutation>,
}

/// A deliberately broken protocol rule. Each variant names the rule it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Section 5.4.2 broken: a leader commits an entry of a previous term by counting
    /// replicas, the schedule of Figure 8.
    CommitPriorTermByCounting,
    /// Section 5.4.1 broken: a voter grants its vote without the up-to-date-log check.
    VoteWithoutLogCheck,
    /// Dissertation section 6.3 broken: the session table executes a retried command again
    /// instead of answering from its cache. Read by the host's state machine, not by `Node`.
    NoSessionDedup,
    /// Section 6.4 of the dissertation broken: a server that believes it leads answers reads
    /// from its own state machine, without the log or a check that it still leads. A deposed
    /// leader then serves stale reads. Read by the host, not by `Node`.
    ReadWithoutQuorum,
    /// Section 6 broken: during joint consensus, elections and commitment need a majority of
    /// the new configuration only, not of both; two leaders, or a commit the old majority never
    /// saw, become possible.
    JointOneMajority,
    /// Section 5.2 broken ("each server will vote for at most one candidate in a given
    /// term"): a voter grants any candidate of its current term whose log is up to date,
    /// without checking `votedFor`. Source: etcd-io/etcd#2461 (raft reset the vote without a
    /// term change) and camunda/camunda#5368 (voted for two candidates in one term).
    VoteTwicePerTerm,
    /// Students' Guide to Raft, "term confusion": a candidate counts a granted vote that
    /// answers a RequestVote of an earlier term of its own. Source: the MIT 6.824 Students'
    /// Guide (drop replies whose term is not the term the request was sent in).
    CountStaleVoteResponses,
    /// Figure 2, AppendEntries rule 3 broken: a follower replaces everything after the
    /// message's entries with nothing (`log = log[..prev] + entries`), even when its longer
    /// log matched; a stale, reordered AppendEntries deletes acknowledged entries. Source: the
    /// MIT 6.824 Students' Guide (never truncate on an AppendEntries whose entries match).
    TruncateOnStaleAppend,
    /// Section 5.3 broken: a follower accepts entries after `prevLogIndex` without comparing
    /// `prevLogTerm`, so logs that agree at an index and term can differ before it (Log
    /// Matching). Source: the consistency check of Figure 2, rule 2; a classic 6.824 lab 2B bug.
    SkipPrevTermCheck,
    /// Figure 2, AppendEntries rule 1 broken: a follower follows and stores the entries of a
    /// leader of an older term; a deposed leader overwrites entries its successor committed.
    /// Source: Figure 2 ("reply false if term < currentTerm"); a classic 6.824 lab 2B bug.
    AcceptStaleTermAppend,
    /// Figure 2, AppendEntries rule 5 broken: a follower sets its commit index to
    /// `min(leaderCommit, last index of its log)` instead of the last *new* entry, committing
    /// stale entries past the ones the leader sent. Source: the MIT 6.824 Students' Guide
    /// (the min must use the index of the last new entry).
    CommitBeyondLastNewEntry,
    /// Figure 2's matchIndex broken: on a successful AppendEntries response, the leader sets
    /// matchIndex from its own `nextIndex - 1` rather than from what the response
    /// acknowledges, so it commits entries a quorum never stored. Source: the MIT 6.824
    /// Students' Guide (matchIndex = nextIndex - 1 or len(log) is not safe).
    MatchIndexFromNextIndex,
    /// Figure 2 broken (votedFor is persistent state): the hard state written before a vote
    /// is sent leaves the vote out, so after a crash the server votes again in that term.
    /// Source: xnnyygn/xraft#29 (votedFor not stored); a classic 6.824 lab 2C bug.
    VoteNotPersisted,
    /// Figure 2 broken ("respond after storing entries"): a follower acknowledges appended
    /// entries before its write is synced, so a crash loses entries a quorum acknowledged.
    /// Source: camunda/camunda#4160 (followers flushed only on commit) and
    /// cloud-software-foundation/c5#263 (heartbeats answered before the log write returned).
    AckBeforeSync,
    /// Section 7 broken: a follower installs a snapshot that is not newer than its commit
    /// index, rolling its commit index and state machine back. Source: etcd-io/etcd#1715
    /// (raft ignores a snapshot at or below the commit index) and talent-plan/tinykv#409.
    InstallOlderSnapshot,
    /// Figure 13 step 4 broken: a follower appends every chunk's data to the snapshot it is
    /// receiving without checking the chunk's offset, so a duplicate or reordered chunk
    /// corrupts it. Source: eBay/NuRaft#407 (an invalid snapshot install found by Jepsen).
    SnapshotChunkOffsetIgnored,
    /// Dissertation section 4.1 broken: a server starts using a configuration only once it is
    /// committed, not as soon as the entry is in its log. Source: the dissertation's rule
    /// (a server uses the latest configuration in its log, committed or not).
    ConfigOnCommit,
    /// Section 6 broken: the leader appends C(new) as soon as C(old,new) is in its log, not
    /// once it is committed, so disjoint majorities of C(old) and C(new) can decide. Source:
    /// the paper's joint consensus rule (C(new) only after C(old,new) commits).
    FinalConfigBeforeJointCommits,
    /// Dissertation section 4.1 broken: when a configuration entry is truncated, a server
    /// keeps using it instead of falling back to the previous one. Source:
    /// camunda/camunda#57393 (configuration does not follow log truncation) and
    /// canonical/raft#250.
    ConfigKeptAfterTruncation,
    /// Dissertation section 6.3 broken: each server expires sessions by its own clock when it
    /// applies an entry, not by the leader's time stamped in the log, so servers disagree on
    /// which sessions expired and their state machines diverge. Read by the host.
    SessionExpiryByLocalClock,
    /// Dissertation section 6.3 and 7 broken: the snapshot holds the application's state but
    /// not the session table, so a server restored from it forgets sessions and their cached
    /// replies and diverges from the others. Read by the host. Source: the MIT 6.824 lab 3
    /// handout (duplicate-detection state must be in the snapshot).
    SnapshotWithoutSessions,
    /// Dissertation section 6.4 broken: any server, follower included, answers a read from its
    /// own state machine; a lagging follower serves stale values. Read by the host. Source:
    /// Jepsen's 2014 etcd and Consul analyses (stale reads), Hoverbear/old-raft-rs#107.
    FollowerLocalRead,
    /// Dissertation section 6.4 broken: a leader answers a read from its log as appended,
    /// including entries not yet committed, so a client sees writes that are later lost.
    /// Read by the host. Source: the dissertation's read rule (answer once the read's
    /// index is applied); the dirty reads Jepsen's analyses look for.
    DirtyReadBeforeCommit,
}

impl Mutation {
    /// Every mutation, for listings.
    pub const ALL: [Mutation; 23] = [
        Mutation::CommitPriorTermByCounting,
        Mutation::VoteWithoutLogCheck,
        Mutation::NoSessionDedup,
        Mutation::ReadWithoutQuorum,
        Mutation::JointOneMajority,
        Mutation::VoteTwicePerTerm,
        Mutation::CountStaleVoteResponses,
        Mutation::TruncateOnStaleAppend,
        Mutation::SkipPrevTermCheck,
        Mutation::AcceptStaleTermAppend,
        Mutation::CommitBeyondLastNewEntry,
        Mutation::MatchIndexFromNextIndex,
        Mutation::VoteNotPersisted,
        Mutation::AckBeforeSync,
        Mutation::InstallOlderSnapshot,
        Mutation::SnapshotChunkOffsetIgnored,
        Mutation::ConfigOnCommit,
        Mutation::FinalConfigBeforeJointCommits,
        Mutation::ConfigKeptAfterTruncation,
        Mutation::SessionExpiryByLocalClock,
        Mutation::SnapshotWithoutSessions,
        Mutation::FollowerLocalRead,
        Mutation::DirtyReadBeforeCommit,
    ];

    /// The name used in scenario files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mutation::CommitPriorTermByCounting => "commit-prior-term-by-counting",
            Mutation::VoteWithoutLogCheck => "vote-without-log-check",
            Mutation::NoSessionDedup => "no-session-dedup",
            Mutation::ReadWithoutQuorum => "read-without-quorum",
            Mutation::JointOneMajority => "joint-one-majority",
            Mutation::VoteTwicePerTerm => "vote-twice-per-term",
            Mutation::CountStaleVoteResponses => "count-stale-vote-responses",
            Mutation::TruncateOnStaleAppend => "truncate-on-stale-append",
            Mutation::SkipPrevTermCheck => "skip-prev-term-check",
            Mutation::AcceptStaleTermAppend => "accept-stale-term-append",
            Mutation::CommitBeyondLastNewEntry => "commit-beyond-last-new-entry",
            Mutation::MatchIndexFromNextIndex => "match-index-from-next-index",
            Mutation::VoteNotPersisted => "vote-not-persisted",
            Mutation::AckBeforeSync => "ack-before-sync",
            Mutation::InstallOlderSnapshot => "install-older-snapshot",
            Mutation::SnapshotChunkOffsetIgnored => "snapshot-chunk-offset-ignored",
            Mutation::ConfigOnCommit => "config-on-commit",
            Mutation::FinalConfigBeforeJointCommits => "final-config-before-joint-commits",
            Mutation::ConfigKeptAfterTruncation => "config-kept-after-truncation",
            Mutation::SessionExpiryByLocalClock => "session-expiry-by-local-clock",
            Mutation::SnapshotWithoutSessions => "snapshot-without-sessions",
            Mutation::FollowerLocalRead => "follower-local-read",
            Mutation::DirtyReadBeforeCommit => "dirty-read-before-commit",
        }
    }

    /// The protocol area it breaks: "election", "replication", "commitment", "persistence",
    /// "snapshots", "membership", "sessions" or "reads".
    pub fn area(self) -> &'static str {
        match self {
            Mutation::CommitPriorTermByCounting => "commitment",
            Mutation::VoteWithoutLogCheck => "election",
            Mutation::NoSessionDedup => "sessions",
            Mutation::ReadWithoutQuorum => "reads",
            Mutation::JointOneMajority => "membership",
            Mutation::VoteTwicePerTerm => "election",
            Mutation::CountStaleVoteResponses => "election",
            Mutation::TruncateOnStaleAppend => "replication",
            Mutation::SkipPrevTermCheck => "replication",
            Mutation::AcceptStaleTermAppend => "replication",
            Mutation::CommitBeyondLastNewEntry => "commitment",
            Mutation::MatchIndexFromNextIndex => "commitment",
            Mutation::VoteNotPersisted => "persistence",
            Mutation::AckBeforeSync => "persistence",
            Mutation::InstallOlderSnapshot => "snapshots",
            Mutation::SnapshotChunkOffsetIgnored => "snapshots",
            Mutation::ConfigOnCommit => "membership",
            Mutation::FinalConfigBeforeJointCommits => "membership",
            Mutation::ConfigKeptAfterTruncation => "membership",
            Mutation::SessionExpiryByLocalClock => "sessions",
            Mutation::SnapshotWithoutSessions => "sessions",
            Mutation::FollowerLocalRead => "reads",
            Mutation::DirtyReadBeforeCommit => "reads",
        }
    }

    /// The rule it breaks, in a few words, for listings.
    pub fn rule(self) -> &'static str {
        match self {
            Mutation::CommitPriorTermByCounting => {
                "§5.4.2: commit a prior-term entry by counting replicas"
            }
            Mutation::VoteWithoutLogCheck => "§5.4.1: vote without the up-to-date-log check",
            Mutation::NoSessionDedup => "diss. §6.3: a retried command executes again",
            Mutation::ReadWithoutQuorum => {
                "diss. §6.4: a leader reads locally without confirming it leads"
            }
            Mutation::JointOneMajority => "§6: joint decisions need only the new majority",
            Mutation::VoteTwicePerTerm => "§5.2: votedFor not checked, two votes in one term",
            Mutation::CountStaleVoteResponses => "§5.2: votes granted in an earlier term counted",
            Mutation::TruncateOnStaleAppend => "Fig. 2 AE rule 3: truncate after a matching append",
            Mutation::SkipPrevTermCheck => "§5.3: prevLogTerm not compared",
            Mutation::AcceptStaleTermAppend => {
                "Fig. 2 AE rule 1: append from an older term accepted"
            }
            Mutation::CommitBeyondLastNewEntry => {
                "Fig. 2 AE rule 5: commit = min(leaderCommit, own last index)"
            }
            Mutation::MatchIndexFromNextIndex => {
                "Fig. 2: matchIndex = nextIndex - 1, not the acknowledged index"
            }
            Mutation::VoteNotPersisted => "Fig. 2: votedFor left out of the durable hard state",
            Mutation::AckBeforeSync => {
                "Fig. 2: follower acknowledges entries before they are synced"
            }
            Mutation::InstallOlderSnapshot => "§7: snapshot at or below the commit index installed",
            Mutation::SnapshotChunkOffsetIgnored => {
                "Fig. 13 step 4: chunk written without checking its offset"
            }
            Mutation::ConfigOnCommit => "diss. §4.1: configuration used only once committed",
            Mutation::FinalConfigBeforeJointCommits => {
                "§6: C(new) appended before C(old,new) commits"
            }
            Mutation::ConfigKeptAfterTruncation => {
                "diss. §4.1: truncated configuration kept in effect"
            }
            Mutation::SessionExpiryByLocalClock => "diss. §6.3: sessions expire by the local clock",
            Mutation::SnapshotWithoutSessions => {
                "diss. §6.3, §7: session table left out of snapshots"
            }
            Mutation::FollowerLocalRead => {
                "diss. §6.4: any server reads from its own state machine"
            }
            Mutation::DirtyReadBeforeCommit => "diss. §6.4: leader reads uncommitted log entries",
        }
    }

    /// Where the mistake comes from, in a few words, for listings.
    pub fn source(self) -> &'static str {
        match self {
            Mutation::CommitPriorTermByCounting => "Raft paper, Figure 8",
            Mutation::VoteWithoutLogCheck => "Raft paper §5.4.1",
            Mutation::NoSessionDedup => "Raft dissertation §6.3",
            Mutation::ReadWithoutQuorum => "Raft dissertation §6.4",
            Mutation::JointOneMajority => "Raft paper §6",
            Mutation::VoteTwicePerTerm => "etcd-io/etcd#2461, camunda/camunda#5368",
            Mutation::CountStaleVoteResponses => "6.824 Students' Guide (term confusion)",
            Mutation::TruncateOnStaleAppend => "6.824 Students' Guide",
            Mutation::SkipPrevTermCheck => "Raft paper Fig. 2 AE rule 2; 6.824 lab 2B",
            Mutation::AcceptStaleTermAppend => "Raft paper Fig. 2; 6.824 lab 2B",
            Mutation::CommitBeyondLastNewEntry => "6.824 Students' Guide",
            Mutation::MatchIndexFromNextIndex => "6.824 Students' Guide",
            Mutation::VoteNotPersisted => "xnnyygn/xraft#29; 6.824 lab 2C",
            Mutation::AckBeforeSync => "camunda/camunda#4160, c5#263",
            Mutation::InstallOlderSnapshot => "etcd-io/etcd#1715, tinykv#409",
            Mutation::SnapshotChunkOffsetIgnored => "eBay/NuRaft#407",
            Mutation::ConfigOnCommit => "Raft dissertation §4.1",
            Mutation::FinalConfigBeforeJointCommits => "Raft paper §6",
            Mutation::ConfigKeptAfterTruncation => "camunda/camunda#57393, canonical/raft#250",
            Mutation::SessionExpiryByLocalClock => "Raft dissertation §6.3",
            Mutation::SnapshotWithoutSessions => "6.824 lab 3 handout",
            Mutation::FollowerLocalRead => "Jepsen etcd/Consul (2014); old-raft-rs#107",
            Mutation::DirtyReadBeforeCommit => "Raft dissertation §6.4",
        }
    }

    /// The mutation with this name.
    pub fn from_name(name: &str) -> Option<Mutation> {
        Mutation::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl Config {
    /// A configuration with the defaults raftsim's scenarios start from.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_timeout_min_ns: 150_000_000,
            election_timeout_max_ns: 300_000_000,
            heartbeat_interval_ns: 50_000_000,
            msg_entries_max: 64,
            inflight_msgs_max: 16,
            uncommitted_entries_max: 4096,
            learner_lag_entries_max: 64,
            snapshot_chunk_bytes_max: 64 * 1024,
            snapshot_catch_up_entries: 0,
            mutation: None,
        }
    }

    /// Checks the settings; a node is never started from an invalid configuration.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.id == 0 {
            return Err("node id 0 is reserved".into());
        }
        let mut sorted = self.voters.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.voters.len() || sorted.first() == Some(&0) {
            return Err("voters must be distinct non-zero ids".into());
        }
        if self.election_timeout_min_ns == 0
            || self.election_timeout_min_ns >= self.election_timeout_max_ns
        {
            return Err("election timeout range must be non-empty and positive".into());
        }
        if self.heartbeat_interval_ns == 0
            || self.heartbeat_interval_ns >= self.election_timeout_min_ns
        {
            return Err(
                "heartbeat interval must be positive and below the election timeout".into(),
            );
        }
        if self.msg_entries_max == 0 || self.inflight_msgs_max == 0 {
            return Err("msg_entries_max and inflight_msgs_max must be positive".into());
        }
        if self.snapshot_chunk_bytes_max == 0 {
            return Err("snapshot_chunk_bytes_max must be positive".into());
        }
        if self.uncommitted_entries_max == 0 {
            return Err("uncommitted_entries_max must be positive".into());
        }
        Ok(())
    }
}
