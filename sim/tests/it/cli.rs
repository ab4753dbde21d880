//! The `raftsim` binary: exit statuses, output formats, and one test per kind of mistake in a
//! scenario file, each asserting the file, line and field of the message and exit status 2.

use crate::scenarios_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn raftsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

fn scenario_path(name: &str) -> String {
    scenarios_dir()
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to a scenario file of its own and runs it.
fn run_file(name: &str, text: &str) -> (PathBuf, Output) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad-scenarios");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let out = raftsim(&["run", path.to_str().unwrap()]);
    (path, out)
}

const GOOD: &str = "seed = 1\nnodes = 5\nduration = \"1s\"\n";

/// Checks a bad file: exit 2, nothing on stdout, and `path:line: field `field`: ...phrase...`.
fn check_bad(name: &str, text: &str, line: usize, field: Option<&str>, phrase: &str) {
    let (path, out) = run_file(name, text);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: exit status; stderr: {err}"
    );
    assert!(stdout(&out).is_empty(), "{name}: nothing on stdout");
    let location = format!("{}:{line}:", path.display());
    assert!(
        err.contains(&location),
        "{name}: expected `{location}` in: {err}"
    );
    if let Some(field) = field {
        assert!(
            err.contains(&format!("field `{field}`")),
            "{name}: expected field `{field}` in: {err}"
        );
    }
    assert!(
        err.contains(phrase),
        "{name}: expected `{phrase}` in: {err}"
    );
    assert!(!err.contains("panicked"), "{name}: {err}");
}

#[test]
fn bad_syntax() {
    check_bad(
        "syntax",
        "seed = 1\nnodes = = 5\nduration = \"1s\"\n",
        2,
        None,
        "invalid TOML",
    );
}

#[test]
fn bad_unknown_field() {
    check_bad(
        "unknown",
        &format!("{GOOD}[network]\nlatency = [\"1ms\", \"2ms\"]\njitter = 3\n"),
        6,
        Some("network.jitter"),
        "unknown",
    );
}

#[test]
fn bad_wrong_type() {
    check_bad(
        "type",
        "seed = 1\nnodes = \"five\"\nduration = \"1s\"\n",
        2,
        Some("nodes"),
        "integer",
    );
}

#[test]
fn bad_missing_field() {
    check_bad(
        "missing",
        "nodes = 3\nduration = \"1s\"\n",
        1,
        Some("seed"),
        "missing",
    );
}

#[test]
fn bad_duration() {
    check_bad(
        "duration",
        "seed = 1\nnodes = 3\nduration = \"10 parsecs\"\n",
        3,
        Some("duration"),
        "\"150ms\"",
    );
}

#[test]
fn bad_impossible_value() {
    check_bad(
        "loss",
        &format!("{GOOD}[network]\nloss = 1.5\n"),
        5,
        Some("network.loss"),
        "1.5",
    );
}

#[test]
fn bad_partition_names_node_9_of_5() {
    let text = format!(
        "{GOOD}\n[[schedule]]\nat = \"1s\"\naction = \"partition\"\ngroups = [[1, 2], [3, 9]]\n"
    );
    check_bad(
        "node9",
        &text,
        8,
        Some("schedule[0].groups"),
        "node 9 does not exist",
    );
}

#[test]
fn bad_crash_without_node() {
    let text = format!("{GOOD}\n[[schedule]]\nat = \"500ms\"\naction = \"crash\"\n");
    check_bad("crash", &text, 5, Some("schedule[0].node"), "missing");
}

#[test]
fn bad_schedule_after_the_end() {
    let text = format!("{GOOD}\n[[schedule]]\nat = \"2s\"\naction = \"heal\"\n");
    check_bad("late", &text, 6, Some("schedule[0].at"), "");
}

#[test]
fn missing_file_is_bad_input() {
    let out = raftsim(&["run", "/nonexistent/raftsim.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/raftsim.toml"));
}

