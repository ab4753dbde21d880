//! The virtual network: latency distributions, loss, duplication, reordering, and links that
//! are cut (symmetric, one-way and bridge partitions) or clogged.

use crate::node::NodeId;
use crate::rng;
use crate::scenario::{LatencyDistribution, NetworkSettings};
use rand::Rng;

/// Most clogs in force at once; more are refused (a scenario that clogs faster than clogs end).
pub const CLOGS_MAX: usize = 1024;

/// A link that holds what is sent on it until `until_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Clog {
    from: NodeId,
    to: NodeId,
    until_ns: u64,
}

/// The network between `n` nodes.
#[derive(Debug)]
pub struct Network {
    settings: NetworkSettings,
    /// The run's seed: each message's fate is drawn from its link and send time with it.
    seed: u64,
    /// Per link, the ordinal of a message among those sent on it at the same instant.
    ordinals: Vec<rng::SameInstant>,
    nodes: u64,
    /// `cut[(from - 1) * nodes + (to - 1)]`: messages from `from` to `to` are dropped.
    cut: Vec<bool>,
    clogs: Vec<Clog>,
}

impl Network {
    /// A healed network.
    pub fn new(settings: NetworkSettings, nodes: u64, seed: u64) -> Network {
        Network {
            settings,
            seed,
            ordinals: vec![rng::SameInstant::default(); (nodes * nodes) as usize],
            nodes,
            cut: vec![false; (nodes * nodes) as usize],
            clogs: Vec::new(),
        }
    }

    /// Replaces the settings (as when the quiet period after the fault window begins).
    pub fn set_settings(&mut self, settings: NetworkSettings) {
        self.settings = settings;
    }

    fn link(&self, from: NodeId, to: NodeId) -> usize {
        debug_assert!((1..=self.nodes).contains(&from) && (1..=self.nodes).contains(&to));
        ((from - 1) * self.nodes + (to - 1)) as usize
    }

