//! `raftsim shrink`: a run made explicit replays it, and shrinking keeps the invariant.

use crate::scenarios_dir;
use sim::RunOptions;

fn options(mutation: Option<&str>) -> RunOptions {
    RunOptions {
        keep_trace: false,
        mutation: mutation.map(str::to_string),
        events_max: None,
    }
}

/// The explicit form of a run (its drawn faults as a schedule, its workload as lists) is a
/// scenario file that replays that run event for event: every library scenario, 3 seeds.
#[test]
fn a_run_made_explicit_replays_it_event_for_event() {
    let mut inexact = Vec::new();
    let mut runs = 0;
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let scenario = sim::scenario::load(&path).unwrap();
        for seed in 1..=3 {
            let outcome = sim::run(&scenario, seed, options(None)).unwrap();
            let mut drawn = match scenario.swarm.enabled {
                true => sim::swarm::draw(&scenario, seed).0,
                false => scenario.clone(),
            };
            drawn.swarm.enabled = false;
            let explicit = sim::shrink::make_explicit(&drawn, outcome.explicit.as_ref().unwrap());
            let text = explicit.to_toml();
            let back = sim::scenario::parse("explicit", &text).unwrap();
            let again = sim::run(&back, seed, options(None)).unwrap();
            let name = format!("{} seed {seed}", scenario.name);
            runs += 1;
            if again.trace.hash() != outcome.trace.hash() {
                inexact.push((name, outcome.trace.len(), again.trace.len()));
            }
        }
    }
    assert!(runs >= 90, "the library has {runs} runs");
    assert!(
        inexact.is_empty(),
        "(run, events, explicit events): {inexact:?}"
    );
}

fn raftsim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shrink");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A failing run of a library scenario under a mutation, shrunk: the result breaks the same
/// invariant, is smaller in every measure, and is the same file whatever the threads.
#[test]
fn a_shrunk_run_fails_the_same_way_and_is_the_same_whatever_the_jobs() {
    let scenario = crate::scenario("figure8-unreliable");
    let mutation = "vote-twice-per-term";
    let original = sim::run(&scenario, 1, options(Some(mutation))).unwrap();
    let invariant = original
        .violation
        .as_ref()
        .expect("the mutation is caught")
        .invariant;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let texts: Vec<String> = [1, 2]
        .into_iter()
        .map(|jobs| {
            let request = sim::shrink::Request {
                scenario: scenario.clone(),
                seed: 1,
                mutation: Some(mutation.into()),
                jobs,
                explicit_only: false,
                seeds: sim::shrink::SEEDS_DEFAULT,
            };
            let shrunk = sim::shrink::shrink(&request, &stop).unwrap();
            assert!(shrunk.complete && shrunk.explicit && shrunk.explicit_exact);
            assert_eq!(shrunk.invariant, invariant);
            assert!(shrunk.after.events <= shrunk.before.events);
            assert!(shrunk.after.duration_ns < shrunk.before.duration_ns);
            assert!(
                shrunk.after.actions_and_operations() < 5,
                "{:?}",
                shrunk.after
            );
            assert_eq!(shrunk.after.random_fault_kinds, 0);
            sim::shrink::file_text(&shrunk, "raftsim run x.toml --seed 1", Some(mutation))
        })
        .collect();
    assert_eq!(texts[0], texts[1]);
    let back = sim::scenario::parse("shrunk.toml", &texts[0]).unwrap();
    let again = sim::run(&back, back.seed, options(Some(mutation))).unwrap();
    assert_eq!(again.violation.map(|v| v.invariant), Some(invariant));
    let clean = sim::run(&back, back.seed, options(None)).unwrap();
    assert!(clean.violation.is_none(), "{:?}", clean.violation);
    assert!(texts[0].starts_with("# Shrunk by `raftsim shrink` from: raftsim run x.toml"));
}

/// The command line: a file written with its header, and every bad input refused with
/// exit 2 before any work.
#[test]
fn the_command_writes_the_file_and_refuses_bad_input() {
    let scenario = crate::scenarios_dir().join("figure8-unreliable.toml");
    let scenario = scenario.to_str().unwrap();
    let out = tmp("figure8.toml");
    let args = [
        "shrink",
        scenario,
        "--seed",
        "1",
        "--mutation",
        "vote-twice-per-term",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ];
    let done = raftsim(&args);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["invariant"], "election-safety");
    assert!(report["after"]["events"].as_u64() <= report["before"]["events"].as_u64());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("# Invariant: election-safety"), "{text}");
    let run = raftsim(&[
        "run",
        out.to_str().unwrap(),
        "--mutation",
        "vote-twice-per-term",
    ]);
    assert_eq!(run.status.code(), Some(1));

    let cases: [(&[&str], &str); 4] = [
        (&["shrink", scenario, "--seed", "1"], "the run passes"),
        (
            &["shrink", scenario, "--mutation", "no-such-rule"],
            "unknown mutation",
        ),
        (
            &["shrink", scenario, "-o", "/nonexistent-dir/x.toml"],
            "does not exist",
        ),
        (&["shrink", "/nonexistent.toml"], "nonexistent.toml"),
    ];
    for (args, message) in cases {
        let out = raftsim(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// An expectation failure shrinks to a run that misses the same condition of the same
/// `[[expect]]`: raft-rs losing its leader after a removal (`shrink` seed 2, whose expect also
/// asks for 50 commits) must not become a cluster that merely commits too little.
#[test]
fn a_shrunk_expectation_failure_misses_the_same_condition() {
    let mut scenario = crate::scenario("shrink");
    scenario.implementation = sim::implementation::Implementation::from_name("raft-rs").unwrap();
    let original = sim::run(&scenario, 2, options(None)).unwrap();
    let clause = original.violation.as_ref().and_then(|v| v.clause.clone());
    assert_eq!(clause.as_deref(), Some("expect[0]:leader"));
    let request = sim::shrink::Request {
        scenario,
        seed: 2,
        mutation: None,
        jobs: 2,
        explicit_only: false,
        seeds: sim::shrink::SEEDS_DEFAULT,
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let shrunk = sim::shrink::shrink(&request, &stop).unwrap();
    let text = sim::shrink::file_text(&shrunk, "raftsim run x.toml --seed 2", None);
    let back = sim::scenario::parse("shrunk.toml", &text).unwrap();
    let again = sim::run(&back, back.seed, options(None)).unwrap();
    assert_eq!(again.violation.and_then(|v| v.clause), clause);
    assert!(shrunk.after.events < shrunk.before.events);
}
