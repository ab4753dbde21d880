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

/// `scenario(name)` with raft-rs's `check_quorum` on: what an application that removes
/// servers must set (see `scenarios/regressions/raft-rs/`).
fn with_check_quorum(name: &str) -> Scenario {
    let mut s = scenario(name);
    s.implementation_options
        .insert("check_quorum".to_string(), "true".to_string());
    s
}

#[test]
fn raft_rs_changes_membership_through_conf_change_v2() {
    // Section 6 as raft-rs does it: one ConfChangeV2 per request (a joint configuration for
    // more than one change), in effect once applied. Servers join and leave, a leader asked
    // to remove itself hands over first, and every checker holds, the quorum of each commit
    // counted with the configuration the leader had applied.
    for (name, s) in [
        ("grow", scenario("grow")),
        ("replace-leader", with_check_quorum("replace-leader")),
        ("change-while-down", scenario("change-while-down")),
        ("shrink", with_check_quorum("shrink")),
        ("membership-churn", with_check_quorum("membership-churn")),
    ] {
        for seed in 1..=3 {
            let outcome = run(&s, seed);
            assert_safe(name, seed, &outcome);
            let m = outcome.membership;
            assert!(m.requested > 0, "{name} seed {seed}");
            assert!(m.completed > 0, "{name} seed {seed}: {m:?}");
        }
    }
}

#[test]
fn raft_rs_snapshots_compact_install_and_restart() {
    // Section 7 as raft-rs does it: a node compacts its log into a snapshot of the state
    // machine once enough entries were applied, a leader sends its snapshot to a follower
    // whose entries it compacted away, and a node restarts from its snapshot; every checker
    // holds throughout, and clients' histories stay linearizable.
    let mut installed = 0;
    let mut restarted = 0;
    for name in ["snapshot-repair", "snapshot-full-crash", "protocol-crashes"] {
        let s = scenario(name);
        for seed in 1..=3 {
            let outcome = run(&s, seed);
            assert_safe(name, seed, &outcome);
            assert!(
                outcome.stats.disk_snapshot_bytes_max > 0,
                "{name} seed {seed}: no snapshot"
            );
            installed += outcome.situations.snapshot_installed;
            restarted += outcome.situations.restart_from_snapshot;
        }
    }
    assert!(
        installed > 0 && restarted > 0,
        "{installed} installed, {restarted} restarts"
    );
}

/// Every file in `scenarios/regressions/raft-rs/` says how raft-rs fares on it (`# Outcome:`,
/// `pass` or the invariant it breaks at its own seed) and, for a failure, what raft-rs's
/// contract asks of the application to avoid it (`# Passes with: OPTION = "VALUE"`): with that,
/// it passes at its own seed and seeds 1 to 5.
#[test]
fn raft_rs_regressions_fail_or_pass_as_their_headers_say() {
    let dir = crate::scenarios_dir().join("regressions").join("raft-rs");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::trim)
        };
        let outcome =
            header("# Outcome:").unwrap_or_else(|| panic!("{}: no `# Outcome:`", path.display()));
        let mut s = sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.implementation.name(), "raft-rs", "{}", path.display());
        let got = run(&s, s.seed);
        let invariant = got.violation.as_ref().map(|v| v.invariant.name());
        assert_eq!(invariant.unwrap_or("pass"), outcome, "{}", path.display());
        if let Some(option) = header("# Passes with:") {
            let (key, value) = option.split_once(" = ").expect("OPTION = \"VALUE\"");
            s.implementation_options
                .insert(key.to_string(), value.trim_matches('"').to_string());
        }
        for seed in std::iter::once(s.seed).chain(1..=5) {
            let got = run(&s, seed);
            assert_safe(&path.display().to_string(), seed, &got);
        }
        files += 1;
    }
    assert!(files >= 2, "{files} files in {}", dir.display());
}

/// The whole library against raft-rs, by the implementation's name as a user gives it
/// (`implementation = "raft-rs"`, what `--impl raft-rs` sets): every scenario, seeds 1 to 3,
/// breaks no invariant. The exceptions are `shrink`, `replace-leader` and `membership-churn`, whose removed
/// servers may disrupt a raft-rs cluster without `check_quorum` (see
/// `scenarios/regressions/raft-rs/`): they may miss an expectation or a liveness bound, and
/// nothing else.
#[test]
fn the_library_runs_against_raft_rs_by_name() {
    let mut runs = 0;
    for entry in std::fs::read_dir(crate::scenarios_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let mut s = sim::scenario::load(&path).unwrap();
        s.implementation = sim::implementation::Implementation::from_name("raft-rs").unwrap();
        for seed in 1..=3 {
            let outcome = sim::run(&s, seed, RunOptions::default()).unwrap();
            assert_eq!(outcome.implementation, s.implementation);
            runs += 1;
            let invariant = outcome.violation.as_ref().map(|v| v.invariant.name());
            match s.name.as_str() {
                "shrink" | "membership-churn" | "replace-leader" => assert!(
                    matches!(invariant, None | Some("expectation" | "liveness")),
                    "{} seed {seed}: {:?}",
                    s.name,
                    outcome.violation
                ),
                name => assert_safe(name, seed, &outcome),
            }
        }
    }
    assert!(runs >= 90, "{runs} runs");
}
