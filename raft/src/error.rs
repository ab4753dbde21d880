use crate::{Index, NodeId, Term};
use std::fmt;

/// Why a message was rejected by [`crate::Node::step`]. A rejected message changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// The message is addressed to another node.
    WrongRecipient {
        /// The `to` field of the message.
        to: NodeId,
    },
    /// The sender is not a member of the cluster.
    UnknownSender {
        /// The `from` field of the message.
        from: NodeId,
    },
    /// The message contradicts itself (entries out of order, a term above the message's, too
    /// many entries).
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// A leader of this term asked to overwrite an entry this node knows is committed: proof
    /// of a safety violation elsewhere in the cluster. The node keeps its log.
    ConflictWithCommitted {
        /// The committed index the message contradicts.
        index: Index,
    },
}

/// Why a proposal was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// Only a leader accepts proposals; `leader_hint` is the leader this node last heard from
    /// in its current term.
    NotLeader {
        /// The leader to try instead, if known.
        leader_hint: Option<NodeId>,
        /// This node's current term.
        term: Term,
    },
    /// The leader has `uncommitted_entries_max` entries not yet committed.
    Backpressure,
}

/// Why a membership change was refused (section 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// Only a leader changes the membership.
    NotLeader {
        /// The leader to ask instead, if known.
        leader_hint: Option<NodeId>,
    },
    /// The leader has not yet committed an entry of its term, so it may not know the latest
    /// configuration.
    NotReady,
    /// Another change is in progress: one at a time.
    InProgress,
    /// The change itself makes no sense.
    Invalid {
        /// Why.
        reason: &'static str,
        /// The server concerned, 0 if none.
        node: NodeId,
    },
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeError::NotLeader {
                leader_hint: Some(l),
            } => write!(f, "not the leader; try node {l}"),
            ChangeError::NotLeader { leader_hint: None } => write!(f, "not the leader"),
            ChangeError::NotReady => {
                write!(f, "the leader has not committed an entry of its term yet")
            }
            ChangeError::InProgress => write!(f, "a membership change is already in progress"),
            ChangeError::Invalid { reason, node } => write!(f, "{reason} (node {node})"),
        }
    }
}

impl std::error::Error for ChangeError {}

/// Why a compaction was refused (section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactError {
    /// The entry at `index` was not yet handed to the host to apply, so the state machine
    /// cannot reflect it.
    NotApplied {
        /// The index asked for.
        index: Index,
        /// The last index handed over.
        applied: Index,
    },
    /// The log is already compacted through `snapshot_index`, at or beyond `index`.
    AlreadyCompacted {
        /// The index asked for.
        index: Index,
        /// The current snapshot's index.
        snapshot_index: Index,
    },
}

impl fmt::Display for CompactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompactError::NotApplied { index, applied } => write!(
                f,
                "cannot compact through index {index}: only entries through {applied} were applied"
            ),
            CompactError::AlreadyCompacted {
                index,
                snapshot_index,
            } => write!(
                f,
                "cannot compact through index {index}: the log is compacted through {snapshot_index}"
            ),
        }
    }
}

impl std::error::Error for CompactError {}

/// Why a node could not be rebuilt from durable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// The configuration is invalid.
    Config(String),
    /// The durable state contradicts itself.
    Corrupt(String),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::WrongRecipient { to } => write!(f, "message addressed to node {to}"),
            StepError::UnknownSender { from } => write!(f, "message from unknown node {from}"),
            StepError::Malformed { reason } => write!(f, "malformed message: {reason}"),
            StepError::ConflictWithCommitted { index } => {
                write!(f, "append conflicts with committed entry {index}")
            }
        }
    }
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::NotLeader {
                leader_hint: Some(l),
                term,
            } => {
                write!(f, "not the leader of term {term}; try node {l}")
            }
            ProposeError::NotLeader {
                leader_hint: None,
                term,
            } => {
                write!(f, "not the leader of term {term}; leader unknown")
            }
            ProposeError::Backpressure => write!(f, "too many uncommitted entries"),
        }
    }
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Config(m) => write!(f, "invalid configuration: {m}"),
            RestoreError::Corrupt(m) => write!(f, "corrupt durable state: {m}"),
        }
    }
}

impl std::error::Error for StepError {}
impl std::error::Error for ProposeError {}
impl std::error::Error for RestoreError {}
