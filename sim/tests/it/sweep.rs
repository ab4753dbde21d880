//! `raftsim sweep` and the situations it counts: results that do not depend on the number of
//! jobs, shards that cover a range once, `--fail-fast` stopping at the first failure in seed
//! order, an interrupted sweep, and the command line's errors and exit statuses.

use crate::{scenario, scenarios_dir};
use sim::sweep::{self, Plan, SeedRange, Shard, Sweep, SweepScenario};
use std::process::Command;
use std::sync::atomic::AtomicBool;

fn plan(name: &str, seeds: &str, jobs: usize, mutation: Option<&str>) -> Plan {
    Plan {
        scenarios: vec![SweepScenario {
            path: format!("scenarios/{name}.toml"),
            scenario: scenario(name),
        }],
        seeds: SeedRange::parse(seeds).unwrap(),
        shard: Shard::ALL,
        mutation: mutation.map(str::to_string),
        jobs,
        fail_fast: false,
    }
}

fn run(plan: &Plan) -> Sweep {
    sweep::run(plan, &AtomicBool::new(false), |_, _| {})
}

fn failing_seeds(sweep: &Sweep) -> Vec<u64> {
    sweep.failures().map(|r| r.seed).collect()
}

#[test]
fn results_do_not_depend_on_jobs() {
    // read-without-quorum fails on some churn seeds and passes on others: a mix to compare.
    let one = run(&plan("churn", "1..24", 1, Some("read-without-quorum")));
    let two = run(&plan("churn", "1..24", 2, Some("read-without-quorum")));
    assert_eq!(one.runs.len(), 24);
    assert_eq!(two.runs.len(), 24);
    assert_eq!(failing_seeds(&one), failing_seeds(&two));
    assert_eq!(one.situations(), two.situations());
    assert_eq!(one.events(), two.events());
    let seeds: Vec<u64> = two.runs.iter().map(|r| r.seed).collect();
    assert_eq!(
        seeds,
        (1..=24).collect::<Vec<u64>>(),
        "runs come back in seed order"
    );
}

#[test]
fn shards_cover_the_range_once() {
    let mut all = Vec::new();
    for k in 1..=3 {
        let mut p = plan("basic-election", "5..=14", 2, None);
        p.shard = Shard { index: k, count: 3 };
        let s = run(&p);
        assert!(!s.runs.is_empty());
        all.extend(s.runs.iter().map(|r| r.seed));
    }
    all.sort_unstable();
    assert_eq!(all, (5..=14).collect::<Vec<u64>>());
}

#[test]
fn fail_fast_stops_at_the_first_failing_seed_whatever_the_jobs() {
    let full = run(&plan("churn", "1..30", 2, Some("read-without-quorum")));
    let first = failing_seeds(&full)
        .first()
        .copied()
        .expect("the mutation is caught in 30 seeds");
    for jobs in [1, 2] {
        let mut p = plan("churn", "1..30", jobs, Some("read-without-quorum"));
        p.fail_fast = true;
        let s = run(&p);
        assert!(s.stopped_at_failure);
        assert!(!s.interrupted);
        assert_eq!(failing_seeds(&s), vec![first], "jobs {jobs}");
        assert_eq!(
            s.runs.last().unwrap().seed,
            first,
            "nothing after the failure is kept"
        );
    }
}

#[test]
fn a_stopped_sweep_is_interrupted_and_reports_what_ran() {
    let p = plan("basic-election", "1..50", 2, None);
    let stop = AtomicBool::new(true);
    let s = sweep::run(&p, &stop, |_, _| {});
    assert!(s.interrupted);
    assert!(s.runs.is_empty());
    assert_eq!(s.planned, 50);
}

#[test]
fn seed_ranges_and_shards_parse_or_say_why_not() {
    assert_eq!(
        SeedRange::parse("3..7").unwrap(),
        SeedRange { first: 3, last: 7 }
    );
    assert_eq!(
        SeedRange::parse("3..=7").unwrap(),
        SeedRange { first: 3, last: 7 }
    );
    assert_eq!(
        SeedRange::parse("20").unwrap(),
        SeedRange { first: 1, last: 20 }
    );
    assert!(SeedRange::parse("7..3").unwrap_err().contains("greater"));
    assert!(SeedRange::parse("x..3").unwrap_err().contains("not a seed"));
    assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
    assert!(Shard::parse("0/4").is_err());
    assert!(Shard::parse("5/4").is_err());
    assert!(Shard::parse("2").unwrap_err().contains("K/N"));
}

