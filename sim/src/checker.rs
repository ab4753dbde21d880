//! Online safety checks, run after every event on the node it touched (Raft paper, Figure 3).
//!
//! The checker sees only what the boundary exposes: each node's log writes and its
//! [`NodeView`]. It keeps a mirror of every node's log as (term, chain hash) pairs, where the
//! chain hash of entry `i` covers entries `1..=i`: two logs agree through `i` exactly when their
//! chain hashes at `i` agree, which makes Log Matching and Leader Completeness O(1) checks.
//!
//! A node's snapshot (section 7) must cover only committed entries; its mirror then starts at
//! the snapshot's index with the committed entry's mark there, so chains stay comparable across
//! nodes and the mirror stays as short as the node's log.

use crate::node::{
    DurableState, EntryKind, LogWrite, Membership, NodeId, NodeView, Role, StoredEntry,
    StoredSnapshot,
};
use crate::trace::TraceHasher;
use serde::Serialize;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// The invariants the checker enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    /// At most one leader per term (section 5.2).
    ElectionSafety,
    /// A leader never overwrites or deletes entries in its log (section 5.3).
    LeaderAppendOnly,
    /// Two logs with an entry of the same index and term agree up to it (section 5.3).
    LogMatching,
    /// A leader's log holds every entry committed in earlier terms (section 5.4).
    LeaderCompleteness,
    /// No two nodes commit different entries at one index (section 5.4.3).
    StateMachineSafety,
    /// A node's term never decreases while it runs.
    MonotonicTerm,
    /// A node's commit index never decreases while it runs, and never passes its log.
    MonotonicCommit,
    /// Each client command is executed once (dissertation section 6.3): never twice by one
    /// state machine, and every acknowledged write by some node.
    ExactlyOnce,
    /// The clients' history is linearizable (per key).
    Linearizability,
    /// Once faults stop, a leader is elected and clients' operations complete in time.
    Liveness,
    /// A leader commits an index only once a majority of its configuration's voters (of both
    /// configurations during joint consensus, section 6) hold the entry, in their logs and
    /// synced to their disks.
    QuorumCommit,
    /// A scenario's `[[expect]]` bound on a stretch of the run.
    Expectation,
    /// Code panicked during the run: an implementation, the host adapter or the simulator.
    /// A panic is a finding like any broken invariant, with its seed and reproduce command.
    Panic,
}

impl Invariant {
    /// The invariant's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ElectionSafety => "election-safety",
            Invariant::LeaderAppendOnly => "leader-append-only",
            Invariant::LogMatching => "log-matching",
            Invariant::LeaderCompleteness => "leader-completeness",
            Invariant::StateMachineSafety => "state-machine-safety",
            Invariant::MonotonicTerm => "monotonic-term",
            Invariant::MonotonicCommit => "monotonic-commit",
            Invariant::ExactlyOnce => "exactly-once",
            Invariant::Linearizability => "linearizability",
            Invariant::Liveness => "liveness",
            Invariant::QuorumCommit => "quorum-commit",
            Invariant::Expectation => "expectation",
            Invariant::Panic => "panic",
        }
    }
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which one.
    pub invariant: Invariant,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
    /// When it was detected.
    pub time_ns: u64,
    /// What exactly was seen.
    pub detail: String,
    /// For an expectation or a liveness failure, which condition failed (`leader`,
    /// `clients`; for an `[[expect]]`, the conditions it broke, such as `commits_min,leader`):
    /// a shrunk run must fail the same way, not merely the same invariant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clause: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EntryMark {
    term: u64,
    chain: u64,
}

#[derive(Clone, Copy, Debug)]
struct Committed {
    mark: EntryMark,
    /// The node that first reported it committed, and that node's term then: an upper bound
    /// of the term in which it was committed.
    node: NodeId,
    term_seen: u64,
}

/// A node's log as the checker sees it: its snapshot's last entry, then the entries after it.
#[derive(Clone, Debug)]
struct NodeMirror {
    /// The last index the node's snapshot covers, 0 without one.
    base: u64,
    /// The mark at `base`, `None` when `base` is 0. It is the committed entry's mark there: a
    /// snapshot covers only committed entries, so the compacted prefix is the committed one.
    base_mark: Option<EntryMark>,
    /// The marks of indexes `base + 1..=base + log.len()`.
    log: Vec<EntryMark>,
    view: NodeView,
    /// The configuration entries of `log`, by index, in order.
    configs: Vec<(u64, Membership)>,
    /// The configuration in effect at `base`, from the snapshot.
    base_membership: Option<Membership>,
    /// The configuration before any configuration entry.
    bootstrap: Membership,
    /// Under [`ConfigRule::Applied`], the configuration entry the node applied last, with its
    /// index; `None` before any (or after a restart, until it applies one again).
    applied: Option<(u64, Membership)>,
    /// The configurations in effect at some moment of the current event before its end: the
    /// one before its log write, and each one the write added but a later one replaced. A
    /// leader may commit, then append a configuration, in one event (or the other way round):
    /// its commit was decided under one of these or the one in effect at the end.
    configs_during_event: Vec<Membership>,
}

impl NodeMirror {
    fn new(view: NodeView, bootstrap: Membership) -> NodeMirror {
        NodeMirror {
            base: 0,
            base_mark: None,
            log: Vec::new(),
            view,
            configs: Vec::new(),
            base_membership: None,
            bootstrap,
            applied: None,
            configs_during_event: Vec::new(),
        }
    }

    /// The configuration in effect under `rule`. [`ConfigRule::Appended`]: the latest in the
    /// log, else the snapshot's (section 6). [`ConfigRule::Applied`]: the latest applied, else
    /// the snapshot's if newer.
    fn membership_under(&self, rule: ConfigRule) -> &Membership {
        let latest = match rule {
            ConfigRule::Appended => self.configs.last(),
            ConfigRule::Applied => self.applied.as_ref().filter(|(i, _)| *i > self.base),
        };
        latest
            .map(|(_, m)| m)
            .or(self.base_membership.as_ref())
            .unwrap_or(&self.bootstrap)
    }

    /// The configuration in effect under the thesis's rule, [`ConfigRule::Appended`].
    #[cfg(test)]
    fn membership(&self) -> &Membership {
        self.membership_under(ConfigRule::Appended)
    }

    fn last_index(&self) -> u64 {
        self.base + self.log.len() as u64
    }

    /// The mark at `index`: the snapshot's at the base, then the entries'; `None` at 0, below
    /// the base (compacted) and past the end.
    fn mark(&self, index: u64) -> Option<EntryMark> {
        if index == self.base {
            return self.base_mark;
        }
        let position = index.checked_sub(self.base + 1)?;
        self.log.get(position as usize).copied()
    }

    /// Drops the marks after `index`, which is not below the base.
    fn truncate_after(&mut self, index: u64) {
        assert!(index >= self.base, "truncating below the base");
        self.log.truncate((index - self.base) as usize);
        self.configs.retain(|(i, _)| *i <= index);
    }

    /// Appends `entry`, which must be the next index; `Err` holds the index expected.
    fn push(&mut self, entry: &StoredEntry) -> Result<EntryMark, u64> {
        let expected = self.last_index() + 1;
        if entry.index != expected {
            return Err(expected);
        }
        let prev = self.log.last().or(self.base_mark.as_ref());
        let mark = EntryMark {
            term: entry.term,
            chain: chain(prev.map_or(0, |m| m.chain), entry),
        };
        self.log.push(mark);
        if entry.kind == EntryKind::Config {
            if let Some(m) = Membership::decode(&entry.data) {
                self.configs.push((entry.index, m));
            }
        }
        Ok(mark)
    }

