//! Protocol-timed nemeses: faults armed at a time that fire at a protocol moment a clock
//! rarely hits. A node crashes right after it produced a message (before or after the sync
//! that releases it), a message is held until its term is over, old messages come back, a
//! follower crashes in the middle of a snapshot transfer, a membership change is asked for
//! while a voter is down, a node crashes at an I/O boundary. Each sees only what crosses the
//! `SimNode` boundary: message kinds and terms (`MessageInfo`), writes, syncs and views.

use super::{Ev, Failure, Simulator};
use crate::node::{MessageInfo, NodeId, NodeView, Role, SimNode};
use crate::scenario::{Action, IoBoundary, SendMoment, SnapshotStage, StaleUntil};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::{BTreeSet, VecDeque};

/// Messages `hold-stale` holds at once, at most; beyond it the nemesis waits.
const STALE_HELD_MAX: usize = 16;
/// Messages sent that `replay-old` remembers: the most recent ones.
const REPLAY_RING_LEN: usize = 256;
/// Messages `replay-old` delivers again in one firing, at most.
const REPLAY_MAX: usize = 8;
/// Message kinds remembered for the random nemeses to draw from, at most.
const KINDS_MAX: usize = 64;

/// An armed `crash-after-send`.
#[derive(Clone, Debug)]
pub(super) struct CrashAfterSend {
    pub kind: Option<String>,
    pub when: SendMoment,
    pub node: Option<NodeId>,
    pub for_ns: u64,
    pub pause: bool,
}

/// An armed `hold-stale`.
#[derive(Clone, Debug)]
pub(super) struct HoldStale {
    pub kind: Option<String>,
    pub until: StaleUntil,
    pub for_ns: u64,
}

/// A message `hold-stale` holds until the term of `watch` exceeds the message's.
struct StaleHeld<M> {
    to: NodeId,
    msg: M,
    info: MessageInfo,
    sent_ns: u64,
    watch: NodeId,
    deadline_ns: u64,
}

/// A message sent, as `replay-old` remembers it.
struct Sent<M> {
    to: NodeId,
    msg: M,
    term: u64,
    sent_ns: u64,
}

/// The protocol nemeses' state besides what is armed.
pub(super) struct Nemeses<M> {
    stale: Vec<StaleHeld<M>>,
    /// The last `REPLAY_RING_LEN` messages sent; kept only when `replay-old` may fire.
    ring: VecDeque<Sent<M>>,
    record_sent: bool,
    /// Kinds of messages that waited for a sync, for the random `crash-after-send`.
    kinds_held: BTreeSet<&'static str>,
    record_kinds_held: bool,
    /// Kinds of messages delivered, for the random `hold-stale`.
    kinds_delivered: BTreeSet<&'static str>,
    record_kinds_delivered: bool,
    /// The message its receiver is handling now, if the input is a delivery.
    pub input: Option<(NodeId, MessageInfo)>,
}

impl<M> Nemeses<M> {
    pub(super) fn new(scenario: &crate::scenario::Scenario) -> Nemeses<M> {
        let f = &scenario.faults;
        let scheduled =
            |want: fn(&Action) -> bool| scenario.schedule.iter().any(|a| want(&a.action));
        Nemeses {
            stale: Vec::new(),
            ring: VecDeque::new(),
            record_sent: f.replay_old_every_ns.is_some()
                || scheduled(|a| matches!(a, Action::ReplayOld)),
            kinds_held: BTreeSet::new(),
            record_kinds_held: f.crash_after_send_every_ns.is_some(),
            kinds_delivered: BTreeSet::new(),
            record_kinds_delivered: f.hold_stale_every_ns.is_some(),
            input: None,
        }
    }
}

/// A `mid-sync` crash planned for a drawn instant while `node`'s sync is in flight.
pub(super) struct MidSync {
    node: NodeId,
    incarnation: u64,
    /// When it was planned: a crash planned inside the fault window is dropped past its end.
    armed_ns: u64,
    /// The node the nemesis was armed for, if one: armed again for it if this one misses.
    target: Option<NodeId>,
    for_ns: u64,
}

