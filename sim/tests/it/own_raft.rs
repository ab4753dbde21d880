//! The adapter skeleton of the README's "Testing your own Raft": the least an implementation
//! provides to run inside raftsim. Here it is a one-node "Raft" (node 1 leads term 1, logs each
//! proposal, commits what its disk synced), so that the skeleton is checked by the same
//! invariants as any Raft and fails them if a step is left out.

use sim::node::{
    ClientId, ClientReply, ClientRequest, DurableState, EntryKind, HardState, LogWrite,
    MessageInfo, NodeId, NodeView, Output, Refusal, Role, SimNode, StartContext, StoredEntry,
};

/// The implementation's own message type: anything `Clone + Debug + Hash + Serialize`.
#[derive(Clone, Debug, Hash, serde::Serialize)]
pub struct Msg {
    from: NodeId,
    term: u64,
}

/// One node: its id, its log as far as it wrote it, what it asks the host to do next.
pub struct OneNode {
    id: NodeId,
    term: u64,
    last_index: u64,
    commit: u64,
    output: Output<Msg>,
}

impl SimNode for OneNode {
    type Message = Msg;

    /// Starts fresh or from what an earlier incarnation synced (`durable`).
    fn start(ctx: &StartContext<'_>, durable: &DurableState) -> Result<Self, String> {
        let (last_index, _) = durable.last();
        let mut node = OneNode {
            id: ctx.id,
            term: durable.hard_state.term,
            last_index,
            commit: durable.hard_state.commit,
            output: Output::default(),
        };
        if ctx.voters == [ctx.id] {
            // Alone in its configuration: it elects itself in a new term, durably first.
            node.term += 1;
            node.output.hard_state = Some(HardState {
                term: node.term,
                vote: Some(node.id),
                commit: node.commit,
            });
            node.output.must_sync = true;
        }
        Ok(node)
    }

    fn deliver(&mut self, _now_ns: u64, msg: Msg) -> Result<(), String> {
        Err(format!(
            "node {} expects no messages (from {})",
            self.id, msg.from
        ))
    }

    fn next_timer_ns(&self) -> u64 {
        u64::MAX // No timers: nothing to time out alone.
    }

    fn fire_timer(&mut self, _now_ns: u64) {}

    fn propose(&mut self, _now_ns: u64, command: Vec<u8>) -> Result<(), Refusal> {
        if self.view().role != Role::Leader {
            return Err(Refusal::NotLeader { leader_hint: None });
        }
        self.last_index += 1;
        let entry = StoredEntry {
            index: self.last_index,
            term: self.term,
            kind: EntryKind::Command,
            data: command.into(),
        };
        // The write goes to the disk; the commit waits for the disk's sync (`log_synced`).
        match &mut self.output.log_write {
            Some(write) => write.entries.push(entry),
            None => {
                self.output.log_write = Some(LogWrite {
                    from_index: entry.index,
                    entries: vec![entry],
                })
            }
        }
        self.output.must_sync = true;
        Ok(())
    }

    fn submit(&mut self, _now_ns: u64, client: ClientId, _request: ClientRequest) {
        // A real adapter logs the request and answers once it is applied (see `RaftNode`).
        self.output.replies.push((client, ClientReply::Busy));
    }

    fn log_synced(&mut self, index: u64, _term: u64) {
        // A majority of one holds the entry once it is durable: commit it (section 5.3).
        if index > self.commit {
            self.commit = index;
            self.output.hard_state = Some(HardState {
                term: self.term,
                vote: Some(self.id),
                commit: self.commit,
            });
        }
    }

    fn change_membership(&mut self, _: u64, _: &[NodeId], _: &[NodeId]) -> Result<(), Refusal> {
        Err(Refusal::Invalid("membership changes are not built".into()))
    }

    fn take_output(&mut self) -> Output<Msg> {
        std::mem::take(&mut self.output)
    }

