//! `raftsim log`: a trace file as a text timeline, filtered by node and time, and refused
//! with its line when malformed.

use crate::scenarios_dir;
use std::path::PathBuf;
use std::process::{Command, Output};

fn raftsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

fn trace(name: &str, seed: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("log");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{seed}.jsonl"));
    let scenario = scenarios_dir().join(format!("{name}.toml"));
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--seed",
        seed,
        "--trace",
        path.to_str().unwrap(),
    ];
    raftsim(&args);
    path
}

#[test]
fn every_event_is_a_line_with_the_node_state_after_it() {
    let path = trace("leader-crash", "3");
    let out = raftsim(&["log", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let events = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"seq\":"))
        .count();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        events + 2,
        "a title, a header, then a line per event"
    );
    assert!(lines[0].starts_with("leader-crash seed 3 (5 nodes); reproduce: raftsim run"));
    // A crash leaves its node down; a leader's line says so, with its term.
    let crash = lines
        .iter()
        .find(|l| l.contains("  crash "))
        .expect("a crash");
    assert!(crash.contains(" down "), "{crash}");
    let leader = lines
        .iter()
        .find(|l| l.contains("  role role=leader"))
        .unwrap();
    assert!(leader.contains(" leader "), "{leader}");
    // Messages in full as compact JSON, with the receiver as the line's node.
    let deliver = lines.iter().find(|l| l.contains("  deliver ")).unwrap();
    assert!(deliver.contains(r#": {"body":{"#), "{deliver}");
    assert!(deliver.contains("sent="), "{deliver}");
}

#[test]
fn node_and_time_filters_narrow_the_timeline() {
    let path = trace("leader-crash", "4");
    let p = path.to_str().unwrap();
    let all = raftsim(&["log", p]);
    let node = raftsim(&["log", p, "--node", "2"]);
    let window = raftsim(&["log", p, "--from", "5s", "--to", "6s"]);
    let count = |o: &Output| String::from_utf8_lossy(&o.stdout).lines().count();
    assert!(count(&node) < count(&all) && count(&window) < count(&all));
    for line in String::from_utf8_lossy(&node.stdout).lines().skip(2) {
        let id = line.split_whitespace().nth(1).unwrap();
        assert!(id == "2" || id == "-", "{line}");
    }
    for line in String::from_utf8_lossy(&window.stdout).lines().skip(2) {
        let t = line.split_whitespace().next().unwrap();
        let s: f64 = t.trim_end_matches('s').parse().unwrap();
        assert!((5.0..=6.0).contains(&s), "{line}");
    }
}

#[test]
fn a_bad_trace_or_window_is_refused_with_exit_2() {
    let path = trace("leader-crash", "5");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = path.with_file_name("broken.jsonl");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"seq\": 2, \"time_ns\": \"soon\"}";
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let out = raftsim(&["log", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.jsonl:4"), "{err}");
    let out = raftsim(&["log", path.to_str().unwrap(), "--from", "6s", "--to", "5s"]);
    assert_eq!(out.status.code(), Some(2));
    let out = raftsim(&["log", "no-such-trace.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
}
