//! The floor for `raftsim bench --floor`: a bare discrete-event loop of the simulator's shape
//! (a binary heap of timed events, ties broken by insertion order, message latencies drawn from
//! a ChaCha stream) whose handler does almost nothing. Nodes send each other small messages
//! every heartbeat and answer each one, so the queue holds about what a simulated cluster's
//! does. What raftsim does per event beyond this (the Raft, the disk, the checkers, the
//! clients) is the rest of its cost: `bench` prints its rate as a fraction of this one.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A heartbeat every 50 ms of simulated time.
const HEARTBEAT_NS: u64 = 50_000_000;
/// Latencies drawn from 1 to 10 ms.
const LATENCY_NS: std::ops::Range<u64> = 1_000_000..10_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Timer { node: u64 },
    Deliver { from: u64, to: u64, reply: bool },
}

/// What a floor run did: events handled, and a checksum of them (so that the loop does real
/// work, and a test can see two runs of one seed agree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloorRun {
    /// Events taken from the queue and handled.
    pub events: u64,
    /// A running hash of every event's time and content.
    pub checksum: u64,
}

/// Runs the bare loop over `nodes` nodes until it handled `events` events.
pub fn run(nodes: u64, events: u64, seed: u64) -> FloorRun {
    let nodes = nodes.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut queue: BinaryHeap<Reverse<(u64, u64, Event)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |queue: &mut BinaryHeap<_>, at: u64, event: Event| {
        seq += 1;
        queue.push(Reverse((at, seq, event)));
    };
    for node in 1..=nodes {
        let at = rng.gen_range(0..HEARTBEAT_NS);
        push(&mut queue, at, Event::Timer { node });
    }
    let mut checksum = 0u64;
    let mut handled = 0u64;
    while handled < events {
        let Some(Reverse((now, _, event))) = queue.pop() else {
            break;
        };
        handled += 1;
        checksum = (checksum ^ now)
            .rotate_left(5)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        match event {
            Event::Timer { node } => {
                for to in (1..=nodes).filter(|&to| to != node) {
                    let at = now + rng.gen_range(LATENCY_NS);
                    let reply = false;
                    push(
                        &mut queue,
                        at,
                        Event::Deliver {
                            from: node,
                            to,
                            reply,
                        },
                    );
                }
                push(&mut queue, now + HEARTBEAT_NS, Event::Timer { node });
            }
            Event::Deliver { from, to, reply } => {
                checksum ^= from << 8 | to;
                if !reply {
                    let at = now + rng.gen_range(LATENCY_NS);
                    let event = Event::Deliver {
                        from: to,
                        to: from,
                        reply: true,
                    };
                    push(&mut queue, at, event);
                }
            }
        }
    }
    FloorRun {
        events: handled,
        checksum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_handles_what_it_is_asked_and_is_deterministic() {
        let a = run(5, 100_000, 7);
        assert_eq!(a.events, 100_000);
        assert_eq!(a, run(5, 100_000, 7));
        assert_ne!(a.checksum, run(5, 100_000, 8).checksum);
    }
}
