//! Membership changes from the simulator's side: scheduled and random requests, retried at
//! whichever node leads until one accepts, followed until the new configuration commits.
//! Servers that join start with an empty disk.

use super::{Ev, Failure, Simulator};
use crate::node::{Membership, NodeId, Refusal, SimNode};
use crate::rng;
use crate::scenario::Action;
use crate::trace::Event;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::Serialize;
use std::collections::VecDeque;

/// Time between tries of a request, and between looks at whether an accepted one completed.
const RETRY_NS: u64 = 100_000_000;
/// Tries before a request that no leader accepts is abandoned.
const ATTEMPTS_MAX: u32 = 200;
/// An accepted change that has not committed after this long is asked for again, even if the
/// leader that took it still leads.
const ACCEPTED_PATIENCE_NS: u64 = 5_000_000_000;
/// Requests waiting, at most; more are dropped (and counted).
const QUEUE_MAX: usize = 64;

/// What a membership request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Request {
    add: Vec<NodeId>,
    remove: Vec<NodeId>,
    /// Remove whichever node leads when the request is tried; once a leader refused it as
    /// busy, that leader (`remove` then names it).
    remove_leader: bool,
    /// Asked for during the fault window (random churn, or a scheduled change): dropped when
    /// the window ends if no leader took it yet, and not asked again after the window if its
    /// leader lost office. A drawn change written down as a `[[schedule]]` action (what
    /// `raftsim shrink` writes) is then treated as it was when drawn.
    in_fault_window: bool,
}

#[derive(Clone, Debug)]
struct Active {
    request: Request,
    attempts: u32,
    /// Once a leader accepted it: when, and what it asked for.
    accepted: Option<Accepted>,
}

#[derive(Clone, Debug)]
struct Accepted {
    at_ns: u64,
    /// The voters of the configuration asked for.
    voters: Vec<NodeId>,
    /// The leader that took it, and its term then: once it no longer leads that term, it
    /// abandoned the change (a later leader finishes only a joint configuration it finds in
    /// its log, and never promotes the learners), so the request is made again.
    leader: NodeId,
    term: u64,
}

/// Counters of membership changes in a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MembershipStats {
    /// Requests made (scheduled or random).
    pub requested: u64,
    /// Requests whose new configuration committed.
    pub completed: u64,
    /// Requests refused as invalid, abandoned after `ATTEMPTS_MAX` tries, or dropped from a
    /// full queue.
    pub abandoned: u64,
}

/// The simulator's membership bookkeeping.
#[derive(Clone, Debug, Default)]
pub(super) struct Members {
    /// Per node: started at least once (spares are not, until a change adds them).
    pub started: Vec<bool>,
    queue: VecDeque<Request>,
    active: Option<Active>,
    /// The configuration with the highest index any node has applied (committed).
    committed: (u64, Membership),
    pub stats: MembershipStats,
}

impl Members {
    pub(super) fn new(nodes: u64, initial: u64) -> Members {
        Members {
            started: (1..=nodes).map(|id| id <= initial).collect(),
            committed: (0, Membership::simple(&(1..=initial).collect::<Vec<_>>())),
            ..Members::default()
        }
    }

    /// Notes a configuration a node applied.
    pub(super) fn applied(&mut self, index: u64, m: Membership) {
        if index > self.committed.0 {
            self.committed = (index, m);
        }
    }

    /// True if no request waits or is under way.
    pub(super) fn idle(&self) -> bool {
        self.active.is_none() && self.queue.is_empty()
    }

    /// The latest committed configuration.
    pub(super) fn committed(&self) -> &Membership {
        &self.committed.1
    }
}

/// The voters of the cluster's first configuration: nodes 1 to `initial`.
pub(super) fn cluster_voters(initial: u64) -> Vec<NodeId> {
    (1..=initial).collect()
}

/// The voters of the first configuration as node `id` starts with them: the initial nodes
/// know them, a server that joins later knows none.
pub(super) fn bootstrap_voters(id: NodeId, initial: u64) -> Vec<NodeId> {
    if id <= initial {
        cluster_voters(initial)
    } else {
        Vec::new()
    }
}

