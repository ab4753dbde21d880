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
        }
    }

    /// An acknowledgement through `index`. Returns true if it taught the leader anything.
    pub fn acknowledged(&mut self, index: Index) -> bool {
        self.repairing = false;
        let updated = index > self.match_index;
        if updated {
            self.match_index = index;
        }
        self.next_index = self.next_index.max(index + 1);
        match &mut self.state {
            ProgressState::Probe { .. } => {
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
            ProgressState::Probe { .. } => rejected_index + 1 != self.next_index,
            ProgressState::Replicate { .. } => rejected_index <= self.match_index,
        };
        if stale {
            return false;
        }
        self.next_index = next_index.max(self.match_index + 1);
        self.repairing = true;
        self.state = ProgressState::Probe { paused: false };
        true
    }

    /// A heartbeat went out: a paused probe may try again.
    pub fn heartbeat(&mut self) {
        if let ProgressState::Probe { paused } = &mut self.state {
            *paused = false;
        }
    }
}
