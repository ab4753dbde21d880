//! The discrete-event simulator: one thread, virtual time, one event queue.

mod clients;
mod faults;
mod membership;
mod protocol;

pub use faults::{Recovery, RecoverySample, RECOVERY_SAMPLES_MAX};
pub use membership::MembershipStats;

use crate::checker::{Checker, ConfigRule, Violation};
use crate::clients::ClientSim;
use crate::disk::Disk;
use crate::network::Network;
use crate::node::{
    ClientId, ClientReply, ClientRequest, NodeId, NodeView, Refusal, Role, SimNode, StartContext,
};
use crate::rng::{self, Stream};
use crate::scenario::{Action, Scenario};
use crate::situations::Situations;
use crate::trace::{DropReason, Event, Trace};
pub use clients::describe;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

/// A run stops after this many events even if simulated time remains: a bound on every run.
/// Every event taken from the queue counts, one that changes nothing (a crash attempt that
/// finds no node to crash) as much as a delivery. `RunOptions::events_max` lowers it.
pub const EVENTS_MAX: u64 = 200_000_000;
/// At most this many events wait in the queue; more is a runaway node, reported as a panic.
pub const QUEUE_LEN_MAX: usize = 10_000_000;

/// Options of one run beyond the scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Keep every trace event (for `--trace`), not only the recent ones.
    pub keep_trace: bool,
    /// A deliberately broken protocol rule, by name.
    pub mutation: Option<String>,
    /// The run's event budget, if lower than [`EVENTS_MAX`]: the run stops after this many
    /// events with `Outcome::budget_exhausted` set.
    pub events_max: Option<u64>,
}

impl RunOptions {
    /// The run's event budget.
    pub fn events_budget(&self) -> u64 {
        self.events_max.map_or(EVENTS_MAX, |n| n.min(EVENTS_MAX))
    }
}

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Client requests and replies lost on the way, or sent to a node that was down.
    pub client_messages_lost: u64,
    /// Messages handed to the network.
    pub messages_sent: u64,
    /// Messages that reached a running node.
    pub messages_delivered: u64,
    /// Messages lost, by reason.
    pub dropped_loss: u64,
    /// Messages the network delivered twice.
    pub messages_duplicated: u64,
    /// Messages cut by a partition.
    pub dropped_partition: u64,
    /// Messages to a node that was down.
    pub dropped_down: u64,
    /// Messages of a node that crashed before its sync.
    pub dropped_crashed: u64,
    /// Messages a node rejected as malformed or misaddressed.
    pub messages_rejected: u64,
    /// Proposals the workload made.
    pub proposals: u64,
    /// Proposals a leader took.
    pub proposals_accepted: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts.
    pub restarts: u64,
    /// Unsynced writes lost in crashes.
    pub writes_lost: u64,
    /// Partitions.
    pub partitions: u64,
    /// The most log entries any node's disk held after a sync: with compaction on, bounded
    /// by the snapshot threshold plus what is not yet applied.
    pub disk_log_entries_max: u64,
    /// The largest snapshot any node's disk held after a sync, in bytes.
    pub disk_snapshot_bytes_max: u64,
}

impl Stats {
    /// Every dropped message.
    pub fn messages_dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_partition + self.dropped_down + self.dropped_crashed
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The implementation that ran.
    pub implementation: crate::implementation::Implementation,
    /// The first violation, if any: the run stops there.
    pub violation: Option<Violation>,
    /// Simulated time reached.
    pub sim_time_ns: u64,
    /// Counters.
    pub stats: Stats,
    /// The leader of each term.
    pub leaders: BTreeMap<u64, NodeId>,
    /// Entries known committed.
    pub entries_committed: u64,
    /// True if the run stopped at `EVENTS_MAX`.
    pub budget_exhausted: bool,
    /// The trace.
    pub trace: Trace,
    /// The clients' history (empty without clients).
    pub history: Vec<crate::history::Event>,
    /// The linearizability verdict on the history (`None` without clients, or when the run
    /// stopped at a safety violation).
    pub linearizability: Option<crate::history::linearizability::Report>,
    /// Client operations started.
    pub client_operations: u64,
    /// Protocol situations the run reached.
    pub situations: Situations,
    /// Time to a leader followed by a majority after each kind of fault.
    pub recovery: BTreeMap<&'static str, Recovery>,
    /// Each recovery counted in `recovery` (the first `RECOVERY_SAMPLES_MAX`).
    pub recovery_samples: Vec<RecoverySample>,
    /// With `[swarm] enabled`, the fault kinds and intensities this seed drew.
    pub swarm: Option<String>,
    /// Membership changes requested, completed and abandoned.
    pub membership: MembershipStats,
    /// With clients and a fault window that ended: how long after its end the last client
    /// operation in flight then completed (`Some(None)`: one never did).
    pub drain_ns: Option<Option<u64>>,
    /// The run's random faults and workload as a fixed schedule and a fixed workload
    /// (`None` if the run had more of them than a scenario file may list).
    pub explicit: Option<Explicit>,
}

/// What a run did, written down so that a scenario can do it again without drawing: every
/// fault and membership change, scheduled or drawn, at the time it happened (a nemesis that
/// waits for a protocol moment, at the time it was armed), every proposal's time and every
/// client operation. `raftsim shrink` starts from it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Explicit {
    /// The `[[schedule]]` actions, in the order they were taken.
    pub actions: Vec<crate::scenario::ScheduledAction>,
    /// The workload's proposal times.
    pub proposals_ns: Vec<u64>,
    /// The clients' operations, each at the time it became due.
    pub operations: Vec<crate::scenario::ScriptedOp>,
}