/// What a node's latest output made the host do, for the nemeses that fire on it.
pub(super) struct Produced {
    /// It issued a write (hard state, snapshot or log).
    pub wrote: bool,
    /// It wrote a snapshot.
    pub snapshot: bool,
    /// The sync it requested, and when that sync completes.
    pub sync: Option<(u64, u64)>,
    /// Its messages wait for that sync.
    pub held: bool,
}

fn kind_matches(wanted: &Option<String>, kind: &str, default: fn(&str) -> bool) -> bool {
    wanted
        .as_deref()
        .map_or_else(|| default(kind), |w| w == kind)
}

fn any_response(kind: &str) -> bool {
    kind.ends_with("Response")
}

impl<N: SimNode> Simulator<N> {
    /// Arms a protocol-timed nemesis from a scheduled action (or a random one); `false` for
    /// any other action.
    pub(super) fn arm_protocol(&mut self, action: &Action) -> bool {
        let (name, node) = match action.clone() {
            Action::CrashAfterSend {
                kind,
                when,
                node,
                for_ns,
                pause,
            } => {
                let armed = CrashAfterSend {
                    kind,
                    when,
                    node,
                    for_ns,
                    pause,
                };
                self.armed.crash_after_send = Some(armed);
                ("crash-after-send", node)
            }
            Action::HoldStale {
                kind,
                until,
                for_ns,
            } => {
                self.armed.hold_stale = Some(HoldStale {
                    kind,
                    until,
                    for_ns,
                });
                ("hold-stale", None)
            }
            Action::ReplayOld => {
                self.armed.replay_old = true;
                ("replay-old", None)
            }
            Action::CrashDuringSnapshot {
                stage,
                node,
                for_ns,
            } => {
                self.armed.crash_during_snapshot = Some((stage, node, for_ns));
                ("crash-during-snapshot", node)
            }
            Action::ChangeWhileDown { for_ns, isolate } => {
                self.armed.change_while_down = Some((for_ns, isolate));
                ("change-while-down", None)
            }
            Action::CrashAtIo {
                boundary,
                node,
                for_ns,
            } => {
                self.armed.crash_at_io = Some((boundary, node, for_ns));
                ("crash-at-io", node)
            }
            _ => return false,
        };
        self.trace_nemesis(name, false, node);
        true
    }

    /// True if any protocol-timed nemesis is armed: the hot path looks no further otherwise.
    fn protocol_armed(&self) -> bool {
        let a = &self.armed;
        a.crash_after_send.is_some()
            || a.crash_during_snapshot.is_some()
            || a.crash_at_io.is_some()
            || a.replay_old
            || a.change_while_down.is_some()
    }

    /// Crashes `id` for `for_ns`, traced as nemesis `name` (its moment in the name) and
    /// counted under `kind` in recovery figures; with `torn`, a prefix of its unsynced writes
    /// survives.
    fn nemesis_crash(
        &mut self,
        id: NodeId,
        name: &'static str,
        kind: &'static str,
        for_ns: u64,
        torn: bool,
    ) {
        self.trace_nemesis(name, true, Some(id));
        self.crash_tearing(id, kind, torn);
        let incarnation = self.slot(id).incarnation;
        self.push(
            self.now_ns.saturating_add(for_ns),
            Ev::RandomRestart {
                node: id,
                incarnation,
                explicit: false,
            },
        );
    }

    fn trace_nemesis_message(
        &mut self,
        name: &'static str,
        what: &'static str,
        to: NodeId,
        msg: MessageInfo,
    ) {
        let event = crate::trace::Event::NemesisMessage {
            name,
            what,
            to,
            msg,
        };
        self.trace.record(self.now_ns, event, None);
    }

    // ---- In `after_input`, before the node's messages go out ---------------------------