    /// True if a message from `from` reaches `to` (a node always reaches itself).
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        from == to || !self.cut[self.link(from, to)]
    }

    fn cut_both(&mut self, a: NodeId, b: NodeId) {
        let (ab, ba) = (self.link(a, b), self.link(b, a));
        self.cut[ab] = true;
        self.cut[ba] = true;
    }

    /// Splits the cluster: each group on its own side, unnamed nodes on one more side.
    /// Replaces any earlier cut.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        self.heal_cuts();
        let side = |id: NodeId| groups.iter().position(|g| g.contains(&id));
        for a in 1..=self.nodes {
            for b in 1..=self.nodes {
                if side(a) != side(b) {
                    let ab = self.link(a, b);
                    self.cut[ab] = true;
                }
            }
        }
    }

    /// Cuts the links from every `from` node to every `to` node, one way only. Adds to the
    /// cuts already in force.
    pub fn cut_one_way(&mut self, from: &[NodeId], to: &[NodeId]) {
        for &a in from {
            for &b in to {
                if a != b {
                    let ab = self.link(a, b);
                    self.cut[ab] = true;
                }
            }
        }
    }

    /// A bridge partition: the two sides cannot talk, `bridge` talks to both, and nodes on
    /// neither side talk to the bridge only. Replaces any earlier cut.
    pub fn bridge(&mut self, sides: [&[NodeId]; 2], bridge: NodeId) {
        self.heal_cuts();
        let side = |id: NodeId| sides.iter().position(|g| g.contains(&id));
        for a in 1..=self.nodes {
            for b in (a + 1)..=self.nodes {
                if a == bridge || b == bridge {
                    continue;
                }
                if side(a) != side(b) || side(a).is_none() {
                    self.cut_both(a, b);
                }
            }
        }
    }

    fn heal_cuts(&mut self) {
        self.cut.iter_mut().for_each(|c| *c = false);
    }

    /// Reconnects every node and releases every clog at once.
    pub fn heal(&mut self) {
        self.heal_cuts();
        self.clogs.clear();
    }

    /// True while some link is cut.
    pub fn is_partitioned(&self) -> bool {
        self.cut.iter().any(|&c| c)
    }

    /// Clogs the links from every `from` node to every `to` node until `until_ns`. Returns
    /// false if `CLOGS_MAX` clogs are already in force.
    pub fn clog(&mut self, from: &[NodeId], to: &[NodeId], until_ns: u64) -> bool {
        let now_clogs = from.len() * to.len();
        if self.clogs.len() + now_clogs > CLOGS_MAX {
            return false;
        }
        for &a in from {
            for &b in to {
                self.clogs.push(Clog {
                    from: a,
                    to: b,
                    until_ns,
                });
            }
        }
        true
    }

    /// When a message sent now from `from` to `to` may leave a clog, if the link is clogged.
    fn clogged_until(&mut self, from: NodeId, to: NodeId, now_ns: u64) -> Option<u64> {
        self.clogs.retain(|c| c.until_ns > now_ns);
        self.clogs
            .iter()
            .filter(|c| c.from == from && c.to == to)
            .map(|c| c.until_ns)
            .max()
    }

    /// The deliveries of one message sent now from `from` to `to`: the times at which it
    /// arrives, none if it is lost, two if it is duplicated. A clogged link holds it until the
    /// clog ends, then lets it go after a fresh latency, so held messages leave in a shuffled
    /// order. The caller checks cuts.
    ///
    /// The fate is drawn from the link, the send time and the message's ordinal among those
    /// sent on the link at that instant ([`rng::keyed`]): a message sent at the same time on
    /// the same link meets the same fate in any run of the seed, whatever else was sent.
    pub fn deliveries(&mut self, from: NodeId, to: NodeId, now_ns: u64) -> Deliveries {
        let start = self.clogged_until(from, to, now_ns).unwrap_or(now_ns);
        let link = self.link(from, to);
        let ordinal = self.ordinals[link].next(now_ns);
        let key = [from, to, now_ns, ordinal];
        let mut rng = rng::keyed(self.seed, rng::Stream::Network, key);
        let mut times = Deliveries::default();
        let Some(latency) = transit(&self.settings, &mut rng) else {
            return times;
        };
        times.push(start + latency);
        if self.settings.duplicate > 0.0 && rng.gen::<f64>() < self.settings.duplicate {
            if let Some(latency) = transit(&self.settings, &mut rng) {
                times.push(start + latency);
            }
        }
        times
    }
}

/// Arrival times of one message: none (lost), one, or two (duplicated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deliveries {
    times: [u64; 2],
    len: usize,
}

impl Deliveries {
    fn push(&mut self, t: u64) {
        assert!(self.len < 2, "a message is delivered at most twice");
        self.times[self.len] = t;
        self.len += 1;
    }

    /// The arrival times.
    pub fn times(&self) -> &[u64] {
        &self.times[..self.len]
    }
}

/// The fate of one message under `settings`, drawn from `rng`: `Some(latency)` or `None` if
/// lost. Clients' messages use it with a stream of their own.
pub fn transit(settings: &NetworkSettings, rng: &mut impl Rng) -> Option<u64> {
    if settings.loss > 0.0 && rng.gen::<f64>() < settings.loss {
        return None;
    }
    let (min, max) = (settings.latency_min_ns, settings.latency_max_ns);
    let mut latency = match settings.latency_distribution {
        LatencyDistribution::Uniform => rng::uniform(rng, min, max),
        LatencyDistribution::Normal => {
            // The mean of four uniform draws: bell-shaped, and never outside [min, max].
            let sum: u64 = (0..4).map(|_| rng::uniform(rng, min, max) - min).sum();
            min + sum / 4
        }
        LatencyDistribution::LongTail => {
            if rng.gen::<f64>() < settings.tail_probability {
                log_uniform(
                    rng,
                    settings.tail_latency_min_ns,
                    settings.tail_latency_max_ns,
                )
            } else {
                rng::uniform(rng, min, max)
            }
        }
    };
    if settings.reorder > 0.0 && rng.gen::<f64>() < settings.reorder {
        latency += rng::uniform(
            rng,
            settings.reorder_delay_min_ns,
            settings.reorder_delay_max_ns,
        );
    }
    Some(latency)
}

