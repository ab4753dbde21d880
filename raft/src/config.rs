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
}

impl Mutation {
    /// Every mutation, for listings.
    pub const ALL: [Mutation; 5] = [
        Mutation::CommitPriorTermByCounting,
        Mutation::VoteWithoutLogCheck,
        Mutation::NoSessionDedup,
        Mutation::ReadWithoutQuorum,
        Mutation::JointOneMajority,
    ];

    /// The name used in scenario files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mutation::CommitPriorTermByCounting => "commit-prior-term-by-counting",
            Mutation::VoteWithoutLogCheck => "vote-without-log-check",
            Mutation::NoSessionDedup => "no-session-dedup",
            Mutation::ReadWithoutQuorum => "read-without-quorum",
            Mutation::JointOneMajority => "joint-one-majority",
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
