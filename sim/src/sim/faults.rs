//! Faults: the scheduled actions, the random fault generators, the nemeses that wait for a
//! protocol moment, node clocks, pauses, and the liveness checks of the quiet period.

use super::{Ev, Failure, Simulator};
use crate::checker::{Invariant, Violation};
use crate::node::{NodeId, Role, SimNode};
use crate::rng;
use crate::scenario::{Action, IoBoundary, SnapshotStage};
use crate::trace::{format_time, Event};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// A node's own clock: `local = global + offset + drift + jumps`, never going backwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Clock {
    offset_ns: u64,
    /// Parts per million, `> -1_000_000`.
    drift_ppm: i64,
    jumped_ns: u64,
}

const PPM: i128 = 1_000_000;

impl Clock {
    /// A clock drawn for one node under the scenario's `[clocks]` settings.
    pub(super) fn draw(rng: &mut ChaCha8Rng, offset_max_ns: u64, drift_ppm_max: u64) -> Clock {
        let offset_ns = rng::uniform(rng, 0, offset_max_ns);
        let d = drift_ppm_max as i64;
        let drift_ppm = if d == 0 { 0 } else { rng.gen_range(-d..=d) };
        Clock {
            offset_ns,
            drift_ppm,
            jumped_ns: 0,
        }
    }

    /// The node's time at simulation time `t`.
    pub(super) fn local(&self, t: u64) -> u64 {
        let t = i128::from(t);
        let drift = t * i128::from(self.drift_ppm) / PPM;
        let local = t + drift + i128::from(self.offset_ns) + i128::from(self.jumped_ns);
        local.clamp(0, i128::from(u64::MAX)) as u64
    }

    /// The earliest simulation time at which the node's clock reads at least `deadline`.
    pub(super) fn global(&self, deadline: u64) -> u64 {
        if deadline == u64::MAX {
            return u64::MAX;
        }
        let base = i128::from(deadline) - i128::from(self.offset_ns) - i128::from(self.jumped_ns);
        if base <= 0 {
            return 0;
        }
        let rate = PPM + i128::from(self.drift_ppm);
        let guess = ((base * PPM + rate - 1) / rate).clamp(0, i128::from(u64::MAX)) as u64;
        // The division rounds; a step or two either way lands on the exact first instant.
        let mut t = guess;
        for _ in 0..4 {
            if self.local(t) < deadline {
                t = t.saturating_add(1);
            } else if t > 0 && self.local(t - 1) >= deadline {
                t -= 1;
            } else {
                break;
            }
        }
        t
    }

    /// Leaps forward by `by_ns`.
    pub(super) fn jump(&mut self, by_ns: u64) {
        self.jumped_ns = self.jumped_ns.saturating_add(by_ns);
    }
}

/// Nemeses armed and waiting for their moment.
#[derive(Clone, Debug, Default)]
pub(super) struct Armed {
    /// Isolate the next leader that appends a new entry, for this long.
    pub partition_after_append_ns: Option<u64>,
    /// Drop the next acknowledgement that would complete a quorum.
    pub drop_quorum_ack: bool,
    /// Crash the next node (or this one) that writes, before its sync; down this long.
    pub crash_before_sync: Option<(Option<NodeId>, u64)>,
    /// Crash (or pause) the next node that produces a message of a kind, before or after
    /// the sync that releases it.
    pub crash_after_send: Option<super::protocol::CrashAfterSend>,
    /// Hold the next message of a kind until a term moves past it.
    pub hold_stale: Option<super::protocol::HoldStale>,
    /// Deliver old messages again when the next leader is elected.
    pub replay_old: bool,
    /// Crash the next follower in a snapshot transfer (or this one), at this stage; down
    /// this long.
    pub crash_during_snapshot: Option<(SnapshotStage, Option<NodeId>, u64)>,
    /// Take a voter down for this long (cut it off if true) and ask for a change at once.
    pub change_while_down: Option<(u64, bool)>,
    /// Crash the next node (or this one) at this I/O boundary; down this long.
    pub crash_at_io: Option<(IoBoundary, Option<NodeId>, u64)>,
}

/// The random fault generators, each with its own mean interval in `[faults]` or `[clocks]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum FaultKind {
    Pause,
    Clog,
    OneWay,
    Bridge,
    IsolateLeader,
    CrashLeader,
    PartitionAfterAppend,
    DropQuorumAck,
    CrashBeforeSync,
    ClockJump,
    CrashAfterSend,
    HoldStale,
    ReplayOld,
    CrashDuringSnapshot,
    ChangeWhileDown,
    CrashAtIo,
}