    /// Records what the nemeses drawn at random choose from, then gives the nemeses that
    /// fire between a write and its sync their chance. True if `id` crashed.
    pub(super) fn protocol_before_send(&mut self, id: NodeId, produced: &Produced) -> bool {
        if self.nemeses.record_kinds_held && produced.held {
            self.remember_kinds_held(id);
        }
        if !self.protocol_armed() {
            return false;
        }
        if produced.held && self.crash_after_send_before_sync(id) {
            return true;
        }
        if produced.snapshot && produced.sync.is_some() && self.crash_at_install(id) {
            return true;
        }
        self.crash_at_io_before_send(id, produced)
    }

    fn remember_kinds_held(&mut self, id: NodeId) {
        let slot = &self.slots[(id - 1) as usize];
        let Some(batch) = slot.held.back() else {
            return;
        };
        for (_, msg) in batch.messages.iter().take(KINDS_MAX) {
            if self.nemeses.kinds_held.len() < KINDS_MAX {
                self.nemeses.kinds_held.insert(N::message_info(msg).kind);
            }
        }
    }

    /// `crash-after-send`, `when = "before-sync"`: the batch `id` just produced waits for a
    /// sync and holds a message of the kind; crash (its writes and that batch are lost) or
    /// pause (the batch goes out once the pause and the sync are over).
    fn crash_after_send_before_sync(&mut self, id: NodeId) -> bool {
        let Some(armed) = self.armed.crash_after_send.clone() else {
            return false;
        };
        if armed.when != SendMoment::BeforeSync || armed.node.is_some_and(|n| n != id) {
            return false;
        }
        let slot = &self.slots[(id - 1) as usize];
        let batch = slot.held.back().map_or(&[][..], |b| &b.messages[..]);
        let hit = batch
            .iter()
            .map(|(to, msg)| (*to, N::message_info(msg)))
            .find(|(_, info)| kind_matches(&armed.kind, info.kind, any_response));
        let Some((to, info)) = hit else { return false };
        self.armed.crash_after_send = None;
        self.trace_nemesis_message("crash-after-send", "before-sync", to, info);
        if armed.pause {
            self.trace_nemesis("crash-after-send:before-sync", true, Some(id));
            self.pause(id, armed.for_ns);
            return false;
        }
        self.nemesis_crash(
            id,
            "crash-after-send:before-sync",
            "crash-after-send",
            armed.for_ns,
            false,
        );
        true
    }

    /// `crash-during-snapshot`, `stage = "install"`: `id` just installed the snapshot the
    /// last chunk completed, and its sync is pending.
    fn crash_at_install(&mut self, id: NodeId) -> bool {
        let Some((SnapshotStage::Install, target, for_ns)) = self.armed.crash_during_snapshot
        else {
            return false;
        };
        let last_chunk = matches!(self.nemeses.input, Some((to, info)) if to == id && info.snapshot_last == Some(true));
        if !last_chunk || target.is_some_and(|t| t != id) {
            return false;
        }
        let (_, info) = self.nemeses.input.expect("a last chunk");
        self.armed.crash_during_snapshot = None;
        self.trace_nemesis_message("crash-during-snapshot", "install", id, info);
        self.nemesis_crash(
            id,
            "crash-during-snapshot:install",
            "crash-during-snapshot",
            for_ns,
            false,
        );
        true
    }

    /// `crash-at-io` at `after-write` (crash now) or `mid-sync` (crash at a drawn instant
    /// before the sync completes).
    fn crash_at_io_before_send(&mut self, id: NodeId, produced: &Produced) -> bool {
        let Some((boundary, target, for_ns)) = self.armed.crash_at_io else {
            return false;
        };
        if target.is_some_and(|t| t != id) {
            return false;
        }
        match (boundary, produced.sync) {
            (IoBoundary::AfterWrite, _) if produced.wrote => {
                self.armed.crash_at_io = None;
                self.nemesis_crash(id, "crash-at-io:after-write", "crash-at-io", for_ns, false);
                true
            }
            (IoBoundary::MidSync, Some((_, done_ns))) => {
                self.armed.crash_at_io = None;
                let now = self.now_ns;
                let at = if done_ns > now + 1 {
                    self.rng_effects.gen_range(now + 1..done_ns)
                } else {
                    now
                };
                let incarnation = self.slots[(id - 1) as usize].incarnation;
                let planned = MidSync {
                    node: id,
                    incarnation,
                    armed_ns: now,
                    target,
                    for_ns,
                };
                self.push(at, Ev::MidSyncCrash(planned));
                false
            }
            _ => false,
        }
    }