    /// A restart whose crash lost no log write below `log_intact_below`, nor a snapshot or
    /// compaction: the mirror keeps its marks below that index and takes the durable entries
    /// from there on, instead of hashing the whole log again. False, changing nothing, when
    /// the durable log does not start where the mirror does.
    fn restart_intact(&mut self, durable: &DurableState, log_intact_below: u64) -> bool {
        let Some((base, kept)) = durable.kept_on_restart(log_intact_below) else {
            return false;
        };
        if base != self.base || kept > self.log.len() {
            return false; // Another base, or entries the mirror never saw: rebuild.
        }
        self.log.truncate(kept);
        self.configs.retain(|(i, _)| *i <= base + kept as u64);
        self.applied = None;
        // The durable log is consecutive from its first index; were it not, the caller's
        // rebuild from scratch reports it.
        durable.log_after_snapshot()[kept..]
            .iter()
            .all(|entry| self.push(entry).is_ok())
    }

    /// A snapshot through `index`, whose entry is `mark`, replaces the log through it; the
    /// entries after it stay only if the log held that same entry (section 7).
    fn compact(&mut self, index: u64, mark: EntryMark, membership: &Membership) {
        assert!(index > self.base, "a snapshot at or below the base");
        if self.mark(index) == Some(mark) {
            self.log.drain(..(index - self.base) as usize);
            self.configs.retain(|(i, _)| *i > index);
        } else {
            self.log.clear();
            self.configs.clear();
        }
        self.base = index;
        self.base_mark = Some(mark);
        self.base_membership = Some(membership.clone());
    }
}

/// When a configuration entry takes effect at the node that holds it, which decides the
/// quorum a leader's commit needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfigRule {
    /// As soon as it is in the log, committed or not (dissertation section 4.1): raftsim's
    /// Raft.
    #[default]
    Appended,
    /// Once it is committed and applied (etcd raft, tikv/raft-rs): until then a leader counts
    /// with the configuration before it. Safe because such implementations let one change be
    /// pending at a time. Every server, one that joins later too, starts from the cluster's
    /// first configuration (`StartContext::cluster_voters`) and applies the changes to it.
    Applied,
}

/// The online checker.
#[derive(Debug)]
pub struct Checker {
    nodes: Vec<NodeMirror>,
    /// When the nodes' configurations take effect.
    rule: ConfigRule,
    /// The leader of each term seen.
    leaders: BTreeMap<u64, NodeId>,
    /// By index: every (term, chain) seen in any log at that index. It is never trimmed: a
    /// node may write at any index above its durable snapshot's, and a crash can take it back
    /// to an older snapshot than the one the checker saw, so no index is ever out of reach.
    marks_by_index: MarksByIndex,
    committed: Vec<Committed>,
    /// Leaders elected in a term > 1 whose log was shorter than another node's.
    leaders_with_shorter_log: u64,
    /// The commit a leader made in the last `on_view` (leader, index, term of the entry, the
    /// configurations in effect during the event), for `check_commit_durable`.
    commit_to_check: Option<(NodeId, u64, u64, Vec<Membership>)>,
}