impl FaultKind {
    const ALL: [FaultKind; 16] = [
        FaultKind::Pause,
        FaultKind::Clog,
        FaultKind::OneWay,
        FaultKind::Bridge,
        FaultKind::IsolateLeader,
        FaultKind::CrashLeader,
        FaultKind::PartitionAfterAppend,
        FaultKind::DropQuorumAck,
        FaultKind::CrashBeforeSync,
        FaultKind::ClockJump,
        FaultKind::CrashAfterSend,
        FaultKind::HoldStale,
        FaultKind::ReplayOld,
        FaultKind::CrashDuringSnapshot,
        FaultKind::ChangeWhileDown,
        FaultKind::CrashAtIo,
    ];
}

/// Time to a leader after faults of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// Faults of this kind.
    pub faults: u64,
    /// Of those, how many were followed by a leader a majority follows before the run ended.
    pub recovered: u64,
    /// Sum of the times to that leader.
    pub total_ns: u64,
    /// The longest.
    pub max_ns: u64,
}

impl Recovery {
    /// Mean time to a leader, over the faults that recovered.
    pub fn mean_ns(&self) -> u64 {
        self.total_ns.checked_div(self.recovered).unwrap_or(0)
    }

    /// Adds another run's figures.
    pub fn add(&mut self, other: &Recovery) {
        self.faults += other.faults;
        self.recovered += other.recovered;
        self.total_ns += other.total_ns;
        self.max_ns = self.max_ns.max(other.max_ns);
    }
}

/// Counters at the start of an `[[expect]]` stretch.
#[derive(Clone, Copy, Debug)]
pub(super) struct Marks {
    committed: u64,
    messages: u64,
    leaders: u64,
}

/// Faults waiting for a leader, at most this many (the oldest are dropped, unrecovered).
const RECOVERIES_PENDING_MAX: usize = 1024;

/// A fault waiting for a leader: its kind, when, and the term a new leader must exceed (0 if
/// any leader that a majority follows will do).
#[derive(Clone, Copy, Debug)]
pub(super) struct Pending {
    kind: &'static str,
    at_ns: u64,
    term_above: u64,
}

/// Recovery bookkeeping of a run.
#[derive(Clone, Debug, Default)]
pub(super) struct Recoveries {
    pending: Vec<Pending>,
    pub by_kind: BTreeMap<&'static str, Recovery>,
    /// Each recovery, for distributions over a sweep (the first `RECOVERY_SAMPLES_MAX`).
    pub samples: Vec<RecoverySample>,
}

/// One fault and the time to a leader after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoverySample {
    /// The fault kind.
    pub kind: &'static str,
    /// The fault hit the leader (crashed, paused or cut it off from a majority).
    pub leader_hit: bool,
    /// From the fault to a leader a majority follows.
    pub took_ns: u64,
}

/// Recoveries kept per run as samples; the counters count them all.
pub const RECOVERY_SAMPLES_MAX: usize = 4096;

impl<N: SimNode> Simulator<N> {
    // ---- Scheduled actions --------------------------------------------------------------

