//! The virtual network: latency, loss, partitions.

use crate::node::NodeId;
use crate::rng;
use crate::scenario::NetworkSettings;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The network between `n` nodes.
#[derive(Debug)]
pub struct Network {
    settings: NetworkSettings,
    rng: ChaCha8Rng,
    /// The side of the partition each node is on (index `id - 1`); all zero when healed.
    side: Vec<u32>,
}

impl Network {
    /// A healed network.
    pub fn new(settings: NetworkSettings, nodes: u64, rng: ChaCha8Rng) -> Network {
        Network {
            settings,
            rng,
            side: vec![0; nodes as usize],
        }
    }

    /// True if `a` and `b` can talk.
    pub fn connected(&self, a: NodeId, b: NodeId) -> bool {
        self.side[(a - 1) as usize] == self.side[(b - 1) as usize]
    }

    /// Splits the cluster: each group on its own side, unnamed nodes on one more side.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        self.side.iter_mut().for_each(|s| *s = 0);
        for (i, group) in groups.iter().enumerate() {
            for &node in group {
                self.side[(node - 1) as usize] = i as u32 + 1;
            }
        }
    }

    /// Reconnects every node.
    pub fn heal(&mut self) {
        self.side.iter_mut().for_each(|s| *s = 0);
    }

    /// True while some nodes cannot talk.
    pub fn is_partitioned(&self) -> bool {
        self.side.iter().any(|&s| s != self.side[0])
    }

    /// The fate of a message sent now: `Some(latency)` or `None` if lost.
    pub fn transit(&mut self) -> Option<u64> {
        if self.settings.loss > 0.0 && self.rng.gen::<f64>() < self.settings.loss {
            return None;
        }
        Some(rng::uniform(
            &mut self.rng,
            self.settings.latency_min_ns,
            self.settings.latency_max_ns,
        ))
    }
}