    /// The drawn instant of a `mid-sync` crash: if `node` still runs the same life, its sync
    /// is still in flight and the fault window did not end since, crash it keeping a torn
    /// prefix; otherwise arm the nemesis again (unless the window ended).
    pub(super) fn mid_sync_crash(&mut self, planned: MidSync) -> Result<(), Failure> {
        let MidSync {
            node,
            incarnation,
            armed_ns,
            target,
            for_ns,
        } = planned;
        let until = self.scenario.faults.until_ns;
        if armed_ns < until && until <= self.now_ns {
            return Ok(());
        }
        let slot = &self.slots[(node - 1) as usize];
        if slot.incarnation == incarnation && slot.node.is_some() && slot.disk.syncing() {
            self.nemesis_crash(node, "crash-at-io:mid-sync", "crash-at-io", for_ns, true);
        } else if self.armed.crash_at_io.is_none() {
            self.armed.crash_at_io = Some((IoBoundary::MidSync, target, for_ns));
        }
        Ok(())
    }

    // ---- In `sync_done` -------------------------------------------------------------------

    /// `crash-at-io`, `boundary = "after-sync"`: the sync of `id` just completed; crash it
    /// before it hears so, and before the messages the sync released are sent. True if it
    /// crashed.
    pub(super) fn crash_at_io_after_sync(&mut self, id: NodeId, last_index: u64) -> bool {
        let Some((IoBoundary::AfterSync, target, for_ns)) = self.armed.crash_at_io else {
            return false;
        };
        if target.is_some_and(|t| t != id) {
            return false;
        }
        self.armed.crash_at_io = None;
        let synced = crate::trace::Event::Synced {
            node: id,
            last_index,
        };
        self.trace.record(self.now_ns, synced, None);
        self.nemesis_crash(id, "crash-at-io:after-sync", "crash-at-io", for_ns, false);
        true
    }

    /// The message among `released` that an armed `crash-after-send` at `after-sync` waits
    /// for, if any.
    pub(super) fn after_sync_target(
        &self,
        id: NodeId,
        released: &[(NodeId, N::Message)],
    ) -> Option<(NodeId, MessageInfo)> {
        let armed = self.armed.crash_after_send.as_ref()?;
        if armed.when != SendMoment::AfterSync || armed.node.is_some_and(|n| n != id) {
            return None;
        }
        released
            .iter()
            .map(|(to, msg)| (*to, N::message_info(msg)))
            .find(|(_, info)| kind_matches(&armed.kind, info.kind, any_response))
    }

    /// `crash-after-send`, `when = "after-sync"`: the message went out with the sync that
    /// released it; crash (or pause) `id` now. True if it crashed.
    pub(super) fn crash_after_send_after_sync(
        &mut self,
        id: NodeId,
        (to, info): (NodeId, MessageInfo),
    ) -> bool {
        let Some(armed) = self.armed.crash_after_send.take() else {
            return false;
        };
        self.trace_nemesis_message("crash-after-send", "after-sync", to, info);
        if armed.pause {
            self.trace_nemesis("crash-after-send:after-sync", true, Some(id));
            self.pause(id, armed.for_ns);
            return false;
        }
        self.nemesis_crash(
            id,
            "crash-after-send:after-sync",
            "crash-after-send",
            armed.for_ns,
            false,
        );
        true
    }

    // ---- In `after_input`, once the node's messages went out ----------------------------

