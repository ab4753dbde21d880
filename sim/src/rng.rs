//! Random streams. One `u64` seed per run; each concern draws from its own ChaCha stream so
//! that a change in one (say, more messages) does not reshuffle another (say, crash times).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The concerns that draw randomness, each with its own stream.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// Latency and loss.
    Network = 1,
    /// Random crashes and partitions.
    Faults = 2,
    /// Client proposals.
    Workload = 3,
    /// Sync latency.
    Disk = 4,
    /// Seeds of the nodes' own generators (election jitter).
    Nodes = 5,
    /// Clients: their operations, keys, values and think times.
    Clients = 6,
    /// Latency and loss of messages between clients and nodes.
    ClientNetwork = 7,
    /// Each node's clock offset and drift.
    Clocks = 8,
    /// Which fault kinds a swarm run enables, and how strongly.
    Swarm = 9,
    /// What a fault draws as it takes effect: whether a crash tears and where, the moment
    /// of a mid-sync crash, a nemesis's victim, the messages replayed.
    FaultEffects = 10,
}

/// The generator of one concern.
pub fn stream(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// A uniform draw from `[min, max]`.
pub fn uniform(rng: &mut ChaCha8Rng, min: u64, max: u64) -> u64 {
    debug_assert!(min <= max);
    if min == max {
        min
    } else {
        rng.gen_range(min..=max)
    }
}

/// An exponential draw with the given mean, capped at 1000 means so a run never stalls.
pub fn exponential(rng: &mut ChaCha8Rng, mean_ns: u64) -> u64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    let draw = -u.ln() * mean_ns as f64;
    draw.min(mean_ns as f64 * 1000.0) as u64
}