enum Ev<M> {
    Deliver {
        to: NodeId,
        msg: M,
        /// When it was sent (for the trace: charts draw it as an arrow).
        sent_ns: u64,
    },
    Timer {
        node: NodeId,
        incarnation: u64,
    },
    SyncDone {
        node: NodeId,
        incarnation: u64,
        sync_id: u64,
    },
    Scheduled(Action),
    ClientWake {
        client: ClientId,
    },
    ClientTimeout {
        client: ClientId,
        attempt: u64,
    },
    ClientRequestArrives {
        node: NodeId,
        client: ClientId,
        request: ClientRequest,
    },
    ClientReplyArrives {
        client: ClientId,
        from: NodeId,
        reply: ClientReply,
    },
    RandomCrash,
    RandomRestart {
        node: NodeId,
        incarnation: u64,
        /// A drawn crash's restart: written to the explicit schedule (other restarts belong
        /// to an action that is written already).
        explicit: bool,
    },
    RandomPartition,
    /// The end of a partition; `explicit` as for `RandomRestart`.
    RandomHeal {
        explicit: bool,
    },
    RandomFault(faults::FaultKind),
    FaultWindowEnd,
    LivenessLeader,
    LivenessClients,
    ExpectStart(usize),
    ExpectEnd(usize),
    MembershipTry,
    RandomMembership,
    Propose,
    /// A message a nemesis held back or replays: delivered past the nemeses that take
    /// messages, so that it is not taken twice.
    DeliverLate {
        to: NodeId,
        msg: M,
        sent_ns: u64,
    },
    /// A message `hold-stale` holds may have reached its limit.
    StaleDeadline,
    /// The drawn instant of a `crash-at-io` crash in the middle of a sync.
    MidSyncCrash(protocol::MidSync),
}

struct Queued<M> {
    time_ns: u64,
    seq: u64,
    /// Boxed: the heap moves its items on every push and pop, and an event carrying a message
    /// (a snapshot chunk, say) is large.
    ev: Box<Ev<M>>,
}

impl<M> PartialEq for Queued<M> {
    fn eq(&self, other: &Self) -> bool {
        (self.time_ns, self.seq) == (other.time_ns, other.seq)
    }
}
impl<M> Eq for Queued<M> {}
impl<M> PartialOrd for Queued<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Queued<M> {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest event, then the first inserted,
    /// must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_ns, other.seq).cmp(&(self.time_ns, self.seq))
    }
}

/// A batch of messages that may leave only once sync `sync_id` completes.
struct Held<M> {
    sync_id: u64,
    messages: Vec<(NodeId, M)>,
}

struct Slot<N: SimNode> {
    node: Option<N>,
    /// The crashed incarnation while the node is down, and how much of its log in memory its
    /// disk still holds as it was (see [`SimNode::restart`]).
    dead: Option<(N, u64)>,
    incarnation: u64,
    disk: Disk,
    /// Messages waiting for a sync, in send order.
    held: VecDeque<Held<N::Message>>,
    /// The earliest timer event queued for this incarnation, `u64::MAX` if none.
    timer_event_ns: u64,
    /// When this node's last queued sync completes: syncs complete in order.
    sync_done_last_ns: u64,
    /// The ordinal of a sync among this node's syncs requested at the same instant.
    sync_ordinal: rng::SameInstant,
    view: NodeView,
    /// The node's own clock; it survives crashes, as hardware does.
    clock: faults::Clock,
    /// The node is frozen until then: what reaches it waits.
    paused_until_ns: u64,
}

const VIEW_INITIAL: NodeView = NodeView {
    role: Role::Follower,
    term: 0,
    vote: None,
    commit_index: 0,
    leader: None,
};

/// A simulation of one scenario with one seed.
pub struct Simulator<N: SimNode> {
    scenario: Scenario,
    /// What every node is started with (`NodeSettings::of` the scenario).
    node_settings: crate::node::NodeSettings,
    options: RunOptions,
    seed: u64,
    now_ns: u64,
    seq: u64,
    /// Events taken from the queue and handled, against `RunOptions::events_budget`.
    events_handled: u64,
    /// The run stopped at its event budget.
    budget_exhausted: bool,
    queue: BinaryHeap<Queued<N::Message>>,
    slots: Vec<Slot<N>>,
    network: Network,
    rng_faults: ChaCha8Rng,
    /// Draws made as a fault takes effect (a torn prefix, a nemesis's victim), apart from
    /// the draws that decide when and which faults come: a run's faults written down as a
    /// schedule then replay it exactly.
    rng_effects: ChaCha8Rng,
    rng_workload: ChaCha8Rng,
    checker: Checker,
    trace: Trace,
    stats: Stats,
    leader_guess: Option<NodeId>,
    situations: Situations,
    proposals_made: u64,
    clients: Option<ClientSim>,
    /// The ordinal of a client message among those sent at the same instant.
    client_network_ordinal: rng::SameInstant,
    /// Per node, the (session, seq) its state machine executed, in its current life and in
    /// the lives its durable state carries over.
    executed: Vec<clients::Executed>,
    /// Every (session, seq) any node executed.
    executed_anywhere: BTreeSet<(u64, u64)>,
    armed: faults::Armed,
    recoveries: faults::Recoveries,
    /// Per term, the highest index each node acknowledged to that term's leader.
    acks: BTreeMap<u64, BTreeMap<NodeId, u64>>,
    /// The swarm draw of this seed, described.
    swarm: Option<String>,
    /// Per `[[expect]]`, the counters at its start.
    expect_marks: Vec<Option<faults::Marks>>,
    members: membership::Members,
    nemeses: protocol::Nemeses<N::Message>,
    /// What the run did, as a fixed schedule and workload (see [`Explicit`]); `None` once it
    /// holds more than a scenario file may list.
    explicit: Option<Explicit>,
}