    pub(super) fn act(&mut self, action: Action) -> Result<(), Failure> {
        if self.arm_protocol(&action) {
            return Ok(());
        }
        match action {
            Action::Partition { groups } => self.partition(groups, "partition"),
            Action::Heal => self.heal(),
            Action::Crash { node, torn } => {
                self.crash_tearing(node, "crash", torn);
            }
            Action::Network {
                latency,
                latency_distribution,
                loss,
                duplicate,
                reorder,
            } => {
                let n = &mut self.scenario.network;
                if let Some((min, max)) = latency {
                    (n.latency_min_ns, n.latency_max_ns) = (min, max);
                }
                if let Some(d) = latency_distribution {
                    n.latency_distribution = d;
                }
                n.loss = loss.unwrap_or(n.loss);
                n.duplicate = duplicate.unwrap_or(n.duplicate);
                n.reorder = reorder.unwrap_or(n.reorder);
                let settings = format!(
                    "latency {}..{} ns {:?}, loss {}, duplicate {}, reorder {}",
                    n.latency_min_ns,
                    n.latency_max_ns,
                    n.latency_distribution,
                    n.loss,
                    n.duplicate,
                    n.reorder
                );
                self.network.set_settings(self.scenario.network.clone());
                self.trace
                    .record(self.now_ns, Event::Network { settings }, None);
            }
            Action::Restart { node } => return self.restart(node),
            Action::OneWay { from, to } => self.one_way(from, to),
            Action::Bridge { groups, node } => self.bridge(groups, node),
            Action::Clog { from, to, for_ns } => self.clog(from, to, for_ns),
            Action::Pause { node, for_ns } => self.pause(node, for_ns),
            Action::ClockJump { node, by_ns } => self.clock_jump(node, by_ns)?,
            Action::IsolateLeader { for_ns } => self.isolate_leader(for_ns),
            Action::CrashLeader { for_ns } => self.crash_leader(for_ns),
            Action::PartitionAfterAppend { for_ns } => {
                self.armed.partition_after_append_ns = Some(for_ns);
                self.trace_nemesis("partition-after-append", false, None);
            }
            Action::DropQuorumAck => {
                self.armed.drop_quorum_ack = true;
                self.trace_nemesis("drop-quorum-ack", false, None);
            }
            Action::CrashBeforeSync { node, for_ns } => {
                self.armed.crash_before_sync = Some((node, for_ns));
                self.trace_nemesis("crash-before-sync", false, node);
            }
            Action::AddServer { node } => {
                self.request_membership(vec![node], Vec::new(), false);
            }
            Action::RemoveServer { node } => {
                self.request_membership(Vec::new(), vec![node], false);
            }
            Action::ReplaceServer { from, to } => self.request_membership(to, from, false),
            Action::ReplaceLeader { node } => {
                self.request_membership(vec![node], Vec::new(), true);
            }
            _ => unreachable!("armed by arm_protocol"),
        }
        Ok(())
    }

    pub(super) fn trace_nemesis(&mut self, name: &'static str, fired: bool, node: Option<NodeId>) {
        self.trace
            .record(self.now_ns, Event::Nemesis { name, fired, node }, None);
    }

    // ---- Network faults -----------------------------------------------------------------

    /// Splits the network into `groups`; `kind` names the fault in recovery figures.
    pub(super) fn partition(&mut self, groups: Vec<Vec<NodeId>>, kind: &'static str) {
        let quorum = self.quorum();
        let leader = self.current_leader();
        for group in groups.iter().filter(|g| g.len() < quorum) {
            if leader.is_some_and(|l| group.contains(&l)) {
                self.situations.leader_isolated += 1;
            }
        }
        self.note_fault(
            kind,
            leader.is_some_and(|l| groups.iter().any(|g| g.contains(&l) && g.len() < quorum)),
        );
        self.network.partition(&groups);
        self.stats.partitions += 1;
        self.trace
            .record(self.now_ns, Event::Partition { groups }, None);
    }

    pub(super) fn heal(&mut self) {
        if self.network.is_partitioned() {
            self.trace.record(self.now_ns, Event::Heal, None);
        }
        self.network.heal();
    }

    fn one_way(&mut self, from: Vec<NodeId>, to: Vec<NodeId>) {
        self.note_fault("one-way", false);
        self.network.cut_one_way(&from, &to);
        self.stats.partitions += 1;
        self.trace
            .record(self.now_ns, Event::OneWay { from, to }, None);
    }

    fn bridge(&mut self, groups: Vec<Vec<NodeId>>, node: NodeId) {
        self.note_fault("bridge", false);
        self.network.bridge([&groups[0], &groups[1]], node);
        self.stats.partitions += 1;
        self.trace
            .record(self.now_ns, Event::Bridge { groups, node }, None);
    }

    fn clog(&mut self, from: Vec<NodeId>, to: Vec<NodeId>, for_ns: u64) {
        let until_ns = self.now_ns.saturating_add(for_ns);
        if self.network.clog(&from, &to, until_ns) {
            self.note_fault("clog", false);
            self.trace
                .record(self.now_ns, Event::Clog { from, to, until_ns }, None);
        }
    }

    fn isolate_leader(&mut self, for_ns: u64) {
        if let Some(leader) = self.current_leader() {
            self.trace_nemesis("isolate-leader", true, Some(leader));
            self.isolate_node(leader, for_ns, "isolate-leader");
        }
    }

    // ---- Node faults --------------------------------------------------------------------