#[test]
fn a_shard_counts_the_seeds_it_owns_and_an_empty_shard_is_refused() {
    for (first, last) in [(1, 1), (1, 2), (3, 9), (5, 104)] {
        let range = SeedRange { first, last };
        for count in 1..=12 {
            for index in 1..=count {
                let shard = Shard { index, count };
                let owned = (first..=last).filter(|&s| shard.owns(range, s)).count() as u64;
                assert_eq!(shard.seeds_in(range), owned, "{range:?} {shard:?}");
            }
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args([
            "sweep",
            scenarios_dir()
                .join("basic-election.toml")
                .to_str()
                .unwrap(),
        ])
        .args(["--seeds", "2", "--shard", "3/4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an empty shard is no PASS");
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --shard 3/4: this shard holds no seed of 1..=2 (2 seeds dealt to 4 shards); \
         use at most 2 shards\n"
    );
}

#[test]
fn situations_follow_the_faults() {
    // basic-election has no faults: no crash of a leader, no partition, nothing lost.
    let calm = run(&plan("basic-election", "1..10", 2, None)).situations();
    assert_eq!(calm.leader_crashed, 0);
    assert_eq!(calm.leader_isolated, 0);
    assert_eq!(calm.restart_lost_unsynced_writes, 0);
    assert_eq!(calm.retry_answered_from_cache, 0, "no clients");
    // churn crashes and partitions, with clients that retry.
    let churn = run(&plan("churn", "1..10", 2, None)).situations();
    assert!(churn.leader_crashed > 0);
    assert!(churn.leader_isolated > 0);
    assert!(churn.vote_refused_log_behind > 0);
    assert!(churn.old_leader_stepped_down > 0);
    assert!(churn.retry_answered_from_cache > 0);
    assert!(churn.client_retried > 0);
    // figure8 sends one entry per message among crashes: the Figure 8 wait happens.
    let figure8 = run(&plan("figure8", "1..40", 2, None)).situations();
    assert!(figure8.commit_waited_for_current_term > 0);
    assert!(figure8.uncommitted_entry_overwritten > 0);
}

fn raftsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

#[test]
fn cli_sweep_reports_failures_with_a_reproduce_command_and_exit_1() {
    let churn = scenarios_dir().join("churn.toml").display().to_string();
    let out = raftsim(&[
        "sweep",
        &churn,
        "--seeds",
        "1..20",
        "--jobs",
        "2",
        "--json",
        "--mutation",
        "read-without-quorum",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["runs"], 20);
    let failures = report["failures"].as_array().unwrap();
    assert!(!failures.is_empty());
    let reproduce = failures[0]["reproduce"].as_str().unwrap();
    assert!(
        reproduce.starts_with(&format!("raftsim run {churn} --seed ")),
        "{reproduce}"
    );
    assert!(reproduce.ends_with("--mutation read-without-quorum"));
    let situations = report["situations"].as_array().unwrap();
    assert!(situations
        .iter()
        .any(|s| s["name"] == "leader-crashed" && s["count"].as_u64() > Some(0)));

    let text = raftsim(&["sweep", &churn, "--seeds", "1..3"]);
    assert_eq!(text.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.starts_with("PASS"), "{stdout}");
    assert!(stdout.contains("situations reached"));
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(
        stderr.contains("progress 3/3 seeds"),
        "plain progress lines off a terminal: {stderr}"
    );
}

#[test]
fn cli_sweep_bad_flags_exit_2() {
    let churn = scenarios_dir().join("churn.toml").display().to_string();
    for (args, phrase) in [
        (vec!["--seeds", "9..2"], "greater"),
        (vec!["--seeds", "1..5", "--shard", "3/2"], "K must be"),
        (vec!["--seeds", "1..5", "--jobs", "0"], "--jobs"),
        (
            vec!["--seeds", "1..5", "--mutation", "nope"],
            "unknown mutation",
        ),
    ] {
        let mut all = vec!["sweep", churn.as_str()];
        all.extend(args.iter().copied());
        let out = raftsim(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(phrase), "{args:?}: {err}");
    }
    let out = raftsim(&["sweep", "no/such.toml", "--seeds", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such.toml"));
}