impl<N: SimNode> Simulator<N> {
    /// Streams the trace to `sink` (before `run`: the records made so far are not sent).
    pub fn stream_trace(&mut self, sink: Box<dyn crate::trace::RecordSink>) {
        self.trace.stream_to(sink);
    }

    /// Sets up a run; nodes start at time 0 with empty disks.
    pub fn new(scenario: Scenario, seed: u64, options: RunOptions) -> Simulator<N> {
        let (scenario, swarm) = if scenario.swarm.enabled {
            let (drawn, description) = crate::swarm::draw(&scenario, seed);
            (drawn, Some(description))
        } else {
            (scenario, None)
        };
        let n = scenario.nodes;
        let expect_len = scenario.expect.len();
        let initial = scenario.membership.initial;
        let network = Network::new(scenario.network.clone(), n, seed);
        let mut rng_clocks = rng::stream(seed, Stream::Clocks);
        let c = &scenario.clocks;
        let slots = (0..n)
            .map(|_| Slot {
                node: None,
                dead: None,
                incarnation: 0,
                disk: Disk::default(),
                held: VecDeque::new(),
                timer_event_ns: u64::MAX,
                sync_done_last_ns: 0,
                sync_ordinal: rng::SameInstant::default(),
                view: VIEW_INITIAL,
                clock: faults::Clock::draw(&mut rng_clocks, c.offset_max_ns, c.drift_ppm_max),
                paused_until_ns: 0,
            })
            .collect();
        let nemeses = protocol::Nemeses::new(&scenario);
        let keep_trace = options.keep_trace;
        let clients = (scenario.clients.count > 0
            && (scenario.clients.operations > 0 || !scenario.operations.is_empty()))
        .then(|| ClientSim::new(scenario.clients.clone(), n, seed, &scenario.operations));
        Simulator {
            network,
            rng_faults: rng::stream(seed, Stream::Faults),
            rng_effects: rng::stream(seed, Stream::FaultEffects),
            rng_workload: rng::stream(seed, Stream::Workload),
            checker: Checker::new(n, VIEW_INITIAL, |id| {
                // Under the applied rule every server starts from the first configuration.
                let voters = match N::CONFIG_RULE {
                    ConfigRule::Appended => membership::bootstrap_voters(id, initial),
                    ConfigRule::Applied => membership::cluster_voters(initial),
                };
                crate::node::Membership::simple(&voters)
            })
            .with_rule(N::CONFIG_RULE),
            trace: Trace::new(keep_trace),
            stats: Stats::default(),
            node_settings: crate::node::NodeSettings::of(&scenario),
            scenario,
            options,
            seed,
            now_ns: 0,
            seq: 0,
            events_handled: 0,
            budget_exhausted: false,
            queue: BinaryHeap::new(),
            slots,
            leader_guess: None,
            situations: Situations::default(),
            proposals_made: 0,
            clients,
            client_network_ordinal: rng::SameInstant::default(),
            executed: vec![clients::Executed::default(); n as usize],
            executed_anywhere: BTreeSet::new(),
            armed: faults::Armed::default(),
            recoveries: faults::Recoveries::default(),
            acks: BTreeMap::new(),
            swarm,
            expect_marks: vec![None; expect_len],
            members: membership::Members::new(n, initial),
            nemeses,
            explicit: Some(Explicit::default()),
        }
    }

    /// Runs to the end of the scenario or the first violation. An `Err` means a node could not
    /// be started (an invalid setting or mutation name).
    pub fn run(mut self) -> Result<Outcome, String> {
        let failure = self.start_and_loop();
        let violation = match failure {
            Some(Failure::Start(e)) => return Err(e),
            Some(Failure::Violation(v)) => Some(v),
            None => self.check_acknowledged_writes(),
        };
        let mut situations = self.situations;
        situations.leader_shorter_log = self.checker.leaders_with_shorter_log();
        let until = self.scenario.faults.until_ns;
        let window_ended = until < self.scenario.duration_ns && self.now_ns >= until;
        let mut drain_ns = None;
        let mut explicit = self.explicit.take();
        let (history, client_operations) = match self.clients.take() {
            Some(c) => {
                if window_ended {
                    drain_ns = Some(c.drain_ns(until));
                }
                situations.add(&c.situations());
                let started = c.started();
                match &mut explicit {
                    Some(e) if started.len() <= crate::scenario::OPERATIONS_EXPLICIT_MAX => {
                        e.operations = started.to_vec();
                    }
                    _ => explicit = None,
                }
                (c.history().to_vec(), c.operations_started())
            }
            None => (Vec::new(), 0),
        };
        let checked = match &violation {
            None if !history.is_empty() => {
                Some(clients::check_linearizability(&history, self.now_ns))
            }
            _ => None,
        };
        let (linearizability, violation) = match checked {
            Some((report, found)) => (Some(report), found),
            None => (None, violation),
        };
        Ok(Outcome {
            implementation: self.scenario.implementation,
            history,
            linearizability,
            client_operations,
            seed: self.seed,
            violation,
            sim_time_ns: self.now_ns,
            budget_exhausted: self.budget_exhausted,
            leaders: self.checker.leaders().clone(),
            entries_committed: self.checker.committed_len(),
            stats: self.stats,
            situations,
            recovery: self.recoveries.by_kind.clone(),
            recovery_samples: self.recoveries.samples.clone(),
            swarm: self.swarm,
            membership: self.members.stats,
            drain_ns,
            trace: self.trace,
            explicit,
        })
    }