/// The chain hash of `entry` after `prev`. The data goes in eight bytes per step (the last
/// step zero-padded, the length first): every entry any node writes passes here, and the
/// checker only compares chains, so it needs no byte-at-a-time hash.
fn chain(prev: u64, entry: &StoredEntry) -> u64 {
    let mut h = TraceHasher::default();
    h.write_u64(prev);
    entry.term.hash(&mut h);
    entry.kind.hash(&mut h);
    h.write_u64(entry.data.len() as u64);
    let mut words = entry.data.chunks_exact(8);
    for word in &mut words {
        h.write_u64(u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h.write_u64(u64::from_le_bytes(last));
    }
    h.finish()
}

impl Checker {
    /// A checker for `n` fresh nodes, with the configuration each starts from.
    pub fn new(nodes: u64, initial: NodeView, bootstrap: impl Fn(NodeId) -> Membership) -> Checker {
        Checker {
            nodes: (1..=nodes)
                .map(|id| NodeMirror::new(initial, bootstrap(id)))
                .collect(),
            rule: ConfigRule::Appended,
            leaders: BTreeMap::new(),
            marks_by_index: MarksByIndex::default(),
            commit_to_check: None,
            committed: Vec::new(),
            leaders_with_shorter_log: 0,
        }
    }

    /// The checker, with configurations taking effect by `rule`.
    pub fn with_rule(mut self, rule: ConfigRule) -> Checker {
        self.rule = rule;
        self
    }

    /// `node` applied the configuration entry at `index`, which puts `membership` in effect
    /// under [`ConfigRule::Applied`] (the one it replaces stays acceptable for the commits of
    /// this event). Ignored under [`ConfigRule::Appended`].
    pub fn on_config_applied(&mut self, node: NodeId, index: u64, membership: Membership) {
        if self.rule != ConfigRule::Applied {
            return;
        }
        let mirror = &mut self.nodes[(node - 1) as usize];
        let before = mirror.membership_under(ConfigRule::Applied).clone();
        mirror.configs_during_event.push(before);
        mirror.applied = Some((index, membership));
    }

    /// The leader of every term, as seen.
    pub fn leaders(&self) -> &BTreeMap<u64, NodeId> {
        &self.leaders
    }

    /// Leaders elected in a term > 1 whose log, without the entries of their own term, was
    /// shorter than another node's: the up-to-date rule compares last terms before lengths.
    pub fn leaders_with_shorter_log(&self) -> u64 {
        self.leaders_with_shorter_log
    }

    /// How many entries are known committed.
    pub fn committed_len(&self) -> u64 {
        self.committed.len() as u64
    }

    /// A node restarted: its log is what its disk kept (its snapshot, then the entries after
    /// it), its view starts anew. The snapshot is checked as [`Checker::on_snapshot`] checks
    /// one, except that it must be known committed already: it was persisted in an earlier
    /// output, whose commits were checked then.
    pub fn restarted(
        &mut self,
        now: u64,
        node: NodeId,
        durable: &DurableState,
        view: NodeView,
        log_intact_below: u64,
    ) -> Result<(), Violation> {
        let mirror = &mut self.nodes[(node - 1) as usize];
        if mirror.restart_intact(durable, log_intact_below) {
            mirror.view = view;
            #[cfg(debug_assertions)]
            {
                // Tests run with debug assertions: every restart there checks the short cut
                // against the mirror rebuilt from the whole durable log.
                let kept = self.nodes[(node - 1) as usize].clone();
                self.restarted(now, node, durable, view, 0)?;
                let rebuilt = &self.nodes[(node - 1) as usize];
                assert_eq!(
                    (kept.base, &kept.base_mark, &kept.log, &kept.configs),
                    (rebuilt.base, &rebuilt.base_mark, &rebuilt.log, &rebuilt.configs),
                    "node {node}: the mirror kept below index {log_intact_below} differs from the disk's"
                );
            }
            return Ok(());
        }
        let snapshot = durable.snapshot.as_ref().filter(|s| s.index > 0);
        let base_mark = match snapshot {
            Some(s) => Some(self.snapshot_mark(now, node, s)?),
            None => None,
        };
        let mirror = &mut self.nodes[(node - 1) as usize];
        mirror.base = snapshot.map_or(0, |s| s.index);
        mirror.base_mark = base_mark;
        mirror.base_membership = snapshot.map(|s| s.membership.clone());
        mirror.applied = None;
        mirror.log.clear();
        mirror.configs.clear();
        mirror.view = view;
        for entry in durable.log_after_snapshot() {
            mirror
                .push(entry)
                .map_err(|expected| misplaced(now, node, expected, entry))?;
        }
        Ok(())
    }

    /// Checks a snapshot `node` persists (one it took, or one a leader sent it), whose view
    /// after the same output is `view` (checked next, by [`Checker::on_view`]); call it before
    /// [`Checker::on_log_write`] of that output. A snapshot at or below the node's current one
    /// is checked but changes nothing: a node may persist the one it holds again, and were it
    /// to go back, its next write below its base would be flagged.
    pub fn on_snapshot(
        &mut self,
        now: u64,
        node: NodeId,
        snapshot: &StoredSnapshot,
        view: &NodeView,
    ) -> Result<(), Violation> {
        if snapshot.index == 0 {
            return Ok(()); // It covers nothing.
        }
        if snapshot.index > self.committed_len() {
            self.commit_through_snapshot(now, node, snapshot, view)?;
        }
        let mark = self.snapshot_mark(now, node, snapshot)?;
        let mirror = &mut self.nodes[(node - 1) as usize];
        if snapshot.index > mirror.base {
            mirror.compact(snapshot.index, mark, &snapshot.membership);
        }
        Ok(())
    }

    /// A node may snapshot an index in the very output that commits it, before `on_view` has
    /// seen that commit. That is legal only if the node holds the entry and its new commit
    /// index reaches it; its commits through the snapshot are checked now, as `on_view` would
    /// check them, while the mirror still holds their marks.
    fn commit_through_snapshot(
        &mut self,
        now: u64,
        node: NodeId,
        snapshot: &StoredSnapshot,
        view: &NodeView,
    ) -> Result<(), Violation> {
        let mirror = &self.nodes[(node - 1) as usize];
        let holds = mirror
            .mark(snapshot.index)
            .is_some_and(|m| m.term == snapshot.term);
        if !holds || view.commit_index < snapshot.index {
            return Err(self.uncommitted_snapshot(now, node, snapshot));
        }
        let from = mirror.view.commit_index + 1;
        self.check_commits(now, node, from, snapshot.index, view.term)
    }

    /// The committed mark at a snapshot's index (not 0): a snapshot covers only committed
    /// entries, and its last one is the committed entry there.
    fn snapshot_mark(
        &self,
        now: u64,
        node: NodeId,
        snapshot: &StoredSnapshot,
    ) -> Result<EntryMark, Violation> {
        let Some(c) = self.committed.get((snapshot.index - 1) as usize) else {
            return Err(self.uncommitted_snapshot(now, node, snapshot));
        };
        if c.mark.term != snapshot.term {
            let detail = format!(
                "node {node}'s snapshot through index {} ends with an entry of term {}, but node {} committed one of term {} there",
                snapshot.index, snapshot.term, c.node, c.mark.term
            );
            return Err(violation(
                Invariant::StateMachineSafety,
                vec![c.node, node],
                now,
                detail,
            ));
        }
        Ok(c.mark)
    }

    fn uncommitted_snapshot(&self, now: u64, node: NodeId, snapshot: &StoredSnapshot) -> Violation {
        let detail = format!(
            "node {node} took or installed a snapshot through index {}, but only {} entries are known committed",
            snapshot.index,
            self.committed_len()
        );
        violation(Invariant::StateMachineSafety, vec![node], now, detail)
    }

    /// The mark `mirror` holds at `index`: below its base, the committed one (its snapshot
    /// covers only committed entries, and the chain of its base covers all before it).
    fn held(&self, mirror: &NodeMirror, index: u64) -> Option<EntryMark> {
        if index < mirror.base {
            let position = index.checked_sub(1)?;
            return self.committed.get(position as usize).map(|c| c.mark);
        }
        mirror.mark(index)
    }

    /// Checks a log write of `node`, whose view after the write is `view` (checked next).
    pub fn on_log_write(
        &mut self,
        now: u64,
        node: NodeId,
        write: &LogWrite,
        view: &NodeView,
    ) -> Result<(), Violation> {
        let mirror = &mut self.nodes[(node - 1) as usize];
        let (base, last) = (mirror.base, mirror.last_index());
        if base > 0 && write.from_index <= base {
            let detail = format!(
                "log write at index {} at or below its snapshot's last index {base}",
                write.from_index
            );
            return Err(violation(Invariant::LogMatching, vec![node], now, detail));
        }
        if write.from_index == 0 || write.from_index > last + 1 {
            return Err(violation(
                Invariant::LogMatching,
                vec![node],
                now,
                format!(
                    "log write at index {} leaves a gap after {last}",
                    write.from_index
                ),
            ));
        }
        let leader_throughout = mirror.view.role == Role::Leader
            && view.role == Role::Leader
            && mirror.view.term == view.term;
        if leader_throughout && write.from_index <= last {
            let detail = format!(
                "leader of term {} rewrote its log from index {} (last index {last})",
                mirror.view.term, write.from_index
            );
            return Err(violation(
                Invariant::LeaderAppendOnly,
                vec![node],
                now,
                detail,
            ));
        }
        let rule = self.rule;
        let before = mirror.membership_under(rule).clone();
        mirror.configs_during_event.push(before);
        mirror.truncate_after(write.from_index - 1);
        for entry in &write.entries {
            if entry.kind == EntryKind::Config && rule == ConfigRule::Appended {
                let replaced = mirror.membership_under(ConfigRule::Appended).clone();
                mirror.configs_during_event.push(replaced);
            }
            let mark = mirror
                .push(entry)
                .map_err(|expected| misplaced(now, node, expected, entry))?;
            check_log_matching(&mut self.marks_by_index, now, node, entry.index, mark)?;
        }
        Ok(())
    }

    /// Checks `node`'s view after an event. `restarted` views skip the monotonic checks.
    pub fn on_view(&mut self, now: u64, node: NodeId, view: NodeView) -> Result<(), Violation> {
        let before = self.nodes[(node - 1) as usize].view;
        let during = std::mem::take(&mut self.nodes[(node - 1) as usize].configs_during_event);
        if view.term < before.term {
            let detail = format!("term went from {} to {}", before.term, view.term);
            return Err(violation(Invariant::MonotonicTerm, vec![node], now, detail));
        }
        if view.commit_index < before.commit_index {
            let detail = format!(
                "commit index went from {} to {}",
                before.commit_index, view.commit_index
            );
            return Err(violation(
                Invariant::MonotonicCommit,
                vec![node],
                now,
                detail,
            ));
        }
        let last = self.nodes[(node - 1) as usize].last_index();
        if view.commit_index > last {
            let detail = format!(
                "commit index {} beyond its last index {last}",
                view.commit_index
            );
            return Err(violation(
                Invariant::MonotonicCommit,
                vec![node],
                now,
                detail,
            ));
        }
        self.nodes[(node - 1) as usize].view = view;
        self.commit_to_check = None;
        if view.role == Role::Leader && view.commit_index > before.commit_index {
            self.check_commit_quorum(now, node, view.commit_index, &during)?;
            let mirror = &self.nodes[(node - 1) as usize];
            if let Some(mark) = mirror.mark(view.commit_index) {
                self.commit_to_check = Some((node, view.commit_index, mark.term, during));
            }
        }
        if view.commit_index > before.commit_index {
            self.check_commits(
                now,
                node,
                before.commit_index + 1,
                view.commit_index,
                view.term,
            )?;
        }
        let new_leader =
            view.role == Role::Leader && (before.role != Role::Leader || before.term != view.term);
        if new_leader {
            self.check_new_leader(now, node, view.term)?;
        }
        Ok(())
    }

    /// A leader's new commit index `index`: a majority of the voters of its configuration
    /// (both majorities in joint consensus) hold the same entry there, as far as their logs
    /// show (a follower acknowledges only what it wrote). The configuration is the one in
    /// effect at the end of the event or any in effect `during` it. A node whose snapshot covers `index`
    /// holds the committed entry there.
    fn check_commit_quorum(
        &self,
        now: u64,
        leader: NodeId,
        index: u64,
        during: &[Membership],
    ) -> Result<(), Violation> {
        let mirror = &self.nodes[(leader - 1) as usize];
        if index < mirror.base {
            return Ok(()); // Known committed: its snapshot was checked against `committed`.
        }
        let mark = mirror
            .mark(index)
            .expect("on_view checked the commit index against the log");
        let holds = |id: NodeId| {
            self.nodes
                .get((id.wrapping_sub(1)) as usize)
                .is_some_and(|m| self.held(m, index) == Some(mark))
        };
        let what = format!("committed index {index}, held only by");
        self.commit_quorum(now, leader, during, holds, &what)
    }

    /// Passes if the voters for which `holds` is true are a quorum of `leader`'s
    /// configuration or of one in effect `during` the event; else a `QuorumCommit` violation
    /// that says `what`, then the holders and the configuration.
    fn commit_quorum(
        &self,
        now: u64,
        leader: NodeId,
        during: &[Membership],
        holds: impl Fn(NodeId) -> bool + Copy,
        what: &str,
    ) -> Result<(), Violation> {
        let config = self.nodes[(leader - 1) as usize].membership_under(self.rule);
        if config.has_quorum(holds) || during.iter().any(|c| c.has_quorum(holds)) {
            return Ok(());
        }
        let holders: Vec<NodeId> = (1..=self.nodes.len() as u64)
            .filter(|&id| holds(id))
            .collect();
        let outgoing = match config.voters_outgoing.is_empty() {
            true => String::new(),
            false => format!(" and outgoing voters {:?}", config.voters_outgoing),
        };
        let detail = format!(
            "leader {leader} {what} {holders:?}; its configuration is voters {:?}{outgoing}",
            config.voters
        );
        Err(violation(
            Invariant::QuorumCommit,
            vec![leader],
            now,
            detail,
        ))
    }

    /// The leader's commit seen by the last `on_view`, against what the nodes' disks hold:
    /// `durable(node, index, term)` says whether `node` has synced the entry `(index, term)`
    /// (or a snapshot covering it). Raft counts a copy toward a commit only once it is on
    /// stable storage, the leader's own included (dissertation section 10.2.1); a commit
    /// counted on volatile copies is lost by crashes that Raft must survive.
    pub fn check_commit_durable(
        &mut self,
        now: u64,
        durable: impl Fn(NodeId, u64, u64) -> bool,
    ) -> Result<(), Violation> {
        let Some((leader, index, term, during)) = self.commit_to_check.take() else {
            return Ok(());
        };
        let holds = |id: NodeId| durable(id, index, term);
        let what = format!("committed index {index} (term {term}), synced to disk only on");
        self.commit_quorum(now, leader, &during, holds, &what)
    }

    /// Checks `node`'s commits of `from..=to` against the entries known committed. Indexes at
    /// or below its base are skipped: its snapshot was checked against `committed`.
    fn check_commits(
        &mut self,
        now: u64,
        node: NodeId,
        from: u64,
        to: u64,
        term: u64,
    ) -> Result<(), Violation> {
        let base = self.nodes[(node - 1) as usize].base;
        for index in from.max(base + 1)..=to {
            let mark = self.nodes[(node - 1) as usize]
                .mark(index)
                .expect("commits are checked against the log first");
            match self.committed.get((index - 1) as usize) {
                Some(c) if c.mark != mark => {
                    let detail = format!(
                        "index {index}: node {node} commits an entry of term {}, node {} committed one of term {}{}",
                        mark.term,
                        c.node,
                        c.mark.term,
                        if c.mark.term == mark.term { " with other contents or history" } else { "" }
                    );
                    return Err(violation(
                        Invariant::StateMachineSafety,
                        vec![c.node, node],
                        now,
                        detail,
                    ));
                }
                Some(_) => {}
                None => {
                    assert_eq!(self.committed.len() as u64, index - 1, "a gap in commits");
                    self.committed.push(Committed {
                        mark,
                        node,
                        term_seen: term,
                    });
                }
            }
        }
        Ok(())
    }

    fn check_new_leader(&mut self, now: u64, node: NodeId, term: u64) -> Result<(), Violation> {
        if let Some(&other) = self.leaders.get(&term) {
            if other != node {
                let detail = format!("nodes {other} and {node} are both leaders of term {term}");
                return Err(violation(
                    Invariant::ElectionSafety,
                    vec![other, node],
                    now,
                    detail,
                ));
            }
        }
        let is_new = self.leaders.insert(term, node).is_none();
        if is_new && term > 1 {
            let mirror = &self.nodes[(node - 1) as usize];
            let before_term =
                mirror.base + mirror.log.iter().take_while(|m| m.term < term).count() as u64;
            let others = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i as u64 != node - 1);
            if others
                .into_iter()
                .any(|(_, other)| other.last_index() > before_term)
            {
                self.leaders_with_shorter_log += 1;
            }
        }
        // Entries committed in earlier terms must be in this leader's log; the chain hash of
        // the last of them covers all before it. Its snapshot holds them trivially.
        let Some(position) = self.committed.iter().rposition(|c| c.term_seen < term) else {
            return Ok(());
        };
        let c = self.committed[position];
        let index = position as u64 + 1;
        if self.held(&self.nodes[(node - 1) as usize], index) != Some(c.mark) {
            let detail = format!(
                "leader of term {term} lacks entry {index} (term {}) committed by node {} in term {} or earlier",
                c.mark.term, c.node, c.term_seen
            );
            return Err(violation(
                Invariant::LeaderCompleteness,
                vec![node, c.node],
                now,
                detail,
            ));
        }
        Ok(())
    }
}

