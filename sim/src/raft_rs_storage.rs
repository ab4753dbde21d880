//! The `raftrs::Storage` the raft-rs adapter hands its `RawNode`: the node's log as raft-rs
//! reads it, its hard and configuration state, and its latest snapshot with the state
//! machine's bytes (raft-rs's own `MemStorage` keeps only a snapshot's metadata, and its
//! `compact` forgets the term of the entry before the first it keeps).
//!
//! It mirrors what the simulated disk holds, written by the adapter from each `Ready` in the
//! order raft-rs documents: the snapshot, then the entries, then the hard state. A bad request
//! from raft-rs gets an error, never a panic: a node must not crash the simulator.

// Generated protobuf structs are built field by field.
#![allow(clippy::field_reassign_with_default)]

use raftrs::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raftrs::{GetEntriesContext, RaftState, Storage, StorageError};
use std::cell::Cell;

/// The log after a snapshot, with the snapshot itself.
#[derive(Default)]
pub struct SimStorage {
    hard_state: HardState,
    conf_state: ConfState,
    /// The latest snapshot, taken or received; index 0 if none.
    snapshot: Snapshot,
    /// The (index, term) of the entry just before `entries`: the last compacted one.
    before: (u64, u64),
    /// Consecutive entries from `before.0 + 1`.
    entries: Vec<Entry>,
    /// Set when raft-rs asked for a snapshot that `snapshot` cannot be: too old, or from
    /// before the follower it is for joined (raft-rs's follower refuses a snapshot whose
    /// configuration does not name it). The adapter then takes a new one; raft-rs asks again.
    wanted: Cell<bool>,
}

impl SimStorage {
    /// Storage that starts from `conf_state`, with an empty log.
    pub fn new(conf_state: ConfState) -> SimStorage {
        SimStorage {
            conf_state,
            ..SimStorage::default()
        }
    }

    /// Storage that restarts from `snapshot`: its configuration, its last entry.
    pub fn from_snapshot(snapshot: Snapshot) -> SimStorage {
        let meta = snapshot.get_metadata();
        SimStorage {
            conf_state: meta.get_conf_state().clone(),
            before: (meta.index, meta.term),
            snapshot,
            ..SimStorage::default()
        }
    }

