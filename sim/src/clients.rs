//! Simulated clients of the replicated key-value store.
//!
//! Each client opens a session, then runs one operation at a time: it sends the request to the
//! node it believes leads, follows `NotLeader` hints, and on a timeout retries the same
//! (session, sequence number) at another node, up to `attempts_max` tries; then it gives up and
//! the operation's outcome is unknown (`info`). Every operation is recorded in a Jepsen-style
//! history. Clients reach every node: partitions cut nodes from each other, not from clients.

use crate::history::{Event, EventKind, Function, Value};
use crate::node::{ClientId, ClientOp, ClientReply, ClientRequest, NodeId, OpResult};
use crate::rng;
use crate::scenario::{Clients, KeyDistribution, ScriptedOp};
use crate::situations::Situations;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};

/// What the simulator must do for the clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `request` from `client` to `node`.
    Send {
        /// The client.
        client: ClientId,
        /// The node.
        node: NodeId,
        /// The request.
        request: ClientRequest,
    },
    /// Call [`ClientSim::timeout`] for `client` with `attempt` after `after_ns`.
    Timeout {
        /// The client.
        client: ClientId,
        /// Which try the timeout belongs to.
        attempt: u64,
        /// Delay.
        after_ns: u64,
    },
    /// Call [`ClientSim::wake`] for `client` after `after_ns`.
    Wake {
        /// The client.
        client: ClientId,
        /// Delay.
        after_ns: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Thinking, or not started.
    Idle,
    /// Waiting for a session.
    Registering,
    /// Waiting for command `seq`'s reply.
    Waiting { op: ClientOp, seq: u64 },
    /// No operations left.
    Done,
}

#[derive(Clone, Debug)]
struct Client {
    session: Option<u64>,
    seq: u64,
    state: State,
    /// Which try of the current request this is, from 1; a timeout names the try it ends.
    attempt: u64,
    /// `NotLeader` hints followed in this try.
    redirects: u64,
    /// The node the next message goes to.
    target: NodeId,
    /// Where a try without a useful hint starts: each timeout moves it to the next node.
    /// Hints move `target` only, so two removed servers that point at each other (or at
    /// nobody) cannot hold a client in a loop that never reaches the leader.
    rotation: NodeId,
    /// The last value this client saw for each key: what its cas expects.
    seen: BTreeMap<String, String>,
    /// When the client last woke from rest: the time its next operation became due.
    woke_ns: u64,
    /// With an explicit workload, the operations still to run, by time.
    script: VecDeque<(u64, Option<ClientOp>)>,
}

/// A write acknowledged to a client: it must have been executed exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AckedWrite {
    /// The session.
    pub session: u64,
    /// The command.
    pub seq: u64,
    /// Position of its `ok` event in the history.
    pub event: usize,
}

/// All the clients of a run.
#[derive(Debug)]
pub struct ClientSim {
    settings: Clients,
    nodes: u64,
    clients: Vec<Client>,
    rng: ChaCha8Rng,
    /// Cumulative key weights for the key distribution.
    key_cdf: Vec<f64>,
    operations_started: u64,
    values_made: u64,
    history: Vec<Event>,
    /// Positions in `history` of the `info` completions that a node answered with
    /// `SessionExpired`: unknown outcomes, but the cluster was there to answer.
    answered_unknown: std::collections::BTreeSet<usize>,
    acked_writes: Vec<AckedWrite>,
    situations: Situations,
    /// The scenario lists the operations (`[[operation]]`): nothing is drawn.
    explicit: bool,
    /// Every operation started, with the time it became due: the workload made explicit.
    started: Vec<ScriptedOp>,
}