fn misplaced(now: u64, node: NodeId, expected: u64, entry: &StoredEntry) -> Violation {
    let detail = format!("entry at position {expected} claims index {}", entry.index);
    violation(Invariant::LogMatching, vec![node], now, detail)
}

/// Every (term, chain) seen at each index, with the node that wrote it first. Nearly every
/// index only ever holds entries of one term, so the first mark seen sits in a flat vector
/// (node 0: none yet) and the others, of other terms, in a map.
#[derive(Debug, Default)]
struct MarksByIndex {
    first: Vec<(EntryMark, NodeId)>,
    others: BTreeMap<u64, Vec<(EntryMark, NodeId)>>,
}

impl MarksByIndex {
    /// The mark of term `mark.term` seen at `index` before, with its node; else records
    /// `mark` as `node`'s and returns `None`.
    fn seen_or_insert(
        &mut self,
        index: u64,
        mark: EntryMark,
        node: NodeId,
    ) -> Option<(EntryMark, NodeId)> {
        let position = (index - 1) as usize;
        if self.first.len() <= position {
            let none = (EntryMark { term: 0, chain: 0 }, 0);
            self.first.resize(position + 1, none);
        }
        let first = &mut self.first[position];
        if first.1 == 0 {
            *first = (mark, node);
            return None;
        }
        if first.0.term == mark.term {
            return Some(*first);
        }
        let others = self.others.entry(index).or_default();
        if let Some(seen) = others.iter().find(|(m, _)| m.term == mark.term) {
            return Some(*seen);
        }
        others.push((mark, node));
        None
    }
}