    /// The latest snapshot (index 0 if none).
    pub fn snapshot_taken(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Keeps `hard_state` as the durable one.
    pub fn set_hard_state(&mut self, hard_state: HardState) {
        self.hard_state = hard_state;
    }

    /// Appends `entries`, replacing the log from the first one's index on. Entries at or
    /// before the snapshot are refused.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), String> {
        let Some(first) = entries.first().map(|e| e.index) else {
            return Ok(());
        };
        if first <= self.before.0 || first > self.last() + 1 {
            return Err(format!(
                "entries from {first} do not follow the log ({}..={})",
                self.before.0 + 1,
                self.last()
            ));
        }
        self.entries.truncate((first - self.before.0 - 1) as usize);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    /// Installs a leader's snapshot: it replaces the log and the configuration (section 7;
    /// raft-rs has already discarded what the snapshot covers from its own view of the log).
    pub fn install(&mut self, snapshot: Snapshot) {
        let meta = snapshot.get_metadata();
        self.conf_state = meta.get_conf_state().clone();
        self.before = (meta.index, meta.term);
        self.entries.clear();
        self.hard_state.commit = self.hard_state.commit.max(meta.index);
        self.hard_state.term = self.hard_state.term.max(meta.term);
        self.snapshot = snapshot;
    }

    /// Keeps `snapshot` (taken at an applied index within the log) as the latest, and drops
    /// the entries before `keep_from` (at most through the snapshot's index).
    pub fn compact(&mut self, snapshot: Snapshot, keep_from: u64) -> Result<(), String> {
        let index = snapshot.get_metadata().index;
        if index <= self.snapshot.get_metadata().index || index > self.last() {
            return Err(format!("a snapshot at {index} outside the log"));
        }
        let keep_from = keep_from.clamp(self.before.0 + 1, index + 1);
        let drop = (keep_from - self.before.0 - 1) as usize;
        let prev_term = match drop {
            0 => self.before.1,
            n => self.entries[n - 1].term,
        };
        self.entries.drain(..drop);
        self.before = (keep_from - 1, prev_term);
        self.snapshot = snapshot;
        Ok(())
    }

    /// Whether raft-rs asked for a newer snapshot since the last call.
    pub fn take_wanted(&self) -> bool {
        self.wanted.replace(false)
    }

    fn last(&self) -> u64 {
        self.before.0 + self.entries.len() as u64
    }
}

fn err(e: StorageError) -> raftrs::Error {
    raftrs::Error::Store(e)
}

impl Storage for SimStorage {
    fn initial_state(&self) -> raftrs::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raftrs::Result<Vec<Entry>> {
        if low <= self.before.0 {
            return Err(err(StorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(err(StorageError::Unavailable));
        }
        let from = (low - self.before.0 - 1) as usize;
        let to = (high - self.before.0 - 1) as usize;
        let mut entries = self.entries[from..to].to_vec();
        raftrs::util::limit_size(&mut entries, max_size.into());
        Ok(entries)
    }

    fn term(&self, index: u64) -> raftrs::Result<u64> {
        if index == self.before.0 {
            return Ok(self.before.1);
        }
        if index < self.before.0 {
            return Err(err(StorageError::Compacted));
        }
        match self.entries.get((index - self.before.0 - 1) as usize) {
            Some(e) => Ok(e.term),
            None => Err(err(StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> raftrs::Result<u64> {
        Ok(self.before.0 + 1)
    }

    fn last_index(&self) -> raftrs::Result<u64> {
        Ok(self.last())
    }

    /// The latest snapshot; raft-rs asks for one when follower `to` needs entries compacted
    /// away. One that cannot serve (see `wanted`) is "temporarily unavailable".
    fn snapshot(&self, request_index: u64, to: u64) -> raftrs::Result<Snapshot> {
        let meta = self.snapshot.get_metadata();
        let cs = meta.get_conf_state();
        let names_to = [
            &cs.voters,
            &cs.voters_outgoing,
            &cs.learners,
            &cs.learners_next,
        ]
        .iter()
        .any(|ids| ids.contains(&to));
        if meta.index < request_index.max(1) || !names_to {
            self.wanted.set(true);
            return Err(err(StorageError::SnapshotTemporarilyUnavailable));
        }
        Ok(self.snapshot.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> Entry {
        let mut e = Entry::default();
        e.index = index;
        e.term = term;
        e
    }

    fn snapshot(index: u64, term: u64) -> Snapshot {
        let mut s = Snapshot::default();
        s.mut_metadata().index = index;
        s.mut_metadata().term = term;
        s.data = vec![7].into();
        s
    }

    #[test]
    fn a_compacted_log_keeps_the_term_before_its_first_entry() {
        // Section 5.3: the consistency check needs the term at prevLogIndex, also right after
        // a compaction (section 7).
        let mut s = SimStorage::new(ConfState::from((vec![1, 2, 3], vec![])));
        s.append(&[entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)])
            .unwrap();
        s.compact(snapshot(3, 2), 3).unwrap();
        assert_eq!(s.first_index().unwrap(), 3);
        assert_eq!(s.term(2).unwrap(), 1);
        assert!(s.term(1).is_err());
        assert!(s
            .entries(2, 4, None, GetEntriesContext::empty(false))
            .is_err());
        let got = s
            .entries(3, 5, None, GetEntriesContext::empty(false))
            .unwrap();
        assert_eq!(got.iter().map(|e| e.index).collect::<Vec<_>>(), vec![3, 4]);
        // The snapshot names no member (`snapshot()` above): raft-rs's follower would
        // refuse it, so a new one is wanted.
        assert!(s.snapshot(3, 2).is_err());
        assert!(s.take_wanted() && !s.take_wanted());
        let mut named = snapshot(3, 2);
        named
            .mut_metadata()
            .set_conf_state(ConfState::from((vec![1, 2], vec![])));
        s.snapshot = named;
        assert_eq!(s.snapshot(3, 2).unwrap().data.to_vec(), vec![7]);
        assert!(s.snapshot(4, 2).is_err());
        assert!(s.take_wanted());
        // A write that replaces the tail truncates it; one before the compaction is refused.
        s.append(&[entry(4, 3)]).unwrap();
        assert_eq!(s.term(4).unwrap(), 3);
        assert!(s.append(&[entry(2, 3)]).is_err());
        assert!(s.append(&[entry(6, 3)]).is_err());
    }

    #[test]
    fn an_installed_snapshot_replaces_the_log_and_the_configuration() {
        let mut s = SimStorage::new(ConfState::from((vec![1, 2, 3], vec![])));
        s.append(&[entry(1, 1), entry(2, 1)]).unwrap();
        let mut snap = snapshot(9, 4);
        snap.mut_metadata()
            .set_conf_state(ConfState::from((vec![1, 2, 4], vec![])));
        s.install(snap);
        assert_eq!(s.first_index().unwrap(), 10);
        assert_eq!(s.last_index().unwrap(), 9);
        assert_eq!(s.term(9).unwrap(), 4);
        let state = s.initial_state().unwrap();
        assert_eq!(state.conf_state.voters, vec![1, 2, 4]);
        assert_eq!(state.hard_state.commit, 9);
        assert!(s
            .entries(10, 11, None, GetEntriesContext::empty(false))
            .is_err());
    }
}