    /// Starts the nodes and runs the event loop. A panic inside either (an implementation's,
    /// the adapter's or the simulator's) ends the run as a `panic` violation at the time
    /// reached, so that the trace up to it is kept and a sweep goes on.
    fn start_and_loop(&mut self) -> Option<Failure> {
        let caught = crate::panic::catch(|| match self.start_all() {
            Ok(()) => self.event_loop(),
            Err(failure) => Some(failure),
        });
        caught.unwrap_or_else(|message| {
            Some(Failure::Violation(Violation {
                invariant: crate::checker::Invariant::Panic,
                nodes: Vec::new(),
                time_ns: self.now_ns,
                detail: format!("panicked: {message}"),
                clause: None,
            }))
        })
    }

    fn start_all(&mut self) -> Result<(), Failure> {
        self.check_message_kinds()?;
        // Spares (beyond `membership.initial`) stay down until a change adds them.
        for id in 1..=self.scenario.membership.initial {
            self.start_node(id)?;
        }
        if let Some(mean) = self.scenario.membership.churn_every_ns {
            let at = rng::exponential(&mut self.rng_faults, mean).max(1);
            self.push(at, Ev::RandomMembership);
        }
        self.start_clients();
        for action in self.scenario.schedule.clone() {
            self.push(action.at_ns, Ev::Scheduled(action.action));
        }
        let faults = self.scenario.faults.clone();
        if let Some(mean) = faults.crash_every_ns {
            let at = rng::exponential(&mut self.rng_faults, mean);
            self.push(at, Ev::RandomCrash);
        }
        if let Some(mean) = faults.partition_every_ns {
            let at = rng::exponential(&mut self.rng_faults, mean);
            self.push(at, Ev::RandomPartition);
        }
        self.start_random_faults();
        for (i, e) in self.scenario.expect.clone().iter().enumerate() {
            self.push(e.from_ns, Ev::ExpectStart(i));
            self.push(e.to_ns, Ev::ExpectEnd(i));
        }
        if faults.until_ns < self.scenario.duration_ns {
            self.push(faults.until_ns, Ev::FaultWindowEnd);
        }
        let workload = &self.scenario.workload;
        if let Some(&first) = workload.at_ns.first() {
            self.push(first, Ev::Propose);
        } else if workload.rate_per_s > 0.0 && workload.count > 0 {
            self.push(workload.start_ns, Ev::Propose);
        }
        Ok(())
    }

    fn event_loop(&mut self) -> Option<Failure> {
        let events_budget = self.options.events_budget();
        while let Some(item) = self.queue.pop() {
            if item.time_ns > self.scenario.duration_ns {
                break;
            }
            if self.events_handled >= events_budget {
                self.budget_exhausted = true;
                break;
            }
            self.events_handled += 1;
            debug_assert!(item.time_ns >= self.now_ns, "time never runs backwards");
            self.now_ns = item.time_ns;
            if let Err(failure) = self.handle(*item.ev) {
                return Some(failure);
            }
        }
        if !self.budget_exhausted {
            self.now_ns = self.scenario.duration_ns;
        }
        None
    }

    fn push(&mut self, time_ns: u64, ev: Ev<N::Message>) {
        assert!(
            self.queue.len() < QUEUE_LEN_MAX,
            "event queue overflow: {} events pending",
            self.queue.len()
        );
        self.seq += 1;
        self.queue.push(Queued {
            time_ns,
            seq: self.seq,
            ev: Box::new(ev),
        });
    }

    fn handle(&mut self, ev: Ev<N::Message>) -> Result<(), Failure> {
        if let Some(resume_ns) = self.paused_target(&ev) {
            // A frozen process reads its socket and its timers only when it resumes, in the
            // order they came.
            self.push(resume_ns, ev);
            return Ok(());
        }
        match ev {
            Ev::Deliver { to, msg, sent_ns } => self.deliver(to, msg, sent_ns, true),
            Ev::DeliverLate { to, msg, sent_ns } => self.deliver(to, msg, sent_ns, false),
            Ev::StaleDeadline => self.stale_deadline(),
            Ev::MidSyncCrash(planned) => self.mid_sync_crash(planned),
            Ev::Timer { node, incarnation } => self.timer(node, incarnation),
            Ev::SyncDone {
                node,
                incarnation,
                sync_id,
            } => self.sync_done(node, incarnation, sync_id),
            Ev::Scheduled(action) => {
                self.note_explicit(&action);
                self.act(action)
            }
            Ev::ClientWake { client } => self.client_wake(client),
            Ev::ClientTimeout { client, attempt } => self.client_timeout(client, attempt),
            Ev::ClientRequestArrives {
                node,
                client,
                request,
            } => self.client_request_arrives(node, client, request),
            Ev::ClientReplyArrives {
                client,
                from,
                reply,
            } => self.client_reply_arrives(client, from, reply),
            Ev::RandomCrash => self.random_crash(),
            Ev::RandomRestart {
                node,
                incarnation,
                explicit,
            } => {
                if self.slot(node).incarnation == incarnation {
                    if explicit {
                        self.note_explicit(&Action::Restart { node });
                    }
                    self.restart(node)?;
                }
                Ok(())
            }
            Ev::RandomPartition => {
                self.random_partition();
                Ok(())
            }
            Ev::RandomHeal { explicit } => {
                if explicit {
                    self.note_explicit(&Action::Heal);
                }
                self.heal();
                Ok(())
            }
            Ev::RandomFault(kind) => self.random_fault(kind),
            Ev::FaultWindowEnd => self.end_fault_window(),
            Ev::LivenessLeader => self.liveness_leader(),
            Ev::LivenessClients => self.liveness_clients(),
            Ev::ExpectStart(i) => {
                self.expect_marks[i] = Some(self.marks());
                Ok(())
            }
            Ev::ExpectEnd(i) => self.check_expectation(i),
            Ev::MembershipTry => self.membership_try(),
            Ev::RandomMembership => {
                self.random_membership();
                Ok(())
            }
            Ev::Propose => self.propose(),
        }
    }