impl ClientSim {
    /// The clients of a run, none started yet; with a `script`, they run exactly its
    /// operations.
    pub fn new(settings: Clients, nodes: u64, seed: u64, script: &[ScriptedOp]) -> ClientSim {
        let mut rng = rng::stream(seed, rng::Stream::Clients);
        let mut clients: Vec<Client> = (0..settings.count)
            .map(|_| {
                let first = rng.gen_range(1..=nodes);
                Client {
                    session: None,
                    seq: 0,
                    state: State::Idle,
                    attempt: 0,
                    redirects: 0,
                    target: first,
                    rotation: first,
                    seen: BTreeMap::new(),
                    woke_ns: 0,
                    script: VecDeque::new(),
                }
            })
            .collect();
        for s in script {
            if let Some(c) = clients.get_mut((s.client as usize).wrapping_sub(1)) {
                c.script.push_back((s.at_ns, s.op.clone()));
            }
        }
        let key_cdf = key_cdf(&settings);
        ClientSim {
            settings,
            nodes,
            clients,
            rng,
            key_cdf,
            operations_started: 0,
            values_made: 0,
            history: Vec::new(),
            answered_unknown: std::collections::BTreeSet::new(),
            acked_writes: Vec::new(),
            situations: Situations::default(),
            explicit: !script.is_empty(),
            started: Vec::new(),
        }
    }

    /// Every client's first wake-up, spread over one think time after `start_ns`; with an
    /// explicit workload, at its first operation's time (a client without one never starts).
    pub fn start(&mut self, start_ns: u64) -> Vec<Action> {
        if self.explicit {
            return (1..=self.settings.count)
                .filter_map(|client| {
                    let (at_ns, _) = self.clients[(client - 1) as usize].script.front()?;
                    Some(Action::Wake {
                        client,
                        after_ns: at_ns.saturating_sub(start_ns),
                    })
                })
                .collect();
        }
        (1..=self.settings.count)
            .map(|client| Action::Wake {
                client,
                after_ns: self.think(),
            })
            .collect()
    }

    /// Every operation started so far, each at the time it became due: a workload that
    /// replays this one without drawing.
    pub fn started(&self) -> &[ScriptedOp] {
        &self.started
    }

    /// Records a started operation; past `OPERATIONS_EXPLICIT_MAX` (more than a scenario file
    /// may list, so the run cannot be made explicit anyway) only one more, to say so.
    fn note_started(&mut self, op: ScriptedOp) {
        if self.started.len() <= crate::scenario::OPERATIONS_EXPLICIT_MAX {
            self.started.push(op);
        }
    }

    /// Operations that break the liveness promise at `now`: one in flight when the fault
    /// window ended at `until` and still pending, or one started after `until` and given up.
    /// Each described for a report.
    pub fn late_operations(&self, until: u64) -> Vec<String> {
        let mut open: BTreeMap<u64, &Event> = BTreeMap::new();
        let mut late = Vec::new();
        let describe = |process: u64, what: &str, invoke: &Event| {
            let at = crate::trace::format_time(invoke.time_ns.unwrap_or(0));
            format!(
                "client {process} {what} {:?} {:?} invoked at {at}",
                invoke.f, invoke.key
            )
        };
        for (position, event) in self.history.iter().enumerate() {
            if event.kind == EventKind::Invoke {
                open.insert(event.process, event);
                continue;
            }
            let Some(invoke) = open.remove(&event.process) else {
                continue;
            };
            // A session that expired (its registration logged long before it committed, say)
            // is an answer from a working cluster, not a client left without one.
            let answered = self.answered_unknown.contains(&position);
            if event.kind == EventKind::Info && !answered && invoke.time_ns.unwrap_or(0) >= until {
                late.push(describe(event.process, "gave up on", invoke));
            }
        }
        for (process, invoke) in open {
            if invoke.time_ns.unwrap_or(0) < until {
                late.push(describe(process, "still waits for", invoke));
            }
        }
        late
    }

    /// How long after `until` the last operation in flight at `until` completed: `Some(0)`
    /// if none was in flight, `None` if one never completed.
    pub fn drain_ns(&self, until: u64) -> Option<u64> {
        let mut open: BTreeMap<u64, u64> = BTreeMap::new();
        let mut last = until;
        for event in &self.history {
            let t = event.time_ns.unwrap_or(0);
            if event.kind == EventKind::Invoke {
                open.insert(event.process, t);
            } else if open
                .remove(&event.process)
                .is_some_and(|invoked| invoked < until)
            {
                last = last.max(t);
            }
        }
        if open.values().any(|&invoked| invoked < until) {
            return None;
        }
        Some(last - until)
    }

