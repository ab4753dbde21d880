//! Membership changes in whole runs (section 6): scenario verbs and random churn with servers
//! that join empty, joint consensus under crashes and partitions, the quorum-commit check that
//! catches a joint configuration decided by one majority, and the scenario errors.

use crate::scenario;
use sim::trace::Event;
use sim::{Invariant, RunOptions};

fn run_traced(name: &str, seed: u64) -> sim::Outcome {
    let options = RunOptions {
        keep_trace: true,
        mutation: None,
        events_max: None,
    };
    let o = sim::run(&scenario(name), seed, options).unwrap();
    if let Some(v) = &o.violation {
        panic!("{name} seed {seed}: {}: {}", v.invariant.name(), v.detail);
    }
    o
}

fn membership_events(o: &sim::Outcome) -> Vec<String> {
    o.trace
        .all()
        .unwrap()
        .iter()
        .filter_map(|r| match &r.event {
            Event::Membership { what } => Some(what.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn grow_adds_two_empty_servers_one_change_at_a_time() {
    for seed in 1..=5 {
        let o = run_traced("grow", seed);
        assert_eq!(
            (o.membership.requested, o.membership.completed),
            (2, 2),
            "seed {seed}"
        );
        let events = membership_events(&o);
        assert!(
            events.iter().any(|e| e == "node 4 starts empty to join"),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| e == "configuration [1, 2, 3, 4, 5] committed"),
            "{events:?}"
        );
    }
}

#[test]
fn shrink_and_replace_leader_complete_and_leaders_step_down() {
    for seed in 1..=5 {
        let o = run_traced("shrink", seed);
        assert_eq!(o.membership.completed, 2, "seed {seed}");
        assert!(membership_events(&o)
            .iter()
            .any(|e| e == "configuration [1, 2, 3] committed"));
        let o = run_traced("replace-leader", seed);
        assert_eq!(o.membership.completed, 2, "seed {seed}");
        assert_eq!(
            o.situations.leader_removed, 2,
            "seed {seed}: each replaced leader steps down"
        );
    }
}

#[test]
fn churn_under_faults_keeps_every_invariant() {
    let mut completed = 0;
    let mut situations = sim::Situations::default();
    for seed in 1..=20 {
        let o = run_traced("membership-churn", seed);
        completed += o.membership.completed;
        situations.add(&o.situations);
    }
    assert!(
        completed >= 100,
        "random churn commits many changes: {completed}"
    );
    assert!(situations.leader_removed > 0);
    assert!(
        situations.vote_ignored_non_member > 0,
        "removed servers tried to disrupt"
    );
}

#[test]
fn joint_consensus_decided_by_one_majority_is_caught() {
    let s = scenario("membership-churn");
    let options = || RunOptions {
        keep_trace: false,
        mutation: Some("joint-one-majority".into()),
        events_max: None,
    };
    let caught = (1..=20)
        .filter_map(|seed| sim::run(&s, seed, options()).unwrap().violation)
        .filter(|v| v.invariant == Invariant::QuorumCommit)
        .count();
    assert!(
        caught >= 3,
        "quorum-commit catches the mutation: {caught} of 20"
    );
    // Without the mutation the same seeds pass (churn_under_faults_keeps_every_invariant).
}

#[test]
fn membership_mistakes_in_scenario_files_name_the_field() {
    let bad = |text: &str| sim::scenario::parse("m.toml", text).unwrap_err();
    let head = "seed = 1\nnodes = 5\nduration = \"5s\"\n";
    let e = bad(&format!("{head}[membership]\ninitial = 6\n"));
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(5), Some("membership.initial")),
        "{e}"
    );
    let e = bad(&format!(
        "{head}[membership]\ninitial = 3\nvoters_min = 4\n"
    ));
    assert!(e.to_string().contains("between 1 and 3"), "{e}");
    let e = bad(&format!(
        "{head}[[schedule]]\nat = \"1s\"\naction = \"add-server\"\n"
    ));
    assert!(
        e.to_string().contains("missing required field `node`"),
        "{e}"
    );
    let e = bad(&format!(
        "{head}[[schedule]]\nat = \"1s\"\naction = \"replace-server\"\nfrom = [1]\nto = [1]\n"
    ));
    assert!(e.to_string().contains("in both `from` and `to`"), "{e}");
}
