//! Each fault kind does what it says, seen in the trace of a run: one-way, bridge and clogged
//! links, pauses, clock jumps, torn writes, duplication, the nemeses aimed at the leader and at
//! protocol moments, and the liveness deadlines of the quiet period.

mod protocol;

use sim::trace::{DropReason, Event, Record};
use sim::{Invariant, Outcome, RunOptions, Scenario};

const MS: u64 = 1_000_000;
const S: u64 = 1_000 * MS;

/// Three nodes, a steady cluster, clients; `extra` adds sections or schedule entries.
fn scenario(extra: &str) -> Scenario {
    let text = format!(
        "seed = 1\nnodes = 3\nduration = \"12s\"\n\
         [clients]\ncount = 2\noperations = 2000\nkeys = 2\nstart = \"500ms\"\n{extra}"
    );
    sim::scenario::parse("faults.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario, seed: u64) -> Outcome {
    let options = RunOptions {
        keep_trace: true,
        mutation: None,
        events_max: None,
    };
    let outcome = sim::run(s, seed, options).expect("starts");
    if let Some(v) = &outcome.violation {
        panic!(
            "seed {seed}: {} at {}: {}",
            v.invariant.name(),
            v.time_ns,
            v.detail
        );
    }
    outcome
}

fn records(o: &Outcome) -> &[Record] {
    o.trace.all().expect("kept")
}

/// The deliveries from `from` to `to` in `[start, end)`.
fn delivered(o: &Outcome, from: u64, to: u64, start: u64, end: u64) -> usize {
    records(o)
        .iter()
        .filter(|r| (start..end).contains(&r.time_ns))
        .filter(
            |r| matches!(&r.event, Event::Deliver { to: t, msg, .. } if *t == to && msg.from == from),
        )
        .count()
}

fn schedule(at: &str, action: &str, fields: &str) -> String {
    format!("[[schedule]]\nat = \"{at}\"\naction = \"{action}\"\n{fields}\n")
}

#[test]
fn one_way_cuts_one_direction_until_heal() {
    let s = scenario(
        &(schedule("3s", "one-way", "from = [1]\nto = [2]") + &schedule("6s", "heal", "")),
    );
    let o = run(&s, 1);
    assert_eq!(
        delivered(&o, 1, 2, 3 * S + 20 * MS, 6 * S),
        0,
        "1 -> 2 is cut"
    );
    assert!(
        delivered(&o, 2, 1, 3 * S + 20 * MS, 6 * S) > 0,
        "2 -> 1 still works"
    );
    assert!(delivered(&o, 1, 2, 6 * S + 20 * MS, 12 * S) > 0, "healed");
}

#[test]
fn a_bridge_node_talks_to_both_sides() {
    let s = sim::scenario::parse(
        "bridge.toml",
        &format!(
            "seed = 1\nnodes = 5\nduration = \"10s\"\n{}",
            schedule("2s", "bridge", "groups = [[1, 2], [4, 5]]\nnode = 3")
        ),
    )
    .unwrap();
    let o = run(&s, 2);
    let after = 2 * S + 20 * MS;
    for (a, b) in [(1, 4), (2, 5), (4, 1), (5, 2)] {
        assert_eq!(
            delivered(&o, a, b, after, 10 * S),
            0,
            "{a} -> {b} crosses the cut"
        );
    }
    let through_bridge: usize = [1, 2, 4, 5]
        .iter()
        .map(|&n| delivered(&o, 3, n, after, 10 * S) + delivered(&o, n, 3, after, 10 * S))
        .sum();
    assert!(through_bridge > 0);
    assert!(o.stats.partitions >= 1);
}

#[test]
fn a_clog_holds_messages_then_lets_them_go() {
    let s = scenario(
        &(schedule("3s", "clog", "from = [1]\nto = [2, 3]\nfor = \"800ms\"")
            + &schedule("3s", "clog", "from = [2, 3]\nto = [1]\nfor = \"800ms\"")),
    );
    let o = run(&s, 3);
    let links = [(1, 2), (2, 1), (1, 3), (3, 1)];
    let clogged: usize = links
        .iter()
        .map(|&(a, b)| delivered(&o, a, b, 3 * S + 20 * MS, 3 * S + 800 * MS))
        .sum();
    assert_eq!(clogged, 0, "nothing crosses a clogged link");
    let released: usize = links
        .iter()
        .map(|&(a, b)| delivered(&o, a, b, 3 * S + 800 * MS, 3 * S + 812 * MS))
        .sum();
    assert!(
        released > 3,
        "the held messages arrive together when the clog ends: {released}"
    );
}

#[test]
fn a_paused_node_handles_nothing_until_it_resumes() {
    let s = scenario(&schedule("4s", "pause", "node = 2\nfor = \"1500ms\""));
    let o = run(&s, 4);
    let touches_2 = |r: &&Record| match &r.event {
        Event::Deliver { to, .. } => *to == 2,
        Event::Timer { node } | Event::Synced { node, .. } => *node == 2,
        Event::ClientRequest { node, .. } => *node == 2,
        _ => false,
    };
    let during = records(&o)
        .iter()
        .filter(|r| (4 * S + 1..5_500 * MS).contains(&r.time_ns))
        .filter(touches_2)
        .count();
    assert_eq!(during, 0);
    let at_resume = records(&o)
        .iter()
        .filter(|r| r.time_ns == 5_500 * MS)
        .filter(touches_2)
        .count();
    assert!(at_resume > 0, "what waited is handled when the pause ends");
}

#[test]
fn a_clock_jump_fires_the_nodes_timers_at_once() {
    // A follower's election deadline is at most 300 ms away on its clock: a 2 s leap passes it.
    let s = scenario(&schedule("5s", "clock-jump", "node = 3\nby = \"2s\""));
    let o = run(&s, 5);
    let leader_at_5s = records(&o)
        .iter()
        .filter(|r| r.time_ns <= 5 * S)
        .rev()
        .find_map(|r| match r.event {
            Event::Role {
                node,
                role: sim::node::Role::Leader,
                ..
            } => Some(node),
            _ => None,
        })
        .expect("a leader before 5s");
    let expect = if leader_at_5s == 3 {
        "heartbeat"
    } else {
        "election"
    };
    let timer_at_jump = records(&o)
        .iter()
        .any(|r| r.time_ns == 5 * S && matches!(r.event, Event::Timer { node: 3 }));
    assert!(timer_at_jump, "node 3's {expect} timer fires at the jump");
}

#[test]
fn drifting_clocks_keep_the_cluster_safe_and_live() {
    let s = scenario("[clocks]\noffset_max = \"1s\"\ndrift_ppm_max = 50000\n[liveness]\nleader_within = \"2s\"\nclients_within = \"5s\"\n[faults]\ncrash_every = \"2s\"\nuntil = \"6s\"\n");
    for seed in 1..=20 {
        let o = run(&s, seed);
        assert!(o.entries_committed > 50, "seed {seed}");
    }
}

#[test]
fn torn_writes_happen_and_restart_cleanly() {
    let text = "[faults]\ncrash_every = \"400ms\"\ndown_for = [\"100ms\", \"500ms\"]\nuntil = \"10s\"\n[disk]\nsync_latency = [\"1ms\", \"20ms\"]\ntorn_writes = 1.0\n";
    let torn = scenario(text);
    let mut kept = 0;
    for seed in 1..=10 {
        let o = run(&torn, seed);
        let torn_crashes = records(&o)
            .iter()
            .filter(|r| {
                matches!(r.event, Event::Crash { writes_torn, writes_lost, .. }
                    if writes_torn > 0 && writes_lost > 0)
            })
            .count() as u64;
        assert_eq!(
            o.situations.restart_torn_writes, torn_crashes,
            "seed {seed}"
        );
        kept += torn_crashes;
    }
    assert!(kept > 0, "a torn crash keeps part of the unsynced writes");
    let clean = scenario(&text.replace("torn_writes = 1.0", "torn_writes = 0.0"));
    let o = run(&clean, 1);
    assert_eq!(o.situations.restart_torn_writes, 0);
    assert!(records(&o)
        .iter()
        .all(|r| !matches!(r.event, Event::Crash { writes_torn, .. } if writes_torn > 0)));
}

#[test]
fn duplicated_and_reordered_messages_are_harmless() {
    let s = scenario("[network]\nduplicate = 0.2\nreorder = 0.2\nlatency_distribution = \"long-tail\"\ntail_probability = 0.05\n");
    for seed in 1..=10 {
        let o = run(&s, seed);
        assert!(o.stats.messages_duplicated > 0, "seed {seed}");
    }
}

#[test]
fn isolate_leader_and_crash_leader_hit_the_leader() {
    let s = scenario(
        &(schedule("3s", "isolate-leader", "for = \"2s\"")
            + &schedule("7s", "crash-leader", "for = \"1s\"")),
    );
    let o = run(&s, 6);
    let leader_before = |t: u64| {
        records(&o)
            .iter()
            .filter(|r| r.time_ns < t)
            .rev()
            .find_map(|r| match r.event {
                Event::Role {
                    node,
                    role: sim::node::Role::Leader,
                    term,
                } => Some((node, term)),
                _ => None,
            })
            .expect("a leader")
    };
    let fired: Vec<(&str, Option<u64>, u64)> = records(&o)
        .iter()
        .filter_map(|r| match r.event {
            Event::Nemesis {
                name,
                fired: true,
                node,
            } => Some((name, node, r.time_ns)),
            _ => None,
        })
        .collect();
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert_eq!(
        fired[0],
        ("isolate-leader", Some(leader_before(3 * S).0), 3 * S)
    );
    assert_eq!(fired[1].0, "crash-leader");
    assert!(o.recovery["isolate-leader"].recovered >= 1);
    assert!(
        o.recovery["isolate-leader"].max_ns > 150 * MS,
        "a new election takes an election timeout"
    );
    let (_, term_before) = leader_before(7 * S);
    let (_, term_after) = leader_before(12 * S);
    assert!(term_after > term_before, "a new leader after the crash");
}

#[test]
fn protocol_nemeses_fire_at_their_moment() {
    let s = scenario(
        &(schedule("3s", "partition-after-append", "for = \"1s\"")
            + &schedule("6s", "drop-quorum-ack", "")
            + &schedule("8s", "crash-before-sync", "for = \"500ms\"")),
    );
    let o = run(&s, 7);
    let recs = records(&o);
    let fired = |name: &str| {
        recs.iter()
            .position(
                |r| matches!(r.event, Event::Nemesis { name: n, fired: true, .. } if n == name),
            )
            .unwrap_or_else(|| panic!("{name} never fired"))
    };
    let p = fired("partition-after-append");
    assert!(
        matches!(recs[p + 1].event, Event::Partition { .. }),
        "isolated at once"
    );
    let d = fired("drop-quorum-ack");
    assert!(matches!(
        &recs[d + 1].event,
        Event::Drop { reason: DropReason::Nemesis, msg, .. } if msg.kind == "AppendEntriesResponse"
    ));
    let c = fired("crash-before-sync");
    assert!(
        matches!(recs[c + 1].event, Event::Crash { .. }),
        "crashed before its sync"
    );
}

#[test]
fn liveness_deadlines_fail_when_too_tight_and_pass_when_fair() {
    // A majority crashes at 1s and everything restarts when the window ends at 2s: the new
    // election takes at least one election timeout (150ms).
    let faults = schedule("1s", "crash", "node = 1")
        + &schedule("1s", "crash", "node = 2")
        + "[faults]\nuntil = \"2s\"\n";
    let tight = scenario(&format!("{faults}[liveness]\nleader_within = \"10ms\"\n"));
    let o = sim::run(&tight, 1, RunOptions::default()).unwrap();
    let v = o.violation.expect("no leader 10ms after the restart");
    assert_eq!(v.invariant, Invariant::Liveness);
    assert!(v.detail.contains("no leader"), "{}", v.detail);
    let fair = scenario(&format!(
        "{faults}[liveness]\nleader_within = \"2s\"\nclients_within = \"4s\"\n"
    ));
    for seed in 1..=10 {
        let o = run(&fair, seed);
        // A majority was down until the window ended: operations were waiting, and drained.
        let drained = o
            .drain_ns
            .expect("clients and a window end")
            .expect("drained");
        assert!(drained > 0 && drained <= 4 * S, "seed {seed}: {drained}");
    }
    // Clients cannot finish 100ms after the window ends while a majority was just down.
    let tight_clients = scenario(&format!("{faults}[liveness]\nclients_within = \"100ms\"\n"));
    let failures = (1..=10)
        .filter_map(|seed| {
            sim::run(&tight_clients, seed, RunOptions::default())
                .unwrap()
                .violation
        })
        .filter(|v| v.invariant == Invariant::Liveness && v.detail.contains("client operations"))
        .count();
    assert!(
        failures > 0,
        "some seed leaves an operation waiting 100ms after the window"
    );
}

#[test]
fn every_random_fault_kind_fires_in_the_nemesis_scenario() {
    let s = crate::scenario("nemesis");
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=5 {
        let o = run(&s, seed);
        for r in records(&o) {
            let kind = match &r.event {
                Event::Nemesis {
                    name, fired: true, ..
                } => name.to_string(),
                Event::Crash { writes_torn, .. } if *writes_torn > 0 => "torn".into(),
                Event::Pause { .. } => "pause".into(),
                Event::OneWay { .. } => "one-way".into(),
                Event::Bridge { .. } => "bridge".into(),
                Event::Clog { .. } => "clog".into(),
                Event::ClockJump { .. } => "clock-jump".into(),
                Event::Partition { .. } => "partition".into(),
                Event::Crash { .. } => "crash".into(),
                Event::LivenessCheck { what, ok: true } => format!("liveness-{what}"),
                _ => continue,
            };
            seen.insert(kind);
        }
    }
    let all = [
        "torn",
        "pause",
        "one-way",
        "bridge",
        "clog",
        "clock-jump",
        "partition",
        "crash",
        "isolate-leader",
        "crash-leader",
        "partition-after-append",
        "drop-quorum-ack",
        "crash-before-sync",
        "liveness-leader",
        "liveness-clients",
    ];
    let missing: Vec<&str> = all.iter().copied().filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "never happened: {missing:?}");
}