    /// The nemeses that fire once a node handled its input: a snapshot chunk that is not the
    /// last, a new leader (old messages replayed), a term that moved on (held messages let
    /// go), a leader followed by a majority (a change while a voter is down).
    pub(super) fn protocol_after_send(&mut self, id: NodeId, before: NodeView, after: NodeView) {
        if !self.nemeses.stale.is_empty() && before.term != after.term {
            self.release_stale("released", |held, sim| {
                let watched = &sim.slots[(held.watch - 1) as usize].view;
                held.watch == id && watched.term > held.info.term
            });
        }
        if !self.protocol_armed() {
            return;
        }
        if self.crash_in_transfer(id) {
            return;
        }
        if self.armed.replay_old && before.role != Role::Leader && after.role == Role::Leader {
            self.replay_old(id);
        }
        if self.armed.change_while_down.is_some() {
            self.change_while_down();
        }
    }

    /// `crash-during-snapshot`, `stage = "transfer"`: `id` just handled a chunk that is not
    /// the last; crash it with the snapshot half assembled.
    fn crash_in_transfer(&mut self, id: NodeId) -> bool {
        let Some((SnapshotStage::Transfer, target, for_ns)) = self.armed.crash_during_snapshot
        else {
            return false;
        };
        let Some((to, info)) = self.nemeses.input else {
            return false;
        };
        if to != id || info.snapshot_last != Some(false) || target.is_some_and(|t| t != id) {
            return false;
        }
        self.armed.crash_during_snapshot = None;
        self.trace_nemesis_message("crash-during-snapshot", "transfer", id, info);
        self.nemesis_crash(
            id,
            "crash-during-snapshot:transfer",
            "crash-during-snapshot",
            for_ns,
            false,
        );
        true
    }

    // ---- hold-stale ---------------------------------------------------------------------

    /// Takes `msg` on its arrival if `hold-stale` is armed for its kind: it is held until the
    /// watched term moves past the message's. Gives it back otherwise.
    pub(super) fn hold_stale(
        &mut self,
        to: NodeId,
        msg: N::Message,
        info: MessageInfo,
        sent_ns: u64,
    ) -> Option<N::Message> {
        if self.nemeses.record_kinds_delivered && self.nemeses.kinds_delivered.len() < KINDS_MAX {
            self.nemeses.kinds_delivered.insert(info.kind);
        }
        let Some(armed) = &self.armed.hold_stale else {
            return Some(msg);
        };
        let watch = match armed.until {
            StaleUntil::SenderTerm => info.from,
            StaleUntil::ReceiverTerm => to,
        };
        let already_stale = self.slots[(watch - 1) as usize].view.term > info.term;
        let wanted = kind_matches(&armed.kind, info.kind, |_| true);
        if !wanted || already_stale || self.nemeses.stale.len() >= STALE_HELD_MAX {
            return Some(msg);
        }
        let deadline_ns = self.now_ns.saturating_add(armed.for_ns);
        self.armed.hold_stale = None;
        self.trace_nemesis("hold-stale", true, Some(to));
        self.trace_nemesis_message("hold-stale", "held", to, info);
        self.nemeses.stale.push(StaleHeld {
            to,
            msg,
            info,
            sent_ns,
            watch,
            deadline_ns,
        });
        self.push(deadline_ns, Ev::StaleDeadline);
        None
    }

    /// Lets go every held message for which `due` holds: delivered now, past the nemeses;
    /// `what` says why in the trace.
    fn release_stale(
        &mut self,
        what: &'static str,
        due: impl Fn(&StaleHeld<N::Message>, &Self) -> bool,
    ) {
        let mut i = 0;
        while i < self.nemeses.stale.len() {
            if !due(&self.nemeses.stale[i], self) {
                i += 1;
                continue;
            }
            let held = self.nemeses.stale.remove(i);
            self.trace_nemesis_message("hold-stale", what, held.to, held.info);
            let (to, msg, sent_ns) = (held.to, held.msg, held.sent_ns);
            self.push(self.now_ns, Ev::DeliverLate { to, msg, sent_ns });
        }
    }