    fn view(&self) -> NodeView {
        let leads = self.term > 0;
        NodeView {
            role: if leads { Role::Leader } else { Role::Follower },
            term: self.term,
            vote: leads.then_some(self.id),
            commit_index: self.commit,
            leader: leads.then_some(self.id),
        }
    }

    fn message_info(msg: &Msg) -> MessageInfo {
        MessageInfo {
            kind: "Nothing",
            from: msg.from,
            term: msg.term,
            ack_index: None,
            snapshot_last: None,
        }
    }
}

fn run(text: &str, seed: u64) -> sim::Outcome {
    let scenario = sim::scenario::parse("skeleton", text).unwrap();
    sim::sweep::run_as::<OneNode>(&scenario, seed, sim::RunOptions::default()).unwrap()
}

/// The skeleton runs under crashes that lose unsynced writes and passes every invariant:
/// it commits only what its disk synced (section 5.3; dissertation §10.2.1).
#[test]
fn the_guides_skeleton_runs_and_passes_the_checkers() {
    let mut text = "seed = 1\nnodes = 1\nduration = \"5s\"\n\
                    [workload]\nrate = 200\ncount = 800\n\
                    [disk]\nsync_latency = [\"1ms\", \"20ms\"]\n"
        .to_string();
    for at_ms in [1_000, 2_000, 3_000] {
        let restart_ms = at_ms + 50;
        text += &format!(
            "[[schedule]]\nat = \"{at_ms}ms\"\naction = \"crash\"\nnode = 1\n\
             [[schedule]]\nat = \"{restart_ms}ms\"\naction = \"restart\"\nnode = 1\n"
        );
    }
    for seed in 1..=3 {
        let outcome = run(&text, seed);
        assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
        assert!(
            outcome.entries_committed > 100,
            "{}",
            outcome.entries_committed
        );
    }
}

/// The checkers hold the skeleton to its word: a version that commits before the sync breaks
/// quorum-commit, so the test above can fail.
#[test]
fn committing_before_the_sync_is_caught() {
    struct Eager(OneNode);
    impl SimNode for Eager {
        type Message = Msg;
        fn start(ctx: &StartContext<'_>, durable: &DurableState) -> Result<Self, String> {
            OneNode::start(ctx, durable).map(Eager)
        }
        fn deliver(&mut self, now_ns: u64, msg: Msg) -> Result<(), String> {
            self.0.deliver(now_ns, msg)
        }
        fn next_timer_ns(&self) -> u64 {
            self.0.next_timer_ns()
        }
        fn fire_timer(&mut self, now_ns: u64) {
            self.0.fire_timer(now_ns)
        }
        fn propose(&mut self, now_ns: u64, command: Vec<u8>) -> Result<(), Refusal> {
            self.0.propose(now_ns, command)?;
            let index = self.0.last_index;
            self.0.log_synced(index, self.0.term); // The mistake: commit before the disk synced.
            Ok(())
        }
        fn submit(&mut self, now_ns: u64, client: ClientId, request: ClientRequest) {
            self.0.submit(now_ns, client, request)
        }
        fn log_synced(&mut self, index: u64, term: u64) {
            self.0.log_synced(index, term)
        }
        fn change_membership(&mut self, n: u64, a: &[NodeId], r: &[NodeId]) -> Result<(), Refusal> {
            self.0.change_membership(n, a, r)
        }
        fn take_output(&mut self) -> Output<Msg> {
            self.0.take_output()
        }
        fn view(&self) -> NodeView {
            self.0.view()
        }
        fn message_info(msg: &Msg) -> MessageInfo {
            OneNode::message_info(msg)
        }
    }
    let text = "seed = 1\nnodes = 1\nduration = \"2s\"\n[workload]\nrate = 100\ncount = 100\n";
    let scenario = sim::scenario::parse("eager", text).unwrap();
    let outcome = sim::sweep::run_as::<Eager>(&scenario, 1, sim::RunOptions::default()).unwrap();
    let invariant = outcome.violation.map(|v| v.invariant.name());
    assert_eq!(invariant, Some("quorum-commit"));
}
