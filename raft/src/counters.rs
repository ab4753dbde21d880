//! Counts of notable protocol situations a node went through, for test harnesses that want to
//! know which corner cases a run reached. They never influence the protocol.

/// Situations one `Node` went through since it was restored. Every field only grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Elections this node started (section 5.2).
    pub elections_started: u64,
    /// Elections started by a candidate whose previous election in the last term had not
    /// ended: a split vote or lost votes (section 5.2).
    pub elections_restarted: u64,
    /// Votes refused because the candidate's log was less up-to-date (section 5.4.1).
    pub votes_refused_log_behind: u64,
    /// Times this node, as leader, learned of a higher term and stepped down (section 5.1).
    pub leader_stepped_down: u64,
    /// AppendEntries rejected because the sender's term was stale (section 5.1).
    pub appends_rejected_stale_term: u64,
    /// Times a follower deleted conflicting uncommitted entries (section 5.3).
    pub uncommitted_truncations: u64,
    /// Entries deleted in those truncations.
    pub uncommitted_entries_truncated: u64,
    /// Times this node, as leader, found where a follower's log diverged or ended, after at
    /// least one rejection, and then had more than 10 entries to send it (section 5.3).
    pub follower_repairs_over_10: u64,
    /// Times an entry of an earlier term was on a quorum but could not be committed by
    /// counting, and was committed later through a current-term entry (section 5.4.2).
    pub commits_waited_for_current_term: u64,
    /// Vote requests ignored because the candidate is not a member (section 6).
    pub votes_ignored_non_member: u64,
    /// Configurations no longer in effect because their entry was deleted (section 6).
    pub configurations_rolled_back: u64,
    /// Times this node, as leader, stepped down because C(new) left it out (section 6).
    pub leader_removed: u64,
    /// Snapshot transfers this node, as leader, started to a follower that needed entries
    /// it had compacted (section 7).
    pub snapshots_sent: u64,
    /// Snapshot chunks this leader sent again: lost, or asked for again after a duplicate.
    pub snapshot_chunks_resent: u64,
    /// Transfers a follower made this leader restart from the first byte: it had lost the
    /// chunks it held (a crash half-way) or started another snapshot.
    pub snapshot_transfers_restarted: u64,
    /// Snapshots a leader sent that this node installed, replacing its log (section 7).
    pub snapshots_installed: u64,
}
