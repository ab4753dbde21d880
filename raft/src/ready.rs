use crate::{Entry, HardState, Index, Membership, Message, Snapshot};

/// What the host must do after an input, in this order: persist `hard_state`, `snapshot` and
/// `log_write`, sync them if `must_sync`, send `messages`, then apply `committed` to the state
/// machine (after restoring it from `snapshot` if `snapshot_from_leader`).
///
/// No message may leave before every sync requested so far has completed, this `Ready`'s and
/// any earlier one's: a message may acknowledge entries written by an earlier `Ready` (a
/// duplicate AppendEntries, say) whose sync a host that syncs asynchronously has not finished.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The new hard state, if it changed.
    pub hard_state: Option<HardState>,
    /// The change to the log, if any.
    pub log_write: Option<LogWrite>,
    /// True when the writes include a term, a vote or log entries: the messages depend on them.
    pub must_sync: bool,
    /// Messages to send once the writes are durable.
    pub messages: Vec<Message>,
    /// A snapshot to persist before `log_write`. Once it is durable the log entries through
    /// its index may go: keep the entries after it if the log holds its last entry with the
    /// same term, else none (section 7, Figure 13).
    pub snapshot: Option<Snapshot>,
    /// True when `snapshot` came from the leader: restore the state machine from it before
    /// applying `committed`, which follow it. False for a snapshot the host asked for with
    /// `Node::compact`, which the state machine already reflects.
    pub snapshot_from_leader: bool,
    /// Newly committed entries, in index order, to apply.
    pub committed: Vec<Entry>,
    /// How a membership change this node accepted (`Node::change_membership`) ended: its
    /// C(new) committed, or it was abandoned.
    pub membership_change: Option<ChangeOutcome>,
}

/// The end of a membership change, reported to the host that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// C(new) committed: this is the configuration now.
    Committed(Membership),
    /// This node stopped leading before C(new) committed. A later leader finishes a joint
    /// configuration it finds in its log, but learners not yet promoted stay learners: ask
    /// the new leader again.
    Abandoned,
}

/// A change to the persisted log: drop every entry at `from_index` and above, then append
/// `entries` (which start at `from_index`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogWrite {
    /// The first index replaced.
    pub from_index: Index,
    /// The entries from `from_index` on.
    pub entries: Vec<Entry>,
}

impl Ready {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.log_write.is_none()
            && self.snapshot.is_none()
            && self.messages.is_empty()
            && self.committed.is_empty()
            && self.membership_change.is_none()
    }
}