    /// Crashes `node` and restarts it `for_ns` later.
    pub(super) fn crash_for(&mut self, node: NodeId, for_ns: u64, kind: &'static str) {
        self.crash(node, kind);
        let incarnation = self.slot(node).incarnation;
        self.push(
            self.now_ns.saturating_add(for_ns),
            Ev::RandomRestart {
                node,
                incarnation,
                explicit: false,
            },
        );
    }

    fn crash_leader(&mut self, for_ns: u64) {
        if let Some(leader) = self.current_leader() {
            self.trace_nemesis("crash-leader", true, Some(leader));
            self.crash_for(leader, for_ns, "crash-leader");
        }
    }

    pub(super) fn pause(&mut self, node: NodeId, for_ns: u64) {
        let now = self.now_ns;
        let slot = self.slot(node);
        if slot.node.is_none() {
            return;
        }
        let until_ns = now.saturating_add(for_ns).max(slot.paused_until_ns);
        slot.paused_until_ns = until_ns;
        let leader_hit = slot.view.role == Role::Leader;
        self.note_fault("pause", leader_hit);
        self.trace
            .record(self.now_ns, Event::Pause { node, until_ns }, None);
    }

    fn clock_jump(&mut self, node: NodeId, by_ns: u64) -> Result<(), Failure> {
        self.slot(node).clock.jump(by_ns);
        self.note_fault("clock-jump", false);
        self.trace
            .record(self.now_ns, Event::ClockJump { node, by_ns }, None);
        // Deadlines on the node's clock came closer: look at its timer again.
        self.rearm_timer(node);
        Ok(())
    }

    /// True if `node` runs and is not paused now.
    pub(super) fn responsive(&self, node: NodeId) -> bool {
        let slot = &self.slots[(node - 1) as usize];
        slot.node.is_some() && slot.paused_until_ns <= self.now_ns
    }

    /// If `ev` is for a node that is paused now, the time it resumes.
    pub(super) fn paused_target(&mut self, ev: &Ev<N::Message>) -> Option<u64> {
        let node = match ev {
            Ev::Deliver { to, .. } | Ev::DeliverLate { to, .. } => *to,
            Ev::Timer { node, .. } | Ev::SyncDone { node, .. } => *node,
            Ev::ClientRequestArrives { node, .. } => *node,
            _ => return None,
        };
        let now = self.now_ns;
        let slot = self.slot(node);
        let until = slot.paused_until_ns;
        if until <= now || slot.node.is_none() {
            return None;
        }
        if let Ev::Timer { incarnation, .. } = ev {
            if slot.incarnation != *incarnation || slot.timer_event_ns != now {
                return None; // Stale anyway: let it be dropped as usual.
            }
            slot.timer_event_ns = until;
        }
        Some(until)
    }

    // ---- Random faults ------------------------------------------------------------------

    pub(super) fn in_fault_window(&self) -> bool {
        self.now_ns < self.scenario.faults.until_ns
    }

    fn mean_every(&self, kind: FaultKind) -> Option<u64> {
        let f = &self.scenario.faults;
        match kind {
            FaultKind::Pause => f.pause_every_ns,
            FaultKind::Clog => f.clog_every_ns,
            FaultKind::OneWay => f.one_way_every_ns,
            FaultKind::Bridge => f.bridge_every_ns,
            FaultKind::IsolateLeader => f.isolate_leader_every_ns,
            FaultKind::CrashLeader => f.crash_leader_every_ns,
            FaultKind::PartitionAfterAppend => f.partition_after_append_every_ns,
            FaultKind::DropQuorumAck => f.drop_quorum_ack_every_ns,
            FaultKind::CrashBeforeSync => f.crash_before_sync_every_ns,
            FaultKind::ClockJump => self.scenario.clocks.jump_every_ns,
            FaultKind::CrashAfterSend => f.crash_after_send_every_ns,
            FaultKind::HoldStale => f.hold_stale_every_ns,
            FaultKind::ReplayOld => f.replay_old_every_ns,
            FaultKind::CrashDuringSnapshot => f.crash_during_snapshot_every_ns,
            FaultKind::ChangeWhileDown => f.change_while_down_every_ns,
            FaultKind::CrashAtIo => f.crash_at_io_every_ns,
        }
    }

    /// Queues the first occurrence of every random fault kind the scenario enables.
    pub(super) fn start_random_faults(&mut self) {
        for kind in FaultKind::ALL {
            self.schedule_random(kind);
        }
    }

