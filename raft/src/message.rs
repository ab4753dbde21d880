use crate::{Index, Membership, NodeId, Term};

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The term of the leader that created it.
    pub term: Term,
    /// Its position in the log.
    pub index: Index,
    /// What it carries.
    pub payload: Payload,
}

/// The contents of a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Payload {
    /// Appended by a new leader at the start of its term so that it can commit (section 5.4.2,
    /// and section 8 for reads).
    Noop,
    /// An application command, opaque to the protocol.
    Command(Vec<u8>),
    /// A configuration (section 6): it takes effect on a server as soon as it is in its log.
    Config(Membership),
}

/// The state a node must persist (section 5, Figure 2), plus the commit index, which a node may
/// persist without a sync to speed up its restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HardState {
    /// The latest term the node has seen.
    pub term: Term,
    /// The candidate it voted for in `term`.
    pub vote: Option<NodeId>,
    /// A lower bound on the commit index.
    pub commit: Index,
}

/// A message between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    /// The sender.
    pub from: NodeId,
    /// The recipient.
    pub to: NodeId,
    /// The sender's current term.
    pub term: Term,
    /// The request or response.
    pub body: Body,
}

/// The RPCs of Figure 2.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Body {
    /// RequestVote (section 5.2).
    RequestVote {
        /// Index of the candidate's last entry.
        last_log_index: Index,
        /// Term of the candidate's last entry.
        last_log_term: Term,
    },
    /// The answer to RequestVote.
    RequestVoteResponse {
        /// True if the vote was granted.
        granted: bool,
    },
    /// AppendEntries (section 5.3); with no entries, a heartbeat.
    AppendEntries {
        /// Index of the entry just before `entries`.
        prev_log_index: Index,
        /// Term of that entry.
        prev_log_term: Term,
        /// The entries to store, consecutive from `prev_log_index + 1`.
        entries: Vec<Entry>,
        /// The leader's commit index.
        leader_commit: Index,
    },
    /// The answer to AppendEntries.
    AppendEntriesResponse {
        /// True if the follower's log now matches the leader's through `match_index`.
        success: bool,
        /// On success, the last index known to match; on failure, the `prev_log_index` rejected.
        match_index: Index,
        /// On failure, a hint for fast log backtracking: the first index of the follower's entry
        /// at the rejected position's term, or the follower's last index + 1 if it is too short.
        conflict_index: Index,
        /// On failure, the term of the follower's entry at the rejected position, if it has one.
        conflict_term: Option<Term>,
    },
}

impl Body {
    /// A short name of the RPC, for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::RequestVote { .. } => "RequestVote",
            Body::RequestVoteResponse { .. } => "RequestVoteResponse",
            Body::AppendEntries { .. } => "AppendEntries",
            Body::AppendEntriesResponse { .. } => "AppendEntriesResponse",
        }
    }
}
