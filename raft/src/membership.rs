//! Cluster membership (section 6 of the paper): the voters, during joint consensus the voters
//! of the outgoing configuration too, and learners that receive the log but never vote.

use crate::{Index, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A configuration, as carried by a configuration entry. Every list is sorted and duplicate
/// free; learners are never voters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// The voters of the new (or only) configuration.
    pub voters: Vec<NodeId>,
    /// During joint consensus, the voters of the old configuration; empty otherwise.
    pub voters_outgoing: Vec<NodeId>,
    /// Members that receive the log and never vote (section 6's non-voting members).
    pub learners: Vec<NodeId>,
}

impl Membership {
    /// A configuration of `voters` only.
    pub fn simple(voters: &[NodeId]) -> Membership {
        let mut voters = voters.to_vec();
        voters.sort_unstable();
        voters.dedup();
        Membership {
            voters,
            voters_outgoing: Vec::new(),
            learners: Vec::new(),
        }
    }

    /// True during joint consensus: decisions need a majority of each voter set.
    pub fn is_joint(&self) -> bool {
        !self.voters_outgoing.is_empty()
    }

    /// True if `id` votes in this configuration (in either set).
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.voters_outgoing.contains(&id)
    }

    /// True if `id` is a voter or a learner.
    pub fn is_member(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.learners.contains(&id)
    }

    /// Every member: voters of both sets and learners, in id order.
    pub fn members(&self) -> BTreeSet<NodeId> {
        let all = self
            .voters
            .iter()
            .chain(&self.voters_outgoing)
            .chain(&self.learners);
        all.copied().collect()
    }

    /// Every voter of either set, in id order.
    pub fn all_voters(&self) -> BTreeSet<NodeId> {
        self.voters
            .iter()
            .chain(&self.voters_outgoing)
            .copied()
            .collect()
    }

    /// True if the nodes for which `yes` holds form a majority of the voters, and during joint
    /// consensus a majority of the outgoing voters as well. An empty voter set has no majority.
    pub fn has_quorum(&self, yes: impl Fn(NodeId) -> bool) -> bool {
        let majority = |set: &[NodeId]| {
            !set.is_empty() && set.iter().filter(|&&id| yes(id)).count() > set.len() / 2
        };
        majority(&self.voters) && (!self.is_joint() || majority(&self.voters_outgoing))
    }

    /// The highest index that a majority of the voters (and in joint consensus of the outgoing
    /// voters too) have, given each voter's `matched` index; 0 without voters.
    pub fn quorum_index(&self, matched: impl Fn(NodeId) -> Index) -> Index {
        let of = |set: &[NodeId]| -> Index {
            if set.is_empty() {
                return 0;
            }
            let mut indexes: Vec<Index> = set.iter().map(|&id| matched(id)).collect();
            indexes.sort_unstable_by(|a, b| b.cmp(a));
            indexes[set.len() / 2]
        };
        let incoming = of(&self.voters);
        if self.is_joint() {
            incoming.min(of(&self.voters_outgoing))
        } else {
            incoming
        }
    }

    /// Checks the invariants of a configuration entry: sorted, distinct, non-zero ids, some
    /// voter, learners apart from voters.
    pub fn validate(&self) -> Result<(), &'static str> {
        let sorted_distinct = |v: &[NodeId]| v.windows(2).all(|w| w[0] < w[1]) && !v.contains(&0);
        if !sorted_distinct(&self.voters)
            || !sorted_distinct(&self.voters_outgoing)
            || !sorted_distinct(&self.learners)
        {
            return Err("configuration lists must be sorted, distinct, non-zero ids");
        }
        if self.voters.is_empty() {
            return Err("a configuration needs a voter");
        }
        if self.learners.iter().any(|&l| self.is_voter(l)) {
            return Err("a learner cannot also be a voter");
        }
        Ok(())
    }
}

/// A membership change a leader is carrying out: add learners, let them catch up, then the
/// joint configuration, then the new one (section 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    /// The voters when the change is done.
    pub voters_new: Vec<NodeId>,
    /// The servers being added; learners until promoted.
    pub added: Vec<NodeId>,
    pub stage: Stage,
    /// Asked for through `change_membership` (not a joint configuration finished for an
    /// earlier leader): its end is reported in a `Ready`.
    pub requested: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The added servers are learners, catching up; the entry that made them learners is at
    /// this index.
    CatchingUp { entry: Index },
    /// C(old,new) is at this index, not yet committed.
    Joint { entry: Index },
    /// C(new) is at this index, not yet committed.
    Final { entry: Index },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joint_quorums_need_both_majorities() {
        let joint = Membership {
            voters: vec![3, 4, 5],
            voters_outgoing: vec![1, 2, 3],
            learners: vec![],
        };
        assert!(joint.has_quorum(|id| [1, 3, 4].contains(&id)));
        assert!(
            !joint.has_quorum(|id| [3, 4, 5].contains(&id)),
            "no majority of 1, 2, 3"
        );
        assert!(
            !joint.has_quorum(|id| [1, 2, 3].contains(&id)),
            "no majority of 3, 4, 5"
        );
        let matched = |id: NodeId| [0, 9, 8, 7, 2, 1][id as usize];
        // Old set {1,2,3}: 9, 8, 7 -> 8; new set {3,4,5}: 7, 2, 1 -> 2.
        assert_eq!(joint.quorum_index(matched), 2);
        assert_eq!(Membership::simple(&[1, 2, 3]).quorum_index(matched), 8);
        assert_eq!(Membership::default().quorum_index(matched), 0);
        assert!(!Membership::default().has_quorum(|_| true));
    }

    #[test]
    fn learners_never_count() {
        let m = Membership {
            voters: vec![1, 2, 3],
            voters_outgoing: vec![],
            learners: vec![4, 5],
        };
        assert!(!m.has_quorum(|id| [1, 4, 5].contains(&id)));
        assert!(m.is_member(4) && !m.is_voter(4));
        assert_eq!(m.members().len(), 5);
        assert!(m.validate().is_ok());
        let bad = Membership {
            voters: vec![1, 2],
            voters_outgoing: vec![],
            learners: vec![2],
        };
        assert!(bad.validate().is_err());
        let unsorted = Membership {
            voters: vec![2, 1],
            ..Membership::default()
        };
        assert!(unsorted.validate().is_err());
    }
}