#[test]
fn bad_flags_are_bad_input() {
    let out = raftsim(&[
        "run",
        &scenario_path("basic-election"),
        "--seed",
        "minus-one",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--seed"));
    let out = raftsim(&[
        "run",
        &scenario_path("basic-election"),
        "--mutation",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--mutation"));
}

#[test]
fn pass_prints_summary_and_exits_0() {
    let out = raftsim(&["run", &scenario_path("basic-election"), "--seed", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "PASS",
        "leaders",
        "entries committed",
        "messages",
        "events",
        "trace hash",
        "events/s",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
}

#[test]
fn json_has_the_documented_fields() {
    let out = raftsim(&["run", &scenario_path("lossy"), "--seed", "9", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["seed"], 9);
    assert_eq!(v["trace_hash"].as_str().unwrap().len(), 16);
    assert!(v["events"].as_u64().unwrap() > 1000);
    assert_eq!(v["sim_time_ns"], 30_000_000_000u64);
    assert_eq!(v["violations"].as_array().unwrap().len(), 0);
    assert!(
        v["stats"]["dropped_loss"].as_u64().unwrap() > 0,
        "lossy loses messages"
    );
    // The same seed gives the same hash through the binary too.
    let again = raftsim(&["run", &scenario_path("lossy"), "--seed", "9", "--json"]);
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["trace_hash"], w["trace_hash"]);
}

#[test]
fn violation_exits_1_with_a_reproduce_command() {
    let figure8 = crate::scenario("figure8");
    let options = || sim::RunOptions {
        mutation: Some("commit-prior-term-by-counting".into()),
        ..Default::default()
    };
    let seed = (1..=200)
        .find(|&s| {
            sim::run(&figure8, s, options())
                .unwrap()
                .violation
                .is_some()
        })
        .expect("a failing seed");
    let path = scenario_path("figure8");
    let seed = seed.to_string();
    let out = raftsim(&[
        "run",
        &path,
        "--seed",
        &seed,
        "--mutation",
        "commit-prior-term-by-counting",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("VIOLATION"), "{text}");
    assert!(text.contains("events that led to it"), "{text}");
    assert!(
        text.contains(&format!(
            "reproduce: raftsim run {path} --seed {seed} --mutation commit-prior-term-by-counting"
        )),
        "{text}"
    );
    let json = raftsim(&[
        "run",
        &path,
        "--seed",
        &seed,
        "--mutation",
        "commit-prior-term-by-counting",
        "--json",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["verdict"], "violation");
    let violation = &v["violations"][0];
    assert!(
        violation["invariant"].is_string()
            && violation["time_ns"].is_u64()
            && violation["nodes"].is_array()
    );
}

#[test]
fn trace_file_has_a_header_then_one_json_object_per_event() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let trace = dir.join("basic-election.trace.jsonl");
    let out = raftsim(&[
        "run",
        &scenario_path("basic-election"),
        "--trace",
        trace.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines = read_lines(&trace);
    let header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(header["type"], "raftsim-trace");
    assert_eq!(header["format"], 2);
    assert_eq!(header["seed"], v["seed"]);
    assert_eq!(header["scenario_path"], scenario_path("basic-election"));
    assert_eq!(header["scenario_hash"].as_str().map(str::len), Some(16));
    assert!(header["mutation"].is_null());
    // basic-election has no clients and passes: no history, violation or evidence lines,
    // only the end line after the events.
    let (end, events) = lines[1..].split_last().unwrap();
    let end: serde_json::Value = serde_json::from_str(end).unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["events"], v["events"]);
    assert_eq!(end["trace_hash"], v["trace_hash"]);
    assert_eq!(events.len() as u64, v["events"].as_u64().unwrap());
    for (i, line) in events.iter().enumerate() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["seq"], i as u64);
        assert!(e["type"].is_string());
    }
    assert!(events.iter().any(|l| {
        let e: serde_json::Value = serde_json::from_str(l).unwrap();
        e["type"] == "deliver" && e["message"]["body"]["kind"] == "AppendEntries"
    }));
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A file of its own under the target's temporary folder, holding `bytes`.
fn fuzz_artifact(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn from_fuzz_writes_a_scenario_that_runs() {
    let bytes: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8 | 1).collect();
    let artifact = fuzz_artifact("crash-fixed", &bytes);
    let scenario = artifact.with_file_name("crash-fixed.toml");
    let _ = std::fs::remove_file(&scenario);
    let (artifact, scenario) = (artifact.to_str().unwrap(), scenario.to_str().unwrap());
    let out = raftsim(&["from-fuzz", artifact, "-o", scenario]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("replay: raftsim run {scenario}")),
        "{}",
        stdout(&out)
    );
    let text = std::fs::read_to_string(scenario).unwrap();
    assert!(text.starts_with("# Made by `raftsim from-fuzz`"), "{text}");
    assert!(text.contains("[[schedule]]"), "{text}");
    let expected = sim::fuzz_input::from_bytes(&bytes).unwrap().to_toml();
    assert_eq!(text, expected, "the file is the fuzz target's scenario");
    let run = raftsim(&["run", scenario]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(stdout(&run).contains("PASS"), "{}", stdout(&run));
    let to_stdout = raftsim(&["from-fuzz", artifact, "-o", "-"]);
    assert_eq!(to_stdout.status.code(), Some(0), "{}", stderr(&to_stdout));
    assert_eq!(stdout(&to_stdout), text);
}

#[test]
fn from_fuzz_of_an_empty_or_missing_file_is_bad_input() {
    let empty = fuzz_artifact("empty", &[]);
    let missing = empty.with_file_name("no-such-artifact");
    let target = empty.with_file_name("unwritten.toml");
    let _ = std::fs::remove_file(&target);
    for artifact in [&empty, &missing] {
        let artifact = artifact.to_str().unwrap();
        let out = raftsim(&["from-fuzz", artifact, "-o", target.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{artifact}: {err}");
        assert!(err.contains(&format!("error: {artifact}: ")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    }
    assert!(!target.exists(), "nothing is written for bad input");
}

/// A scenario names its implementation; an unknown name is refused with the field and the
/// names that exist.
#[test]
fn bad_implementation_name() {
    let text = format!("{GOOD}implementation = \"etcd-raft\"\n");
    check_bad(
        "bad-implementation",
        &text,
        4,
        Some("implementation"),
        "unknown implementation `etcd-raft`; expected one of: raftsim, raft-rs",
    );
}

/// `--impl` picks the implementation for run, sweep, hunt, bugs, shrink and bench; naming the
/// default is the same run as naming none, and an unknown name is bad input (exit 2).
#[test]
fn impl_flag_names_a_registered_implementation() {
    let path = scenario_path("basic-agreement");
    let hash = |extra: &[&str]| {
        let mut args = vec!["run", path.as_str(), "--json"];
        args.extend_from_slice(extra);
        let out = raftsim(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        json["trace_hash"].as_str().unwrap().to_string()
    };
    assert_eq!(hash(&["--impl", "raftsim"]), hash(&[]));
    for command in [
        vec!["run", path.as_str()],
        vec!["sweep", path.as_str(), "--seeds", "1"],
        vec!["hunt", path.as_str(), "--runs", "1"],
        vec!["bugs", path.as_str(), "--only", "ack-before-sync"],
        vec!["shrink", path.as_str()],
        vec!["bench", path.as_str(), "--seeds", "1"],
    ] {
        let mut args = command.clone();
        args.extend_from_slice(&["--impl", "no-such-raft"]);
        let out = raftsim(&args);
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert!(
            stderr(&out).contains(
                "unknown implementation `no-such-raft`; expected one of: raftsim, raft-rs"
            ),
            "{command:?}: {}",
            stderr(&out)
        );
    }
    let out = raftsim(&["implementations"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("raftsim "), "{}", stdout(&out));
}

/// `[implementation_options]` takes text, numbers and booleans, passed to the implementation,
/// which refuses an option it does not know when a node starts (exit 2).
#[test]
fn implementation_options_reach_the_implementation() {
    let text = format!("{GOOD}[implementation_options]\npre_vote = [1]\n");
    check_bad(
        "bad-option-type",
        &text,
        5,
        Some("implementation_options.pre_vote"),
        "expected a string, a number or a boolean, found array",
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad-scenarios");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, options: &str| {
        let path = dir.join(format!("{name}.toml"));
        let text =
            format!("{GOOD}implementation = \"raft-rs\"\n[implementation_options]\n{options}");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let good = write("raft-rs-pre-vote", "pre_vote = true\ncheck_quorum = true\n");
    let out = raftsim(&["run", &good]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let unknown = write("raft-rs-unknown-option", "batch_append = 3\n");
    let out = raftsim(&["run", &unknown]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("raft-rs has no option `batch_append`"),
        "{}",
        stderr(&out)
    );
    let out = raftsim(&["run", &unknown, "--impl", "raftsim"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("raftsim has no option `batch_append`"),
        "{}",
        stderr(&out)
    );
}

/// `raftsim bench --floor` runs the bare event loop for as many events as the runs had and
/// prints raftsim's throughput as a fraction of it (a figure, not a bound: nothing is timed).
#[test]
fn bench_floor_prints_the_fraction_of_a_bare_event_loop() {
    let path = crate::scenarios_dir().join("basic-election.toml");
    let out = raftsim(&["bench", path.to_str().unwrap(), "--seeds", "2", "--floor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let events = text
        .lines()
        .find_map(|l| l.strip_prefix("events       "))
        .expect("an events line");
    assert!(
        text.contains(&format!("a bare event loop, {events} events")),
        "{text}"
    );
    let fraction: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("of floor     "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|f| f.parse().ok())
        .expect("an `of floor` line");
    assert!(fraction > 0.0, "{text}");
}

/// `--trace` alone streams the records to the file as the run goes (through `FILE.part`,
/// removed at the end); with `--chart` the run keeps them in memory. Both write the same
/// bytes, for a passing run and for one that breaks an invariant (its tail names it).
#[test]
fn a_streamed_trace_file_is_the_one_the_in_memory_path_writes() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let runs = [
        ("churn", "3", None),
        ("figure8", "7", Some("commit-prior-term-by-counting")),
    ];
    for (name, seed, mutation) in runs {
        let streamed = dir.join(format!("{name}-streamed.jsonl"));
        let kept = dir.join(format!("{name}-kept.jsonl"));
        let chart = dir.join(format!("{name}-kept.png"));
        let path = scenario_path(name);
        let mut args = vec!["run", path.as_str(), "--seed", seed];
        if let Some(m) = mutation {
            args.extend(["--mutation", m]);
        }
        let mut streaming = args.clone();
        streaming.extend(["--trace", streamed.to_str().unwrap()]);
        let mut keeping = args.clone();
        keeping.extend(["--trace", kept.to_str().unwrap()]);
        keeping.extend(["--chart", chart.to_str().unwrap()]);
        let (a, b) = (raftsim(&streaming), raftsim(&keeping));
        assert_eq!(a.status.code(), b.status.code(), "{name}");
        let (a, b) = (
            std::fs::read(&streamed).unwrap(),
            std::fs::read(&kept).unwrap(),
        );
        assert!(a.len() > 10_000, "{name}: {} bytes", a.len());
        assert!(a == b, "{name}: the streamed trace differs");
        let mut part = streamed.into_os_string();
        part.push(".part");
        assert!(
            !PathBuf::from(part).exists(),
            "{name}: the .part file is left"
        );
    }
    let figure8 = std::fs::read_to_string(dir.join("figure8-streamed.jsonl")).unwrap();
    assert!(figure8.contains("\"type\":\"violation\""));
}