    fn slot(&mut self, id: NodeId) -> &mut Slot<N> {
        &mut self.slots[(id - 1) as usize]
    }

    // ---- Node lifecycle -----------------------------------------------------------------

    fn start_node(&mut self, id: NodeId) -> Result<(), Failure> {
        let incarnation = self.slot(id).incarnation;
        let initial = self.scenario.membership.initial;
        let voters = membership::bootstrap_voters(id, initial);
        let cluster_voters = membership::cluster_voters(initial);
        let ctx = StartContext {
            id,
            voters: &voters,
            cluster_voters: &cluster_voters,
            settings: &self.node_settings,
            rng_seed: node_seed(self.seed, id, incarnation),
            now_ns: self.local_ns(id),
            mutation: self.options.mutation.as_deref(),
        };
        let slot = &mut self.slots[(id - 1) as usize];
        let dead = slot.dead.take();
        let log_intact_below = dead.as_ref().map_or(0, |(_, below)| *below);
        let durable = slot.disk.durable();
        let node = match dead {
            Some((dead, below)) => N::restart(&ctx, durable, dead, below),
            None => N::start(&ctx, durable),
        }
        .map_err(|e| Failure::Start(format!("node {id}: {e}")))?;
        if let (Some(s), Some(first)) = (&durable.snapshot, durable.log.first()) {
            // The crash came between the snapshot's write and the log's compaction.
            self.situations.restart_before_compaction += u64::from(first.index <= s.index);
        }
        let view = node.view();
        self.checker
            .restarted(self.now_ns, id, slot.disk.durable(), view, log_intact_below)
            .map_err(Failure::Violation)?;
        let slot = self.slot(id);
        slot.node = Some(node);
        slot.view = view;
        slot.timer_event_ns = u64::MAX;
        self.after_input(id)
    }

    /// Crashes `id`; `kind` names the fault in recovery figures.
    fn crash(&mut self, id: NodeId, kind: &'static str) {
        self.crash_tearing(id, kind, false);
    }

    /// Crashes `id`; with `force_tear` a prefix of its unsynced writes survives whatever
    /// `disk.torn_writes` says (a scheduled `torn = true` crash).
    fn crash_tearing(&mut self, id: NodeId, kind: &'static str, force_tear: bool) {
        let slot = self.slot(id);
        if slot.node.is_none() {
            return;
        }
        let leader_hit = slot.view.role == Role::Leader;
        if leader_hit {
            self.situations.leader_crashed += 1;
        }
        self.note_fault(kind, leader_hit);
        let slot = self.slot(id);
        let dead = slot.node.take();
        slot.incarnation += 1;
        slot.timer_event_ns = u64::MAX;
        let torn = self.scenario.disk.torn_writes;
        let tear = force_tear || (torn > 0.0 && self.rng_effects.gen::<f64>() < torn);
        let slot = &mut self.slots[(id - 1) as usize];
        slot.paused_until_ns = 0;
        let loss = if tear {
            slot.disk.crash_torn(&mut self.rng_effects)
        } else {
            slot.disk.crash()
        };
        // The next life's state machine starts from the checkpoint or snapshot that survived,
        // and replays the log after it: only what they reflect stays executed.
        slot.dead = dead.map(|node| (node, loss.log_intact_below));
        let kept_through = slot.disk.durable().applied_on_restart();
        self.executed[(id - 1) as usize].forget_after(kept_through);
        let held: u64 = slot
            .held
            .drain(..)
            .map(|held| held.messages.len() as u64)
            .sum();
        self.stats.crashes += 1;
        self.stats.writes_lost += loss.lost;
        if loss.lost > 0 {
            self.situations.restart_lost_unsynced_writes += 1;
        }
        if loss.kept > 0 && loss.lost > 0 {
            self.situations.restart_torn_writes += 1;
        }
        self.stats.dropped_crashed += held;
        if self.leader_guess == Some(id) {
            self.leader_guess = None;
        }
        self.trace.record(
            self.now_ns,
            Event::Crash {
                node: id,
                writes_lost: loss.lost,
                writes_torn: loss.kept,
            },
            None,
        );
    }

    fn restart(&mut self, id: NodeId) -> Result<(), Failure> {
        if self.slot(id).node.is_some() || !self.members.started[(id - 1) as usize] {
            return Ok(()); // Running, or a spare that no change has added.
        }
        self.stats.restarts += 1;
        self.trace
            .record(self.now_ns, Event::Restart { node: id }, None);
        self.start_node(id)
    }

    // ---- Inputs to nodes ----------------------------------------------------------------

