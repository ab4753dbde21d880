//! The simulator's side of the clients: their messages travel the client network (latency and
//! loss, never partitions), nodes answer through their outputs, and every command a node's
//! state machine executes is checked for exactly-once execution as it happens.

use super::{Ev, Failure, Simulator};
use crate::checker::{Invariant, Violation};
use crate::clients::Action;
use crate::history::linearizability::{self, CheckOptions, Model, Verdict};
use crate::history::{self, Operation};
use crate::network;
use crate::node::{Applied, ClientId, ClientReply, ClientRequest, NodeId, SimNode};
use crate::rng;
use crate::trace::Event;
use std::collections::BTreeSet;

/// The client commands one node's state machine executed, with the index of each, so that a
/// restart from a checkpoint at index `i` keeps those through `i` and forgets the rest.
#[derive(Clone, Debug, Default)]
pub(super) struct Executed {
    keys: BTreeSet<(u64, u64)>,
    /// (index, key) in the order executed, which is index order within one life.
    by_index: Vec<(u64, (u64, u64))>,
}

impl Executed {
    /// Records `key` executed at `index`; false if it was already.
    fn insert(&mut self, index: u64, key: (u64, u64)) -> bool {
        if !self.keys.insert(key) {
            return false;
        }
        self.by_index.push((index, key));
        true
    }

    /// Forgets the commands executed after `index`.
    pub(super) fn forget_after(&mut self, index: u64) {
        while let Some(&(i, key)) = self.by_index.last() {
            if i <= index {
                break;
            }
            self.by_index.pop();
            self.keys.remove(&key);
        }
    }
}

impl<N: SimNode> Simulator<N> {
    pub(super) fn start_clients(&mut self) {
        let Some(clients) = self.clients.as_mut() else {
            return;
        };
        let start_ns = self.scenario.clients.start_ns;
        let actions = clients.start(start_ns);
        for action in actions {
            if let Action::Wake { client, after_ns } = action {
                self.push(start_ns + after_ns, Ev::ClientWake { client });
            }
        }
    }

    pub(super) fn client_wake(&mut self, client: ClientId) -> Result<(), Failure> {
        let now = self.now_ns;
        let actions = match self.clients.as_mut() {
            Some(c) => c.wake(client, now),
            None => Vec::new(),
        };
        self.client_actions(actions);
        Ok(())
    }

    pub(super) fn client_timeout(&mut self, client: ClientId, attempt: u64) -> Result<(), Failure> {
        let now = self.now_ns;
        let actions = match self.clients.as_mut() {
            Some(c) => c.timeout(client, attempt, now),
            None => Vec::new(),
        };
        self.client_actions(actions);
        Ok(())
    }

    pub(super) fn client_reply_arrives(
        &mut self,
        client: ClientId,
        from: NodeId,
        reply: ClientReply,
    ) -> Result<(), Failure> {
        let now = self.now_ns;
        self.trace
            .record(now, Event::ClientReply { client, node: from }, Some(&reply));
        let actions = match self.clients.as_mut() {
            Some(c) => c.reply(client, from, reply, now),
            None => Vec::new(),
        };
        self.client_actions(actions);
        Ok(())
    }

    pub(super) fn client_request_arrives(
        &mut self,
        node: NodeId,
        client: ClientId,
        request: ClientRequest,
    ) -> Result<(), Failure> {
        let now = self.now_ns;
        let local = self.local_ns(node);
        let Some(running) = self.slot(node).node.as_mut() else {
            self.stats.client_messages_lost += 1;
            return Ok(()); // A crashed node answers nothing; the client times out.
        };
        running.submit(local, client, request.clone());
        self.trace
            .record(now, Event::ClientRequest { client, node }, Some(&request));
        self.after_input(node)
    }