fn check_log_matching(
    marks_by_index: &mut MarksByIndex,
    now: u64,
    node: NodeId,
    index: u64,
    mark: EntryMark,
) -> Result<(), Violation> {
    match marks_by_index.seen_or_insert(index, mark, node) {
        Some((m, other)) if m.chain != mark.chain => {
            let detail = format!(
                "nodes {other} and {node} both hold an entry of term {} at index {index} but their logs differ up to it",
                mark.term
            );
            Err(violation(
                Invariant::LogMatching,
                vec![other, node],
                now,
                detail,
            ))
        }
        _ => Ok(()),
    }
}

fn violation(invariant: Invariant, nodes: Vec<NodeId>, time_ns: u64, detail: String) -> Violation {
    Violation {
        clause: None,
        invariant,
        nodes,
        time_ns,
        detail,
    }
}

#[cfg(test)]
mod tests {
    //! Each invariant is shown to fire on a minimal bad history, and not on the good one
    //! beside it: a checker that cannot fail proves nothing.
    use super::*;
    use crate::node::EntryKind;

    fn view(role: Role, term: u64, commit_index: u64) -> NodeView {
        NodeView {
            role,
            term,
            vote: None,
            commit_index,
            leader: None,
        }
    }

    fn entry(index: u64, term: u64, byte: u8) -> StoredEntry {
        StoredEntry {
            index,
            term,
            kind: EntryKind::Command,
            data: vec![byte].into(),
        }
    }

    fn write(from_index: u64, entries: Vec<StoredEntry>) -> LogWrite {
        LogWrite {
            from_index,
            entries,
        }
    }

    fn checker() -> Checker {
        Checker::new(3, view(Role::Follower, 0, 0), |_| {
            Membership::simple(&[1, 2, 3])
        })
    }

    /// Entries `1..=terms.len()` of the terms given; entry `i` holds the byte `i`.
    fn log(terms: &[u64]) -> Vec<StoredEntry> {
        terms
            .iter()
            .zip(1..)
            .map(|(&term, index)| entry(index, term, index as u8))
            .collect()
    }

    fn snapshot(index: u64, term: u64) -> StoredSnapshot {
        StoredSnapshot {
            index,
            term,
            membership: Membership::simple(&[1, 2, 3]),
            data: Vec::new(),
        }
    }

    /// Node 1 leads term 1 with entries 1..=3 and has committed 1..=2, which node 2 holds too;
    /// then it compacts its log through 2.
    fn compacted() -> Checker {
        let mut c = checker();
        let leader = view(Role::Leader, 1, 0);
        c.on_log_write(1, 1, &write(1, log(&[1, 1, 1])), &leader)
            .unwrap();
        c.on_view(1, 1, leader).unwrap();
        let f = view(Role::Follower, 1, 0);
        c.on_log_write(1, 2, &write(1, log(&[1, 1])), &f).unwrap();
        let committed = view(Role::Leader, 1, 2);
        c.on_view(2, 1, committed).unwrap();
        c.on_snapshot(3, 1, &snapshot(2, 1), &committed).unwrap();
        c
    }

    fn config_entry(index: u64, term: u64, m: &Membership) -> StoredEntry {
        StoredEntry {
            index,
            term,
            kind: EntryKind::Config,
            data: m.encode().into(),
        }
    }

