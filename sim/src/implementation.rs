//! The Raft implementations raftsim can run, registered in one place. A scenario names its
//! implementation (`implementation = "raftsim"`), `--impl NAME` overrides it, and
//! [`dispatch`] runs a generic function of the simulator with that implementation's
//! [`SimNode`] type. Nothing else in the simulator or its checkers names a concrete
//! implementation.

use crate::node::SimNode;
use crate::raft_node::RaftNode;
use crate::raft_rs_node::RaftRsNode;

/// One implementation of the [`SimNode`] boundary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Implementation {
    /// raftsim's own Raft (`raft/`), the default.
    #[default]
    Raftsim,
    /// tikv/raft-rs 0.7 (crates.io `raft`), through `raft_rs_node.rs`.
    RaftRs,
}

impl Implementation {
    /// Every registered implementation, the default first.
    pub const ALL: &'static [Implementation] = &[Implementation::Raftsim, Implementation::RaftRs];

    /// The name a scenario's `implementation` and `--impl` give.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Raftsim => "raftsim",
            Implementation::RaftRs => "raft-rs",
        }
    }

    /// The implementation of that name.
    pub fn from_name(name: &str) -> Option<Implementation> {
        Implementation::ALL
            .iter()
            .copied()
            .find(|i| i.name() == name)
    }

    /// Every name, for messages: `raftsim, raft-rs`.
    pub fn names() -> String {
        let names: Vec<&str> = Implementation::ALL.iter().map(|i| i.name()).collect();
        names.join(", ")
    }

    /// The deliberately broken rules `--mutation` accepts for this implementation.
    pub fn mutations(self) -> Vec<&'static str> {
        match self {
            Implementation::Raftsim => raft::Mutation::ALL.iter().map(|m| m.name()).collect(),
            Implementation::RaftRs => Vec::new(),
        }
    }

    /// Every message kind the implementation sends (see [`SimNode::message_kinds`]).
    pub fn message_kinds(self) -> &'static [&'static str] {
        match self {
            Implementation::Raftsim => RaftNode::message_kinds(),
            Implementation::RaftRs => RaftRsNode::message_kinds(),
        }
    }
}

/// The `--impl` flag that names `implementation` in a command, or nothing for the default.
pub fn flag(implementation: Implementation) -> String {
    if implementation == Implementation::default() {
        String::new()
    } else {
        format!(" --impl {}", implementation.name())
    }
}

/// A generic function of the simulator, to be run with one implementation's node type.
pub trait WithNode {
    /// What it returns.
    type Output;
    /// Runs it with `N`.
    fn call<N: SimNode>(self) -> Self::Output;
}

/// Runs `f` with the node type of `implementation`.
pub fn dispatch<F: WithNode>(implementation: Implementation, f: F) -> F::Output {
    match implementation {
        Implementation::Raftsim => f.call::<RaftNode>(),
        Implementation::RaftRs => f.call::<RaftRsNode>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_read_back() {
        for &i in Implementation::ALL {
            assert_eq!(Implementation::from_name(i.name()), Some(i));
            assert!(
                !i.message_kinds().is_empty(),
                "{} lists its kinds",
                i.name()
            );
        }
        let names: std::collections::BTreeSet<_> =
            Implementation::ALL.iter().map(|i| i.name()).collect();
        assert_eq!(names.len(), Implementation::ALL.len());
        assert_eq!(Implementation::from_name("etcd"), None);
        assert_eq!(Implementation::ALL[0], Implementation::default());
    }
}