    fn schedule_random(&mut self, kind: FaultKind) {
        if let Some(mean) = self.mean_every(kind) {
            let at = self.now_ns + rng::exponential(&mut self.rng_faults, mean).max(1);
            if at < self.scenario.faults.until_ns {
                self.push(at, Ev::RandomFault(kind));
            }
        }
    }

    pub(super) fn random_fault(&mut self, kind: FaultKind) -> Result<(), Failure> {
        if !self.in_fault_window() {
            return Ok(());
        }
        let f = self.scenario.faults.clone();
        let n = self.scenario.nodes;
        let nodes: Vec<NodeId> = (1..=n).collect();
        let partition_for = |rng: &mut ChaCha8Rng| {
            rng::uniform(rng, f.partition_for_min_ns, f.partition_for_max_ns)
        };
        match kind {
            FaultKind::Pause => {
                let node = *nodes.choose(&mut self.rng_faults).expect("nodes >= 1");
                let for_ns =
                    rng::uniform(&mut self.rng_faults, f.pause_for_min_ns, f.pause_for_max_ns);
                self.note_explicit(&Action::Pause { node, for_ns });
                self.pause(node, for_ns);
            }
            FaultKind::Clog if n >= 2 => {
                let mut pair = nodes.clone();
                pair.shuffle(&mut self.rng_faults);
                let for_ns =
                    rng::uniform(&mut self.rng_faults, f.clog_for_min_ns, f.clog_for_max_ns);
                // Both directions: a clogged link in the usual sense.
                for (from, to) in [(pair[0], pair[1]), (pair[1], pair[0])] {
                    let (from, to) = (vec![from], vec![to]);
                    self.note_explicit(&Action::Clog {
                        from: from.clone(),
                        to: to.clone(),
                        for_ns,
                    });
                    self.clog(from, to, for_ns);
                }
            }
            FaultKind::OneWay if n >= 2 && !self.network.is_partitioned() => {
                let (a, b) = self.random_split();
                self.note_explicit(&Action::OneWay {
                    from: a.clone(),
                    to: b.clone(),
                });
                self.one_way(a, b);
                let heal_in = partition_for(&mut self.rng_faults);
                self.push(self.now_ns + heal_in, Ev::RandomHeal { explicit: true });
            }
            FaultKind::Bridge if n >= 3 && !self.network.is_partitioned() => {
                let mut ids = nodes.clone();
                ids.shuffle(&mut self.rng_faults);
                let bridge = ids.pop().expect("n >= 3");
                let split = self.rng_faults.gen_range(1..ids.len());
                let (a, b) = ids.split_at(split);
                let mut groups = vec![a.to_vec(), b.to_vec()];
                groups.iter_mut().for_each(|g| g.sort_unstable());
                self.note_explicit(&Action::Bridge {
                    groups: groups.clone(),
                    node: bridge,
                });
                self.bridge(groups, bridge);
                let heal_in = partition_for(&mut self.rng_faults);
                self.push(self.now_ns + heal_in, Ev::RandomHeal { explicit: true });
            }
            FaultKind::IsolateLeader if !self.network.is_partitioned() => {
                let for_ns = partition_for(&mut self.rng_faults);
                self.note_explicit(&Action::IsolateLeader { for_ns });
                self.isolate_leader(for_ns);
            }
            FaultKind::CrashLeader => {
                let for_ns =
                    rng::uniform(&mut self.rng_faults, f.down_for_min_ns, f.down_for_max_ns);
                let down = (1..=n)
                    .filter(|&id| self.slots[(id - 1) as usize].node.is_none())
                    .count();
                if (down as u64) < f.max_down {
                    self.note_explicit(&Action::CrashLeader { for_ns });
                    self.crash_leader(for_ns);
                }
            }
            FaultKind::PartitionAfterAppend => {
                let for_ns = partition_for(&mut self.rng_faults);
                self.act_explicit(Action::PartitionAfterAppend { for_ns })?;
            }
            FaultKind::DropQuorumAck => self.act_explicit(Action::DropQuorumAck)?,
            FaultKind::CrashBeforeSync => {
                let for_ns =
                    rng::uniform(&mut self.rng_faults, f.down_for_min_ns, f.down_for_max_ns);
                self.act_explicit(Action::CrashBeforeSync { node: None, for_ns })?;
            }
            FaultKind::ClockJump => {
                let c = &self.scenario.clocks;
                let by_ns = rng::uniform(&mut self.rng_faults, c.jump_min_ns, c.jump_max_ns);
                let node = *nodes.choose(&mut self.rng_faults).expect("nodes >= 1");
                self.note_explicit(&Action::ClockJump { node, by_ns });
                self.clock_jump(node, by_ns)?;
            }
            _ => {
                if let Some(action) = self.random_protocol_action(kind) {
                    self.act_explicit(action)?;
                }
            }
        }
        self.schedule_random(kind);
        Ok(())
    }