    /// Delivers a message that arrives; `nemeses` is false for one a nemesis let go.
    fn deliver(
        &mut self,
        to: NodeId,
        msg: N::Message,
        sent_ns: u64,
        nemeses: bool,
    ) -> Result<(), Failure> {
        let info = N::message_info(&msg);
        if !self.network.connected(info.from, to) {
            self.stats.dropped_partition += 1;
            self.trace.record(
                self.now_ns,
                Event::Drop {
                    to,
                    msg: info,
                    reason: DropReason::Partition,
                    sent_ns,
                },
                None,
            );
            return Ok(());
        }
        let msg = if nemeses {
            match self.hold_stale(to, msg, info, sent_ns) {
                Some(msg) => msg,
                None => return Ok(()),
            }
        } else {
            msg
        };
        let now = self.now_ns;
        if let Some(index) = info.ack_index {
            if self.completes_quorum(to, info.from, info.term, index) {
                self.armed.drop_quorum_ack = false;
                self.trace_nemesis("drop-quorum-ack", true, Some(to));
                self.stats.dropped_loss += 1;
                let reason = DropReason::Nemesis;
                self.trace.record(
                    now,
                    Event::Drop {
                        to,
                        msg: info,
                        reason,
                        sent_ns,
                    },
                    None,
                );
                return Ok(());
            }
            let acked = self
                .acks
                .entry(info.term)
                .or_default()
                .entry(info.from)
                .or_insert(0);
            *acked = (*acked).max(index);
        }
        if self.slot(to).node.is_none() {
            self.stats.dropped_down += 1;
            self.trace.record(
                now,
                Event::Drop {
                    to,
                    msg: info,
                    reason: DropReason::Down,
                    sent_ns,
                },
                None,
            );
            return Ok(());
        }
        self.trace.record(
            now,
            Event::Deliver {
                to,
                msg: info,
                sent_ns,
            },
            Some(&msg),
        );
        let local = self.local_ns(to);
        let node = self.slots[(to - 1) as usize]
            .node
            .as_mut()
            .expect("checked running");
        if let Err(error) = node.deliver(local, msg) {
            self.stats.messages_rejected += 1;
            self.trace.record(
                now,
                Event::Rejected {
                    to,
                    msg: info,
                    error,
                },
                None,
            );
        } else {
            self.stats.messages_delivered += 1;
        }
        self.nemeses.input = Some((to, info));
        let result = self.after_input(to);
        self.nemeses.input = None;
        result
    }

    fn timer(&mut self, id: NodeId, incarnation: u64) -> Result<(), Failure> {
        let now = self.now_ns;
        let slot = self.slot(id);
        if slot.incarnation != incarnation || slot.timer_event_ns != now {
            return Ok(()); // Superseded by an earlier timer, or the node crashed since.
        }
        slot.timer_event_ns = u64::MAX;
        let local = slot.clock.local(now);
        let Some(node) = slot.node.as_mut() else {
            return Ok(());
        };
        if local >= node.next_timer_ns() {
            node.fire_timer(local);
            self.trace.record(now, Event::Timer { node: id }, None);
        }
        self.after_input(id)
    }

    fn sync_done(&mut self, id: NodeId, incarnation: u64, sync_id: u64) -> Result<(), Failure> {
        let slot = self.slot(id);
        if slot.incarnation != incarnation || !slot.disk.complete_sync(sync_id) {
            return Ok(());
        }
        let (index, term) = slot.disk.durable_last();
        if self.armed.crash_at_io.is_some() && self.crash_at_io_after_sync(id, index) {
            return Ok(());
        }
        let slot = self.slot(id);
        let durable = slot.disk.durable();
        let log_entries = durable.log.len() as u64;
        let snapshot_bytes = durable.snapshot.as_ref().map_or(0, |s| s.data.len() as u64);
        self.stats.disk_log_entries_max = self.stats.disk_log_entries_max.max(log_entries);
        self.stats.disk_snapshot_bytes_max = self.stats.disk_snapshot_bytes_max.max(snapshot_bytes);
        let slot = &mut self.slots[(id - 1) as usize];
        let mut released = Vec::new();
        while slot
            .held
            .front()
            .is_some_and(|held| held.sync_id <= sync_id)
        {
            released.extend(slot.held.pop_front().expect("front exists").messages);
        }
        if let Some(node) = slot.node.as_mut() {
            node.log_synced(index, term);
        }
        self.trace.record(
            self.now_ns,
            Event::Synced {
                node: id,
                last_index: index,
            },
            None,
        );
        let crash_after = self.after_sync_target(id, &released);
        for (to, msg) in released {
            self.send(id, to, msg);
        }
        if let Some(hit) = crash_after {
            if self.crash_after_send_after_sync(id, hit) {
                return Ok(());
            }
        }
        self.after_input(id)
    }