    fn client_actions(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send {
                    client,
                    node,
                    request,
                } => match self.client_transit(client, node, 0) {
                    Some(latency) => self.push(
                        self.now_ns + latency,
                        Ev::ClientRequestArrives {
                            node,
                            client,
                            request,
                        },
                    ),
                    None => self.stats.client_messages_lost += 1,
                },
                Action::Timeout {
                    client,
                    attempt,
                    after_ns,
                } => {
                    self.push(
                        self.now_ns + after_ns,
                        Ev::ClientTimeout { client, attempt },
                    );
                }
                Action::Wake { client, after_ns } => {
                    self.push(self.now_ns + after_ns, Ev::ClientWake { client })
                }
            }
        }
    }

    /// The fate of one client message sent now (its latency, `None` if lost), drawn from the
    /// client, node, direction (0 a request, 1 a reply) and send time, like the nodes'
    /// network (see `rng::keyed`).
    fn client_transit(&mut self, client: ClientId, node: NodeId, direction: u64) -> Option<u64> {
        let ordinal = self.client_network_ordinal.next(self.now_ns);
        let key = [client, node * 2 + direction, self.now_ns, ordinal];
        let mut rng = rng::keyed(self.seed, rng::Stream::ClientNetwork, key);
        network::transit(&self.scenario.network, &mut rng)
    }

    /// Sends a node's replies back over the client network.
    pub(super) fn send_replies(&mut self, from: NodeId, replies: Vec<(ClientId, ClientReply)>) {
        for (client, reply) in replies {
            match self.client_transit(client, from, 1) {
                Some(latency) => self.push(
                    self.now_ns + latency,
                    Ev::ClientReplyArrives {
                        client,
                        from,
                        reply,
                    },
                ),
                None => self.stats.client_messages_lost += 1,
            }
        }
    }

    /// Exactly-once, online: no node's state machine executes one (session, seq) twice. A
    /// restarted node's state machine carries over only what its checkpoint or snapshot
    /// reflects; it replays the log after that.
    pub(super) fn check_applied(
        &mut self,
        node: NodeId,
        applied: &[Applied],
    ) -> Result<(), Failure> {
        for a in applied.iter().filter(|a| a.executed) {
            let key = (a.session, a.seq);
            if !self.executed[(node - 1) as usize].insert(a.index, key) {
                let detail = format!(
                    "node {node} executed command {} of session {} a second time, at index {}",
                    a.seq, a.session, a.index
                );
                let violation = Violation {
                    invariant: Invariant::ExactlyOnce,
                    nodes: vec![node],
                    time_ns: self.now_ns,
                    detail,
                    clause: None,
                };
                return Err(Failure::Violation(violation));
            }
            self.executed_anywhere.insert(key);
        }
        Ok(())
    }

    /// Exactly-once, at the end: every write acknowledged to a client was executed by some
    /// node (the online check already makes it at most once per node life).
    pub(super) fn check_acknowledged_writes(&self) -> Option<Violation> {
        let clients = self.clients.as_ref()?;
        let missing = clients
            .acked_writes()
            .iter()
            .find(|w| !self.executed_anywhere.contains(&(w.session, w.seq)))?;
        let detail = format!(
            "command {} of session {} was acknowledged (history event {}) but no node executed it",
            missing.seq, missing.session, missing.event
        );
        Some(Violation {
            invariant: Invariant::ExactlyOnce,
            nodes: Vec::new(),
            time_ns: self.now_ns,
            detail,
            clause: None,
        })
    }
}

/// Checks a run's history against the key-value model, key by key: a key that is not
/// linearizable is a violation whose detail shows its minimal failing sub-history.
pub(super) fn check_linearizability(
    events: &[history::Event],
    now_ns: u64,
) -> (linearizability::Report, Option<Violation>) {
    let ops = match history::operations(events) {
        Ok(ops) => ops,
        Err(e) => {
            // The simulator wrote this history: a malformed one is a bug in raftsim itself.
            panic!("raftsim recorded a malformed history: {e}");
        }
    };
    let report = linearizability::check(&ops, &Model::Kv, &CheckOptions::default());
    let failing: Vec<&linearizability::KeyReport> = report
        .keys
        .iter()
        .filter(|k| k.verdict == Verdict::NotLinearizable)
        .collect();
    let violation = (!failing.is_empty()).then(|| Violation {
        invariant: Invariant::Linearizability,
        nodes: Vec::new(),
        time_ns: now_ns,
        detail: failing_keys_detail(&failing),
        clause: None,
    });
    (report, violation)
}

/// Every failing key, each with its own minimal failing sub-history: the first line names
/// them all when there are several.
fn failing_keys_detail(failing: &[&linearizability::KeyReport]) -> String {
    const KEYS_SHOWN_MAX: usize = 8;
    const OPS_SHOWN_MAX: usize = 24;
    let name = |key: &linearizability::KeyReport| key.key.clone().unwrap_or_default();
    let mut detail = String::new();
    if failing.len() > 1 {
        let names: Vec<String> = failing.iter().map(|k| name(k)).collect();
        detail.push_str(&format!(
            "{} keys are not linearizable ({}), each shown with its own evidence:\n",
            failing.len(),
            names.join(", ")
        ));
    }
    for (i, key) in failing.iter().take(KEYS_SHOWN_MAX).enumerate() {
        if i > 0 {
            detail.push('\n');
        }
        detail.push_str(&format!(
            "key {}: {} operations are not linearizable; these {} are not, whatever the others did:",
            name(key),
            key.operations,
            key.minimal.len()
        ));
        for op in key.minimal.iter().take(OPS_SHOWN_MAX) {
            detail.push_str("\n    ");
            detail.push_str(&describe(op));
        }
        if key.minimal.len() > OPS_SHOWN_MAX {
            let more = key.minimal.len() - OPS_SHOWN_MAX;
            detail.push_str(&format!(
                "\n    ... and {more} more (all of them in --json)"
            ));
        }
    }
    if failing.len() > KEYS_SHOWN_MAX {
        let more = failing.len() - KEYS_SHOWN_MAX;
        detail.push_str(&format!(
            "\n... and {more} more keys (all of them in --json)"
        ));
    }
    detail
}

/// One line for an operation: who, what, how it ended, and when.
pub fn describe(op: &Operation) -> String {
    let when = |ns: Option<u64>| ns.map_or("?".to_string(), crate::trace::format_time);
    format!(
        "client {} {:?} -> {:?}  [{} .. {}]",
        op.process,
        op.call,
        op.completion,
        when(op.invoke_ns),
        if op.return_pos.is_some() {
            when(op.return_ns)
        } else {
            "never".to_string()
        }
    )
}
