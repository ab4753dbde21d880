//! How long the timeline chart of a big run takes: 60 simulated seconds, 5 nodes, 2,000
//! client operations over 10 clients, about 100 role changes, 20 faults and 50,000 messages,
//! drawn whole and zoomed to one second (around the violation), as SVG and as PNG.
//!
//! `cargo bench -p reports --bench timeline` prints the median and the fastest of
//! [`RUNS`] runs of each. With `TIMELINE_SAMPLES_DIR=dir`, it also writes the four charts
//! there to look at.

use std::hint::black_box;
use std::time::{Duration, Instant};

use reports::model::{
    ClientOp, CommitPoint, Fault, FaultKind, Message, OpOutcome, Role, RoleSpan, Timeline,
    ViolationMark,
};
use reports::timeline::{self, ChartOptions};

const RUNS: usize = 10;
const MS: u64 = 1_000_000;
const S: u64 = 1_000 * MS;
const END_NS: u64 = 60 * S;
const NODES: u64 = 5;
const CLIENTS: u64 = 10;
const OPS_PER_CLIENT: usize = 200;
const EPOCH_NS: u64 = 3 * S;
const HEARTBEAT_NS: u64 = 4_800_000;

/// A tiny generator (SplitMix64), so the bench needs no dependency and draws the same run
/// every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The leader of each 3-second epoch (its term is the epoch's number plus one).
fn leaders(rng: &mut Rng) -> Vec<u64> {
    (0..END_NS / EPOCH_NS)
        .map(|_| 1 + rng.below(NODES))
        .collect()
}

/// Each epoch, its leader campaigns then leads; every fourth epoch a follower is down for a
/// second, with its crash and restart.
fn roles_and_crashes(leaders: &[u64]) -> (Vec<RoleSpan>, Vec<Fault>) {
    let (mut roles, mut faults) = (Vec::new(), Vec::new());
    let span = |node, role, term, from_ns, to_ns| RoleSpan {
        node,
        role,
        term,
        from_ns,
        to_ns,
    };
    for (epoch, &leader) in leaders.iter().enumerate() {
        let (start, term) = (epoch as u64 * EPOCH_NS, epoch as u64 + 1);
        let end = start + EPOCH_NS;
        let crashed = (epoch % 4 == 2).then_some(leader % NODES + 1);
        for node in 1..=NODES {
            if node == leader {
                roles.push(span(node, Role::Candidate, term, start, start + 120 * MS));
                roles.push(span(node, Role::Leader, term, start + 120 * MS, end));
            } else if crashed == Some(node) {
                roles.push(span(node, Role::Follower, term, start, start + S));
                roles.push(span(node, Role::Down, term, start + S, start + 2 * S));
                roles.push(span(node, Role::Follower, term, start + 2 * S, end));
                faults.push(point_fault(FaultKind::Crash, start + S, node));
                faults.push(point_fault(FaultKind::Restart, start + 2 * S, node));
            } else {
                roles.push(span(node, Role::Follower, term, start, end));
            }
        }
    }
    (roles, faults)
}

fn point_fault(kind: FaultKind, at_ns: u64, node: u64) -> Fault {
    Fault {
        kind,
        from_ns: at_ns,
        to_ns: None,
        nodes: vec![node],
        label: format!("{kind:?} node {node}").to_lowercase(),
    }
}

fn other_faults() -> Vec<Fault> {
    let band = |kind, from_s: u64, to_s: u64, nodes: &[u64], label: &str| Fault {
        kind,
        from_ns: from_s * S,
        to_ns: Some(to_s * S),
        nodes: nodes.to_vec(),
        label: label.into(),
    };
    let mut faults = vec![
        band(FaultKind::Partition, 4, 9, &[], "{1,2} | {3,4,5}"),
        band(FaultKind::Partition, 21, 23, &[4, 5], "{4,5} cut off"),
        band(FaultKind::Partition, 40, 44, &[1], "{1} | rest"),
        band(FaultKind::Clog, 13, 15, &[2, 3], "clog 2-3"),
        band(FaultKind::OneWay, 30, 33, &[3], "3 -/-> all"),
        band(FaultKind::Pause, 50, 52, &[2], "pause 2 s"),
    ];
    let mut jump = point_fault(FaultKind::ClockJump, 35 * S, 4);
    jump.label = "clock +1.5 s".into();
    let mut join = point_fault(FaultKind::Membership, 45 * S, 5);
    join.label = "add node 6".into();
    let mut network = point_fault(FaultKind::Network, 18 * S, 1);
    network.nodes.clear();
    network.label = "loss 5 %".into();
    let mut nemesis = point_fault(FaultKind::Nemesis, 46 * S, 2);
    nemesis.label = "nemesis: crash the leader".into();
    faults.extend([jump, join, network, nemesis]);
    faults
}

fn commits(rng: &mut Rng) -> Vec<CommitPoint> {
    let mut commits = Vec::new();
    for node in 1..=NODES {
        let (mut time_ns, mut index) = (0, 0);
        // Bounded by the run's length: each step moves at least 5 ms.
        while time_ns < END_NS {
            time_ns += 5 * MS + rng.below(30 * MS);
            index += 1 + rng.below(3);
            commits.push(CommitPoint {
                node,
                time_ns,
                index,
            });
        }
    }
    commits.sort_by_key(|c| c.time_ns);
    commits
}