    /// Takes a drawn action, and writes it to the explicit schedule.
    fn act_explicit(&mut self, action: Action) -> Result<(), Failure> {
        self.note_explicit(&action);
        self.act(action)
    }

    /// Two non-empty groups that together hold every node, in random order.
    fn random_split(&mut self) -> (Vec<NodeId>, Vec<NodeId>) {
        let mut ids: Vec<NodeId> = (1..=self.scenario.nodes).collect();
        ids.shuffle(&mut self.rng_faults);
        let split = self.rng_faults.gen_range(1..ids.len());
        let (a, b) = ids.split_at(split);
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        a.sort_unstable();
        b.sort_unstable();
        (a, b)
    }

    pub(super) fn random_crash(&mut self) -> Result<(), Failure> {
        if !self.in_fault_window() {
            return Ok(());
        }
        let faults = self.scenario.faults.clone();
        let up: Vec<NodeId> = (1..=self.scenario.nodes)
            .filter(|&id| self.slots[(id - 1) as usize].node.is_some())
            .collect();
        let down = self.scenario.nodes - up.len() as u64;
        if down < faults.max_down {
            if let Some(&victim) = up.choose(&mut self.rng_faults) {
                let down_for = rng::uniform(
                    &mut self.rng_faults,
                    faults.down_for_min_ns,
                    faults.down_for_max_ns,
                );
                self.note_explicit(&Action::Crash {
                    node: victim,
                    torn: false,
                });
                self.crash(victim, "crash");
                let incarnation = self.slot(victim).incarnation;
                self.push(
                    self.now_ns.saturating_add(down_for),
                    Ev::RandomRestart {
                        node: victim,
                        incarnation,
                        explicit: true,
                    },
                );
            }
        }
        if let Some(mean) = faults.crash_every_ns {
            let next = self.now_ns + rng::exponential(&mut self.rng_faults, mean).max(1);
            self.push(next, Ev::RandomCrash);
        }
        Ok(())
    }

    pub(super) fn random_partition(&mut self) {
        if !self.in_fault_window() {
            return;
        }
        let faults = self.scenario.faults.clone();
        if !self.network.is_partitioned() && self.scenario.nodes >= 2 {
            let (a, b) = self.random_split();
            let groups = vec![a, b];
            self.note_explicit(&Action::Partition {
                groups: groups.clone(),
            });
            self.partition(groups, "partition");
            let heal_in = rng::uniform(
                &mut self.rng_faults,
                faults.partition_for_min_ns,
                faults.partition_for_max_ns,
            );
            self.push(self.now_ns + heal_in, Ev::RandomHeal { explicit: true });
        }
        if let Some(mean) = faults.partition_every_ns {
            let next = self.now_ns + rng::exponential(&mut self.rng_faults, mean).max(1);
            self.push(next, Ev::RandomPartition);
        }
    }

    pub(super) fn end_fault_window(&mut self) -> Result<(), Failure> {
        self.trace.record(self.now_ns, Event::FaultWindowEnd, None);
        self.heal();
        // The quiet period: no more loss, duplication, reordering or slow outliers either.
        let n = &mut self.scenario.network;
        (n.loss, n.duplicate, n.reorder, n.tail_probability) = (0.0, 0.0, 0.0, 0.0);
        self.network.set_settings(self.scenario.network.clone());
        self.armed = Armed::default();
        self.release_all_stale();
        self.membership_quiet();
        for id in 1..=self.scenario.nodes {
            self.slot(id).paused_until_ns = 0;
            self.restart(id)?;
        }
        self.note_fault("fault-window-end", false);
        let until = self.now_ns;
        if let Some(within) = self.scenario.liveness.leader_within_ns {
            self.push(until.saturating_add(within), Ev::LivenessLeader);
        }
        if let Some(within) = self.scenario.liveness.clients_within_ns {
            self.push(until.saturating_add(within), Ev::LivenessClients);
        }
        Ok(())
    }

    // ---- Leaders and recovery -----------------------------------------------------------

