//! Every scenario in `scenarios/` passes for seeds 1..=200, and does real work doing it.

use crate::scenarios_dir;
use sim::RunOptions;

const SEEDS: u64 = 200;

#[test]
fn every_scenario_passes_200_seeds() {
    let mut paths: Vec<_> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in [
        "basic-election",
        "leader-crash",
        "old-leader-partitioned",
        "lossy",
        "figure8",
        "churn",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "scenarios/{required}.toml is missing"
        );
    }
    let mut failures = Vec::new();
    for path in &paths {
        let scenario = sim::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let mut committed_min = u64::MAX;
        for seed in 1..=SEEDS {
            let outcome = sim::run(&scenario, seed, RunOptions::default()).unwrap();
            if let Some(v) = &outcome.violation {
                failures.push(format!(
                    "raftsim run {} --seed {seed}: {} {}",
                    path.display(),
                    v.invariant.name(),
                    v.detail
                ));
            }
            assert!(
                !outcome.budget_exhausted,
                "{} seed {seed} hit the event budget",
                path.display()
            );
            assert!(
                !outcome.leaders.is_empty(),
                "{} seed {seed} never elected a leader",
                path.display()
            );
            committed_min = committed_min.min(outcome.entries_committed);
        }
        if scenario.workload.count > 0 {
            assert!(
                committed_min > 0,
                "{}: some seed committed nothing",
                path.display()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn basic_election_elects_one_leader_and_commits_everything() {
    let scenario = crate::scenario("basic-election");
    for seed in 1..=20 {
        let outcome = sim::run(&scenario, seed, RunOptions::default()).unwrap();
        assert!(outcome.violation.is_none());
        assert_eq!(
            outcome.leaders.len(),
            1,
            "seed {seed}: no faults, so one election: {:?}",
            outcome.leaders
        );
        // Every proposal plus the leader's no-op.
        assert_eq!(
            outcome.entries_committed,
            scenario.workload.count + 1,
            "seed {seed}"
        );
    }
}

#[test]
fn old_leader_is_neutralized() {
    // Some seed must show an old leader stepping down after a heal: more than one term led.
    let scenario = crate::scenario("old-leader-partitioned");
    let terms_led: usize = (1..=20)
        .map(|seed| {
            sim::run(&scenario, seed, RunOptions::default())
                .unwrap()
                .leaders
                .len()
        })
        .max()
        .unwrap();
    assert!(
        terms_led >= 3,
        "partitions force new elections: {terms_led}"
    );
}
