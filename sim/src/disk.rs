//! A node's disk: writes land in a volatile buffer; a sync makes every write issued before it
//! durable; a crash keeps what was synced, and on a torn crash also a prefix of the rest.
//!
//! The disk is a write-ahead log of records in the order they are issued. One output of a node
//! becomes up to six records: its term and vote, its snapshot, the compaction of the log that
//! snapshot covers, its log write, its commit index, its state machine's checkpoint. That order
//! keeps every prefix restorable: no snapshot or entry is durable without the term that made
//! it, no compaction without its snapshot, no commit index without the entries it covers, and
//! no checkpoint without the commit index of the entries it reflects. The snapshot and its
//! compaction are separate records so that a torn crash can fall between them, as a real
//! disk's can: [`DurableState::log_after_snapshot`], the rule a node restarts by, makes a
//! snapshot without its compaction the same as one with it.

use crate::node::{DurableState, HardState, LogWrite, StoredCheckpoint, StoredSnapshot};
use std::collections::VecDeque;

/// Most writes a disk buffers between syncs. A node that writes without ever syncing this much
/// is a bug in the node, reported by the simulator.
pub const PENDING_WRITES_MAX: usize = 1 << 20;

/// One record. Only a log write can be torn; the others reach the platter whole or not at all.
#[derive(Clone, Debug)]
enum Write {
    TermVote {
        term: u64,
        vote: Option<u64>,
    },
    Snapshot(StoredSnapshot),
    /// Drops the log entries the durable snapshot covers.
    Compact,
    Log(LogWrite),
    Commit(u64),
    /// The state machine's checkpoint: issued after the output's other records, so no prefix
    /// holds a checkpoint without the entries and the commit index it reflects.
    Checkpoint(StoredCheckpoint),
}

/// What a crash did to the writes that were not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashLoss {
    /// Records lost, whole or in part.
    pub lost: u64,
    /// Records that survived whole or in part although never synced (a torn write).
    pub kept: u64,
    /// Below this index the durable log is the log as issued: no write the crash lost or
    /// tore reached down there. 0 when a lost snapshot or compaction makes the durable log
    /// start elsewhere; `u64::MAX` when no log write was lost.
    pub log_intact_below: u64,
}

impl Default for CrashLoss {
    /// A crash that lost nothing: the whole log is intact.
    fn default() -> Self {
        CrashLoss {
            lost: 0,
            kept: 0,
            log_intact_below: u64::MAX,
        }
    }
}

/// One node's simulated disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    durable: DurableState,
    /// The hard state as of the last write issued, synced or not.
    issued: HardState,
    pending: VecDeque<Write>,
    /// Writes issued so far, and writes made durable so far.
    writes_issued: u64,
    writes_durable: u64,
    /// Syncs requested and not yet done: (sync id, writes_issued when requested).
    syncs_outstanding: VecDeque<(u64, u64)>,
    sync_id_last: u64,
}

impl Disk {
    /// What survives a crash now.
    pub fn durable(&self) -> &DurableState {
        &self.durable
    }

    /// Buffers one output's writes: a new term or vote first, then a snapshot and the
    /// compaction of the log it covers, then the log, then a new commit index.
    pub fn write(
        &mut self,
        hard_state: Option<HardState>,
        snapshot: Option<StoredSnapshot>,
        log: Option<LogWrite>,
    ) {
        let hs = hard_state.unwrap_or(self.issued);
        if (hs.term, hs.vote) != (self.issued.term, self.issued.vote) {
            self.push(Write::TermVote {
                term: hs.term,
                vote: hs.vote,
            });
        }
        if let Some(snapshot) = snapshot {
            // A snapshot covers entries of terms the node has seen: its term is never ahead of
            // the node's, so no prefix holds a snapshot without the term that made it.
            assert!(
                snapshot.term <= hs.term,
                "a snapshot of term {} written in term {}",
                snapshot.term,
                hs.term
            );
            self.push(Write::Snapshot(snapshot));
            self.push(Write::Compact);
        }
        if let Some(log) = log {
            self.push(Write::Log(log));
        }
        if hs.commit != self.issued.commit {
            self.push(Write::Commit(hs.commit));
        }
        self.issued = hs;
    }

