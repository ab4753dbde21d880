//! Online safety checks, run after every event on the node it touched (Raft paper, Figure 3).
//!
//! The checker sees only what the boundary exposes: each node's log writes and its
//! [`NodeView`]. It keeps a mirror of every node's log as (term, chain hash) pairs, where the
//! chain hash of entry `i` covers entries `1..=i`: two logs agree through `i` exactly when their
//! chain hashes at `i` agree, which makes Log Matching and Leader Completeness O(1) checks.

use crate::node::{EntryKind, LogWrite, Membership, NodeId, NodeView, Role, StoredEntry};
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
    /// configurations during joint consensus, section 6) hold the entry.
    QuorumCommit,
    /// A scenario's `[[expect]]` bound on a stretch of the run.
    Expectation,
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

#[derive(Clone, Debug)]
struct NodeMirror {
    log: Vec<EntryMark>,
    view: NodeView,
    /// The configuration entries of `log`, by index, in order.
    configs: Vec<(u64, Membership)>,
    /// The configuration before any configuration entry.
    bootstrap: Membership,
}

impl NodeMirror {
    /// The configuration in effect: the latest in the log (section 6).
    fn membership(&self) -> &Membership {
        self.configs.last().map_or(&self.bootstrap, |(_, m)| m)
    }

    fn note_configs(&mut self, entries: &[StoredEntry]) {
        for entry in entries.iter().filter(|e| e.kind == EntryKind::Config) {
            if let Some(m) = Membership::decode(&entry.data) {
                self.configs.push((entry.index, m));
            }
        }
    }
}

/// The online checker.
#[derive(Debug)]
pub struct Checker {
    nodes: Vec<NodeMirror>,
    /// The leader of each term seen.
    leaders: BTreeMap<u64, NodeId>,
    /// By index: every (term, chain) seen in any log at that index.
    marks_by_index: Vec<Vec<(EntryMark, NodeId)>>,
    committed: Vec<Committed>,
    /// Leaders elected in a term > 1 whose log was shorter than another node's.
    leaders_with_shorter_log: u64,
}

fn chain(prev: u64, entry: &StoredEntry) -> u64 {
    let mut h = TraceHasher::default();
    h.write_u64(prev);
    entry.term.hash(&mut h);
    entry.kind.hash(&mut h);
    entry.data.hash(&mut h);
    h.finish()
}