/// Each client runs one operation at a time; an unknown one is given up on after a second,
/// and the very last one never completes.
fn ops(rng: &mut Rng) -> Vec<ClientOp> {
    let mut ops = Vec::new();
    for client in 1..=CLIENTS {
        let mut time_ns = rng.below(100 * MS);
        for i in 0..OPS_PER_CLIENT {
            let invoke_ns = time_ns;
            let outcome = match rng.below(20) {
                0 => OpOutcome::Unknown,
                1 | 2 => OpOutcome::Fail,
                _ => OpOutcome::Ok,
            };
            let took_ns = match outcome {
                OpOutcome::Unknown => S,
                _ => 20 * MS + rng.below(400 * MS),
            };
            let last = i + 1 == OPS_PER_CLIENT;
            let key = rng.below(8);
            ops.push(ClientOp {
                id: 0,
                client,
                invoke_ns,
                complete_ns: (!last).then_some(invoke_ns + took_ns),
                outcome: if last { OpOutcome::Unknown } else { outcome },
                label: format!("put k{key} {}", rng.below(100)),
                highlighted: rng.below(200) == 0,
            });
            time_ns = invoke_ns + took_ns + rng.below(40 * MS);
        }
    }
    ops.sort_by_key(|o| o.invoke_ns);
    for (id, op) in ops.iter_mut().enumerate() {
        op.id = id;
    }
    ops
}

/// Every 4.8 ms the epoch's leader sends to each follower; one in fifty is dropped.
fn messages(rng: &mut Rng, leaders: &[u64]) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut sent_ns = 0;
    while sent_ns < END_NS {
        let leader = leaders[(sent_ns / EPOCH_NS) as usize];
        for to in (1..=NODES).filter(|&n| n != leader) {
            let kind = if rng.below(4) == 0 {
                "AppendEntries"
            } else {
                "Heartbeat"
            };
            messages.push(Message {
                from: leader,
                to,
                sent_ns,
                arrived_ns: sent_ns + MS + rng.below(4 * MS),
                kind: kind.into(),
                delivered: rng.below(50) != 0,
            });
        }
        sent_ns += HEARTBEAT_NS;
    }
    messages
}

fn big_run() -> Timeline {
    let mut rng = Rng(7);
    let leaders = leaders(&mut rng);
    let (roles, mut faults) = roles_and_crashes(&leaders);
    faults.extend(other_faults());
    faults.sort_by_key(|f| f.from_ns);
    Timeline {
        title: "bench · 60 s · 5 nodes · 10 clients".into(),
        nodes: (1..=NODES).collect(),
        clients: (1..=CLIENTS).collect(),
        end_ns: END_NS,
        roles,
        commits: commits(&mut rng),
        faults,
        ops: ops(&mut rng),
        messages: messages(&mut rng, &leaders),
        messages_left_out: 0,
        messages_left_out_before_ns: 0,
        violation: Some(ViolationMark {
            time_ns: 47_300 * MS,
            title: "linearizability: key k3 is not linearizable".into(),
            nodes: vec![2, 4],
        }),
    }
}

/// Runs `draw` [`RUNS`] times and prints the median and the fastest; returns the output.
fn time<T: AsRef<[u8]>>(name: &str, mut draw: impl FnMut() -> T) -> T {
    let mut took: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut output = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let drawn = black_box(draw());
        took.push(start.elapsed());
        output = Some(drawn);
    }
    took.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let output = output.expect("RUNS is not zero");
    println!(
        "{name:<24} median {:>7.2} ms   min {:>7.2} ms   ({} runs, {} kB)",
        ms(took[RUNS / 2]),
        ms(took[0]),
        RUNS,
        output.as_ref().len() / 1024
    );
    output
}

fn main() {
    let run = big_run();
    println!(
        "{} roles, {} faults, {} ops, {} messages, {} commit points",
        run.roles.len(),
        run.faults.len(),
        run.ops.len(),
        run.messages.len(),
        run.commits.len()
    );
    let whole = ChartOptions::default();
    let zoom = ChartOptions {
        from_ns: Some(46_800 * MS),
        to_ns: Some(47_800 * MS),
        ..ChartOptions::default()
    };
    let charts = [
        ("svg, whole run", &whole, "whole.svg"),
        ("svg, 1 s zoom", &zoom, "zoom.svg"),
    ];
    let samples = std::env::var_os("TIMELINE_SAMPLES_DIR").map(std::path::PathBuf::from);
    for (name, options, file) in charts {
        let svg = time(name, || {
            timeline::svg(&run, options).expect("the chart draws")
        });
        if let Some(dir) = &samples {
            std::fs::write(dir.join(file), svg).expect("the samples folder is writable");
        }
    }
    let charts = [
        ("png, whole run", &whole, "whole.png"),
        ("png, 1 s zoom", &zoom, "zoom.png"),
    ];
    for (name, options, file) in charts {
        let png = time(name, || {
            timeline::png(&run, options).expect("the chart draws")
        });
        if let Some(dir) = &samples {
            std::fs::write(dir.join(file), png).expect("the samples folder is writable");
        }
    }
}