    /// A held message's limit came: let go of those whose limit passed.
    pub(super) fn stale_deadline(&mut self) -> Result<(), Failure> {
        let now = self.now_ns;
        self.release_stale("released-at-limit", |held, _| held.deadline_ns <= now);
        Ok(())
    }

    /// The fault window ended: every held message goes, so that the quiet period is quiet.
    pub(super) fn release_all_stale(&mut self) {
        self.release_stale("released-at-window-end", |_, _| true);
    }

    // ---- replay-old ---------------------------------------------------------------------

    /// Remembers a message sent, if `replay-old` may need it.
    pub(super) fn remember_sent(&mut self, to: NodeId, msg: &N::Message) {
        if !self.nemeses.record_sent {
            return;
        }
        if self.nemeses.ring.len() >= REPLAY_RING_LEN {
            self.nemeses.ring.pop_front();
        }
        let term = N::message_info(msg).term;
        let sent = Sent {
            to,
            msg: msg.clone(),
            term,
            sent_ns: self.now_ns,
        };
        self.nemeses.ring.push_back(sent);
    }

    /// `replay-old`: `leader` was just elected; deliver again up to `REPLAY_MAX` remembered
    /// messages whose term is below their receiver's, drawn from the fault-effects stream.
    fn replay_old(&mut self, leader: NodeId) {
        let mut candidates: Vec<usize> = (0..self.nemeses.ring.len())
            .filter(|&i| {
                let sent = &self.nemeses.ring[i];
                sent.term < self.slots[(sent.to - 1) as usize].view.term
            })
            .collect();
        if candidates.is_empty() {
            return;
        }
        self.armed.replay_old = false;
        self.trace_nemesis("replay-old", true, Some(leader));
        // A partial shuffle: the first `REPLAY_MAX` places get a random pick each.
        let take = candidates.len().min(REPLAY_MAX);
        for i in 0..take {
            let j = self.rng_effects.gen_range(i..candidates.len());
            candidates.swap(i, j);
        }
        let mut chosen = candidates[..take].to_vec();
        chosen.sort_unstable();
        for i in chosen {
            let sent = &self.nemeses.ring[i];
            let (to, msg, sent_ns) = (sent.to, sent.msg.clone(), sent.sent_ns);
            self.trace_nemesis_message("replay-old", "replayed", to, N::message_info(&msg));
            self.push(self.now_ns, Ev::DeliverLate { to, msg, sent_ns });
        }
    }

    // ---- change-while-down --------------------------------------------------------------

    /// `change-while-down`: once a leader is followed by a majority and no change is under
    /// way, take down a voter that is not the leader and ask for a change at once. A spare
    /// (a server that is not a voter) is added if there is one; else another voter is removed
    /// and then added back. Both are requests as a schedule makes them, so they are pursued
    /// into the quiet period and the cluster ends with the voters it had, or one more.
    fn change_while_down(&mut self) {
        let Some((for_ns, isolate)) = self.armed.change_while_down else {
            return;
        };
        if !self.members.idle() {
            return;
        }
        let Some((leader, _)) = self.stable_leader() else {
            return;
        };
        let voters = self.members.committed().voters.clone();
        let up: Vec<NodeId> = voters
            .iter()
            .copied()
            .filter(|&v| v != leader && self.slots[(v - 1) as usize].node.is_some())
            .collect();
        let Some(&victim) = up.choose(&mut self.rng_effects) else {
            return;
        };
        self.armed.change_while_down = None;
        self.trace_nemesis("change-while-down", true, Some(victim));
        if isolate && !self.network.is_partitioned() {
            self.isolate_node(victim, for_ns, "change-while-down");
        } else {
            self.crash_for(victim, for_ns, "change-while-down");
        }
        let outside: Vec<NodeId> = (1..=self.scenario.nodes)
            .filter(|id| !voters.contains(id))
            .collect();
        if let Some(&spare) = outside.choose(&mut self.rng_effects) {
            self.request_membership(vec![spare], Vec::new(), false);
            return;
        }
        let others: Vec<NodeId> = voters
            .iter()
            .copied()
            .filter(|&v| v != victim && v != leader)
            .collect();
        if let Some(&other) = others.choose(&mut self.rng_effects) {
            self.request_membership(Vec::new(), vec![other], false);
            self.request_membership(vec![other], Vec::new(), false);
        }
    }