    #[test]
    fn quorum_commit_counts_only_copies_synced_to_disk() {
        // Dissertation 10.2.1: a copy counts toward a commit once it is on stable storage.
        // Nodes 1 and 2 hold index 1 in their logs; the leader commits it.
        let setup = || {
            let mut c = checker();
            let leader = view(Role::Leader, 1, 0);
            c.on_log_write(1, 1, &write(1, vec![entry(1, 1, 1)]), &leader)
                .unwrap();
            let follower = view(Role::Follower, 1, 0);
            c.on_log_write(1, 2, &write(1, vec![entry(1, 1, 1)]), &follower)
                .unwrap();
            c.on_view(1, 1, leader).unwrap();
            c.on_view(2, 1, view(Role::Leader, 1, 1)).unwrap();
            c
        };
        // Both synced: a majority of three on disk.
        setup().check_commit_durable(2, |_, _, _| true).unwrap();
        // Only node 2 synced it (the leader counted its own volatile copy): refused.
        let v = setup()
            .check_commit_durable(2, |node, index, term| node == 2 && (index, term) == (1, 1))
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::QuorumCommit);
        assert!(
            v.detail.contains("synced to disk only on [2]"),
            "{}",
            v.detail
        );
        // A view without a new commit has nothing to check.
        let mut c = setup();
        c.on_view(3, 1, view(Role::Leader, 1, 1)).unwrap();
        c.check_commit_durable(3, |_, _, _| false).unwrap();
    }

    #[test]
    fn quorum_commit_counts_each_configuration() {
        // Three voters: a leader may commit index 1 only once one more node holds it.
        let mut c = checker();
        let leader = view(Role::Leader, 1, 0);
        c.on_log_write(1, 1, &write(1, vec![entry(1, 1, 1)]), &leader)
            .unwrap();
        c.on_view(1, 1, leader).unwrap();
        let v = c.on_view(2, 1, view(Role::Leader, 1, 1)).unwrap_err();
        assert_eq!(v.invariant, Invariant::QuorumCommit);
        let mut c = checker();
        c.on_log_write(1, 1, &write(1, vec![entry(1, 1, 1)]), &leader)
            .unwrap();
        c.on_log_write(
            1,
            2,
            &write(1, vec![entry(1, 1, 1)]),
            &view(Role::Follower, 1, 0),
        )
        .unwrap();
        c.on_view(1, 1, leader).unwrap();
        c.on_view(2, 1, view(Role::Leader, 1, 1)).unwrap();
        // Joint consensus {1,2,3} -> {1,4,5} on five nodes: 1 and 2 are a majority of the old
        // voters, not of the new ones.
        let mut c = Checker::new(5, view(Role::Follower, 0, 0), |_| {
            Membership::simple(&[1, 2, 3])
        });
        let joint = Membership {
            voters: vec![1, 4, 5],
            voters_outgoing: vec![1, 2, 3],
            learners: vec![],
        };
        let log = vec![config_entry(1, 1, &joint), entry(2, 1, 9)];
        c.on_log_write(1, 1, &write(1, log.clone()), &leader)
            .unwrap();
        c.on_log_write(1, 2, &write(1, log.clone()), &view(Role::Follower, 1, 0))
            .unwrap();
        c.on_view(1, 1, leader).unwrap();
        let v = c.on_view(2, 1, view(Role::Leader, 1, 2)).unwrap_err();
        assert_eq!(v.invariant, Invariant::QuorumCommit);
        assert!(
            v.detail.contains("outgoing voters [1, 2, 3]"),
            "{}",
            v.detail
        );
        c.on_log_write(3, 4, &write(1, log), &view(Role::Follower, 1, 0))
            .unwrap();
        c.on_view(4, 1, view(Role::Leader, 1, 2)).unwrap();
    }

    /// Found by fuzzing: a leader commits index 2 under {1,2,3}, then in the same event appends
    /// C(old,new) with new voters {1,4,5}. The commit was decided under the configuration in
    /// effect before that entry; judging it by the one in effect after the event was a false
    /// alarm. A commit that no configuration of the event allows is still caught.
    #[test]
    fn quorum_commit_accepts_a_configuration_appended_after_the_commit_in_one_event() {
        let joint = Membership {
            voters: vec![1, 4, 5],
            voters_outgoing: vec![1, 2, 3],
            learners: vec![],
        };
        for (holders, allowed) in [(&[1u64, 2][..], true), (&[1u64][..], false)] {
            let mut c = Checker::new(5, view(Role::Follower, 0, 0), |_| {
                Membership::simple(&[1, 2, 3])
            });
            let leader = view(Role::Leader, 1, 0);
            let first = vec![entry(1, 1, 1), entry(2, 1, 2)];
            for &id in holders {
                let role = if id == 1 {
                    leader
                } else {
                    view(Role::Follower, 1, 0)
                };
                c.on_log_write(1, id, &write(1, first.clone()), &role)
                    .unwrap();
                c.on_view(1, id, role).unwrap();
            }
            let committed = view(Role::Leader, 1, 2);
            c.on_log_write(
                2,
                1,
                &write(3, vec![config_entry(3, 1, &joint)]),
                &committed,
            )
            .unwrap();
            let verdict = c.on_view(2, 1, committed);
            assert_eq!(verdict.is_ok(), allowed, "holders {holders:?}: {verdict:?}");
        }
    }

    #[test]
    fn election_safety() {
        let mut c = checker();
        c.on_view(1, 1, view(Role::Leader, 2, 0)).unwrap();
        c.on_view(2, 2, view(Role::Leader, 3, 0)).unwrap();
        let v = c.on_view(3, 3, view(Role::Leader, 3, 0)).unwrap_err();
        assert_eq!(v.invariant, Invariant::ElectionSafety);
        assert_eq!(v.nodes, vec![2, 3]);
        assert_eq!(v.time_ns, 3);
    }

    #[test]
    fn leader_append_only() {
        let mut c = checker();
        let leader = view(Role::Leader, 1, 0);
        c.on_log_write(
            1,
            1,
            &write(1, vec![entry(1, 1, 1), entry(2, 1, 2)]),
            &leader,
        )
        .unwrap();
        c.on_view(1, 1, leader).unwrap();
        c.on_log_write(2, 1, &write(3, vec![entry(3, 1, 3)]), &leader)
            .unwrap();
        let v = c
            .on_log_write(3, 1, &write(2, vec![entry(2, 1, 9)]), &leader)
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::LeaderAppendOnly);
        // The same rewrite by a node that stepped down in this event is legal.
        let follower = view(Role::Follower, 2, 0);
        c.on_log_write(4, 1, &write(2, vec![entry(2, 2, 9)]), &follower)
            .unwrap();
    }

    #[test]
    fn log_matching() {
        let mut c = checker();
        let f = view(Role::Follower, 2, 0);
        c.on_log_write(1, 1, &write(1, vec![entry(1, 1, 1), entry(2, 2, 2)]), &f)
            .unwrap();
        c.on_log_write(1, 2, &write(1, vec![entry(1, 1, 1), entry(2, 2, 2)]), &f)
            .unwrap();
        // Same index and term at 2, but a different entry below it.
        let v = c
            .on_log_write(2, 3, &write(1, vec![entry(1, 1, 7), entry(2, 2, 2)]), &f)
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::LogMatching);
        assert_eq!(v.nodes, vec![1, 3]);
    }

    #[test]
    fn state_machine_safety() {
        let mut c = checker();
        let f = view(Role::Follower, 2, 0);
        c.on_log_write(1, 1, &write(1, vec![entry(1, 1, 1)]), &f)
            .unwrap();
        c.on_log_write(1, 2, &write(1, vec![entry(1, 2, 2)]), &f)
            .unwrap();
        c.on_view(2, 1, view(Role::Follower, 2, 1)).unwrap();
        let v = c.on_view(3, 2, view(Role::Follower, 2, 1)).unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
        assert_eq!(v.nodes, vec![1, 2]);
        assert_eq!(c.committed_len(), 1);
    }

    #[test]
    fn leader_completeness() {
        let mut c = checker();
        let f = view(Role::Follower, 1, 0);
        c.on_log_write(1, 1, &write(1, vec![entry(1, 1, 1)]), &f)
            .unwrap();
        c.on_view(2, 1, view(Role::Follower, 1, 1)).unwrap();
        // Node 2 holds the committed entry: it may lead term 2.
        c.on_log_write(3, 2, &write(1, vec![entry(1, 1, 1)]), &f)
            .unwrap();
        c.on_view(3, 2, view(Role::Leader, 2, 0)).unwrap();
        // Node 3 does not: it may not lead term 3.
        let v = c.on_view(4, 3, view(Role::Leader, 3, 0)).unwrap_err();
        assert_eq!(v.invariant, Invariant::LeaderCompleteness);
        assert_eq!(v.nodes, vec![3, 1]);
    }

    #[test]
    fn monotonic_term_and_commit() {
        let mut c = checker();
        let f = view(Role::Follower, 3, 0);
        c.on_log_write(1, 1, &write(1, vec![entry(1, 1, 1), entry(2, 1, 2)]), &f)
            .unwrap();
        c.on_view(1, 1, view(Role::Follower, 3, 2)).unwrap();
        let v = c.on_view(2, 1, view(Role::Follower, 2, 2)).unwrap_err();
        assert_eq!(v.invariant, Invariant::MonotonicTerm);
        let v = c.on_view(2, 1, view(Role::Follower, 3, 1)).unwrap_err();
        assert_eq!(v.invariant, Invariant::MonotonicCommit);
        let v = c.on_view(2, 1, view(Role::Follower, 3, 3)).unwrap_err();
        assert_eq!(
            v.invariant,
            Invariant::MonotonicCommit,
            "commit beyond the log"
        );
        // After a restart the commit index starts over from what the disk kept.
        let durable = DurableState {
            log: vec![entry(1, 1, 1)],
            ..DurableState::default()
        };
        c.restarted(3, 1, &durable, view(Role::Follower, 3, 0), 0)
            .unwrap();
        c.on_view(3, 1, view(Role::Follower, 3, 1)).unwrap();
    }

    #[test]
    fn snapshot_keeps_later_indexes_checked() {
        // §7: compacting through a committed index leaves every later index checked.
        let mut c = compacted();
        assert_eq!((c.nodes[0].base, c.nodes[0].last_index()), (2, 3));
        // Persisting the same snapshot, or an older one, again changes nothing.
        let committed = view(Role::Leader, 1, 2);
        c.on_snapshot(4, 1, &snapshot(2, 1), &committed).unwrap();
        c.on_snapshot(4, 1, &snapshot(1, 1), &committed).unwrap();
        assert_eq!((c.nodes[0].base, c.nodes[0].last_index()), (2, 3));
        // Quorum commit: node 1 alone holds index 3.
        let v = c.on_view(5, 1, view(Role::Leader, 1, 3)).unwrap_err();
        assert_eq!(v.invariant, Invariant::QuorumCommit);
        assert!(v.detail.contains("held only by [1]"), "{}", v.detail);
        let mut c = compacted();
        let f = view(Role::Follower, 1, 0);
        c.on_log_write(5, 2, &write(3, vec![entry(3, 1, 3)]), &f)
            .unwrap();
        let leader = view(Role::Leader, 1, 3);
        c.on_view(5, 1, leader).unwrap();
        // Commit monotonicity: never back, never past the last index.
        let v = c.on_view(6, 1, view(Role::Leader, 1, 2)).unwrap_err();
        assert_eq!(v.invariant, Invariant::MonotonicCommit);
        let v = c.on_view(6, 1, view(Role::Leader, 1, 4)).unwrap_err();
        assert_eq!(v.invariant, Invariant::MonotonicCommit);
        assert!(v.detail.contains("last index 3"), "{}", v.detail);
        // Log Matching at index 4: node 3's copy of node 1's log agrees with it; another
        // entry of term 1 there does not.
        c.on_log_write(7, 1, &write(4, vec![entry(4, 1, 4)]), &leader)
            .unwrap();
        c.on_log_write(8, 3, &write(1, log(&[1, 1, 1, 1])), &f)
            .unwrap();
        let v = c
            .on_log_write(9, 2, &write(4, vec![entry(4, 1, 9)]), &f)
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::LogMatching);
        assert_eq!(v.nodes, vec![1, 2]);
    }

    #[test]
    fn snapshot_covers_only_committed_entries() {
        // §7: a snapshot stands for committed entries; index 1 (term 1) is committed, 2 is not.
        let mut c = checker();
        let f = view(Role::Follower, 2, 0);
        c.on_log_write(1, 1, &write(1, log(&[1, 2])), &f).unwrap();
        let one = view(Role::Follower, 2, 1);
        c.on_view(1, 1, one).unwrap();
        let v = c.on_snapshot(2, 1, &snapshot(2, 2), &one).unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
        assert!(
            v.detail.contains("through index 2, but only 1 entries"),
            "{}",
            v.detail
        );
        // Installed by a node that does not hold index 2, whatever its commit index says.
        let two = view(Role::Follower, 2, 2);
        let v = c.on_snapshot(2, 3, &snapshot(2, 2), &two).unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
        // Of another term than the committed entry at its index.
        let v = c.on_snapshot(2, 2, &snapshot(1, 2), &f).unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
        assert_eq!(v.nodes, vec![1, 2]);
        // Taken in the output that commits its index: legal only for the entry the node holds,
        // and its commits below the snapshot are checked then (node 2's index 1 is of term 3).
        let v = c.on_snapshot(3, 1, &snapshot(2, 1), &two).unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
        let three = view(Role::Follower, 3, 0);
        c.on_log_write(3, 2, &write(1, log(&[3, 3])), &three)
            .unwrap();
        let v = c
            .on_snapshot(3, 2, &snapshot(2, 3), &view(Role::Follower, 3, 2))
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
        assert!(v.detail.contains("index 1:"), "{}", v.detail);
        assert_eq!(c.committed_len(), 1);
        c.on_snapshot(4, 1, &snapshot(2, 2), &two).unwrap();
        assert_eq!(c.committed_len(), 2);
        c.on_view(4, 1, two).unwrap();
        assert_eq!((c.nodes[0].base, c.nodes[0].last_index()), (2, 2));
    }

    #[test]
    fn installed_snapshot_replaces_a_conflicting_log() {
        // §7: a follower whose log conflicts with the leader's snapshot discards all of it.
        let mut c = checker();
        let alone = Membership::simple(&[3]);
        let stale = vec![entry(1, 1, 1), config_entry(2, 1, &alone)];
        c.on_log_write(1, 3, &write(1, stale), &view(Role::Follower, 1, 0))
            .unwrap();
        assert_eq!(c.nodes[2].membership(), &alone);
        let leader = view(Role::Leader, 2, 0);
        c.on_log_write(2, 1, &write(1, log(&[1, 2, 2])), &leader)
            .unwrap();
        c.on_view(2, 1, leader).unwrap();
        let f = view(Role::Follower, 2, 0);
        c.on_log_write(2, 2, &write(1, log(&[1, 2, 2])), &f)
            .unwrap();
        let leader = view(Role::Leader, 2, 3);
        c.on_view(3, 1, leader).unwrap();
        // Node 2 holds the snapshot's last entry: it keeps the entry after it.
        c.on_snapshot(4, 2, &snapshot(2, 2), &f).unwrap();
        assert_eq!((c.nodes[1].base, c.nodes[1].last_index()), (2, 3));
        // Node 3's entry 2 is of term 1: nothing of its log stays, its configuration neither.
        let installed = view(Role::Follower, 2, 3);
        c.on_snapshot(5, 3, &snapshot(3, 2), &installed).unwrap();
        let m = &c.nodes[2];
        assert_eq!((m.base, m.last_index(), m.mark(2)), (3, 3, None));
        assert_eq!(m.membership(), &Membership::simple(&[1, 2, 3]));
        // Its commit index jumps to the snapshot's.
        c.on_view(5, 3, installed).unwrap();
        // Its next entry chains on from the committed ones: with node 1 it is a quorum.
        c.on_log_write(6, 1, &write(4, vec![entry(4, 2, 4)]), &leader)
            .unwrap();
        c.on_log_write(6, 3, &write(4, vec![entry(4, 2, 4)]), &installed)
            .unwrap();
        c.on_view(7, 1, view(Role::Leader, 2, 4)).unwrap();
    }

    #[test]
    fn restart_mirrors_the_entries_after_the_snapshot() {
        // §7: a crash between persisting a snapshot and compacting leaves the entries it
        // covers on disk; the node restarts with the entries after it only.
        let mut c = compacted();
        let (mark_2, mark_3) = (c.nodes[0].mark(2), c.nodes[0].mark(3));
        let durable = DurableState {
            hard_state: Default::default(),
            snapshot: Some(snapshot(2, 1)),
            log: log(&[1, 1, 1]),
            checkpoint: None,
        };
        c.restarted(4, 1, &durable, view(Role::Follower, 1, 2), 0)
            .unwrap();
        let m = &c.nodes[0];
        assert_eq!((m.base, m.last_index(), m.mark(1)), (2, 3, None));
        assert_eq!((m.mark(2), m.mark(3)), (mark_2, mark_3));
        // A log from before a snapshot a leader sent (its entry 2 is of term 3): none stays.
        let durable = DurableState {
            log: log(&[1, 3, 3]),
            ..durable
        };
        c.restarted(5, 1, &durable, view(Role::Follower, 3, 2), 0)
            .unwrap();
        assert_eq!((c.nodes[0].base, c.nodes[0].last_index()), (2, 2));
        // A snapshot on disk past the entries known committed.
        let durable = DurableState {
            snapshot: Some(snapshot(3, 1)),
            ..durable
        };
        let v = c
            .restarted(6, 1, &durable, view(Role::Follower, 3, 3), 0)
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
        assert_eq!(v.time_ns, 6);
    }

    #[test]
    fn log_write_at_or_below_the_base() {
        // §7: a snapshot replaces the log through its index; nothing is written there again.
        let mut c = compacted();
        let f = view(Role::Follower, 2, 2);
        for from in [1, 2] {
            let v = c
                .on_log_write(4, 1, &write(from, vec![entry(from, 2, 9)]), &f)
                .unwrap_err();
            assert_eq!(v.invariant, Invariant::LogMatching);
            assert!(
                v.detail.contains("at or below its snapshot's last index 2"),
                "{}",
                v.detail
            );
        }
        c.on_log_write(5, 1, &write(3, vec![entry(3, 2, 9)]), &f)
            .unwrap();
        assert_eq!(c.nodes[0].last_index(), 3);
    }

    #[test]
    fn leader_completeness_above_the_base() {
        // §5.4.1 with §7: a leader's snapshot holds the committed entries through its index;
        // those after it must be in its log.
        let mut c = checker();
        let f = view(Role::Follower, 1, 0);
        c.on_log_write(1, 1, &write(1, log(&[1, 1, 1, 1])), &f)
            .unwrap();
        c.on_view(1, 1, view(Role::Follower, 1, 3)).unwrap();
        c.on_log_write(2, 2, &write(1, log(&[1, 1])), &f).unwrap();
        c.on_snapshot(2, 2, &snapshot(1, 1), &f).unwrap();
        let v = c.on_view(3, 2, view(Role::Leader, 2, 1)).unwrap_err();
        assert_eq!(v.invariant, Invariant::LeaderCompleteness);
        assert_eq!(v.nodes, vec![2, 1]);
        assert!(v.detail.contains("lacks entry 3"), "{}", v.detail);
        // Node 1 reports index 4 committed in term 4; node 3 installs a snapshot through it.
        // As leader of term 3 it must hold index 3, which its snapshot covers.
        c.on_view(4, 1, view(Role::Follower, 4, 4)).unwrap();
        let installed = view(Role::Follower, 2, 4);
        c.on_snapshot(5, 3, &snapshot(4, 1), &installed).unwrap();
        c.on_view(5, 3, installed).unwrap();
        c.on_view(6, 3, view(Role::Leader, 3, 4)).unwrap();
        // Node 2's log, counted from its base, was shorter than node 1's; node 3's was not.
        assert_eq!(c.leaders_with_shorter_log(), 1);
    }

    #[test]
    fn chains_differ_with_any_byte_of_the_data_and_its_length() {
        // Log Matching (section 5.3) is checked by comparing chains: two entries that differ
        // anywhere must not chain alike, also where a word is padded.
        let with = |data: &[u8]| {
            chain(
                7,
                &StoredEntry {
                    data: data.into(),
                    ..entry(1, 1, 0)
                },
            )
        };
        let base: Vec<u8> = (1..=11).collect();
        let mut seen = vec![
            with(&base),
            with(&base[..8]),
            with(&base[..10]),
            with(&[1, 0]),
        ];
        seen.push(with(&[1]));
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] ^= 0x80;
            seen.push(with(&changed));
        }
        let count = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), count);
    }

    #[test]
    fn a_configuration_counts_from_when_it_takes_effect() {
        // Dissertation section 4.1: a server uses the latest configuration in its log. etcd
        // raft and raft-rs use it once applied instead (ConfigRule::Applied): until then a
        // leader's commit needs a majority of the configuration before it.
        let bootstrap = |_| Membership::simple(&[1, 2, 3]);
        let grown = Membership::simple(&[1, 2, 3, 4, 5]);
        let log = vec![config_entry(1, 1, &grown), entry(2, 1, 2), entry(3, 1, 3)];
        let leader = view(Role::Leader, 1, 0);
        let f = view(Role::Follower, 1, 0);
        let run = |rule: ConfigRule, apply_first: bool| {
            let mut c = Checker::new(5, f, bootstrap).with_rule(rule);
            c.on_log_write(1, 1, &write(1, log.clone()), &leader)
                .unwrap();
            c.on_view(1, 1, leader).unwrap();
            c.on_log_write(1, 2, &write(1, log.clone()), &f).unwrap();
            if apply_first {
                c.on_config_applied(1, 1, grown.clone());
                c.on_view(2, 1, view(Role::Leader, 1, 1))?;
            }
            // Index 3 is on nodes 1 and 2 only.
            c.on_view(3, 1, view(Role::Leader, 1, 3))
        };
        let v = run(ConfigRule::Appended, false).unwrap_err();
        assert_eq!(v.invariant, Invariant::QuorumCommit);
        assert!(v.detail.contains("[1, 2, 3, 4, 5]"), "{}", v.detail);
        run(ConfigRule::Applied, false).unwrap();
        let v = run(ConfigRule::Applied, true).unwrap_err();
        assert_eq!(v.invariant, Invariant::QuorumCommit);
        assert!(v.detail.contains("[1, 2, 3, 4, 5]"), "{}", v.detail);
        // Under the thesis's rule, what a node applies changes nothing: index 1 already
        // needs three of five.
        let v = run(ConfigRule::Appended, true).unwrap_err();
        assert!(v.detail.contains("committed index 1"), "{}", v.detail);
    }

    #[test]
    fn a_configuration_applied_in_the_event_of_a_commit_may_have_decided_it() {
        // A leader that commits with the old configuration and applies the new one in the
        // same output decided the commit under the old one.
        let grown = Membership::simple(&[1, 2, 3, 4, 5]);
        let log = vec![config_entry(1, 1, &grown), entry(2, 1, 2)];
        let leader = view(Role::Leader, 1, 0);
        let f = view(Role::Follower, 1, 0);
        let mut c =
            Checker::new(5, f, |_| Membership::simple(&[1, 2, 3])).with_rule(ConfigRule::Applied);
        c.on_log_write(1, 1, &write(1, log.clone()), &leader)
            .unwrap();
        c.on_view(1, 1, leader).unwrap();
        c.on_log_write(1, 2, &write(1, log.clone()), &f).unwrap();
        c.on_config_applied(1, 1, grown.clone());
        c.on_view(2, 1, view(Role::Leader, 1, 2)).unwrap();
        // After a restart the node counts with the bootstrap again until it re-applies.
        let durable = DurableState {
            log: log.clone(),
            ..DurableState::default()
        };
        c.restarted(3, 1, &durable, f, 0).unwrap();
        assert_eq!(
            c.nodes[0].membership_under(ConfigRule::Applied),
            &Membership::simple(&[1, 2, 3])
        );
        assert_eq!(c.nodes[0].membership_under(ConfigRule::Appended), &grown);
    }

    #[test]
    fn snapshot_configuration_precedes_the_log() {
        // §6 with §7: once the configuration entries are compacted, the snapshot's
        // configuration is in effect, not the bootstrap one.
        let mut c = Checker::new(5, view(Role::Follower, 0, 0), |_| {
            Membership::simple(&[1, 2, 3])
        });
        let new = Membership::simple(&[1, 4, 5]);
        let log = vec![config_entry(1, 1, &new), entry(2, 1, 2), entry(3, 1, 3)];
        let leader = view(Role::Leader, 1, 0);
        c.on_log_write(1, 1, &write(1, log.clone()), &leader)
            .unwrap();
        c.on_view(1, 1, leader).unwrap();
        let f = view(Role::Follower, 1, 0);
        for id in [2, 3, 4] {
            let upto = if id == 4 { 2 } else { 3 };
            c.on_log_write(1, id, &write(1, log[..upto].to_vec()), &f)
                .unwrap();
        }
        let leader = view(Role::Leader, 1, 2);
        c.on_view(2, 1, leader).unwrap();
        let snapshot = StoredSnapshot {
            membership: new.clone(),
            ..snapshot(2, 1)
        };
        c.on_snapshot(3, 1, &snapshot, &leader).unwrap();
        assert!(c.nodes[0].configs.is_empty());
        assert_eq!(c.nodes[0].membership(), &new);
        // Index 3 is held by 1, 2 and 3: a majority of the bootstrap voters, not of {1, 4, 5}.
        let v = c.on_view(4, 1, view(Role::Leader, 1, 3)).unwrap_err();
        assert_eq!(v.invariant, Invariant::QuorumCommit);
        assert!(v.detail.contains("voters [1, 4, 5]"), "{}", v.detail);
    }
}
