//! Random streams. One `u64` seed per run; each concern draws from its own ChaCha stream so
//! that a change in one (say, more messages) does not reshuffle another (say, crash times).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The concerns that draw randomness, each with its own stream.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// Latency and loss: keyed per message ([`keyed`]).
    Network = 1,
    /// Random crashes and partitions.
    Faults = 2,
    /// Client proposals.
    Workload = 3,
    /// Sync latency: keyed per sync ([`keyed`]).
    Disk = 4,
    /// Seeds of the nodes' own generators (election jitter).
    Nodes = 5,
    /// Clients: their operations, keys, values and think times.
    Clients = 6,
    /// Latency and loss of messages between clients and nodes: keyed per message ([`keyed`]).
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

/// A generator for the draws of one thing, keyed by what it is for (a link and an instant, a
/// node and an instant), not by how many draws came before it. A run whose faults and
/// workload are listed (what `raftsim shrink` writes) then keeps each message's latency when
/// an unrelated item is removed: only what follows causally from the removed item changes,
/// instead of every draw after it.
///
/// SplitMix64 rather than ChaCha: a keyed generator is made for every message, and a ChaCha
/// generator's first draw computes four blocks, which slowed whole runs by a sixth. A few
/// draws from one key need no more than SplitMix64's statistics.
pub fn keyed(seed: u64, stream: Stream, key: [u64; 4]) -> Keyed {
    let mut state = mix(seed ^ (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for part in key {
        state = mix(state ^ part);
    }
    Keyed { state }
}

/// The generator [`keyed`] returns.
#[derive(Clone, Debug)]
pub struct Keyed {
    state: u64,
}

impl rand::RngCore for Keyed {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// SplitMix64's finalizer: every input bit moves every output bit.
fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The ordinal of a draw among those with the same key at the same instant: 0 for the first.
#[derive(Clone, Copy, Debug, Default)]
pub struct SameInstant {
    now_ns: u64,
    count: u64,
}

impl SameInstant {
    /// The next ordinal at `now_ns`.
    pub fn next(&mut self, now_ns: u64) -> u64 {
        if self.now_ns != now_ns {
            *self = SameInstant { now_ns, count: 0 };
        }
        self.count += 1;
        self.count - 1
    }
}

/// A uniform draw from `[min, max]`.
pub fn uniform(rng: &mut impl Rng, min: u64, max: u64) -> u64 {
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