impl<N: SimNode> Simulator<N> {
    /// Queues a membership request and makes sure it will be tried.
    pub(super) fn request_membership(
        &mut self,
        add: Vec<NodeId>,
        remove: Vec<NodeId>,
        remove_leader: bool,
    ) {
        let in_fault_window = self.in_fault_window();
        self.members.stats.requested += 1;
        if self.members.queue.len() >= QUEUE_MAX {
            self.members.stats.abandoned += 1;
            return;
        }
        let idle = self.members.active.is_none() && self.members.queue.is_empty();
        self.members.queue.push_back(Request {
            add,
            remove,
            remove_leader,
            in_fault_window,
        });
        if idle {
            self.push(self.now_ns, Ev::MembershipTry);
        }
    }

    /// One try of the active request (or the next queued one), or a look at whether the
    /// accepted one has committed.
    pub(super) fn membership_try(&mut self) -> Result<(), Failure> {
        if self.members.active.is_none() {
            let Some(request) = self.members.queue.pop_front() else {
                return Ok(());
            };
            self.members.active = Some(Active {
                request,
                attempts: 0,
                accepted: None,
            });
        }
        let active = self.members.active.clone().expect("set above");
        if let Some(accepted) = &active.accepted {
            let done = self.members.committed();
            if done.voters_outgoing.is_empty() && done.voters == accepted.voters {
                let voters = &accepted.voters;
                self.members.stats.completed += 1;
                self.members.active = None;
                let text = format!("configuration {voters:?} committed");
                self.trace
                    .record(self.now_ns, Event::Membership { what: text }, None);
                self.push(self.now_ns, Ev::MembershipTry);
                return Ok(());
            }
            let view = self.slots[(accepted.leader - 1) as usize].view;
            let still_leading = self.slots[(accepted.leader - 1) as usize].node.is_some()
                && view.role == crate::node::Role::Leader
                && view.term == accepted.term;
            if still_leading && self.now_ns - accepted.at_ns < ACCEPTED_PATIENCE_NS {
                self.push(self.now_ns + RETRY_NS, Ev::MembershipTry);
                return Ok(());
            }
            self.members.active.as_mut().expect("active").accepted = None;
            if active.request.in_fault_window && !self.in_fault_window() {
                // The quiet period takes no new change from the window, and asking again
                // is one.
                return self.membership_abandon(
                    "its leader lost office after the fault window".to_string(),
                );
            }
        }
        self.membership_attempt(active.request)
    }

    fn membership_attempt(&mut self, request: Request) -> Result<(), Failure> {
        let attempts = {
            let active = self.members.active.as_mut().expect("active");
            active.attempts += 1;
            active.attempts
        };
        if attempts > ATTEMPTS_MAX {
            return self.membership_abandon("no leader accepted it".to_string());
        }
        let Some(leader) = self.current_leader().filter(|&l| self.responsive(l)) else {
            self.push(self.now_ns + RETRY_NS, Ev::MembershipTry);
            return Ok(());
        };
        let mut remove = request.remove.clone();
        if request.remove_leader {
            remove.push(leader);
        }
        for &id in &request.add {
            self.start_joining(id)?;
        }
        let local = self.slots[(leader - 1) as usize].clock.local(self.now_ns);
        let node = self.slots[(leader - 1) as usize]
            .node
            .as_mut()
            .expect("responsive");
        match node.change_membership(local, &request.add, &remove) {
            Ok(()) => {
                let committed = self.members.committed().voters.clone();
                let mut voters: Vec<NodeId> = committed
                    .into_iter()
                    .filter(|v| !remove.contains(v))
                    .chain(request.add.iter().copied())
                    .collect();
                voters.sort_unstable();
                voters.dedup();
                let text = format!(
                    "node {leader} accepts: add {:?}, remove {remove:?}",
                    request.add
                );
                self.trace
                    .record(self.now_ns, Event::Membership { what: text }, None);
                let term = self.slots[(leader - 1) as usize].view.term;
                self.members.active.as_mut().expect("active").accepted = Some(Accepted {
                    at_ns: self.now_ns,
                    voters,
                    leader,
                    term,
                });
                self.push(self.now_ns + RETRY_NS, Ev::MembershipTry);
                self.after_input(leader)
            }
            Err(Refusal::Invalid(why)) => self.membership_abandon(why),
            Err(Refusal::NotLeader { .. }) => {
                self.push(self.now_ns + RETRY_NS, Ev::MembershipTry);
                Ok(())
            }
            Err(Refusal::Busy) => {
                // A leader that will not remove itself (raft-rs: it hands over first) is still
                // the one to replace: later tries ask whoever leads then to remove it.
                if request.remove_leader {
                    let active = self.members.active.as_mut().expect("active");
                    active.request.remove_leader = false;
                    active.request.remove.push(leader);
                }
                self.push(self.now_ns + RETRY_NS, Ev::MembershipTry);
                Ok(())
            }
        }
    }