    /// Buffers a checkpoint of the state machine, after the output's other writes.
    pub fn write_checkpoint(&mut self, checkpoint: StoredCheckpoint) {
        self.push(Write::Checkpoint(checkpoint));
    }

    fn push(&mut self, write: Write) {
        assert!(
            self.pending.len() < PENDING_WRITES_MAX,
            "a node wrote {PENDING_WRITES_MAX} times without a sync"
        );
        self.pending.push_back(write);
        self.writes_issued += 1;
    }

    /// Starts a sync of every write issued so far; returns its id.
    pub fn request_sync(&mut self) -> u64 {
        self.sync_id_last += 1;
        self.syncs_outstanding
            .push_back((self.sync_id_last, self.writes_issued));
        self.sync_id_last
    }

    /// True while a sync is outstanding.
    pub fn syncing(&self) -> bool {
        !self.syncs_outstanding.is_empty()
    }

    /// The id of the latest sync requested.
    pub fn sync_id_last(&self) -> u64 {
        self.sync_id_last
    }

    /// Completes sync `id` (syncs complete in order). Returns false if it is unknown, as after
    /// a crash.
    pub fn complete_sync(&mut self, id: u64) -> bool {
        let Some(&(front_id, upto)) = self.syncs_outstanding.front() else {
            return false;
        };
        if front_id != id {
            return false;
        }
        self.syncs_outstanding.pop_front();
        while self.writes_durable < upto {
            let write = self
                .pending
                .pop_front()
                .expect("a sync covers only issued writes");
            self.apply(write);
            self.writes_durable += 1;
        }
        true
    }

    fn apply(&mut self, write: Write) {
        match write {
            Write::TermVote { term, vote } => {
                self.durable.hard_state.term = term;
                self.durable.hard_state.vote = vote;
            }
            Write::Snapshot(snapshot) => self.durable.snapshot = Some(snapshot),
            Write::Compact => {
                assert!(
                    self.durable.snapshot.is_some(),
                    "a compaction reached the disk before its snapshot"
                );
                self.compact();
            }
            Write::Log(write) => self.apply_log(write),
            Write::Commit(commit) => self.durable.hard_state.commit = commit,
            Write::Checkpoint(checkpoint) => self.durable.checkpoint = Some(checkpoint),
        }
    }

    /// Drops the entries before those a node restarts with: the ones the snapshot covers, or
    /// the whole log when the snapshot replaced it.
    fn compact(&mut self) {
        let covered = self.durable.log.len() - self.durable.log_after_snapshot().len();
        self.durable.log.drain(..covered);
    }

    /// Keeps the entries before `from_index` and appends the new ones.
    fn apply_log(&mut self, write: LogWrite) {
        let LogWrite {
            from_index,
            entries,
        } = write;
        let snapshot_index = self.durable.snapshot.as_ref().map(|s| s.index);
        if let Some(snapshot_index) = snapshot_index {
            assert!(
                from_index > snapshot_index,
                "a log write from index {from_index} rewrites the snapshot through {snapshot_index}"
            );
            // After a tear between a snapshot and its compaction the log still holds entries
            // before the snapshot's end; left there, a conflicting one would hide the new
            // entries from `log_after_snapshot`. The write applies to the log a node restarts
            // with, so that log is made the durable one first.
            self.compact();
        }
        let first = self
            .durable
            .log
            .first()
            .map_or(snapshot_index.unwrap_or(0) + 1, |e| e.index);
        let end = first + self.durable.log.len() as u64;
        assert!(
            (first..=end).contains(&from_index),
            "a log write from index {from_index} leaves a gap in the durable log, which holds \
             indexes {first}..{end}"
        );
        assert!(
            entries
                .iter()
                .zip(from_index..)
                .all(|(e, index)| e.index == index),
            "a log write from index {from_index} holds entries out of sequence"
        );
        self.durable.log.truncate((from_index - first) as usize);
        self.durable.log.extend(entries);
    }