    /// Acts on what a node asks after an input: check it, write, sync, send, re-arm its timer.
    fn after_input(&mut self, id: NodeId) -> Result<(), Failure> {
        let now = self.now_ns;
        let slot = &mut self.slots[(id - 1) as usize];
        let Some(node) = slot.node.as_mut() else {
            return Ok(());
        };
        let mut output = node.take_output();
        self.situations.add(&output.situations);
        if let Some((index, m)) = output.config_applied.take() {
            self.checker.on_config_applied(id, index, m.clone());
            self.members.applied(index, m);
        }
        let view = node.view();
        let timer_ns = slot.clock.global(node.next_timer_ns());
        if let Some(snapshot) = &output.snapshot {
            self.checker
                .on_snapshot(now, id, snapshot, &view)
                .map_err(Failure::Violation)?;
        }
        if let Some(write) = &output.log_write {
            self.checker
                .on_log_write(now, id, write, &view)
                .map_err(Failure::Violation)?;
        }
        self.checker
            .on_view(now, id, view)
            .map_err(Failure::Violation)?;
        let view_before = std::mem::replace(&mut slot.view, view);
        let produced_wrote =
            output.hard_state.is_some() || output.snapshot.is_some() || output.log_write.is_some();
        let produced_snapshot = output.snapshot.is_some();
        let appended_own = view.role == Role::Leader
            && output
                .log_write
                .as_ref()
                .is_some_and(|w| w.entries.iter().any(|e| e.term == view.term));
        slot.disk
            .write(output.hard_state, output.snapshot.take(), output.log_write);
        if let Some(checkpoint) = output.checkpoint.take() {
            slot.disk.write_checkpoint(checkpoint);
        }
        let sync = output.must_sync.then(|| slot.disk.request_sync());
        let held = slot.disk.syncing() && !output.messages.is_empty();
        let messages = if held {
            let sync_id = slot.disk.sync_id_last();
            slot.held.push_back(Held {
                sync_id,
                messages: output.messages,
            });
            Vec::new()
        } else {
            output.messages
        };
        let rearm = timer_ns < slot.timer_event_ns;
        if rearm {
            slot.timer_event_ns = timer_ns.max(now);
        }
        let incarnation = slot.incarnation;
        let mut sync_done_ns = now;
        if let Some(sync_id) = sync {
            let slot = &mut self.slots[(id - 1) as usize];
            // Keyed by node and instant, like the network's draws (see `rng::keyed`).
            let ordinal = slot.sync_ordinal.next(now);
            let mut rng = rng::keyed(self.seed, Stream::Disk, [id, now, ordinal, 0]);
            let latency = rng::uniform(
                &mut rng,
                self.scenario.disk.sync_latency_min_ns,
                self.scenario.disk.sync_latency_max_ns,
            );
            let done_ns = (now + latency).max(slot.sync_done_last_ns);
            slot.sync_done_last_ns = done_ns;
            sync_done_ns = done_ns;
            self.push(
                done_ns,
                Ev::SyncDone {
                    node: id,
                    incarnation,
                    sync_id,
                },
            );
        }
        if rearm {
            self.push(
                timer_ns.max(now),
                Ev::Timer {
                    node: id,
                    incarnation,
                },
            );
        }
        self.trace_view_change(id, view_before, view);
        let slots = &self.slots;
        self.checker
            .check_commit_durable(now, |node, index, term| {
                let slot = slots.get((node.wrapping_sub(1)) as usize);
                slot.is_some_and(|s| s.disk.durable().holds(index, term))
            })
            .map_err(Failure::Violation)?;
        self.check_applied(id, &output.applied)?;
        self.send_replies(id, output.replies);
        if sync.is_some() && self.crash_before_sync_fires(id) {
            return Ok(());
        }
        let produced = protocol::Produced {
            wrote: produced_wrote,
            snapshot: produced_snapshot,
            sync: sync.map(|sync_id| (sync_id, sync_done_ns)),
            held,
        };
        if self.protocol_before_send(id, &produced) {
            // Whatever did not wait for a sync dies with the node too.
            self.stats.dropped_crashed += messages.len() as u64;
            return Ok(());
        }
        if appended_own {
            if let Some(for_ns) = self.armed.partition_after_append_ns.take() {
                self.trace_nemesis("partition-after-append", true, Some(id));
                self.isolate_node(id, for_ns, "partition-after-append");
            }
        }
        for (to, msg) in messages {
            self.send(id, to, msg);
        }
        if view_before != view {
            self.check_recovery();
        }
        self.protocol_after_send(id, view_before, view);
        Ok(())
    }

    /// The armed crash-before-sync nemesis, if `id` is its target: crash `id` now, between
    /// its write and the sync.
    fn crash_before_sync_fires(&mut self, id: NodeId) -> bool {
        match self.armed.crash_before_sync {
            Some((target, for_ns)) if target.is_none_or(|t| t == id) => {
                self.armed.crash_before_sync = None;
                self.trace_nemesis("crash-before-sync", true, Some(id));
                self.crash_for(id, for_ns, "crash-before-sync");
                true
            }
            _ => false,
        }
    }

    /// True if the drop-quorum-ack nemesis is armed and the acknowledgement from `from`
    /// through `index` would give the leader `to` of `term` a quorum for an uncommitted index.
    fn completes_quorum(&self, to: NodeId, from: NodeId, term: u64, index: u64) -> bool {
        if !self.armed.drop_quorum_ack {
            return false;
        }
        let slot = &self.slots[(to - 1) as usize];
        if slot.node.is_none() || slot.view.role != Role::Leader || slot.view.term != term {
            return false;
        }
        if index <= slot.view.commit_index {
            return false;
        }
        let acks = self.acks.get(&term);
        let others = (1..=self.scenario.nodes)
            .filter(|&n| n != to && n != from)
            .filter(|n| acks.and_then(|a| a.get(n)).is_some_and(|&m| m >= index))
            .count();
        // The leader counts itself: one short of a quorum before this acknowledgement.
        others + 1 == self.quorum() - 1
    }

    /// The node's clock now.
    fn local_ns(&self, id: NodeId) -> u64 {
        self.slots[(id - 1) as usize].clock.local(self.now_ns)
    }

    /// Queues a timer event for `id` if its next deadline is earlier than the one queued.
    fn rearm_timer(&mut self, id: NodeId) {
        let now = self.now_ns;
        let slot = &mut self.slots[(id - 1) as usize];
        let Some(node) = slot.node.as_ref() else {
            return;
        };
        let timer_ns = slot.clock.global(node.next_timer_ns()).max(now);
        if timer_ns < slot.timer_event_ns {
            slot.timer_event_ns = timer_ns;
            let incarnation = slot.incarnation;
            self.push(
                timer_ns,
                Ev::Timer {
                    node: id,
                    incarnation,
                },
            );
        }
    }

    /// Cuts `id` off from all others now and heals `for_ns` later.
    fn isolate_node(&mut self, id: NodeId, for_ns: u64, kind: &'static str) {
        let others: Vec<NodeId> = (1..=self.scenario.nodes).filter(|&n| n != id).collect();
        self.partition(vec![vec![id], others], kind);
        self.push(
            self.now_ns.saturating_add(for_ns),
            Ev::RandomHeal { explicit: false },
        );
    }

