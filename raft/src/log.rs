use crate::{Entry, Index, Payload, Term};

/// A node's log: entries at indexes `first_index()..=last_index()`, held in memory. The
/// entries through `compacted_index()` (0 without compaction) have been compacted away into a
/// snapshot: only the index and term of the last of them are kept, for the consistency check
/// (section 7). The snapshot itself may reach further: a log may keep some entries it covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    /// The last compacted index and its term; (0, 0) when nothing was compacted.
    snapshot_index: Index,
    snapshot_term: Term,
    /// The entries from `snapshot_index + 1` on.
    entries: Vec<Entry>,
    /// The indexes of the configuration entries among them, ascending: finding the
    /// configuration in effect costs the configurations, not the log.
    configs: Vec<Index>,
}

impl Log {
    /// Builds a log from entries that must be consecutive from index 1 with non-decreasing terms.
    pub fn from_entries(entries: Vec<Entry>) -> Result<Log, String> {
        Log::after_snapshot(0, 0, entries)
    }

    /// A log whose entries through `snapshot_index` (of `snapshot_term`) were compacted, then
    /// `entries`, which must be consecutive from `snapshot_index + 1` with non-decreasing terms
    /// not below `snapshot_term`.
    pub fn after_snapshot(
        snapshot_index: Index,
        snapshot_term: Term,
        entries: Vec<Entry>,
    ) -> Result<Log, String> {
        if (snapshot_index == 0) != (snapshot_term == 0) {
            return Err(format!(
                "snapshot at index {snapshot_index} with term {snapshot_term}: both or neither must be 0"
            ));
        }
        let mut term_prev = snapshot_term;
        let mut configs = Vec::new();
        for (position, entry) in entries.iter().enumerate() {
            let Some(index_expected) = snapshot_index.checked_add(position as Index + 1) else {
                return Err(format!(
                    "entry at position {position} beyond the last index"
                ));
            };
            if entry.index != index_expected {
                return Err(format!(
                    "entry at position {position} has index {}, expected {index_expected}",
                    entry.index
                ));
            }
            if entry.term < term_prev || entry.term == 0 {
                return Err(format!(
                    "entry {} has term {}, after term {term_prev}",
                    entry.index, entry.term
                ));
            }
            term_prev = entry.term;
            if matches!(entry.payload, Payload::Config(_)) {
                configs.push(entry.index);
            }
        }
        Ok(Log {
            snapshot_index,
            snapshot_term,
            entries,
            configs,
        })
    }

    /// Drops the entries from `from_index` on and appends `entries`, which must be
    /// consecutive from there with non-decreasing terms not below the entry before: the write
    /// a disk applies, for a host that rebuilds a log from one it held and the writes after.
    pub fn write(&mut self, from_index: Index, entries: Vec<Entry>) -> Result<(), String> {
        if from_index <= self.snapshot_index || from_index > self.last_index() + 1 {
            return Err(format!(
                "a write from index {from_index} to a log of indexes {}..={}",
                self.first_index(),
                self.last_index()
            ));
        }
        let mut term_prev = self.term(from_index - 1).unwrap_or(0);
        for (entry, index) in entries.iter().zip(from_index..) {
            if entry.index != index || entry.term < term_prev || entry.term == 0 {
                return Err(format!(
                    "entry {} of term {} written at index {index} after term {term_prev}",
                    entry.index, entry.term
                ));
            }
            term_prev = entry.term;
        }
        self.truncate_from(from_index);
        for entry in entries {
            self.push(entry);
        }
        Ok(())
    }

    /// The indexes of the configuration entries held, ascending.
    pub fn config_indexes(&self) -> &[Index] {
        &self.configs
    }

    /// The entries held, from `compacted_index() + 1` on, given up by the log.
    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    /// The last compacted index, 0 if none.
    pub fn compacted_index(&self) -> Index {
        self.snapshot_index
    }

    /// The term of the entry at `compacted_index()`, 0 if none.
    pub fn compacted_term(&self) -> Term {
        self.snapshot_term
    }

