use crate::Index;
use std::collections::VecDeque;

/// A leader's view of one follower's log (Figure 2's nextIndex and matchIndex), with the
/// flow control of etcd raft: probe one message at a time until the logs match, then stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The highest index known to be replicated on the follower.
    pub match_index: Index,
    /// The index of the next entry to send.
    pub next_index: Index,
    pub state: ProgressState,
    /// A rejection came since the last acknowledgement: the leader is searching for the
    /// point where the follower's log diverges or ends.
    pub repairing: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProgressState {
    /// The leader does not know where the logs diverge: one AppendEntries at a time, and
    /// `paused` until an answer or the next heartbeat.
    Probe { paused: bool },
    /// The logs match through `match_index`: entries stream optimistically; `inflight` holds
    /// the last index of each unacknowledged AppendEntries, at most `inflight_msgs_max`.
    Replicate { inflight: VecDeque<Index> },
    /// The follower needs entries the leader compacted: the snapshot through `index` goes
    /// out one chunk at a time, from `offset`, the first byte the follower has not confirmed.
    /// `paused` while a chunk is unanswered, until the answer or the next heartbeat;
    /// `sent_end` is the end of the furthest chunk sent, to tell resends.
    Snapshot {
        index: Index,
        offset: u64,
        sent_end: u64,
        paused: bool,
    },
}

impl Progress {
    pub fn new(next_index: Index) -> Progress {
        Progress {
            match_index: 0,
            next_index,
            state: ProgressState::Probe { paused: false },
            repairing: false,
        }
    }

    /// Whether an AppendEntries carrying entries may be sent now.
    pub fn can_send_entries(&self, inflight_msgs_max: u64) -> bool {
        match &self.state {
            ProgressState::Probe { paused } => !paused,
            ProgressState::Replicate { inflight } => (inflight.len() as u64) < inflight_msgs_max,
            ProgressState::Snapshot { .. } => false,
        }
    }

    /// Records that entries through `last_index` were sent.
    pub fn sent_entries(&mut self, last_index: Index) {
        match &mut self.state {
            ProgressState::Probe { paused } => *paused = true,
            ProgressState::Replicate { inflight } => {
                inflight.push_back(last_index);
                self.next_index = last_index + 1;
            }
            ProgressState::Snapshot { .. } => unreachable!("no entries while sending a snapshot"),
        }
    }

    /// An acknowledgement through `index`. Returns true if it taught the leader anything.
    pub fn acknowledged(&mut self, index: Index) -> bool {
        self.repairing = false;
        let updated = index > self.match_index;
        if updated {
            self.match_index = index;
        }
        if let ProgressState::Snapshot {
            index: snapshot, ..
        } = self.state
        {
            if index < snapshot {
                // An answer to an AppendEntries from before the transfer: the follower still
                // needs the snapshot.
                return updated;
            }
        }
        self.next_index = self.next_index.max(index + 1);
        match &mut self.state {
            ProgressState::Probe { .. } | ProgressState::Snapshot { .. } => {
                self.state = ProgressState::Replicate {
                    inflight: VecDeque::new(),
                };
            }
            ProgressState::Replicate { inflight } => {
                while inflight.front().is_some_and(|&last| last <= index) {
                    inflight.pop_front();
                }
            }
        }
        updated
    }

    /// A rejection of `rejected_index` with the leader's computed next index. Returns false if
    /// the rejection is stale and was ignored.
    pub fn rejected(&mut self, rejected_index: Index, next_index: Index) -> bool {
        let stale = match &self.state {
            ProgressState::Probe { .. } => rejected_index.checked_add(1) != Some(self.next_index),
            ProgressState::Replicate { .. } => rejected_index <= self.match_index,
            // An answer to an AppendEntries from before the transfer.
            ProgressState::Snapshot { .. } => true,
        };
        if stale {
            return false;
        }
        self.next_index = next_index.max(self.match_index + 1);
        self.repairing = true;
        self.state = ProgressState::Probe { paused: false };
        true
    }

    /// A heartbeat went out: a paused probe, or an unanswered snapshot chunk, may try again.
    pub fn heartbeat(&mut self) {
        match &mut self.state {
            ProgressState::Probe { paused } | ProgressState::Snapshot { paused, .. } => {
                *paused = false
            }
            ProgressState::Replicate { .. } => {}
        }
    }

    /// The next chunk of the snapshot through `index` to send, or `None` while one is
    /// unanswered. A transfer of an older snapshot starts over with this one.
    pub fn next_snapshot_chunk(
        &mut self,
        index: Index,
        size_bytes: u64,
        chunk_bytes_max: u64,
    ) -> Option<SnapshotChunk> {
        let started = !matches!(self.state, ProgressState::Snapshot { index: i, .. } if i == index);
        if started {
            self.state = ProgressState::Snapshot {
                index,
                offset: 0,
                sent_end: 0,
                paused: false,
            };
            self.next_index = index + 1;
        }
        let ProgressState::Snapshot {
            offset,
            sent_end,
            paused,
            ..
        } = &mut self.state
        else {
            unreachable!("set above");
        };
        if *paused {
            return None;
        }
        *paused = true;
        let end = size_bytes.min(*offset + chunk_bytes_max);
        let resent = *offset < *sent_end;
        *sent_end = (*sent_end).max(end);
        Some(SnapshotChunk {
            offset: *offset,
            end,
            started,
            resent,
        })
    }

    /// The follower holds the first `offset_next` bytes of the snapshot through `index`.
    /// Returns whether that restarts the transfer from byte 0 after progress, or `None` if
    /// the answer is stale and was ignored.
    pub fn snapshot_answered(
        &mut self,
        index: Index,
        offset_next: u64,
        size_bytes: u64,
    ) -> Option<bool> {
        let ProgressState::Snapshot {
            index: sending,
            offset,
            paused,
            ..
        } = &mut self.state
        else {
            return None;
        };
        if *sending != index || (*paused && offset_next == *offset) {
            // About another snapshot; or a duplicate of the answer that sent the chunk now
            // in flight, which must not start a second stream of chunks.
            return None;
        }
        let restarted = offset_next == 0 && *offset > 0;
        *offset = offset_next.min(size_bytes);
        *paused = false;
        Some(restarted)
    }
}

/// A chunk of a snapshot to send: bytes `offset..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SnapshotChunk {
    pub offset: u64,
    pub end: u64,
    /// The first chunk of a new transfer.
    pub started: bool,
    /// These bytes were sent before.
    pub resent: bool,
}

impl Progress {
    /// True while a snapshot goes to this follower.
    pub fn sending_snapshot(&self) -> bool {
        matches!(self.state, ProgressState::Snapshot { .. })
    }
}
