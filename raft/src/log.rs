use crate::{Entry, Index, Term};

/// A node's log: entries at indexes `1..=last_index()`, held in memory. (Snapshots, which let
/// the log start later, come with log compaction.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    entries: Vec<Entry>,
}

impl Log {
    /// Builds a log from entries that must be consecutive from index 1 with non-decreasing terms.
    pub fn from_entries(entries: Vec<Entry>) -> Result<Log, String> {
        let mut term_prev = 0;
        for (position, entry) in entries.iter().enumerate() {
            let index_expected = position as Index + 1;
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
        }
        Ok(Log { entries })
    }

    /// The index of the last entry, 0 if the log is empty.
    pub fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    /// The term of the last entry, 0 if the log is empty.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term of the entry at `index`; 0 for index 0; `None` past the end.
    pub fn term(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`, if present.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        let position = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(position)
    }

    /// Entries from `from` through `to` inclusive, clamped to the log.
    pub fn slice(&self, from: Index, to: Index) -> &[Entry] {
        let start = from.max(1) - 1;
        let end = to.min(self.last_index());
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
        while first > floor.max(1) && self.term(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The last index holding an entry of `term`, if any. Terms are non-decreasing along the
    /// log, so this is a binary search.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        let after = self.entries.partition_point(|e| e.term <= term);
        let entry = self.entries.get(after.checked_sub(1)?)?;
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
        self.entries.push(entry);
    }

    /// Drops every entry at `index` and above.
    pub(crate) fn truncate_from(&mut self, index: Index) {
        assert!(index >= 1, "truncate below the first index");
        self.entries.truncate(index as usize - 1);
    }
}