    fn membership_abandon(&mut self, why: String) -> Result<(), Failure> {
        self.members.stats.abandoned += 1;
        self.members.active = None;
        self.trace.record(
            self.now_ns,
            Event::Membership {
                what: format!("request abandoned: {why}"),
            },
            None,
        );
        self.push(self.now_ns, Ev::MembershipTry);
        Ok(())
    }

    /// Starts a server that is being added: with an empty disk if it never ran, else from its
    /// own disk (restarted if down). A server that was removed and is added again keeps its
    /// disk. Wiping it would reuse its id with its persistent state lost: it could vote twice
    /// in one term, and while it catches up, its log's old configurations still name servers
    /// removed since, which could then win its vote and become leader without the committed
    /// entries. An early version of this simulator did wipe them, and `membership-churn`
    /// seed 73 showed exactly that (a removed node elected in term 44, leader completeness
    /// broken).
    fn start_joining(&mut self, id: NodeId) -> Result<(), Failure> {
        let i = (id - 1) as usize;
        if self.members.started[i] {
            return self.restart(id);
        }
        self.members.started[i] = true;
        let what = format!("node {id} starts empty to join");
        self.trace
            .record(self.now_ns, Event::Membership { what }, None);
        self.trace
            .record(self.now_ns, Event::Join { node: id }, None);
        self.stats.restarts += 1;
        self.start_node(id)
    }

    /// The quiet period begins: requests from the fault window that no leader has taken yet
    /// are dropped.
    pub(super) fn membership_quiet(&mut self) {
        let before = self.members.queue.len();
        self.members.queue.retain(|r| !r.in_fault_window);
        let mut dropped = (before - self.members.queue.len()) as u64;
        if self
            .members
            .active
            .as_ref()
            .is_some_and(|a| a.request.in_fault_window && a.accepted.is_none())
        {
            self.members.active = None;
            dropped += 1;
        }
        self.members.stats.abandoned += dropped;
    }

    /// A random change within the fault window: add a server that is not a voter, remove a
    /// voter, or replace one, keeping the voters between `voters_min` and `voters_max`.
    pub(super) fn random_membership(&mut self) {
        let settings = self.scenario.membership.clone();
        if !self.in_fault_window() {
            return;
        }
        if let Some(mean) = settings.churn_every_ns {
            let next = self.now_ns + rng::exponential(&mut self.rng_faults, mean).max(1);
            self.push(next, Ev::RandomMembership);
        }
        if self.members.active.is_some() || !self.members.queue.is_empty() {
            return; // One change at a time, as the protocol itself requires.
        }
        let voters = self.members.committed().voters.clone();
        let outside: Vec<NodeId> = (1..=self.scenario.nodes)
            .filter(|id| !voters.contains(id))
            .collect();
        let count = voters.len() as u64;
        let mut choices = Vec::new();
        if count < settings.voters_max && !outside.is_empty() {
            choices.push(0);
        }
        if count > settings.voters_min {
            choices.push(1);
        }
        if !outside.is_empty() {
            choices.push(2);
        }
        let Some(&choice) = choices.choose(&mut self.rng_faults) else {
            return;
        };
        let pick =
            |rng: &mut rand_chacha::ChaCha8Rng, from: &[NodeId]| from[rng.gen_range(0..from.len())];
        let (add, remove) = match choice {
            0 => (vec![pick(&mut self.rng_faults, &outside)], Vec::new()),
            1 => (Vec::new(), vec![pick(&mut self.rng_faults, &voters)]),
            _ => {
                let add = pick(&mut self.rng_faults, &outside);
                let remove = pick(&mut self.rng_faults, &voters);
                (vec![add], vec![remove])
            }
        };
        let action = match (add.as_slice(), remove.as_slice()) {
            ([node], []) => Action::AddServer { node: *node },
            ([], [node]) => Action::RemoveServer { node: *node },
            _ => Action::ReplaceServer {
                from: remove.clone(),
                to: add.clone(),
            },
        };
        self.note_explicit(&action);
        self.request_membership(add, remove, false);
    }
}