    /// The (index, term) of the last durable entry a node restarts with, else of the durable
    /// snapshot, else (0, 0).
    pub fn durable_last(&self) -> (u64, u64) {
        self.durable.last()
    }

    /// Power loss: unsynced writes vanish.
    pub fn crash(&mut self) -> CrashLoss {
        self.crash_keeping(0, 0)
    }

    /// Power loss with a torn write: a prefix of the unsynced records, drawn from `rng`,
    /// reached the platter; the last of them may be a log write cut after some of its entries.
    /// Every other record, a snapshot and a compaction among them, is whole or lost.
    pub fn crash_torn(&mut self, rng: &mut impl rand::Rng) -> CrashLoss {
        let records = self.pending.len();
        if records == 0 {
            return self.crash();
        }
        let whole = rng.gen_range(0..records);
        let entries = match &self.pending[whole] {
            Write::Log(w) => rng.gen_range(0..=w.entries.len()),
            _ => 0,
        };
        self.crash_keeping(whole, entries)
    }

    /// Keeps the first `whole` pending records, and the first `entries` entries of the next
    /// one if it is a log write; the rest is lost.
    fn crash_keeping(&mut self, whole: usize, entries: usize) -> CrashLoss {
        let total = self.pending.len() as u64;
        // The record at `whole` is lost or torn: either way it counts as changed.
        let log_intact_below = self
            .pending
            .iter()
            .skip(whole)
            .map(|write| match write {
                Write::Log(w) => w.from_index,
                Write::Snapshot(_) | Write::Compact => 0,
                Write::TermVote { .. } | Write::Commit(_) | Write::Checkpoint(_) => u64::MAX,
            })
            .min()
            .unwrap_or(u64::MAX);
        let mut kept = 0;
        for _ in 0..whole {
            let write = self.pending.pop_front().expect("whole < pending");
            self.apply(write);
            kept += 1;
        }
        if let Some(Write::Log(w)) = self.pending.pop_front() {
            if entries > 0 {
                let LogWrite {
                    from_index,
                    entries: all,
                } = w;
                let part = all.into_iter().take(entries).collect();
                self.apply(Write::Log(LogWrite {
                    from_index,
                    entries: part,
                }));
                kept += 1;
            }
        }
        self.pending.clear();
        self.syncs_outstanding.clear();
        self.writes_durable += kept;
        self.writes_issued = self.writes_durable;
        self.issued = self.durable.hard_state;
        CrashLoss {
            lost: total - kept,
            kept,
            log_intact_below,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{EntryKind, Membership, StoredEntry};
    use rand::SeedableRng;

    fn entries(from: u64, to: u64, term: u64) -> LogWrite {
        let entries = (from..=to)
            .map(|index| StoredEntry {
                index,
                term,
                kind: EntryKind::Command,
                data: vec![index as u8].into(),
            })
            .collect();
        LogWrite {
            from_index: from,
            entries,
        }
    }

    #[test]
    fn durable_state_holds_what_a_restart_would_hold() {
        let mut d = DurableState {
            log: entries(1, 3, 2).entries,
            ..DurableState::default()
        };
        assert!(d.holds(2, 2) && d.holds(3, 2));
        assert!(!d.holds(2, 1), "another term at that index");
        assert!(!d.holds(4, 2), "past the end");
        d.snapshot = Some(StoredSnapshot {
            index: 5,
            term: 3,
            membership: Membership::simple(&[1, 2, 3]),
            data: Vec::new(),
        });
        d.log = entries(6, 7, 3).entries;
        assert!(d.holds(4, 1), "a snapshot covers committed entries only");
        assert!(d.holds(7, 3) && !d.holds(8, 3));
    }

    fn hs(term: u64) -> HardState {
        HardState {
            term,
            vote: Some(1),
            commit: 0,
        }
    }

    fn snapshot(index: u64, term: u64) -> StoredSnapshot {
        StoredSnapshot {
            index,
            term,
            membership: Membership::simple(&[1, 2, 3]),
            data: vec![index as u8, term as u8],
        }
    }

    fn indexes(log: &[StoredEntry]) -> Vec<u64> {
        log.iter().map(|e| e.index).collect()
    }

    /// Writes and syncs.
    fn write_synced(
        disk: &mut Disk,
        hard_state: Option<HardState>,
        snapshot: Option<StoredSnapshot>,
        log: Option<LogWrite>,
    ) {
        disk.write(hard_state, snapshot, log);
        let sync = disk.request_sync();
        assert!(disk.complete_sync(sync));
    }

    /// A disk whose durable log holds entries 1..=`last` of `term`.
    fn disk_with_log(last: u64, term: u64) -> Disk {
        let mut disk = Disk::default();
        write_synced(
            &mut disk,
            Some(hs(term)),
            None,
            Some(entries(1, last, term)),
        );
        disk
    }

    /// The entries a node restarts with, consecutive from just after the snapshot (or from 1).
    fn assert_restorable(d: &DurableState, context: &str) {
        let first = d.snapshot.as_ref().map_or(1, |s| s.index + 1);
        let after = d.log_after_snapshot();
        assert!(
            after.iter().zip(first..).all(|(e, index)| e.index == index),
            "{context}: the log a node restarts with is {:?}, not consecutive from {first}",
            indexes(after)
        );
        assert!(
            d.hard_state.commit <= d.last().0,
            "{context}: commit {} beyond the last entry {:?}",
            d.hard_state.commit,
            d.last()
        );
        let snapshot_term = d.snapshot.as_ref().map_or(0, |s| s.term);
        assert!(
            after
                .iter()
                .map(|e| e.term)
                .chain([snapshot_term])
                .all(|term| term <= d.hard_state.term),
            "{context}: an entry or the snapshot is from a term after {}",
            d.hard_state.term
        );
    }

    #[test]
    fn only_synced_writes_survive_a_crash() {
        let mut disk = Disk::default();
        disk.write(Some(hs(1)), None, Some(entries(1, 3, 1)));
        let first = disk.request_sync();
        disk.write(Some(hs(2)), None, Some(entries(4, 5, 1)));
        let second = disk.request_sync();
        assert!(disk.syncing());
        assert_eq!(
            disk.durable_last(),
            (0, 0),
            "nothing is durable before a sync completes"
        );
        assert!(disk.complete_sync(first));
        assert_eq!(disk.durable_last(), (3, 1));
        assert_eq!(disk.durable().hard_state.term, 1);
        let loss = disk.crash();
        assert_eq!(
            loss,
            CrashLoss {
                lost: 2,
                kept: 0,
                log_intact_below: 4
            },
            "the second sync's writes are lost: the log from index 4 on"
        );
        assert!(
            !disk.complete_sync(second),
            "a sync cut by the crash never completes"
        );
        assert_eq!(disk.durable().log.len(), 3);
        assert_eq!(disk.durable().hard_state, hs(1));
        assert!(!disk.syncing());
    }

    #[test]
    fn syncs_complete_in_order_and_truncate() {
        let mut disk = Disk::default();
        disk.write(None, None, Some(entries(1, 4, 1)));
        let a = disk.request_sync();
        disk.write(None, None, Some(entries(3, 3, 2)));
        let b = disk.request_sync();
        assert!(!disk.complete_sync(b), "b cannot complete before a");
        assert!(disk.complete_sync(a));
        assert!(disk.complete_sync(b));
        let terms: Vec<u64> = disk.durable().log.iter().map(|e| e.term).collect();
        assert_eq!(terms, vec![1, 1, 2], "entry 3 replaced, entry 4 dropped");
        assert_eq!(disk.crash(), CrashLoss::default());
    }

    #[test]
    fn a_snapshot_compacts_the_log_it_covers() {
        // Section 7: once a snapshot is durable, the entries through its index are dropped.
        let mut disk = disk_with_log(10, 1);
        write_synced(&mut disk, None, Some(snapshot(6, 1)), None);
        assert_eq!(disk.durable().snapshot, Some(snapshot(6, 1)));
        assert_eq!(indexes(&disk.durable().log), vec![7, 8, 9, 10]);
        assert_eq!(disk.durable_last(), (10, 1));
        // A log write on the compacted log counts indexes from the snapshot, not from 1.
        write_synced(&mut disk, Some(hs(2)), None, Some(entries(9, 11, 2)));
        assert_eq!(indexes(&disk.durable().log), vec![7, 8, 9, 10, 11]);
        assert_eq!(disk.durable().log[1].term, 1, "entry 8 is kept");
        assert_eq!(disk.durable().log[2].term, 2, "entry 9 is replaced");
        // A snapshot of the whole log leaves it empty; the snapshot is then the last entry.
        write_synced(&mut disk, None, Some(snapshot(11, 2)), None);
        assert!(disk.durable().log.is_empty());
        assert_eq!(disk.durable_last(), (11, 2));
        write_synced(&mut disk, None, None, Some(entries(12, 13, 2)));
        assert_eq!(indexes(&disk.durable().log), vec![12, 13]);
        assert_eq!(disk.durable_last(), (13, 2));
        assert_restorable(disk.durable(), "after compactions");
    }

    #[test]
    fn a_snapshot_that_replaces_the_log_empties_it() {
        // Section 7: a follower whose log conflicts with a leader's snapshot, or ends before
        // it, discards its whole log.
        for (log_last, snap, why) in [
            (
                10,
                snapshot(6, 2),
                "entry 6 has term 1, the snapshot term 2",
            ),
            (3, snapshot(6, 1), "the log ends before the snapshot"),
        ] {
            let mut disk = disk_with_log(log_last, 1);
            write_synced(&mut disk, Some(hs(2)), Some(snap.clone()), None);
            assert!(disk.durable().log.is_empty(), "{why}");
            assert_eq!(disk.durable_last(), (snap.index, snap.term), "{why}");
            write_synced(&mut disk, None, None, Some(entries(7, 8, 2)));
            assert_eq!(indexes(&disk.durable().log), vec![7, 8], "{why}");
            assert_restorable(disk.durable(), why);
        }
    }

    #[test]
    fn a_log_write_after_a_tear_before_compaction_applies_to_the_log_after_the_snapshot() {
        // The tear keeps the snapshot and loses its compaction: the durable log still holds
        // 1..=10 of term 1, which the snapshot of term 2 at 6 replaces. The node restarts with
        // no entries and writes from 7; those entries must be what it restarts with next.
        let mut disk = disk_with_log(10, 1);
        disk.write(Some(hs(2)), Some(snapshot(6, 2)), None);
        let loss = disk.crash_keeping(2, 0);
        assert_eq!(
            loss,
            CrashLoss {
                lost: 1,
                kept: 2,
                log_intact_below: 0
            },
            "the compaction is lost: the durable log starts elsewhere"
        );
        assert_eq!(indexes(&disk.durable().log).len(), 10);
        assert!(disk.durable().log_after_snapshot().is_empty());
        write_synced(&mut disk, None, None, Some(entries(7, 8, 2)));
        assert_eq!(indexes(disk.durable().log_after_snapshot()), vec![7, 8]);
        assert_eq!(disk.durable_last(), (8, 2));
    }

    #[test]
    #[should_panic(expected = "rewrites the snapshot through 6")]
    fn a_log_write_into_the_snapshot_is_a_bug() {
        let mut disk = disk_with_log(10, 1);
        write_synced(&mut disk, None, Some(snapshot(6, 1)), None);
        write_synced(&mut disk, None, None, Some(entries(6, 7, 1)));
    }

    #[test]
    #[should_panic(expected = "leaves a gap in the durable log, which holds indexes 7..11")]
    fn a_log_write_past_the_end_is_a_bug() {
        let mut disk = disk_with_log(10, 1);
        write_synced(&mut disk, None, Some(snapshot(6, 1)), None);
        write_synced(&mut disk, None, None, Some(entries(12, 12, 1)));
    }

    #[test]
    fn a_crash_between_snapshot_and_compaction_restores_either_side() {
        // The snapshot, its compaction and a commit are unsynced when the power fails. A tear
        // may keep the snapshot and lose the compaction; the node must then restart as if the
        // compaction had happened. If the snapshot and its compaction were one record, the
        // tear between them would never happen; if the compaction came first, no tear would
        // leave the log compacted: either way the counts below stay at zero.
        let full = disk_with_log(10, 1).durable().log.clone();
        let (mut torn_between, mut compacted, mut lost) = (0, 0, 0);
        for seed in 0..64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut disk = disk_with_log(10, 1);
            let commit = HardState { commit: 6, ..hs(1) };
            disk.write(Some(commit), Some(snapshot(6, 1)), None);
            disk.crash_torn(&mut rng);
            let d = disk.durable();
            match &d.snapshot {
                None => {
                    assert_eq!(d.log, full, "seed {seed}: no snapshot, the full log");
                    lost += 1;
                }
                Some(s) => {
                    assert_eq!(*s, snapshot(6, 1), "seed {seed}");
                    assert_eq!(d.log_after_snapshot(), &full[6..], "seed {seed}");
                    if d.log.first().is_some_and(|e| e.index <= 6) {
                        torn_between += 1;
                    } else {
                        compacted += 1;
                    }
                }
            }
            assert_eq!(d.last(), (10, 1), "seed {seed}");
            assert_restorable(d, &format!("seed {seed}"));
            // The restarted node appends; the disk goes on from the log it restarted with.
            write_synced(&mut disk, None, None, Some(entries(11, 11, 1)));
            assert_eq!(disk.durable_last(), (11, 1), "seed {seed}");
            assert_restorable(disk.durable(), &format!("seed {seed}, after an append"));
        }
        assert!(
            torn_between > 0 && compacted > 0 && lost > 0,
            "tears land before, between and after: {lost} {torn_between} {compacted}"
        );
    }

    /// Three outputs: the first synced, the second and third (one with a snapshot) not.
    fn write_three_outputs(disk: &mut Disk) {
        let first = HardState {
            term: 1,
            vote: Some(1),
            commit: 0,
        };
        write_synced(disk, Some(first), None, Some(entries(1, 2, 1)));
        let second = HardState {
            term: 2,
            vote: None,
            commit: 4,
        };
        disk.write(Some(second), None, Some(entries(2, 5, 2)));
        let third = HardState {
            term: 3,
            vote: Some(2),
            commit: 6,
        };
        disk.write(Some(third), Some(snapshot(4, 2)), Some(entries(6, 6, 3)));
    }

    #[test]
    fn a_torn_crash_keeps_a_restorable_prefix() {
        // Every prefix of term/vote, snapshot, compaction, log and commit records restores to
        // a state in which the log follows the snapshot without a gap, the commit index is
        // within it, and no entry or snapshot has a term above the hard state's.
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut disk = Disk::default();
            write_three_outputs(&mut disk);
            let loss = disk.crash_torn(&mut rng);
            assert_eq!(
                loss.lost + loss.kept,
                8,
                "seed {seed}: outputs of three and five records"
            );
            let d = disk.durable().clone();
            assert_restorable(&d, &format!("seed {seed}"));
            kinds.insert((loss.kept, d.log.len(), d.snapshot.is_some()));
            // The disk goes on working after a torn crash.
            let next = d.last().0 + 1;
            let hard_state = HardState {
                term: 4,
                ..d.hard_state
            };
            write_synced(
                &mut disk,
                Some(hard_state),
                None,
                Some(entries(next, next, 4)),
            );
            assert_eq!(disk.durable_last(), (next, 4), "seed {seed}");
            assert_restorable(disk.durable(), &format!("seed {seed}, after an append"));
        }
        assert!(kinds.len() >= 8, "tears land in many places: {kinds:?}");
    }
}
