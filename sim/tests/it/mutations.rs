//! The checkers have teeth: with a protocol rule broken on purpose, some seed of the right
//! scenario reports a violation, and that seed reproduces it exactly.

use crate::scenario;
use sim::{Invariant, RunOptions};

fn first_failing_seed(
    name: &str,
    mutation: &str,
    seeds: u64,
) -> Option<(u64, sim::Violation, u64)> {
    let scenario = scenario(name);
    (1..=seeds).find_map(|seed| {
        let options = RunOptions {
            mutation: Some(mutation.to_string()),
            ..RunOptions::default()
        };
        let outcome = sim::run(&scenario, seed, options).unwrap();
        outcome.violation.map(|v| (seed, v, outcome.trace.hash()))
    })
}

#[test]
fn figure8_catches_commit_of_prior_term_entry_by_counting() {
    // Section 5.4.2: counting replicas of an old-term entry lets a later leader overwrite it.
    let (seed, violation, hash) =
        first_failing_seed("figure8", "commit-prior-term-by-counting", 200)
            .expect("no seed of figure8 in 1..=200 caught the broken commit rule");
    assert!(
        matches!(
            violation.invariant,
            Invariant::StateMachineSafety | Invariant::LeaderCompleteness
        ),
        "{violation:?}"
    );
    let options = RunOptions {
        mutation: Some("commit-prior-term-by-counting".into()),
        ..RunOptions::default()
    };
    let again = sim::run(&scenario("figure8"), seed, options).unwrap();
    assert_eq!(
        again.violation.as_ref(),
        Some(&violation),
        "the failing seed reproduces"
    );
    assert_eq!(again.trace.hash(), hash);
    // And the unbroken rule passes that same seed.
    assert!(sim::run(&scenario("figure8"), seed, RunOptions::default())
        .unwrap()
        .violation
        .is_none());
}

#[test]
fn churn_catches_votes_without_the_log_check() {
    // Section 5.4.1: a voter that ignores the up-to-date check elects leaders that lack
    // committed entries.
    let (_, violation, _) = first_failing_seed("churn", "vote-without-log-check", 50)
        .expect("no seed of churn in 1..=50 caught the broken vote rule");
    assert!(
        matches!(
            violation.invariant,
            Invariant::LeaderCompleteness | Invariant::StateMachineSafety | Invariant::LogMatching
        ),
        "{violation:?}"
    );
}

#[test]
fn unknown_mutation_is_an_error() {
    let options = RunOptions {
        mutation: Some("no-such-rule".into()),
        ..RunOptions::default()
    };
    let err = sim::run(&scenario("basic-election"), 1, options).unwrap_err();
    assert!(err.contains("no-such-rule"), "{err}");
}

/// The first seed of `name` in 1..=`seeds` where `mutation` breaks linearizability, checked to
/// pass with the real rule: the host-level read and session mutations show in clients'
/// histories, not in the logs.
fn assert_breaks_linearizability(name: &str, mutation: &str, seeds: u64) {
    let (seed, violation, _) = first_failing_seed(name, mutation, seeds)
        .unwrap_or_else(|| panic!("no seed of {name} in 1..={seeds} caught {mutation}"));
    assert_eq!(
        violation.invariant,
        Invariant::Linearizability,
        "{violation:?}"
    );
    assert!(sim::run(&scenario(name), seed, RunOptions::default())
        .unwrap()
        .violation
        .is_none());
}

#[test]
fn basic_agreement_catches_reads_served_by_followers() {
    // Dissertation section 6.4: a follower's state machine may lag the leader's.
    assert_breaks_linearizability("basic-agreement", "follower-local-read", 10);
}

#[test]
fn churn_reliable_catches_reads_of_uncommitted_entries() {
    // Dissertation section 6.4: a read may only reflect committed entries; a deposed leader's
    // uncommitted writes are overwritten by its successor.
    assert_breaks_linearizability("churn-reliable", "dirty-read-before-commit", 10);
}

#[test]
fn membership_churn_catches_snapshots_without_the_session_table() {
    // Dissertation sections 6.3 and 7: a server restored from a snapshot must know every
    // session and cached reply the log built, or it diverges from the others.
    assert_breaks_linearizability("membership-churn", "snapshot-without-sessions", 5);
}
