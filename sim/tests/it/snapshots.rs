//! Snapshots and log compaction (Raft section 7) in whole runs: a lagging follower repaired by
//! InstallSnapshot under loss, a full-cluster crash after compaction, and logs that stay
//! bounded over ten minutes of load.

use crate::{scenario, scenarios_dir};
use sim::RunOptions;

const SEEDS: u64 = 30;

/// Node 3 is down while the others commit and compact well past it: every seed repairs it
/// with a snapshot, over a network that loses and duplicates chunks, and some seeds crash it
/// half-way through a transfer, which then starts over.
#[test]
fn a_lagging_follower_is_repaired_by_a_snapshot_under_loss() {
    let s = scenario("snapshot-repair");
    let (mut restarted, mut resent) = (0, 0);
    for seed in 1..=SEEDS {
        let outcome = sim::run(&s, seed, RunOptions::default()).unwrap();
        assert!(
            outcome.violation.is_none(),
            "seed {seed}: {:?}",
            outcome.violation
        );
        let situations = outcome.situations;
        assert!(
            situations.snapshot_installed >= 1,
            "seed {seed}: node 3 was never sent a snapshot"
        );
        restarted += situations.snapshot_transfer_restarted;
        resent += situations.snapshot_chunk_resent;
    }
    assert!(restarted > 0, "no transfer was cut by a crash half-way");
    assert!(resent > 0, "no chunk was lost or sent again");
}

/// Every node holds a snapshot when all three crash at once (with torn writes): each restarts
/// from it, and acknowledged writes survive (the runs check linearizability and exactly-once).
#[test]
fn a_full_cluster_crash_after_compaction_restarts_from_snapshots() {
    let s = scenario("snapshot-full-crash");
    for seed in 1..=SEEDS {
        let outcome = sim::run(&s, seed, RunOptions::default()).unwrap();
        assert!(
            outcome.violation.is_none(),
            "seed {seed}: {:?}",
            outcome.violation
        );
        assert_eq!(
            outcome.situations.restart_from_snapshot, 3,
            "seed {seed}: every node restarts from a snapshot"
        );
    }
}

/// Ten simulated minutes of constant client load: with compaction every 200 entries, no
/// node's log on disk ever holds more than the threshold plus one AppendEntries' worth of
/// entries (64) arriving between two compactions; without it, the log holds every entry.
#[test]
fn logs_stay_bounded_over_ten_minutes_with_compaction() {
    let path = scenarios_dir().join("long/compaction-10min.toml");
    let compacting = sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let threshold = compacting.raft.snapshot_entries;
    assert_eq!(threshold, 200);
    let outcome = sim::run(&compacting, 1, RunOptions::default()).unwrap();
    assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
    assert!(
        outcome.entries_committed > 100_000,
        "constant load for ten minutes"
    );
    let log_max = outcome.stats.disk_log_entries_max;
    assert!(
        log_max <= threshold + 64,
        "a log held {log_max} entries with compaction every {threshold}"
    );
    assert!(outcome.situations.restart_from_snapshot > 0);

    let mut keeping = compacting.clone();
    keeping.raft.snapshot_entries = 0;
    let outcome = sim::run(&keeping, 1, RunOptions::default()).unwrap();
    assert!(
        outcome.stats.disk_log_entries_max > 100_000,
        "without compaction the log holds every entry"
    );
}

/// A checkpoint (`checkpoint_entries`) is section 7's snapshot of the state machine without
/// the compaction: it spares a restart the replay of the log before it and changes nothing
/// else. A correct Raft's runs are the same with a checkpoint every 16 entries and with none
/// (the leaders, the entries committed, the clients' history; only a crash's count of lost
/// writes may differ, by the checkpoints among them); with them, restarts start from a
/// checkpoint, and the exactly-once check (which keeps what a checkpoint reflects across the
/// restart) finds nothing.
#[test]
fn checkpoints_spare_the_replay_and_change_no_run() {
    let mut with = scenario("churn");
    with.raft.checkpoint_entries = 16;
    let mut without = with.clone();
    without.raft.checkpoint_entries = 0;
    let mut from_checkpoint = 0;
    for seed in 1..=10 {
        let a = sim::run(&with, seed, RunOptions::default()).unwrap();
        let b = sim::run(&without, seed, RunOptions::default()).unwrap();
        assert!(a.violation.is_none(), "seed {seed}: {:?}", a.violation);
        assert_eq!(a.leaders, b.leaders, "seed {seed}");
        assert_eq!(a.entries_committed, b.entries_committed, "seed {seed}");
        assert_eq!(a.history, b.history, "seed {seed}");
        assert_eq!(a.stats.messages_sent, b.stats.messages_sent, "seed {seed}");
        assert_eq!(b.situations.restart_from_checkpoint, 0, "seed {seed}");
        from_checkpoint += a.situations.restart_from_checkpoint;
    }
    assert!(from_checkpoint > 0, "no restart started from a checkpoint");
}
