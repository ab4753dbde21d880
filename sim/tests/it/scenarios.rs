//! Every scenario in `scenarios/` passes (the first six of the spine for seeds 1..=200, the
//! rest of the library for 1..=30; CI sweeps them all further), does real work doing it, and
//! reaches the situations it is about.

use crate::scenarios_dir;
use sim::sweep::{self, Plan, SeedRange, Shard, SweepScenario};
use sim::{RunOptions, Situations};

/// Seeds for the spine's six scenarios.
const SEEDS: u64 = 200;
/// Seeds for the rest of the library here; `.ci/run` sweeps more.
const SEEDS_LIBRARY: u64 = 30;
const SPINE: [&str; 6] = [
    "basic-election",
    "leader-crash",
    "old-leader-partitioned",
    "lossy",
    "figure8",
    "churn",
];
const LIBRARY: [&str; 24] = [
    "initial-election",
    "message-counts",
    "re-election",
    "many-elections",
    "basic-agreement",
    "failed-follower",
    "no-quorum",
    "concurrent-proposals",
    "rejoin-partitioned-leader",
    "fast-backup",
    "persistence",
    "figure8-unreliable",
    "churn-reliable",
    "churn-unreliable",
    "nemesis",
    "swarm",
    "exactly-once",
    "session-expiry",
    "grow",
    "shrink",
    "replace-leader",
    "membership-churn",
    "snapshot-repair",
    "snapshot-full-crash",
];

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
    for required in SPINE.iter().chain(&LIBRARY) {
        assert!(
            names.iter().any(|n| n == required),
            "scenarios/{required}.toml is missing"
        );
    }
    let mut failures = Vec::new();
    for path in &paths {
        let scenario = sim::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let mut committed_min = u64::MAX;
        let name = path.file_stem().unwrap().to_string_lossy();
        let seeds = if SPINE.contains(&name.as_ref()) {
            SEEDS
        } else {
            SEEDS_LIBRARY
        };
        for seed in 1..=seeds {
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

/// The situations a scenario of the library reached over seeds 1..=20.
fn situations(name: &str) -> Situations {
    let plan = Plan {
        scenarios: vec![SweepScenario {
            path: format!("scenarios/{name}.toml"),
            scenario: crate::scenario(name),
        }],
        seeds: SeedRange { first: 1, last: 20 },
        shard: Shard::ALL,
        mutation: None,
        jobs: 2,
        fail_fast: false,
    };
    let result = sweep::run(&plan, &std::sync::atomic::AtomicBool::new(false), |_, _| {});
    assert_eq!(result.failures().count(), 0, "{name}");
    result.situations()
}

#[test]
fn library_scenarios_reach_their_situations() {
    let fast = situations("fast-backup");
    assert!(fast.follower_repaired_over_10 > 0 && fast.uncommitted_entry_overwritten > 0);
    let rejoin = situations("rejoin-partitioned-leader");
    assert!(rejoin.old_leader_stepped_down > 0 && rejoin.uncommitted_entry_overwritten > 0);
    assert!(rejoin.leader_isolated > 0);
    let figure8 = situations("figure8-unreliable");
    assert!(figure8.commit_waited_for_current_term > 0);
    let persistence = situations("persistence");
    assert!(persistence.leader_crashed > 0 && persistence.restart_lost_unsynced_writes > 0);
    let re_election = situations("re-election");
    assert!(re_election.old_leader_stepped_down > 0 && re_election.retry_answered_from_cache > 0);
    let expiry = situations("session-expiry");
    assert!(expiry.session_expired > 0);
    let calm = situations("initial-election");
    assert_eq!(
        calm.election_repeated + calm.old_leader_stepped_down + calm.leader_crashed,
        0
    );
}

/// Every file in `scenarios/regressions/` (findings of fuzzing and sweeps, each made a
/// scenario) passes with its own seed and seeds 1..=20.
#[test]
fn regression_scenarios_pass() {
    let dir = scenarios_dir().join("regressions");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no regression scenarios in {}",
        dir.display()
    );
    for path in &paths {
        let scenario = sim::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        passes_unmutated(path, &scenario, 20);
    }
}

/// `scenario` (from `path`) passes without a mutation with its own seed and seeds 1..=`seeds`.
fn passes_unmutated(path: &std::path::Path, scenario: &sim::Scenario, seeds: u64) {
    for seed in std::iter::once(scenario.seed).chain(1..=seeds) {
        let outcome = sim::run(scenario, seed, RunOptions::default()).unwrap();
        assert!(
            outcome.violation.is_none(),
            "raftsim run {} --seed {seed}: {:?}",
            path.display(),
            outcome.violation
        );
    }
}

/// `scenarios/regressions/mutations/NAME.toml` is the shrunk reproducer of mutation NAME's
/// hunt finding (`raftsim bugs --shrink`). Every built-in mutation has one; each breaks the
/// invariant its header names with its mutation on, and passes with it off (and with seeds
/// 1..=5: a correct Raft passes the file whatever the seed).
#[test]
fn every_mutation_has_a_shrunk_reproducer_that_fails_only_with_it() {
    let dir = scenarios_dir().join("regressions").join("mutations");
    for mutation in raft::Mutation::ALL {
        let name = mutation.name();
        let path = dir.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}: every mutation needs one", path.display()));
        let invariant = text
            .lines()
            .find_map(|l| l.strip_prefix("# Invariant: "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}: no `# Invariant:` line", path.display()));
        let scenario = sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let with = RunOptions {
            keep_trace: false,
            mutation: Some(name.to_string()),
            events_max: None,
        };
        let outcome = sim::run(&scenario, scenario.seed, with).unwrap();
        assert_eq!(
            outcome.violation.as_ref().map(|v| v.invariant.name()),
            Some(invariant),
            "raftsim run {} --mutation {name}",
            path.display()
        );
        passes_unmutated(&path, &scenario, 5);
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        files,
        raft::Mutation::ALL.len(),
        "one file per mutation in {}",
        dir.display()
    );
}