    /// The client-side situations reached so far.
    pub fn situations(&self) -> Situations {
        self.situations
    }

    /// The history so far.
    pub fn history(&self) -> &[Event] {
        &self.history
    }

    /// The writes acknowledged so far.
    pub fn acked_writes(&self) -> &[AckedWrite] {
        &self.acked_writes
    }

    /// How many operations the clients started.
    pub fn operations_started(&self) -> u64 {
        self.operations_started
    }

    fn client(&mut self, id: ClientId) -> &mut Client {
        &mut self.clients[(id - 1) as usize]
    }

    fn think(&mut self) -> u64 {
        rng::uniform(
            &mut self.rng,
            self.settings.think_time_min_ns,
            self.settings.think_time_max_ns,
        )
    }

    /// A client's think time is over: it registers, or starts its next operation.
    pub fn wake(&mut self, id: ClientId, now_ns: u64) -> Vec<Action> {
        if self.client(id).state != State::Idle {
            return Vec::new();
        }
        self.client(id).woke_ns = now_ns;
        self.begin(id, now_ns)
    }

    /// An idle client registers, or starts its next operation once it is due.
    fn begin(&mut self, id: ClientId, now_ns: u64) -> Vec<Action> {
        // A listed `register` is done by the registration below, or needs nothing.
        while self.explicit {
            let registered = self.client(id).session.is_some();
            match self.client(id).script.front() {
                None => {
                    self.client(id).state = State::Done;
                    return Vec::new();
                }
                Some(&(at_ns, _)) if at_ns > now_ns => {
                    return vec![Action::Wake {
                        client: id,
                        after_ns: at_ns - now_ns,
                    }];
                }
                Some((_, None)) => {
                    self.client(id).script.pop_front();
                    if !registered {
                        break;
                    }
                }
                Some((_, Some(_))) => break,
            }
        }
        if self.client(id).session.is_none() {
            let due_ns = self.client(id).woke_ns;
            self.note_started(ScriptedOp {
                client: id,
                at_ns: due_ns,
                op: None,
                line: 0,
            });
            self.client(id).state = State::Registering;
            return self.send_first(id, ClientRequest::Register);
        }
        if self.operations_started >= self.settings.operations {
            self.client(id).state = State::Done;
            return Vec::new();
        }
        self.operations_started += 1;
        let op = match self.client(id).script.pop_front() {
            Some((_, Some(op))) => op,
            _ => self.next_op(id),
        };
        let due_ns = self.client(id).woke_ns;
        self.note_started(ScriptedOp {
            client: id,
            at_ns: due_ns,
            op: Some(op.clone()),
            line: 0,
        });
        let client = self.client(id);
        client.seq += 1;
        let (seq, session) = (client.seq, client.session.expect("registered"));
        client.state = State::Waiting {
            op: op.clone(),
            seq,
        };
        self.history.push(invoke_event(id, &op, now_ns));
        self.send_first(id, ClientRequest::Op { session, seq, op })
    }

    fn send_first(&mut self, id: ClientId, request: ClientRequest) -> Vec<Action> {
        self.client(id).attempt = 1;
        self.client(id).redirects = 0;
        self.send(id, request)
    }

    fn send(&mut self, id: ClientId, request: ClientRequest) -> Vec<Action> {
        let client = self.client(id);
        let (node, attempt) = (client.target, client.attempt);
        let after_ns = self.settings.timeout_ns;
        vec![
            Action::Send {
                client: id,
                node,
                request,
            },
            Action::Timeout {
                client: id,
                attempt,
                after_ns,
            },
        ]
    }

    /// The request of the current state, to send again.
    fn request(&self, id: ClientId) -> Option<ClientRequest> {
        let client = &self.clients[(id - 1) as usize];
        match &client.state {
            State::Registering => Some(ClientRequest::Register),
            State::Waiting { op, seq } => Some(ClientRequest::Op {
                session: client.session?,
                seq: *seq,
                op: op.clone(),
            }),
            State::Idle | State::Done => None,
        }
    }