    /// A majority of the voters of the latest committed configuration.
    pub(super) fn quorum(&self) -> usize {
        self.members.committed().voters.len() / 2 + 1
    }

    /// The leader of the highest term among running nodes, if any.
    pub(super) fn current_leader(&self) -> Option<NodeId> {
        (1..=self.scenario.nodes)
            .filter(|&id| {
                let slot = &self.slots[(id - 1) as usize];
                slot.node.is_some() && slot.view.role == Role::Leader
            })
            .max_by_key(|&id| self.slots[(id - 1) as usize].view.term)
    }

    /// A leader that a majority of the cluster's running nodes follow in its term, with its
    /// term.
    pub(super) fn stable_leader(&self) -> Option<(NodeId, u64)> {
        let leader = self.current_leader()?;
        let term = self.slots[(leader - 1) as usize].view.term;
        let follows = |id: NodeId| {
            let s = &self.slots[(id - 1) as usize];
            s.node.is_some() && s.view.term == term && s.view.leader == Some(leader)
        };
        // A majority of the committed configuration's voters (both sets in joint consensus).
        self.members
            .committed()
            .has_quorum(follows)
            .then_some((leader, term))
    }

    /// Starts the clock on a fault: the time to a leader a majority follows, in a term above
    /// the current one if the fault hit the leader.
    pub(super) fn note_fault(&mut self, kind: &'static str, leader_hit: bool) {
        let term_above = match (leader_hit, self.current_leader()) {
            (true, Some(l)) => self.slots[(l - 1) as usize].view.term,
            _ => 0,
        };
        let r = &mut self.recoveries;
        r.by_kind.entry(kind).or_default().faults += 1;
        if r.pending.len() >= RECOVERIES_PENDING_MAX {
            r.pending.remove(0);
        }
        r.pending.push(Pending {
            kind,
            at_ns: self.now_ns,
            term_above,
        });
        self.check_recovery();
    }

    /// Resolves the faults that a leader followed by a majority now answers.
    pub(super) fn check_recovery(&mut self) {
        if self.recoveries.pending.is_empty() {
            return;
        }
        let Some((_, term)) = self.stable_leader() else {
            return;
        };
        let now = self.now_ns;
        let r = &mut self.recoveries;
        r.pending.retain(|p| {
            if term <= p.term_above {
                return true;
            }
            let stat = r.by_kind.entry(p.kind).or_default();
            let took = now - p.at_ns;
            if r.samples.len() < RECOVERY_SAMPLES_MAX {
                r.samples.push(RecoverySample {
                    kind: p.kind,
                    leader_hit: p.term_above > 0,
                    took_ns: took,
                });
            }
            stat.recovered += 1;
            stat.total_ns += took;
            stat.max_ns = stat.max_ns.max(took);
            false
        });
    }

    // ---- Liveness -----------------------------------------------------------------------

    /// The counters an `[[expect]]` bound compares.
    pub(super) fn marks(&self) -> Marks {
        Marks {
            committed: self.checker.committed_len(),
            messages: self.stats.messages_sent,
            leaders: self.checker.leaders().len() as u64,
        }
    }

    pub(super) fn check_expectation(&mut self, i: usize) -> Result<(), Failure> {
        let e = self.scenario.expect[i].clone();
        let start = self.expect_marks[i].expect("a stretch starts before it ends");
        let end = self.marks();
        let committed = end.committed - start.committed;
        let messages = end.messages - start.messages;
        let leaders = end.leaders - start.leaders;
        let mut broken = Vec::new();
        let mut clause = Vec::new();
        if e.commits_max.is_some_and(|m| committed > m) {
            clause.push("commits_max");
            broken.push(format!(
                "{committed} entries committed, at most {} expected",
                e.commits_max.unwrap_or(0)
            ));
        }
        if e.commits_min.is_some_and(|m| committed < m) {
            clause.push("commits_min");
            broken.push(format!(
                "{committed} entries committed, at least {} expected",
                e.commits_min.unwrap_or(0)
            ));
        }
        if e.messages_max.is_some_and(|m| messages > m) {
            clause.push("messages_max");
            broken.push(format!(
                "{messages} messages sent, at most {} expected",
                e.messages_max.unwrap_or(0)
            ));
        }
        if e.leaders_max.is_some_and(|m| leaders > m) {
            clause.push("leaders_max");
            broken.push(format!(
                "{leaders} new leaders, at most {} expected",
                e.leaders_max.unwrap_or(0)
            ));
        }
        let has_leader = self.stable_leader().is_some();
        if e.leader.is_some_and(|want| want != has_leader) {
            clause.push("leader");
            let found = if has_leader { "a leader" } else { "no leader" };
            broken.push(format!("{found} followed by a majority at the end"));
        }
        let ok = broken.is_empty();
        self.trace.record(
            self.now_ns,
            Event::LivenessCheck { what: "expect", ok },
            None,
        );
        if ok {
            return Ok(());
        }
        let detail = format!(
            "[[expect]] at line {} (from {} to {}): {}",
            e.line,
            format_time(e.from_ns),
            format_time(e.to_ns),
            broken.join("; ")
        );
        Err(Failure::Violation(Violation {
            invariant: Invariant::Expectation,
            nodes: Vec::new(),
            time_ns: self.now_ns,
            detail,
            clause: Some(format!("expect[{i}]:{}", clause.join(","))),
        }))
    }