    /// The index of the first entry held, `compacted_index() + 1`.
    pub fn first_index(&self) -> Index {
        self.snapshot_index + 1
    }

    /// Forgets the entries through `index` (at most the last index), keeping its term.
    /// Compacting at or below the current snapshot index changes nothing.
    pub fn compact(&mut self, index: Index) {
        if index <= self.snapshot_index {
            return;
        }
        assert!(index <= self.last_index(), "compaction beyond the log");
        let term = self.term(index).expect("within the log");
        self.entries.drain(..(index - self.snapshot_index) as usize);
        let gone = self.configs.partition_point(|&i| i <= index);
        self.configs.drain(..gone);
        (self.snapshot_index, self.snapshot_term) = (index, term);
    }

    /// The index of the last entry (or of the snapshot), 0 if the log is empty.
    pub fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    /// The term of the last entry (or of the snapshot), 0 if the log is empty.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term of the entry at `index`: the snapshot's term at its index (0 for index 0);
    /// `None` below it (compacted) and past the end.
    pub fn term(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`, if held (not compacted, not past the end).
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        let position = index.checked_sub(self.snapshot_index + 1)?;
        self.entries.get(usize::try_from(position).ok()?)
    }

    /// The entries held from `from` through `to` inclusive, clamped to the log.
    pub fn slice(&self, from: Index, to: Index) -> &[Entry] {
        let start = from.max(self.first_index()) - self.first_index();
        let end = to
            .min(self.last_index())
            .saturating_sub(self.snapshot_index);
        if start >= end {
            return &[];
        }
        &self.entries[start as usize..end as usize]
    }

    /// The first index of the run of entries with the same term as the entry at `index`, not
    /// looking below `floor`. Used for the conflict hint of fast backtracking.
    pub fn first_index_of_term_at(&self, index: Index, floor: Index) -> Index {
        let Some(term) = self.term(index) else {
            return index;
        };
        let mut first = index;
        while first > floor.max(self.first_index()) && self.term(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The last index holding an entry of `term`, if any. Terms are non-decreasing along the
    /// log, so this is a binary search.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        let after = self.entries.partition_point(|e| e.term <= term);
        let Some(position) = after.checked_sub(1) else {
            // No entry held is of `term` or earlier: the snapshot's may be.
            return (term == self.snapshot_term && self.snapshot_index > 0)
                .then_some(self.snapshot_index);
        };
        let entry = &self.entries[position];
        (entry.term == term).then_some(entry.index)
    }

    /// Appends one entry; its index must be `last_index() + 1` and its term at least the last.
    pub(crate) fn push(&mut self, entry: Entry) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "log append out of order"
        );
        assert!(entry.term >= self.last_term(), "log term went backwards");
        if matches!(entry.payload, Payload::Config(_)) {
            self.configs.push(entry.index);
        }
        self.entries.push(entry);
    }

    /// Drops every entry at `index` and above.
    pub(crate) fn truncate_from(&mut self, index: Index) {
        assert!(
            index > self.snapshot_index,
            "truncate at or below the snapshot"
        );
        self.entries
            .truncate((index - self.snapshot_index) as usize - 1);
        let kept = self.configs.partition_point(|&i| i < index);
        self.configs.truncate(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Membership, Payload};

    fn entry(index: Index, term: Term) -> Entry {
        Entry {
            index,
            term,
            payload: Payload::Noop,
        }
    }

    fn config(index: Index, term: Term) -> Entry {
        Entry {
            index,
            term,
            payload: Payload::Config(Box::new(Membership::simple(&[1, 2, 3]))),
        }
    }

    /// The configuration entries' indexes follow every change to the log: built with it,
    /// appended, truncated (section 6: a configuration deleted with its entry is no longer in
    /// effect) and compacted.
    #[test]
    fn config_indexes_follow_appends_truncations_and_compactions() {
        let mut log =
            Log::from_entries(vec![entry(1, 1), config(2, 1), entry(3, 1), config(4, 2)]).unwrap();
        assert_eq!(log.config_indexes(), &[2, 4]);
        log.push(config(5, 2));
        assert_eq!(log.config_indexes(), &[2, 4, 5]);
        log.truncate_from(4);
        assert_eq!(log.config_indexes(), &[2]);
        log.write(4, vec![config(4, 3), entry(5, 3)]).unwrap();
        assert_eq!(log.config_indexes(), &[2, 4]);
        log.compact(2);
        assert_eq!(log.config_indexes(), &[4]);
    }

    /// A write is checked like a restored log: consecutive from where it starts, terms never
    /// going back, and starting within the log or right after it.
    #[test]
    fn write_replaces_the_log_from_its_index_or_fails_unchanged() {
        let mut log = Log::from_entries(vec![entry(1, 1), entry(2, 1), entry(3, 2)]).unwrap();
        let before = log.clone();
        assert!(log.write(5, vec![entry(5, 2)]).is_err(), "a gap");
        assert!(log.write(2, vec![entry(3, 2)]).is_err(), "out of sequence");
        assert!(
            log.write(3, vec![entry(3, 1), entry(4, 0)]).is_err(),
            "term 0"
        );
        assert!(
            log.write(2, vec![entry(2, 0)]).is_err(),
            "term before the entry before"
        );
        assert_eq!(log, before);
        log.write(2, vec![entry(2, 3)]).unwrap();
        assert_eq!((log.last_index(), log.last_term()), (2, 3));
    }

    #[test]
    fn compaction_keeps_the_last_index_and_term() {
        let mut log = Log::from_entries((1..=6).map(|i| entry(i, 1 + i / 3)).collect()).unwrap();
        assert_eq!((log.last_index(), log.last_term()), (6, 3));
        log.compact(4);
        assert_eq!(
            (
                log.compacted_index(),
                log.compacted_term(),
                log.first_index()
            ),
            (4, 2, 5)
        );
        assert_eq!(
            log.term(4),
            Some(2),
            "the snapshot's own index keeps its term"
        );
        assert_eq!(log.term(3), None, "compacted");
        assert_eq!(log.entry(4), None);
        assert_eq!(log.entry(5), Some(&entry(5, 2)));
        assert_eq!(log.slice(1, 6), &[entry(5, 2), entry(6, 3)]);
        assert_eq!(log.slice(6, 9), &[entry(6, 3)]);
        assert_eq!((log.last_index(), log.last_term()), (6, 3));
        assert_eq!(log.last_index_of_term(2), Some(5));
        assert_eq!(
            log.first_index_of_term_at(5, 0),
            5,
            "never below the first index held"
        );
        log.compact(3); // Below the snapshot: nothing changes.
        assert_eq!(log.compacted_index(), 4);
        log.truncate_from(6);
        assert_eq!(log.last_index(), 5);
        log.push(entry(6, 4));
        log.compact(6);
        assert_eq!(
            log.last_index_of_term(4),
            Some(6),
            "the snapshot's term, from its index"
        );
        assert_eq!(log.last_index_of_term(3), None);
        assert_eq!(
            (log.last_index(), log.last_term(), log.slice(1, 9).len()),
            (6, 4, 0)
        );
    }

    #[test]
    fn a_log_after_a_snapshot_checks_its_entries() {
        let log = Log::after_snapshot(10, 3, vec![entry(11, 3), entry(12, 5)]).unwrap();
        assert_eq!(
            (log.first_index(), log.last_index(), log.term(10)),
            (11, 12, Some(3))
        );
        assert!(
            Log::after_snapshot(10, 3, vec![entry(12, 3)]).is_err(),
            "a gap after it"
        );
        assert!(
            Log::after_snapshot(10, 3, vec![entry(11, 2)]).is_err(),
            "a term below it"
        );
        assert!(
            Log::after_snapshot(10, 0, Vec::new()).is_err(),
            "an index without a term"
        );
    }
}
