//! A node's disk: writes land in a volatile buffer; a sync makes every write issued before it
//! durable; a crash keeps what was synced, and on a torn crash also a prefix of the rest.
//!
//! The disk is a write-ahead log of records in the order they are issued. One output of a node
//! becomes up to three records: its term and vote, then its log write, then its commit index.
//! That order keeps every prefix restorable: no entry is durable without the term that made
//! it, and no commit index without the entries it covers.

use crate::node::{DurableState, HardState, LogWrite};
use std::collections::VecDeque;

/// Most writes a disk buffers between syncs. A node that writes without ever syncing this much
/// is a bug in the node, reported by the simulator.
pub const PENDING_WRITES_MAX: usize = 1 << 20;

#[derive(Clone, Debug)]
enum Write {
    TermVote { term: u64, vote: Option<u64> },
    Log(LogWrite),
    Commit(u64),
}

/// What a crash did to the writes that were not synced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashLoss {
    /// Records lost, whole or in part.
    pub lost: u64,
    /// Records that survived whole or in part although never synced (a torn write).
    pub kept: u64,
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

    /// Buffers one output's writes: a new term or vote first, then the log, then a new
    /// commit index.
    pub fn write(&mut self, hard_state: Option<HardState>, log: Option<LogWrite>) {
        let hs = hard_state.unwrap_or(self.issued);
        if (hs.term, hs.vote) != (self.issued.term, self.issued.vote) {
            self.push(Write::TermVote {
                term: hs.term,
                vote: hs.vote,
            });
        }
        if let Some(log) = log {
            self.push(Write::Log(log));
        }
        if hs.commit != self.issued.commit {
            self.push(Write::Commit(hs.commit));
        }
        self.issued = hs;
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
            Write::Commit(commit) => self.durable.hard_state.commit = commit,
            Write::Log(LogWrite {
                from_index,
                entries,
            }) => {
                let keep = from_index
                    .saturating_sub(1)
                    .min(self.durable.log.len() as u64);
                assert_eq!(
                    keep + 1,
                    from_index,
                    "a log write leaves a gap in the durable log"
                );
                self.durable.log.truncate(keep as usize);
                self.durable.log.extend(entries);
            }
        }
    }

    /// The last durable log entry's (index, term).
    pub fn durable_last(&self) -> (u64, u64) {
        self.durable
            .log
            .last()
            .map_or((0, 0), |e| (e.index, e.term))
    }

    /// Power loss: unsynced writes vanish.
    pub fn crash(&mut self) -> CrashLoss {
        self.crash_keeping(0, 0)
    }

    /// Power loss with a torn write: a prefix of the unsynced records, drawn from `rng`,
    /// reached the platter; the last of them may be a log write cut after some of its entries.
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{EntryKind, StoredEntry};

    fn entries(from: u64, to: u64, term: u64) -> LogWrite {
        let entries = (from..=to)
            .map(|index| StoredEntry {
                index,
                term,
                kind: EntryKind::Command,
                data: vec![index as u8],
            })
            .collect();
        LogWrite {
            from_index: from,
            entries,
        }
    }

    fn hs(term: u64) -> HardState {
        HardState {
            term,
            vote: Some(1),
            commit: 0,
        }
    }

    #[test]
    fn only_synced_writes_survive_a_crash() {
        let mut disk = Disk::default();
        disk.write(Some(hs(1)), Some(entries(1, 3, 1)));
        let first = disk.request_sync();
        disk.write(Some(hs(2)), Some(entries(4, 5, 1)));
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
            CrashLoss { lost: 2, kept: 0 },
            "the second sync's writes are lost"
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
        disk.write(None, Some(entries(1, 4, 1)));
        let a = disk.request_sync();
        disk.write(None, Some(entries(3, 3, 2)));
        let b = disk.request_sync();
        assert!(!disk.complete_sync(b), "b cannot complete before a");
        assert!(disk.complete_sync(a));
        assert!(disk.complete_sync(b));
        let terms: Vec<u64> = disk.durable().log.iter().map(|e| e.term).collect();
        assert_eq!(terms, vec![1, 1, 2], "entry 3 replaced, entry 4 dropped");
        assert_eq!(disk.crash(), CrashLoss::default());
    }

    #[test]
    fn a_torn_crash_keeps_a_restorable_prefix() {
        use rand::SeedableRng;
        // Every prefix of term/vote, log and commit records restores to a state in which
        // the commit index is within the log and no entry has a term above the hard state's.
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut disk = Disk::default();
            disk.write(
                Some(HardState {
                    term: 1,
                    vote: Some(1),
                    commit: 0,
                }),
                Some(entries(1, 2, 1)),
            );
            let first = disk.request_sync();
            assert!(disk.complete_sync(first));
            disk.write(
                Some(HardState {
                    term: 2,
                    vote: None,
                    commit: 4,
                }),
                Some(entries(2, 5, 2)),
            );
            disk.write(
                Some(HardState {
                    term: 3,
                    vote: Some(2),
                    commit: 6,
                }),
                Some(entries(6, 6, 3)),
            );
            let loss = disk.crash_torn(&mut rng);
            assert_eq!(
                loss.lost + loss.kept,
                6,
                "seed {seed}: two outputs of three records each"
            );
            let d = disk.durable();
            let last = d.log.last().map_or(0, |e| e.index);
            assert!(
                d.hard_state.commit <= last,
                "seed {seed}: commit {} beyond {last}",
                d.hard_state.commit
            );
            assert!(
                d.log.iter().all(|e| e.term <= d.hard_state.term),
                "seed {seed}"
            );
            assert!(
                d.log
                    .iter()
                    .enumerate()
                    .all(|(i, e)| e.index == i as u64 + 1),
                "seed {seed}"
            );
            kinds.insert((loss.kept, d.log.len()));
            // The disk goes on working after a torn crash.
            disk.write(
                Some(HardState {
                    term: 4,
                    ..d.hard_state
                }),
                None,
            );
            let s = disk.request_sync();
            assert!(disk.complete_sync(s));
            assert_eq!(disk.durable().hard_state.term, 4);
        }
        assert!(kinds.len() >= 6, "tears land in many places: {kinds:?}");
    }
}