impl Checker {
    /// A checker for `n` fresh nodes, with the configuration each starts from.
    pub fn new(nodes: u64, initial: NodeView, bootstrap: impl Fn(NodeId) -> Membership) -> Checker {
        Checker {
            nodes: (1..=nodes)
                .map(|id| NodeMirror {
                    log: Vec::new(),
                    view: initial,
                    configs: Vec::new(),
                    bootstrap: bootstrap(id),
                })
                .collect(),
            leaders: BTreeMap::new(),
            marks_by_index: Vec::new(),
            committed: Vec::new(),
            leaders_with_shorter_log: 0,
        }
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

    /// A node restarted: its log is what its disk kept, its view starts anew.
    pub fn restarted(&mut self, node: NodeId, log: &[StoredEntry], view: NodeView) {
        let mirror = &mut self.nodes[(node - 1) as usize];
        mirror.log.clear();
        mirror.configs.clear();
        mirror.note_configs(log);
        let mut prev = 0;
        for entry in log {
            prev = chain(prev, entry);
            mirror.log.push(EntryMark {
                term: entry.term,
                chain: prev,
            });
        }
        mirror.view = view;
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
        let len = mirror.log.len() as u64;
        if write.from_index == 0 || write.from_index > len + 1 {
            return Err(violation(
                Invariant::LogMatching,
                vec![node],
                now,
                format!(
                    "log write at index {} leaves a gap after {len}",
                    write.from_index
                ),
            ));
        }
        let leader_throughout = mirror.view.role == Role::Leader
            && view.role == Role::Leader
            && mirror.view.term == view.term;
        if leader_throughout && write.from_index <= len {
            let detail = format!(
                "leader of term {} rewrote its log from index {} (last index {len})",
                mirror.view.term, write.from_index
            );
            return Err(violation(
                Invariant::LeaderAppendOnly,
                vec![node],
                now,
                detail,
            ));
        }
        mirror.log.truncate((write.from_index - 1) as usize);
        mirror
            .configs
            .retain(|(index, _)| *index < write.from_index);
        mirror.note_configs(&write.entries);
        let mut prev = mirror.log.last().map_or(0, |m| m.chain);
        for (offset, entry) in write.entries.iter().enumerate() {
            let index = write.from_index + offset as u64;
            if entry.index != index {
                return Err(violation(
                    Invariant::LogMatching,
                    vec![node],
                    now,
                    format!("entry at position {index} claims index {}", entry.index),
                ));
            }
            prev = chain(prev, entry);
            let mark = EntryMark {
                term: entry.term,
                chain: prev,
            };
            mirror.log.push(mark);
            check_log_matching(&mut self.marks_by_index, now, node, index, mark)?;
        }
        Ok(())
    }

    /// Checks `node`'s view after an event. `restarted` views skip the monotonic checks.
    pub fn on_view(&mut self, now: u64, node: NodeId, view: NodeView) -> Result<(), Violation> {
        let before = self.nodes[(node - 1) as usize].view;
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
        let log_len = self.nodes[(node - 1) as usize].log.len() as u64;
        if view.commit_index > log_len {
            let detail = format!(
                "commit index {} beyond its last index {log_len}",
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
        if view.role == Role::Leader && view.commit_index > before.commit_index {
            self.check_commit_quorum(now, node, view.commit_index)?;
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
    /// show (a follower acknowledges only what it wrote).
    fn check_commit_quorum(&self, now: u64, leader: NodeId, index: u64) -> Result<(), Violation> {
        let mirror = &self.nodes[(leader - 1) as usize];
        let mark = mirror.log[(index - 1) as usize];
        let holds = |id: NodeId| {
            self.nodes
                .get((id.wrapping_sub(1)) as usize)
                .is_some_and(|m| m.log.get((index - 1) as usize) == Some(&mark))
        };
        let config = mirror.membership();
        if config.has_quorum(holds) {
            return Ok(());
        }
        let holders: Vec<NodeId> = (1..=self.nodes.len() as u64)
            .filter(|&id| holds(id))
            .collect();
        let detail = format!(
            "leader {leader} committed index {index}, held only by {holders:?}; its configuration is voters {:?}{}",
            config.voters,
            if config.voters_outgoing.is_empty() {
                String::new()
            } else {
                format!(" and outgoing voters {:?}", config.voters_outgoing)
            }
        );
        Err(violation(
            Invariant::QuorumCommit,
            vec![leader],
            now,
            detail,
        ))
    }

    fn check_commits(
        &mut self,
        now: u64,
        node: NodeId,
        from: u64,
        to: u64,
        term: u64,
    ) -> Result<(), Violation> {
        for index in from..=to {
            let mark = self.nodes[(node - 1) as usize].log[(index - 1) as usize];
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
                    debug_assert_eq!(self.committed.len() as u64, index - 1);
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
            let log = &self.nodes[(node - 1) as usize].log;
            let before_term = log.iter().take_while(|m| m.term < term).count();
            let others = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i as u64 != node - 1);
            if others
                .into_iter()
                .any(|(_, other)| other.log.len() > before_term)
            {
                self.leaders_with_shorter_log += 1;
            }
        }
        // Entries committed in earlier terms must be in this leader's log; the chain hash of
        // the last of them covers all before it.
        let Some(position) = self.committed.iter().rposition(|c| c.term_seen < term) else {
            return Ok(());
        };
        let c = self.committed[position];
        let log = &self.nodes[(node - 1) as usize].log;
        if log.get(position) != Some(&c.mark) {
            let detail = format!(
                "leader of term {term} lacks entry {} (term {}) committed by node {} in term {} or earlier",
                position + 1,
                c.mark.term,
                c.node,
                c.term_seen
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

fn check_log_matching(
    marks_by_index: &mut Vec<Vec<(EntryMark, NodeId)>>,
    now: u64,
    node: NodeId,
    index: u64,
    mark: EntryMark,
) -> Result<(), Violation> {
    let position = (index - 1) as usize;
    if marks_by_index.len() <= position {
        marks_by_index.resize_with(position + 1, Vec::new);
    }
    let seen = &mut marks_by_index[position];
    match seen.iter().find(|(m, _)| m.term == mark.term) {
        Some((m, other)) if m.chain != mark.chain => {
            let detail = format!(
                "nodes {other} and {node} both hold an entry of term {} at index {index} but their logs differ up to it",
                mark.term
            );
            Err(violation(
                Invariant::LogMatching,
                vec![*other, node],
                now,
                detail,
            ))
        }
        Some(_) => Ok(()),
        None => {
            seen.push((mark, node));
            Ok(())
        }
    }
}

fn violation(invariant: Invariant, nodes: Vec<NodeId>, time_ns: u64, detail: String) -> Violation {
    Violation {
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
            data: vec![byte],
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

    fn config_entry(index: u64, term: u64, m: &Membership) -> StoredEntry {
        StoredEntry {
            index,
            term,
            kind: EntryKind::Config,
            data: m.encode(),
        }
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
        c.restarted(1, &[entry(1, 1, 1)], view(Role::Follower, 3, 0));
        c.on_view(3, 1, view(Role::Follower, 3, 1)).unwrap();
    }
}
