//! Clients end to end: histories, their linearizability, exactly-once execution, and the
//! mutations that break them (dissertation chapter 6).

use crate::scenario;
use sim::history::linearizability::Verdict;
use sim::history::EventKind;
use sim::{Invariant, RunOptions};
use std::process::Command;

fn with_mutation(name: &str) -> RunOptions {
    RunOptions {
        mutation: Some(name.to_string()),
        ..RunOptions::default()
    }
}

#[test]
fn client_scenarios_produce_linearizable_histories() {
    for name in [
        "churn",
        "exactly-once",
        "leader-crash",
        "lossy",
        "old-leader-partitioned",
    ] {
        let s = scenario(name);
        assert!(s.clients.count > 0, "{name} has clients");
        for seed in 1..=5 {
            let outcome = sim::run(&s, seed, RunOptions::default()).unwrap();
            assert!(
                outcome.violation.is_none(),
                "{name} seed {seed}: {:?}",
                outcome.violation
            );
            let report = outcome.linearizability.expect("a history was checked");
            assert_eq!(report.verdict, Verdict::Linearizable, "{name} seed {seed}");
            let ok = outcome
                .history
                .iter()
                .filter(|e| e.kind == EventKind::Ok)
                .count() as u64;
            assert!(
                ok * 4 > s.clients.operations,
                "{name} seed {seed}: only {ok} operations completed"
            );
        }
    }
}

#[test]
fn retries_without_session_dedup_execute_twice_and_are_caught() {
    // Dissertation 6.3: without the session table's cache, a retried command runs again.
    let s = scenario("exactly-once");
    for seed in 1..=5 {
        let outcome = sim::run(&s, seed, with_mutation("no-session-dedup")).unwrap();
        let v = outcome
            .violation
            .unwrap_or_else(|| panic!("seed {seed}: duplicate execution not caught"));
        assert_eq!(v.invariant, Invariant::ExactlyOnce, "seed {seed}: {v:?}");
        assert!(v.detail.contains("a second time"), "{}", v.detail);
        // The same seed with the real rule passes.
        assert!(sim::run(&s, seed, RunOptions::default())
            .unwrap()
            .violation
            .is_none());
    }
}

#[test]
fn reads_without_quorum_are_caught_as_stale() {
    // Dissertation 6.4: a deposed leader that answers reads from its own state serves stale
    // values; only the history shows it.
    let s = scenario("churn");
    let (seed, v) = (1..=60)
        .find_map(|seed| {
            let outcome = sim::run(&s, seed, with_mutation("read-without-quorum")).unwrap();
            outcome.violation.map(|v| (seed, v))
        })
        .expect("no seed of churn in 1..=60 caught stale reads");
    assert_eq!(
        v.invariant,
        Invariant::Linearizability,
        "seed {seed}: {v:?}"
    );
    assert!(v.detail.contains("not linearizable"), "{}", v.detail);
}

/// A violation names every key that fails, each with its own minimal failing sub-history,
/// and the operations it lists are all of that key's evidence.
#[test]
fn a_linearizability_violation_names_every_failing_key_with_its_evidence() {
    let outcome = sim::run(&scenario("churn"), 12, with_mutation("read-without-quorum")).unwrap();
    let v = outcome.violation.expect("seed 12 reads stale values");
    let report = outcome.linearizability.expect("the history was checked");
    let failing: Vec<_> = (report.keys.iter())
        .filter(|k| k.verdict == sim::history::linearizability::Verdict::NotLinearizable)
        .collect();
    assert!(failing.len() >= 2, "this seed fails on several keys");
    let names: Vec<String> = failing.iter().map(|k| k.key.clone().unwrap()).collect();
    assert!(
        v.detail.starts_with(&format!(
            "{} keys are not linearizable ({}), each shown with its own evidence:\n",
            failing.len(),
            names.join(", ")
        )),
        "{}",
        v.detail
    );
    for key in &failing {
        let heading = format!(
            "key {}: {} operations are not linearizable; these {} are not",
            key.key.as_deref().unwrap(),
            key.operations,
            key.minimal.len()
        );
        assert!(v.detail.contains(&heading), "{heading} in {}", v.detail);
    }
    let listed = v
        .detail
        .lines()
        .filter(|l| l.starts_with("    client "))
        .count();
    let evidence: usize = failing.iter().map(|k| k.minimal.len().min(24)).sum();
    assert_eq!(listed, evidence, "each key's evidence, and only it");
}

#[test]
fn expired_sessions_end_in_unknown_outcomes_not_violations() {
    // Sessions that expire between a client's operations: the next command gets a clear
    // SessionExpired, the client records the outcome as unknown and registers again.
    let mut s = scenario("lossy");
    s.raft.session_timeout_ns = 30_000_000; // 30ms of log time
    s.clients.think_time_min_ns = 40_000_000;
    s.clients.think_time_max_ns = 80_000_000;
    let outcome = sim::run(&s, 1, RunOptions::default()).unwrap();
    assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
    let info = outcome
        .history
        .iter()
        .filter(|e| e.kind == EventKind::Info)
        .count();
    assert!(info > 10, "expirations leave unknown outcomes: {info}");
    assert_eq!(
        outcome.linearizability.unwrap().verdict,
        Verdict::Linearizable
    );
}

