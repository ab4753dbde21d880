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
