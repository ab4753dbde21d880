//! Named protocol situations, counted per run and per sweep.
//!
//! A run that never reaches a corner case proves nothing about it. Some situations only the
//! implementation can see (a vote refused for an out-of-date log); it reports them through
//! `Output::situations`. Others the simulator sees itself (a crash of the current leader).

use serde::Serialize;

macro_rules! situations {
    ($($(#[doc = $doc:literal])* $field:ident : $name:literal,)*) => {
        /// How often each named situation occurred.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
        pub struct Situations {
            $($(#[doc = $doc])* pub $field: u64,)*
        }

        impl Situations {
            /// Every situation: its name in reports, a description, its count.
            pub fn list(&self) -> Vec<(&'static str, &'static str, u64)> {
                vec![$(($name, concat!($($doc),*), self.$field),)*]
            }

            /// Adds `other`'s counts to these.
            pub fn add(&mut self, other: &Situations) {
                $(self.$field += other.$field;)*
            }
        }
    };
}

situations! {
    /// A candidate's election timed out and it started another (a split vote, lost votes).
    election_repeated: "election-repeated",
    /// A vote was refused because the candidate's log was less up-to-date (section 5.4.1).
    vote_refused_log_behind: "vote-refused-log-behind",
    /// A leader was elected in a term > 1 with a shorter log than some other node's.
    leader_shorter_log: "leader-shorter-log",
    /// A leader learned of a higher term and stepped down (section 5.1).
    old_leader_stepped_down: "old-leader-stepped-down",
    /// An AppendEntries from a leader of a stale term was rejected (section 5.1).
    stale_append_rejected: "stale-append-rejected",
    /// A follower deleted conflicting uncommitted entries (section 5.3).
    uncommitted_entry_overwritten: "uncommitted-entry-overwritten",
    /// A leader found where a follower's log diverged or ended, and had more than 10 entries to send it.
    follower_repaired_over_10: "follower-repaired-over-10",
    /// An earlier term's entry on a quorum was committed only through a current-term entry (Figure 8).
    commit_waited_for_current_term: "commit-waited-for-current-term",
    /// A client's retry was answered from the session cache, not executed again (dissertation 6.3).
    retry_answered_from_cache: "retry-answered-from-cache",
    /// A client's session had expired when its request was applied.
    session_expired: "session-expired",
    /// A vote request from a server outside the configuration was ignored (section 6).
    vote_ignored_non_member: "vote-ignored-non-member",
    /// A configuration was rolled back because its entry was deleted (section 6).
    configuration_rolled_back: "configuration-rolled-back",
    /// A leader left out of C(new) stepped down once C(new) committed (section 6).
    leader_removed: "leader-removed",
    /// A leader sent a snapshot to a follower that needed entries it had compacted (section 7).
    snapshot_sent: "snapshot-sent",
    /// A leader sent a snapshot chunk again: lost, or asked for again.
    snapshot_chunk_resent: "snapshot-chunk-resent",
    /// A follower lost the chunks it held (it restarted) and the transfer began again.
    snapshot_transfer_restarted: "snapshot-transfer-restarted",
    /// A follower installed a leader's snapshot, replacing its log (section 7).
    snapshot_installed: "snapshot-installed",
    /// A node restarted from a snapshot and the entries after it.
    restart_from_snapshot: "restart-from-snapshot",
    /// A node restarted with a snapshot on disk but its log not yet compacted.
    restart_before_compaction: "restart-before-compaction",
    /// A node restarted its state machine from a checkpoint and replayed only the entries
    /// after it.
    restart_from_checkpoint: "restart-from-checkpoint",
    /// The current leader crashed.
    leader_crashed: "leader-crashed",
    /// The current leader was cut off from a majority by a partition.
    leader_isolated: "leader-isolated",
    /// A node restarted without writes it had not synced.
    restart_lost_unsynced_writes: "restart-lost-unsynced-writes",
    /// A node restarted with a torn write: a prefix of its unsynced writes survived.
    restart_torn_writes: "restart-torn-writes",
    /// A client followed a leader hint to another node.
    client_redirected: "client-redirected",
    /// A client timed out and sent the same request again.
    client_retried: "client-retried",
    /// A client gave up on an operation, whose outcome is unknown.
    client_gave_up: "client-gave-up",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_list() {
        let mut a = Situations {
            leader_crashed: 2,
            ..Situations::default()
        };
        let b = Situations {
            leader_crashed: 1,
            client_gave_up: 4,
            ..Situations::default()
        };
        a.add(&b);
        let list = a.list();
        assert_eq!(list.iter().find(|s| s.0 == "leader-crashed").unwrap().2, 3);
        assert_eq!(list.iter().find(|s| s.0 == "client-gave-up").unwrap().2, 4);
        assert_eq!(list.iter().map(|s| s.2).sum::<u64>(), 7);
        assert!(list.iter().all(|s| !s.1.is_empty()));
    }
}
