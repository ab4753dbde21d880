//! tikv/raft-rs (crates.io `raft` 0.7) run inside the simulator through `sim::RaftRsNode`:
//! the same scenarios and checkers as raftsim's own Raft.

use crate::scenario;
use sim::history::linearizability::Verdict;
use sim::{Outcome, RaftRsNode, RunOptions, Scenario, Simulator};

fn run(s: &Scenario, seed: u64) -> Outcome {
    Simulator::<RaftRsNode>::new(s.clone(), seed, RunOptions::default())
        .run()
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

fn assert_safe(name: &str, seed: u64, outcome: &Outcome) {
    assert!(
        outcome.violation.is_none(),
        "{name} seed {seed}: {:?}",
        outcome.violation
    );
    assert!(
        !outcome.budget_exhausted,
        "{name} seed {seed}: event budget exhausted"
    );
}

#[test]
fn raft_rs_agrees_without_faults() {
    // Sections 5.2 and 5.3: a leader is elected and replicates clients' commands; every
    // checker (election safety, log matching, leader completeness, state machine safety)
    // holds after every event.
    for name in ["basic-agreement", "basic-election"] {
        let s = scenario(name);
        for seed in 1..=5 {
            let outcome = run(&s, seed);
            assert_safe(name, seed, &outcome);
            assert!(!outcome.leaders.is_empty(), "{name} seed {seed}: no leader");
            if name == "basic-agreement" {
                assert!(
                    outcome.entries_committed >= 200,
                    "{name} seed {seed}: {} entries committed",
                    outcome.entries_committed
                );
            }
        }
    }
}

#[test]
fn raft_rs_runs_are_deterministic() {
    // The adapter overrides raft-rs's thread_rng election timeouts with its own seeded draws:
    // one scenario and seed give one trace.
    let s = scenario("churn");
    for seed in [1, 7] {
        let a = run(&s, seed);
        let b = run(&s, seed);
        assert_eq!(a.trace.hash(), b.trace.hash(), "seed {seed}");
        assert_eq!(a.entries_committed, b.entries_committed, "seed {seed}");
    }
}

#[test]
fn raft_rs_client_histories_are_linearizable() {
    // Dissertation chapter 6: clients' histories are linearizable and each command executes
    // once, through crashes (exactly-once) and leader changes (churn).
    for name in ["churn", "exactly-once"] {
        let s = scenario(name);
        assert!(s.clients.count > 0, "{name} has clients");
        for seed in 1..=3 {
            let outcome = run(&s, seed);
            assert_safe(name, seed, &outcome);
            let report = outcome.linearizability.expect("a history was checked");
            assert_eq!(report.verdict, Verdict::Linearizable, "{name} seed {seed}");
            assert!(outcome.client_operations > 0, "{name} seed {seed}");
        }
    }
}

#[test]
fn raft_rs_survives_crashes_that_lose_unsynced_writes() {
    // Section 5.1 / Figure 2's persistent state: crashes lose unsynced writes; nothing a
    // leader counted toward a commit may be lost.
    for name in ["persistence", "leader-crash"] {
        let s = scenario(name);
        for seed in 1..=3 {
            let outcome = run(&s, seed);
            assert_safe(name, seed, &outcome);
            assert!(outcome.stats.crashes > 0, "{name} seed {seed}: no crash");
        }
    }
}

#[test]
fn raft_rs_refuses_membership_changes_for_now() {
    // Section 6 is not adapted yet: every request is refused as invalid and abandoned, and the
    // run stays safe with the first configuration.
    for name in ["shrink", "membership-churn"] {
        let s = scenario(name);
        let outcome = run(&s, 1);
        assert_safe(name, 1, &outcome);
        assert!(outcome.membership.requested > 0, "{name}");
        assert_eq!(outcome.membership.completed, 0, "{name}");
        assert_eq!(
            outcome.membership.abandoned, outcome.membership.requested,
            "{name}"
        );
    }
}