    pub(super) fn liveness_leader(&mut self) -> Result<(), Failure> {
        let ok = self.stable_leader().is_some();
        self.trace.record(
            self.now_ns,
            Event::LivenessCheck { what: "leader", ok },
            None,
        );
        if ok {
            return Ok(());
        }
        let within = self.scenario.liveness.leader_within_ns.unwrap_or(0);
        let views: Vec<String> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| match s.node {
                Some(_) => format!(
                    "node {} {:?} term {} leader {:?}",
                    i + 1,
                    s.view.role,
                    s.view.term,
                    s.view.leader
                ),
                None => format!("node {} down", i + 1),
            })
            .collect();
        let detail = format!(
            "no leader followed by a majority {} after the fault window ended at {}: {}",
            format_time(within),
            format_time(self.scenario.faults.until_ns),
            views.join("; ")
        );
        Err(Failure::Violation(Violation {
            invariant: Invariant::Liveness,
            nodes: Vec::new(),
            time_ns: self.now_ns,
            detail,
            clause: Some("leader".to_string()),
        }))
    }

    pub(super) fn liveness_clients(&mut self) -> Result<(), Failure> {
        let until = self.scenario.faults.until_ns;
        let now = self.now_ns;
        let Some(clients) = &self.clients else {
            return Ok(());
        };
        let late = clients.late_operations(until);
        let ok = late.is_empty();
        self.trace.record(
            now,
            Event::LivenessCheck {
                what: "clients",
                ok,
            },
            None,
        );
        if ok {
            return Ok(());
        }
        const SHOWN_MAX: usize = 8;
        let shown: Vec<String> = late.iter().take(SHOWN_MAX).cloned().collect();
        let detail = format!(
            "{} client operations did not complete by {} ({} after the fault window ended): {}",
            late.len(),
            format_time(now),
            format_time(now - until),
            shown.join("; ")
        );
        Err(Failure::Violation(Violation {
            invariant: Invariant::Liveness,
            nodes: Vec::new(),
            time_ns: now,
            detail,
            clause: Some("clients".to_string()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_and_its_inverse_agree() {
        let mut rng = rng::stream(1, rng::Stream::Clocks);
        for _ in 0..200 {
            let mut clock = Clock::draw(&mut rng, 1_000_000_000, 100_000);
            clock.jump(rng.gen_range(0..3_000_000_000));
            for deadline in [0, 1, 999, 1_000_000_007, 86_400_000_000_000] {
                let t = clock.global(deadline);
                assert!(clock.local(t) >= deadline || t == u64::MAX);
                assert!(
                    t == 0 || clock.local(t - 1) < deadline,
                    "{clock:?} {deadline} -> {t}"
                );
            }
            let (a, b) = (clock.local(5_000), clock.local(5_001));
            assert!(a <= b, "a clock never runs backwards");
        }
        assert_eq!(Clock::default().global(u64::MAX), u64::MAX);
    }

    #[test]
    fn drift_changes_the_rate() {
        let fast = Clock {
            offset_ns: 0,
            drift_ppm: 100_000,
            jumped_ns: 0,
        };
        assert_eq!(fast.local(1_000_000_000), 1_100_000_000);
        let slow = Clock {
            offset_ns: 50,
            drift_ppm: -100_000,
            jumped_ns: 0,
        };
        assert_eq!(slow.local(1_000_000_000), 900_000_050);
        let t = slow.global(900_000_050);
        assert!(t <= 1_000_000_000 && slow.local(t) == 900_000_050, "{t}");
    }
}