    // ---- Random armings -----------------------------------------------------------------

    /// The action a random arming of a protocol-timed nemesis makes, drawn from the fault
    /// stream; `None` if it cannot fire now (`change-while-down` with `max_down` nodes down).
    pub(super) fn random_protocol_action(
        &mut self,
        kind: super::faults::FaultKind,
    ) -> Option<Action> {
        use super::faults::FaultKind as K;
        let f = self.scenario.faults.clone();
        let rng = &mut self.rng_faults;
        let down_for = crate::rng::uniform(rng, f.down_for_min_ns, f.down_for_max_ns);
        let action = match kind {
            K::CrashAfterSend => Action::CrashAfterSend {
                kind: draw_kind(rng, &self.nemeses.kinds_held),
                when: if rng.gen_bool(0.5) {
                    SendMoment::BeforeSync
                } else {
                    SendMoment::AfterSync
                },
                node: None,
                for_ns: down_for,
                pause: false,
            },
            K::HoldStale => Action::HoldStale {
                kind: draw_kind(rng, &self.nemeses.kinds_delivered),
                until: if rng.gen_bool(0.5) {
                    StaleUntil::SenderTerm
                } else {
                    StaleUntil::ReceiverTerm
                },
                for_ns: crate::scenario::HOLD_STALE_FOR_DEFAULT_NS,
            },
            K::ReplayOld => Action::ReplayOld,
            K::CrashDuringSnapshot => Action::CrashDuringSnapshot {
                stage: if rng.gen_bool(0.5) {
                    SnapshotStage::Transfer
                } else {
                    SnapshotStage::Install
                },
                node: None,
                for_ns: down_for,
            },
            K::ChangeWhileDown => {
                let isolate = rng.gen_bool(0.5);
                let started = &self.members.started;
                let down = (self.slots.iter().zip(started))
                    .filter(|(s, &started)| started && s.node.is_none())
                    .count() as u64;
                if down >= f.max_down {
                    return None;
                }
                Action::ChangeWhileDown {
                    for_ns: down_for,
                    isolate,
                }
            }
            K::CrashAtIo => {
                let boundaries = [
                    IoBoundary::AfterWrite,
                    IoBoundary::MidSync,
                    IoBoundary::AfterSync,
                ];
                Action::CrashAtIo {
                    boundary: *boundaries.choose(rng).expect("three"),
                    node: None,
                    for_ns: down_for,
                }
            }
            _ => return None,
        };
        Some(action)
    }

    /// Refuses a scheduled message kind the implementation never sends (when it says which
    /// it sends), naming the schedule entry's line.
    pub(super) fn check_message_kinds(&self) -> Result<(), Failure> {
        let known = N::message_kinds();
        if known.is_empty() {
            return Ok(());
        }
        for entry in &self.scenario.schedule {
            let kind = match &entry.action {
                Action::CrashAfterSend { kind, .. } | Action::HoldStale { kind, .. } => kind,
                _ => continue,
            };
            if let Some(k) = kind.as_deref().filter(|k| !known.contains(k)) {
                return Err(Failure::Start(format!(
                    "schedule entry at line {}: field `kind`: this implementation sends no message of kind {k:?}; it sends {}",
                    entry.line,
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// A kind among those seen, or `None` (the nemesis's default) if none was seen yet.
fn draw_kind(rng: &mut rand_chacha::ChaCha8Rng, seen: &BTreeSet<&'static str>) -> Option<String> {
    let kinds: Vec<&'static str> = seen.iter().copied().collect();
    kinds.choose(rng).map(|k| k.to_string())
}