    /// Try `attempt` of a client's request got no answer in time: retry at the next node, or
    /// give up after `attempts_max` tries.
    pub fn timeout(&mut self, id: ClientId, attempt: u64, now_ns: u64) -> Vec<Action> {
        let client = self.client(id);
        if client.attempt != attempt {
            return Vec::new(); // That try was answered.
        }
        let Some(request) = self.request(id) else {
            return Vec::new();
        };
        let (nodes, attempts_max) = (self.nodes, self.settings.attempts_max);
        let client = self.client(id);
        client.rotation = client.rotation % nodes + 1;
        client.target = client.rotation;
        if client.attempt >= attempts_max {
            if let State::Waiting { op, .. } = client.state.clone() {
                // Given up: the command may still execute later, or never. Its outcome is
                // unknown, and the next command gets a new sequence number.
                self.complete(id, &op, EventKind::Info, None, now_ns);
                self.situations.client_gave_up += 1;
                return self.rest(id, now_ns);
            }
        }
        let client = self.client(id);
        client.attempt += 1;
        client.redirects = 0;
        self.situations.client_retried += 1;
        self.send(id, request)
    }

    /// A node's reply reached a client.
    pub fn reply(
        &mut self,
        id: ClientId,
        from: NodeId,
        reply: ClientReply,
        now_ns: u64,
    ) -> Vec<Action> {
        let state = self.client(id).state.clone();
        let current = self.client(id).session;
        match (state, reply) {
            (State::Registering, ClientReply::Registered { session }) => {
                let client = self.client(id);
                client.session = Some(session);
                client.seq = 0;
                (client.target, client.rotation) = (from, from);
                client.attempt = 0;
                client.state = State::Idle;
                self.begin(id, now_ns)
            }
            (
                State::Waiting { op, seq },
                ClientReply::Done {
                    session,
                    seq: done,
                    result,
                },
            ) if done == seq && Some(session) == current => {
                let client = self.client(id);
                (client.target, client.rotation) = (from, from);
                self.finish(id, &op, seq, result, now_ns);
                self.rest(id, now_ns)
            }
            (
                State::Waiting { op, seq },
                ClientReply::SessionExpired {
                    session,
                    seq: expired,
                },
            ) if expired == seq && Some(session) == current => {
                // An earlier try may have executed it before the session expired.
                self.complete(id, &op, EventKind::Info, None, now_ns);
                self.answered_unknown.insert(self.history.len() - 1);
                self.client(id).session = None;
                self.rest(id, now_ns)
            }
            (
                State::Registering | State::Waiting { .. },
                ClientReply::NotLeader { leader_hint },
            ) => self.redirect(id, from, leader_hint),
            // Busy, or an answer to a try or command this client has moved past.
            _ => Vec::new(),
        }
    }

    /// A refusal with a hint: try the hinted node at once, as the same try, at most once per
    /// node. Without a hint, wait for the try's timeout, which moves on to the next node.
    fn redirect(&mut self, id: ClientId, from: NodeId, hint: Option<NodeId>) -> Vec<Action> {
        let Some(hint) = hint.filter(|&h| h != from && (1..=self.nodes).contains(&h)) else {
            return Vec::new();
        };
        let Some(request) = self.request(id) else {
            return Vec::new();
        };
        let nodes = self.nodes;
        let client = self.client(id);
        if client.redirects >= nodes {
            return Vec::new();
        }
        client.redirects += 1;
        client.target = hint;
        self.situations.client_redirected += 1;
        vec![Action::Send {
            client: id,
            node: hint,
            request,
        }]
    }

    fn rest(&mut self, id: ClientId, now_ns: u64) -> Vec<Action> {
        let explicit = self.explicit;
        let client = self.client(id);
        client.state = State::Idle;
        client.attempt = 0;
        if explicit {
            // No think time: the next operation's time says when.
            let due_ns = client.script.front().map_or(now_ns, |&(at_ns, _)| at_ns);
            return vec![Action::Wake {
                client: id,
                after_ns: due_ns.saturating_sub(now_ns),
            }];
        }
        let after_ns = self.think();
        vec![Action::Wake {
            client: id,
            after_ns,
        }]
    }