/// A draw whose logarithm is uniform in `[ln min, ln max]`: as many draws in 100ms..1s as in
/// 1s..10s.
fn log_uniform(rng: &mut impl Rng, min: u64, max: u64) -> u64 {
    let (lo, hi) = ((min.max(1) as f64).ln(), (max.max(1) as f64).ln());
    let x = rng.gen_range(lo..=hi).exp() as u64;
    x.clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(loss: f64) -> NetworkSettings {
        NetworkSettings {
            loss,
            ..NetworkSettings::uniform(1_000, 2_000)
        }
    }

    fn network(loss: f64) -> Network {
        Network::new(settings(loss), 5, 9)
    }

    fn times(net: &mut Network) -> Vec<u64> {
        net.deliveries(1, 2, 0).times().to_vec()
    }

    #[test]
    fn partitions_cut_exactly_across_groups() {
        let mut net = network(0.0);
        assert!(!net.is_partitioned());
        net.partition(&[vec![1, 2], vec![3]]);
        assert!(net.is_partitioned());
        assert!(net.connected(1, 2));
        assert!(!net.connected(2, 3) && !net.connected(3, 2));
        assert!(net.connected(4, 5), "unnamed nodes form one more group");
        assert!(!net.connected(1, 4));
        assert!(!net.connected(3, 5));
        net.heal();
        assert!(net.connected(1, 5) && !net.is_partitioned());
    }

    #[test]
    fn one_way_cuts_one_direction() {
        let mut net = network(0.0);
        net.cut_one_way(&[1, 2], &[3]);
        assert!(!net.connected(1, 3) && !net.connected(2, 3));
        assert!(
            net.connected(3, 1) && net.connected(3, 2),
            "the reverse still works"
        );
        assert!(net.connected(1, 2) && net.connected(4, 3));
        net.heal();
        assert!(net.connected(1, 3));
    }

    #[test]
    fn a_bridge_sees_both_sides() {
        let mut net = network(0.0);
        net.bridge([&[1, 2], &[4]], 3);
        assert!(net.connected(1, 3) && net.connected(3, 4) && net.connected(4, 3));
        assert!(net.connected(1, 2));
        assert!(!net.connected(1, 4) && !net.connected(4, 2));
        assert!(
            net.connected(5, 3) && net.connected(3, 5),
            "an unnamed node sees the bridge"
        );
        assert!(
            !net.connected(5, 1) && !net.connected(4, 5),
            "and nothing else"
        );
    }

    #[test]
    fn a_clog_holds_messages_until_it_ends() {
        let mut net = network(0.0);
        assert!(net.clog(&[1], &[2], 50_000));
        for _ in 0..100 {
            let t = times(&mut net)[0];
            assert!((51_000..=52_000).contains(&t), "{t}");
        }
        assert!(
            net.deliveries(2, 1, 0).times()[0] <= 2_000,
            "the other direction is free"
        );
        assert!(
            net.deliveries(1, 2, 50_000).times()[0] <= 52_000,
            "released at its end"
        );
        assert!(net.deliveries(1, 2, 50_001).times()[0] <= 52_001);
    }

    /// A message's fate is drawn from its link, its send time and its ordinal at that instant:
    /// messages sent on other links or at other times do not move it, which keeps a shrunk
    /// run's timing when an unrelated item is removed from it.
    #[test]
    fn a_message_meets_the_same_fate_whatever_else_was_sent() {
        let s = NetworkSettings {
            loss: 0.3,
            duplicate: 0.2,
            reorder: 0.2,
            ..NetworkSettings::uniform(1_000, 50_000)
        };
        let mut quiet = Network::new(s.clone(), 5, 11);
        let mut busy = Network::new(s.clone(), 5, 11);
        let mut fates = Vec::new();
        for t in 0..200u64 {
            let now = t * 1_000;
            for _ in 0..t % 4 {
                busy.deliveries(3, 4, now);
                busy.deliveries(2, 1, now);
                busy.deliveries(1, 2, now + 1);
            }
            let fate = quiet.deliveries(1, 2, now);
            assert_eq!(fate, busy.deliveries(1, 2, now), "sent at {now}");
            fates.push(fate);
        }
        let distinct: std::collections::BTreeSet<_> = fates.iter().map(|f| f.times()).collect();
        assert!(distinct.len() > 100, "fates vary with the send time");
        let second = quiet.deliveries(1, 2, 199_000);
        assert_ne!(
            Some(&second),
            fates.last(),
            "the second at an instant is its own"
        );
        let mut other_seed = Network::new(s, 5, 12);
        let moved = (0..200u64)
            .filter(|&t| other_seed.deliveries(1, 2, t * 1_000) != fates[t as usize])
            .count();
        assert!(
            moved > 100,
            "another seed, other fates: {moved} of 200 moved"
        );
    }

    #[test]
    fn latency_in_range_and_loss_near_its_rate() {
        let mut net = network(0.25);
        let draws: Vec<Vec<u64>> = (0..10_000).map(|_| times(&mut net)).collect();
        let lost = draws.iter().filter(|d| d.is_empty()).count();
        assert!(
            (2_200..=2_800).contains(&lost),
            "lost {lost} of 10000 at 25 %"
        );
        assert!(draws
            .iter()
            .flatten()
            .all(|&l| (1_000..=2_000).contains(&l)));
        let mut lossless = network(0.0);
        assert!((0..1000).all(|_| times(&mut lossless).len() == 1));
    }

    #[test]
    fn duplicates_near_their_rate() {
        let s = NetworkSettings {
            duplicate: 0.1,
            ..settings(0.0)
        };
        let mut net = Network::new(s, 3, 3);
        let twice = (0..10_000).filter(|_| times(&mut net).len() == 2).count();
        assert!((800..=1_200).contains(&twice), "{twice} of 10000 at 10 %");
    }

    #[test]
    fn distributions_keep_their_shape() {
        let mut rng = rng::stream(5, rng::Stream::Network);
        let normal = NetworkSettings {
            latency_distribution: LatencyDistribution::Normal,
            ..NetworkSettings::uniform(0, 1_000)
        };
        let draws: Vec<u64> = (0..10_000)
            .map(|_| transit(&normal, &mut rng).unwrap())
            .collect();
        let middle = draws.iter().filter(|&&d| (250..750).contains(&d)).count();
        assert!(
            middle > 8_000,
            "a bell around the middle: {middle} of 10000 in the middle half"
        );
        let tail = NetworkSettings {
            latency_distribution: LatencyDistribution::LongTail,
            tail_probability: 0.05,
            ..NetworkSettings::uniform(1_000, 2_000)
        };
        let draws: Vec<u64> = (0..10_000)
            .map(|_| transit(&tail, &mut rng).unwrap())
            .collect();
        let slow = draws
            .iter()
            .filter(|&&d| d >= tail.tail_latency_min_ns)
            .count();
        assert!(
            (400..=600).contains(&slow),
            "{slow} of 10000 in the tail at 5 %"
        );
        assert!(draws.iter().all(|&d| d <= tail.tail_latency_max_ns));
        let reorder = NetworkSettings {
            reorder: 0.2,
            ..NetworkSettings::uniform(1_000, 2_000)
        };
        let draws: Vec<u64> = (0..10_000)
            .map(|_| transit(&reorder, &mut rng).unwrap())
            .collect();
        let late = draws.iter().filter(|&&d| d > 2_000).count();
        assert!(
            (1_700..=2_300).contains(&late),
            "{late} of 10000 held back at 20 %"
        );
    }
}
