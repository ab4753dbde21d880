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
        transit(&self.settings, &mut self.rng)
    }
}

/// The fate of one message under `settings`, drawn from `rng`: `Some(latency)` or `None` if
/// lost. Clients' messages use it with a stream of their own.
pub fn transit(settings: &NetworkSettings, rng: &mut ChaCha8Rng) -> Option<u64> {
    if settings.loss > 0.0 && rng.gen::<f64>() < settings.loss {
        return None;
    }
    Some(rng::uniform(
        rng,
        settings.latency_min_ns,
        settings.latency_max_ns,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(loss: f64) -> Network {
        let settings = NetworkSettings {
            latency_min_ns: 1_000,
            latency_max_ns: 2_000,
            loss,
        };
        Network::new(settings, 5, rng::stream(9, rng::Stream::Network))
    }

    #[test]
    fn partitions_cut_exactly_across_groups() {
        let mut net = network(0.0);
        assert!(!net.is_partitioned());
        net.partition(&[vec![1, 2], vec![3]]);
        assert!(net.is_partitioned());
        assert!(net.connected(1, 2));
        assert!(!net.connected(2, 3));
        assert!(net.connected(4, 5), "unnamed nodes form one more group");
        assert!(!net.connected(1, 4));
        assert!(!net.connected(3, 5));
        net.heal();
        assert!(net.connected(1, 5) && !net.is_partitioned());
    }

    #[test]
    fn latency_in_range_and_loss_near_its_rate() {
        let mut net = network(0.25);
        let draws: Vec<Option<u64>> = (0..10_000).map(|_| net.transit()).collect();
        let lost = draws.iter().filter(|d| d.is_none()).count();
        assert!(
            (2_200..=2_800).contains(&lost),
            "lost {lost} of 10000 at 25 %"
        );
        assert!(draws
            .iter()
            .flatten()
            .all(|&l| (1_000..=2_000).contains(&l)));
        let mut lossless = network(0.0);
        assert!((0..1000).all(|_| lossless.transit().is_some()));
    }
}