    fn finish(&mut self, id: ClientId, op: &ClientOp, seq: u64, result: OpResult, now_ns: u64) {
        let key = op.key().to_string();
        let (kind, read) = match (&result, op) {
            (OpResult::Value(v), _) => {
                self.client(id).seen.insert(key, v.clone());
                (EventKind::Ok, Some(Value::Str(v.clone())))
            }
            (OpResult::CasFailed | OpResult::TooLarge, _) => (EventKind::Fail, None),
            (OpResult::Done | OpResult::CasOk, ClientOp::Put { value, .. }) => {
                self.client(id).seen.insert(key, value.clone());
                (EventKind::Ok, None)
            }
            (OpResult::Done | OpResult::CasOk, ClientOp::Cas { new, .. }) => {
                self.client(id).seen.insert(key, new.clone());
                (EventKind::Ok, None)
            }
            (OpResult::Done | OpResult::CasOk, _) => {
                self.client(id).seen.remove(&key);
                (EventKind::Ok, None)
            }
        };
        let write = !matches!(op, ClientOp::Get { .. });
        if kind == EventKind::Ok && write {
            let session = self.client(id).session.expect("a reply comes to a session");
            self.acked_writes.push(AckedWrite {
                session,
                seq,
                event: self.history.len(),
            });
        }
        self.complete(id, op, kind, read, now_ns);
    }

    /// Records the end of `op`: with the value a read saw, else the invocation's value, as
    /// Jepsen histories do.
    fn complete(
        &mut self,
        id: ClientId,
        op: &ClientOp,
        kind: EventKind,
        read: Option<Value>,
        now_ns: u64,
    ) {
        let invoke = invoke_event(id, op, now_ns);
        let value = read.unwrap_or(invoke.value.clone());
        self.history.push(Event {
            kind,
            value,
            ..invoke
        });
    }

    fn next_op(&mut self, id: ClientId) -> ClientOp {
        let key = self.next_key();
        self.values_made += 1;
        let n = self.values_made;
        let mix = self.settings.mix;
        let total = mix.get + mix.put + mix.append + mix.cas;
        let draw = self.rng.gen::<f64>() * total;
        if draw < mix.get {
            ClientOp::Get { key }
        } else if draw < mix.get + mix.put {
            ClientOp::Put {
                key,
                value: format!("p{id}.{n}"),
            }
        } else if draw < mix.get + mix.put + mix.append {
            // Appended tokens end in ';' so a read shows every append, in order.
            ClientOp::Append {
                key,
                value: format!("a{id}.{n};"),
            }
        } else {
            let expected = self.client(id).seen.get(&key).cloned().unwrap_or_default();
            ClientOp::Cas {
                key,
                expected,
                new: format!("c{id}.{n}"),
            }
        }
    }

    fn next_key(&mut self) -> String {
        let draw = self.rng.gen::<f64>();
        let i = self
            .key_cdf
            .partition_point(|&c| c < draw)
            .min(self.key_cdf.len() - 1);
        format!("k{}", i + 1)
    }
}

fn key_cdf(settings: &Clients) -> Vec<f64> {
    let weights: Vec<f64> = (1..=settings.keys)
        .map(|i| match settings.key_distribution {
            KeyDistribution::Uniform => 1.0,
            KeyDistribution::Zipf { exponent } => 1.0 / (i as f64).powf(exponent),
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

fn invoke_event(client: ClientId, op: &ClientOp, now_ns: u64) -> Event {
    let (f, value) = match op {
        ClientOp::Get { .. } => (Function::Read, Value::Nil),
        ClientOp::Put { value, .. } => (Function::Write, Value::Str(value.clone())),
        ClientOp::Append { value, .. } => (Function::Append, Value::Str(value.clone())),
        ClientOp::Cas { expected, new, .. } => (
            Function::Cas,
            Value::List(vec![Value::Str(expected.clone()), Value::Str(new.clone())]),
        ),
    };
    Event {
        process: client,
        kind: EventKind::Invoke,
        f,
        key: Some(op.key().to_string()),
        value,
        time_ns: Some(now_ns),
    }
}
