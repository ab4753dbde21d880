//! Same seed, same trace hash; different seeds, different runs.

use crate::scenario;
use sim::RunOptions;
use std::collections::BTreeMap;

#[test]
fn churn_same_seed_same_trace_hash() {
    let churn = scenario("churn");
    let mut first_seed_of_hash = BTreeMap::new();
    for seed in 1..=100 {
        let a = sim::run(&churn, seed, RunOptions::default()).unwrap();
        let b = sim::run(&churn, seed, RunOptions::default()).unwrap();
        assert_eq!(
            a.trace.hash(),
            b.trace.hash(),
            "seed {seed}: two runs differ"
        );
        assert_eq!(
            a.trace.len(),
            b.trace.len(),
            "seed {seed}: event counts differ"
        );
        assert_eq!(a.stats, b.stats, "seed {seed}: counters differ");
        if let Some(other) = first_seed_of_hash.insert(a.trace.hash(), seed) {
            panic!("seeds {other} and {seed} give the same trace hash");
        }
    }
    assert_eq!(first_seed_of_hash.len(), 100);
}

#[test]
fn a_full_trace_does_not_change_the_run() {
    let churn = scenario("churn");
    let plain = sim::run(&churn, 7, RunOptions::default()).unwrap();
    let traced = sim::run(
        &churn,
        7,
        RunOptions {
            keep_trace: true,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(plain.trace.hash(), traced.trace.hash());
    let all = traced.trace.all().expect("full trace kept");
    assert_eq!(all.len() as u64, traced.trace.len());
    assert!(plain.trace.all().is_none());
}

#[test]
fn concerns_draw_from_separate_streams() {
    // Changing the workload must not move a single crash: crashes draw from their own stream.
    let churn = scenario("churn");
    let mut quiet = churn.clone();
    quiet.workload.rate_per_s = 0.0;
    let crash_times = |s: &sim::Scenario| {
        let outcome = sim::run(
            s,
            3,
            RunOptions {
                keep_trace: true,
                ..RunOptions::default()
            },
        )
        .unwrap();
        outcome
            .trace
            .all()
            .unwrap()
            .iter()
            .filter(|r| {
                matches!(
                    r.event,
                    sim::trace::Event::Crash { .. } | sim::trace::Event::Partition { .. }
                )
            })
            .map(|r| r.time_ns)
            .collect::<Vec<_>>()
    };
    let busy = crash_times(&churn);
    assert!(busy.len() > 10, "churn crashes and partitions nodes");
    assert_eq!(busy, crash_times(&quiet));
}

#[test]
fn every_fault_kind_and_the_swarm_draw_are_deterministic() {
    for name in ["nemesis", "swarm", "churn-unreliable"] {
        let s = scenario(name);
        let mut hashes = std::collections::BTreeSet::new();
        for seed in 1..=10 {
            let a = sim::run(&s, seed, RunOptions::default()).unwrap();
            let b = sim::run(&s, seed, RunOptions::default()).unwrap();
            assert_eq!(a.trace.hash(), b.trace.hash(), "{name} seed {seed}");
            assert_eq!(a.situations, b.situations, "{name} seed {seed}");
            assert_eq!(a.recovery, b.recovery, "{name} seed {seed}");
            assert_eq!(a.swarm, b.swarm, "{name} seed {seed}");
            hashes.insert(a.trace.hash());
        }
        assert_eq!(hashes.len(), 10, "{name}: every seed its own run");
    }
    // Swarm runs draw different fault subsets for different seeds.
    let swarm = scenario("swarm");
    let draws: std::collections::BTreeSet<String> = (1..=10)
        .map(|seed| {
            sim::run(&swarm, seed, RunOptions::default())
                .unwrap()
                .swarm
                .unwrap()
        })
        .collect();
    assert!(draws.len() >= 8, "{draws:?}");
}