    fn trace_view_change(&mut self, id: NodeId, before: NodeView, after: NodeView) {
        if (before.role, before.term) != (after.role, after.term) {
            self.trace.record(
                self.now_ns,
                Event::Role {
                    node: id,
                    role: after.role,
                    term: after.term,
                },
                None,
            );
            if after.role == Role::Leader {
                self.leader_guess = Some(id);
            }
        }
        if after.commit_index > before.commit_index {
            self.trace.record(
                self.now_ns,
                Event::Commit {
                    node: id,
                    index: after.commit_index,
                },
                None,
            );
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: N::Message) {
        self.stats.messages_sent += 1;
        self.remember_sent(to, &msg);
        let reason = if !(1..=self.scenario.nodes).contains(&to) {
            Some(DropReason::Down)
        } else if !self.network.connected(from, to) {
            Some(DropReason::Partition)
        } else {
            None
        };
        let fate = match reason {
            Some(reason) => Err(reason),
            None => {
                let deliveries = self.network.deliveries(from, to, self.now_ns);
                match deliveries.times() {
                    [] => Err(DropReason::Loss),
                    times => Ok(times.to_vec()),
                }
            }
        };
        match fate {
            Ok(times) => {
                if let [_, copy] = times[..] {
                    self.stats.messages_duplicated += 1;
                    self.push(
                        copy,
                        Ev::Deliver {
                            to,
                            msg: msg.clone(),
                            sent_ns: self.now_ns,
                        },
                    );
                }
                let sent_ns = self.now_ns;
                self.push(times[0], Ev::Deliver { to, msg, sent_ns });
            }
            Err(reason) => {
                match reason {
                    DropReason::Loss => self.stats.dropped_loss += 1,
                    DropReason::Partition => self.stats.dropped_partition += 1,
                    DropReason::Down | DropReason::Crashed => self.stats.dropped_down += 1,
                    DropReason::Nemesis => self.stats.dropped_loss += 1,
                }
                let info = N::message_info(&msg);
                self.trace.record(
                    self.now_ns,
                    Event::Drop {
                        to,
                        msg: info,
                        reason,
                        sent_ns: self.now_ns,
                    },
                    None,
                );
            }
        }
    }

    // ---- Workload -----------------------------------------------------------------------

    fn propose(&mut self) -> Result<(), Failure> {
        let number = self.proposals_made;
        self.proposals_made += 1;
        self.stats.proposals += 1;
        let mut command = number.to_le_bytes().to_vec();
        command.extend_from_slice(&self.rng_workload.gen::<u64>().to_le_bytes());
        let taken_by = self.offer(command);
        self.trace.record(
            self.now_ns,
            Event::Propose {
                number,
                node: taken_by,
            },
            None,
        );
        if let Some(id) = taken_by {
            self.stats.proposals_accepted += 1;
            self.leader_guess = Some(id);
            self.after_input(id)?;
        }
        if let Some(e) = &mut self.explicit {
            e.proposals_ns.push(self.now_ns);
            if e.proposals_ns.len() > crate::scenario::OPERATIONS_EXPLICIT_MAX {
                self.explicit = None;
            }
        }
        let workload = &self.scenario.workload;
        if !workload.at_ns.is_empty() {
            // Listed times. The workload stream still draws the interval the rate would
            // have: its later draws (the next command's bytes, the node tried first) stay
            // those of the run the list was taken from, which it then replays exactly.
            let _ = rng::exponential(&mut self.rng_workload, 1);
            let made = self.proposals_made as usize;
            if let Some(&next) = workload.at_ns.get(made) {
                self.push(next.max(self.now_ns), Ev::Propose);
            }
        } else if self.proposals_made < workload.count {
            let mean_ns = (1e9 / workload.rate_per_s).max(1.0) as u64;
            let next = self.now_ns + rng::exponential(&mut self.rng_workload, mean_ns).max(1);
            self.push(next, Ev::Propose);
        }
        Ok(())
    }

    /// Writes `action`, taken now, to the explicit schedule.
    fn note_explicit(&mut self, action: &Action) {
        let Some(e) = &mut self.explicit else {
            return;
        };
        e.actions.push(crate::scenario::ScheduledAction {
            at_ns: self.now_ns,
            action: action.clone(),
            line: 0,
        });
        if e.actions.len() > crate::scenario::OPERATIONS_EXPLICIT_MAX {
            self.explicit = None;
        }
    }

    /// Offers a command to the leader as the workload knows it, following refusals' hints;
    /// at most one try per node.
    fn offer(&mut self, command: Vec<u8>) -> Option<NodeId> {
        let now = self.now_ns;
        let mut tried = vec![false; self.scenario.nodes as usize];
        let mut target = self.leader_guess;
        for _ in 0..self.scenario.nodes {
            let id = match target.filter(|&t| !tried[(t - 1) as usize] && self.responsive(t)) {
                Some(id) => id,
                None => {
                    let untried: Vec<NodeId> = (1..=self.scenario.nodes)
                        .filter(|&t| !tried[(t - 1) as usize] && self.responsive(t))
                        .collect();
                    *untried.choose(&mut self.rng_workload)?
                }
            };
            tried[(id - 1) as usize] = true;
            let local = self.slots[(id - 1) as usize].clock.local(now);
            let node = self.slots[(id - 1) as usize]
                .node
                .as_mut()
                .expect("chosen among running nodes");
            match node.propose(local, command.clone()) {
                Ok(()) => return Some(id),
                Err(Refusal::NotLeader { leader_hint }) => target = leader_hint,
                Err(Refusal::Busy | Refusal::Invalid(_)) => return None,
            }
        }
        None
    }
}

enum Failure {
    Violation(Violation),
    Start(String),
}

/// The seed of node `id`'s generator in its `incarnation`-th life (splitmix64 of the three), so
/// that a node's jitter does not depend on any other concern's draws.
fn node_seed(seed: u64, id: NodeId, incarnation: u64) -> u64 {
    let mut x = seed
        ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ incarnation.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