#[test]
fn a_network_action_changes_loss_duplication_and_latency_from_then_on() {
    let s = scenario(&schedule(
        "4s",
        "network",
        "latency = [\"20ms\", \"30ms\"]\nlatency_distribution = \"normal\"\nloss = 0.3\nduplicate = 0.2",
    ));
    let o = run(&s, 8);
    let recs = records(&o);
    assert!(recs
        .iter()
        .any(|r| r.time_ns == 4 * S && matches!(r.event, Event::Network { .. })));
    let lost_before = recs
        .iter()
        .filter(|r| r.time_ns < 4 * S)
        .filter(|r| {
            matches!(
                r.event,
                Event::Drop {
                    reason: DropReason::Loss,
                    ..
                }
            )
        })
        .count();
    let lost_after = recs
        .iter()
        .filter(|r| r.time_ns > 4 * S)
        .filter(|r| {
            matches!(
                r.event,
                Event::Drop {
                    reason: DropReason::Loss,
                    ..
                }
            )
        })
        .count();
    assert_eq!(lost_before, 0, "no loss before the action");
    assert!(lost_after > 100, "30% loss after it: {lost_after}");
    assert!(o.stats.messages_duplicated > 0);
}

#[test]
fn a_scheduled_torn_crash_keeps_part_of_the_unsynced_writes() {
    // Slow syncs leave writes unsynced at the crash; `torn = true` tears them whatever
    // `disk.torn_writes` (0 here) says.
    let base = "[disk]\nsync_latency = [\"20ms\", \"40ms\"]\n";
    let mut torn_seen = 0;
    for seed in 1..=20 {
        let text = format!(
            "{base}{}{}",
            schedule("3s", "crash", "node = 1\ntorn = true"),
            schedule("3500ms", "restart", "node = 1")
        );
        let o = run(&scenario(&text), seed);
        torn_seen += records(&o)
            .iter()
            .filter(|r| matches!(r.event, Event::Crash { writes_torn, .. } if writes_torn > 0))
            .count();
    }
    assert!(torn_seen > 0, "some torn crash kept writes");
    let plain = format!("{base}{}", schedule("3s", "crash", "node = 1"));
    for seed in 1..=20 {
        let o = run(&scenario(&plain), seed);
        assert!(records(&o)
            .iter()
            .all(|r| !matches!(r.event, Event::Crash { writes_torn, .. } if writes_torn > 0)));
    }
}
