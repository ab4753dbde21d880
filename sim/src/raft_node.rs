//! raftsim's own `raft` crate behind the [`SimNode`] boundary.

use crate::node::{
    DurableState, EntryKind, HardState, LogWrite, MessageInfo, NodeView, Output, Refusal, Role,
    SimNode, StartContext, StoredEntry,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A `raft::Node` adapted to the simulator.
#[derive(Debug)]
pub struct RaftNode {
    node: raft::Node,
}

impl RaftNode {
    /// The wrapped node.
    pub fn inner(&self) -> &raft::Node {
        &self.node
    }
}

fn to_stored(entry: raft::Entry) -> StoredEntry {
    let (kind, data) = match entry.payload {
        raft::Payload::Noop => (EntryKind::Noop, Vec::new()),
        raft::Payload::Command(bytes) => (EntryKind::Command, bytes),
    };
    StoredEntry {
        index: entry.index,
        term: entry.term,
        kind,
        data,
    }
}

fn from_stored(entry: &StoredEntry) -> raft::Entry {
    let payload = match entry.kind {
        EntryKind::Noop => raft::Payload::Noop,
        EntryKind::Command => raft::Payload::Command(entry.data.clone()),
    };
    raft::Entry {
        term: entry.term,
        index: entry.index,
        payload,
    }
}

impl SimNode for RaftNode {
    type Message = raft::Message;

    fn start(ctx: &StartContext<'_>, durable: &DurableState) -> Result<Self, String> {
        let s = ctx.settings;
        let mutation = match ctx.mutation {
            None => None,
            Some(name) => Some(
                raft::Mutation::from_name(name)
                    .ok_or_else(|| format!("unknown mutation `{name}`"))?,
            ),
        };
        let config = raft::Config {
            id: ctx.id,
            voters: ctx.voters.to_vec(),
            election_timeout_min_ns: s.election_timeout_min_ns,
            election_timeout_max_ns: s.election_timeout_max_ns,
            heartbeat_interval_ns: s.heartbeat_interval_ns,
            msg_entries_max: s.msg_entries_max,
            inflight_msgs_max: s.inflight_msgs_max,
            uncommitted_entries_max: s.uncommitted_entries_max,
            mutation,
        };
        let hs = durable.hard_state;
        let hard_state = raft::HardState {
            term: hs.term,
            vote: hs.vote,
            commit: hs.commit,
        };
        let entries = durable.log.iter().map(from_stored).collect();
        let rng = Box::new(ChaCha8Rng::seed_from_u64(ctx.rng_seed));
        let node = raft::Node::restore(config, hard_state, entries, rng, ctx.now_ns)
            .map_err(|e| e.to_string())?;
        Ok(RaftNode { node })
    }

    fn deliver(&mut self, now_ns: u64, msg: raft::Message) -> Result<(), String> {
        self.node.step(now_ns, msg).map_err(|e| e.to_string())
    }

    fn next_timer_ns(&self) -> u64 {
        self.node.next_deadline_ns()
    }

    fn fire_timer(&mut self, now_ns: u64) {
        self.node.tick(now_ns);
    }

    fn propose(&mut self, _now_ns: u64, command: Vec<u8>) -> Result<(), Refusal> {
        match self.node.propose(command) {
            Ok(_) => Ok(()),
            Err(raft::ProposeError::NotLeader { leader_hint, .. }) => {
                Err(Refusal::NotLeader { leader_hint })
            }
            Err(raft::ProposeError::Backpressure) => Err(Refusal::Busy),
        }
    }

    fn log_synced(&mut self, index: u64, term: u64) {
        self.node.log_synced(index, term);
    }

    fn take_output(&mut self) -> Output<raft::Message> {
        let ready = self.node.take_ready();
        Output {
            hard_state: ready.hard_state.map(|h| HardState {
                term: h.term,
                vote: h.vote,
                commit: h.commit,
            }),
            log_write: ready.log_write.map(|w| LogWrite {
                from_index: w.from_index,
                entries: w.entries.into_iter().map(to_stored).collect(),
            }),
            must_sync: ready.must_sync,
            messages: ready.messages.into_iter().map(|m| (m.to, m)).collect(),
            committed: ready.committed.into_iter().map(to_stored).collect(),
        }
    }

    fn view(&self) -> NodeView {
        let role = match self.node.role() {
            raft::Role::Follower => Role::Follower,
            raft::Role::Candidate => Role::Candidate,
            raft::Role::Leader => Role::Leader,
        };
        NodeView {
            role,
            term: self.node.term(),
            vote: self.node.vote(),
            commit_index: self.node.commit_index(),
            leader: self.node.leader(),
        }
    }

    fn message_info(msg: &raft::Message) -> MessageInfo {
        MessageInfo {
            kind: msg.body.kind(),
            from: msg.from,
            term: msg.term,
        }
    }
}
