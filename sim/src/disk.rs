//! A node's disk: writes land in a volatile buffer; a sync makes every write issued before it
//! durable; a crash keeps only what was synced.

use crate::node::{DurableState, HardState, LogWrite};
use std::collections::VecDeque;

/// Most writes a disk buffers between syncs. A node that writes without ever syncing this much
/// is a bug in the node, reported by the simulator.
pub const PENDING_WRITES_MAX: usize = 1 << 20;

#[derive(Clone, Debug)]
enum Write {
    HardState(HardState),
    Log(LogWrite),
}

/// One node's simulated disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    durable: DurableState,
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

    /// Buffers a hard state write.
    pub fn write_hard_state(&mut self, hard_state: HardState) {
        self.push(Write::HardState(hard_state));
    }

    /// Buffers a log write.
    pub fn write_log(&mut self, write: LogWrite) {
        self.push(Write::Log(write));
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
            Write::HardState(hs) => self.durable.hard_state = hs,
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

    /// Power loss: unsynced writes vanish. Returns how many were lost.
    pub fn crash(&mut self) -> u64 {
        let lost = self.pending.len() as u64;
        self.pending.clear();
        self.syncs_outstanding.clear();
        self.writes_issued = self.writes_durable;
        lost
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
        disk.write_hard_state(hs(1));
        disk.write_log(entries(1, 3, 1));
        let first = disk.request_sync();
        disk.write_log(entries(4, 5, 1));
        disk.write_hard_state(hs(2));
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
        assert_eq!(disk.crash(), 2, "the second sync's writes are lost");
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
        disk.write_log(entries(1, 4, 1));
        let a = disk.request_sync();
        disk.write_log(entries(3, 3, 2));
        let b = disk.request_sync();
        assert!(!disk.complete_sync(b), "b cannot complete before a");
        assert!(disk.complete_sync(a));
        assert!(disk.complete_sync(b));
        let terms: Vec<u64> = disk.durable().log.iter().map(|e| e.term).collect();
        assert_eq!(terms, vec![1, 1, 2], "entry 3 replaced, entry 4 dropped");
        assert_eq!(disk.crash(), 0);
    }
}