#[test]
fn an_expired_session_after_the_fault_window_is_an_answer_not_a_liveness_failure() {
    // Dissertation 6.3: a session expires by log time. A client whose session expired got an
    // answer from a working cluster; the liveness check counts only clients left without one.
    let mut s = scenario("lossy");
    s.raft.session_timeout_ns = 30_000_000;
    s.clients.think_time_min_ns = 40_000_000;
    s.clients.think_time_max_ns = 80_000_000;
    s.faults.until_ns = s.duration_ns / 4;
    s.liveness.clients_within_ns = Some(s.duration_ns / 2);
    let outcome = sim::run(&s, 1, RunOptions::default()).unwrap();
    assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
    let late_infos = outcome
        .history
        .iter()
        .filter(|e| e.kind == EventKind::Info && e.time_ns > Some(s.faults.until_ns))
        .count();
    assert!(
        late_infos > 5,
        "sessions expired after the window: {late_infos}"
    );
}

#[test]
fn a_late_answer_to_an_old_session_is_not_taken_for_the_new_one() {
    // Dissertation 6.3: a reply answers one (session, seq). A node still holding a client's
    // request from a session it has since replaced answers it late; the client, now at the
    // same seq of its new session, must not take that answer (a hunt found this: a cas
    // acknowledged with the result of another session's get, never executed).
    use sim::clients::{Action, ClientSim};
    use sim::node::{ClientReply, ClientRequest, OpResult};
    let mut settings = scenario("exactly-once").clients;
    settings.count = 1;
    let mut clients = ClientSim::new(settings, 3, 7, &[]);
    clients.start(0);
    let sent = |actions: Vec<Action>| {
        actions.into_iter().find_map(|a| match a {
            Action::Send { node, request, .. } => Some((node, request)),
            _ => None,
        })
    };
    let (node, request) = sent(clients.wake(1, 0)).expect("a registration");
    assert_eq!(request, ClientRequest::Register);
    let registered = ClientReply::Registered { session: 9 };
    let (node, request) = sent(clients.reply(1, node, registered, 1)).expect("a first op");
    let ClientRequest::Op {
        session: 9, seq: 1, ..
    } = request
    else {
        panic!("{request:?}");
    };
    let result = OpResult::Value("x".into());
    let stale = ClientReply::Done {
        session: 8,
        seq: 1,
        result: result.clone(),
    };
    clients.reply(1, node, stale, 2);
    assert_eq!(
        clients.history().len(),
        1,
        "only the invocation: {:?}",
        clients.history()
    );
    let expired = ClientReply::SessionExpired { session: 8, seq: 1 };
    clients.reply(1, node, expired, 3);
    assert_eq!(clients.history().len(), 1);
    let done = ClientReply::Done {
        session: 9,
        seq: 1,
        result,
    };
    clients.reply(1, node, done, 4);
    assert_eq!(
        clients.history().len(),
        2,
        "the answer to the current session completes it"
    );
}

#[test]
fn a_run_history_checks_the_same_through_check_history() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = crate::scenarios_dir().join("exactly-once.toml");
    for file in ["run-history.jsonl", "run-history.edn"] {
        let history = dir.join(file);
        let run = Command::new(env!("CARGO_BIN_EXE_raftsim"))
            .args([
                "run",
                path.to_str().unwrap(),
                "--seed",
                "3",
                "--history",
                history.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut args = vec![
            "check-history",
            history.to_str().unwrap(),
            "--model",
            "kv",
            "--json",
        ];
        if file.ends_with(".edn") {
            args.push("--independent");
        }
        let check = Command::new(env!("CARGO_BIN_EXE_raftsim"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            check.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
        assert_eq!(v["verdict"], "linearizable", "{file}");
        assert_eq!(
            v["keys"].as_array().unwrap().len(),
            4,
            "{file}: exactly-once uses 4 keys"
        );
        // Without --model, the file's header names kv, and the verdict is the same.
        let mut bare: Vec<&str> = args.clone();
        bare.retain(|a| *a != "--model" && *a != "kv");
        let check = Command::new(env!("CARGO_BIN_EXE_raftsim"))
            .args(&bare)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
        assert_eq!(
            (v["model"].as_str(), v["model_source"].as_str()),
            (Some("kv"), Some("header")),
            "{file}"
        );
        assert_eq!(v["verdict"], "linearizable", "{file}");
    }
}

/// A stale read's history, checked with `--report`: the page names the failing key first,
/// outlines its minimal failing sub-history in its chart and the zoom, and lists every
/// operation.
#[test]
fn check_history_report_shows_the_failing_key_and_its_evidence() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("history-report");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let history = dir.join("stale.jsonl");
    let churn = crate::scenarios_dir().join("churn.toml");
    let run = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args([
            "run",
            churn.to_str().unwrap(),
            "--seed",
            "12",
            "--mutation",
            "read-without-quorum",
        ])
        .args(["--history", history.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "the mutation is caught");
    let page_dir = dir.join("page");
    let check = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args([
            "check-history",
            history.to_str().unwrap(),
            "--report",
            page_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{out}");
    assert!(out.contains("model        kv (the file's header)"), "{out}");
    let page = std::fs::read_to_string(page_dir.join("index.html")).unwrap();
    let first_key = page.find("id=\"key-0\"").unwrap();
    assert!(page[first_key..].starts_with("id=\"key-0\">\n<h2>key k1: not linearizable</h2>"));
    assert!(page.contains("Around the failure"));
    // k1's minimal failing sub-history has 4 operations, outlined in both of its charts.
    let k1 = &page[first_key..page.find("id=\"key-1\"").unwrap()];
    assert_eq!(
        k1.matches("class=\"op minimal\"").count(),
        8,
        "4 ops in 2 charts"
    );
    assert_eq!(
        page.matches("<tr id=\"op-").count(),
        1000,
        "every operation listed once"
    );
    // A report folder that cannot be made is refused before the check.
    let file = dir.join("stale.jsonl");
    let refused = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(["check-history", file.to_str().unwrap(), "--report"])
        .arg(file.join("sub"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty(), "no verdict printed");
}
