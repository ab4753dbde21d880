//! The bad-input corpus: every kind of input the `raftsim` binary refuses, each with the exit
//! status and the message it must give, and the inputs the parsers' fuzz targets generated
//! (`sim/tests/data/bad-inputs/fuzz-found/`), each with its recorded exit status and first
//! line of error. No input may panic the binary or make it wait: devices, FIFOs and folders
//! are refused before a byte is read, files and lines have a size cap, and rates that would
//! flood a run are refused when the scenario is read.
//!
//! `RAFTSIM_BLESS=1 cargo test bad_inputs` rewrites `fuzz-found/expected.txt` from what the
//! binary says now, for a change that meant to alter a message: review the diff.

use crate::scenarios_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The corpus of fuzz-found inputs.
fn fuzz_found() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad-inputs/fuzz-found")
}

fn work_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("bad-inputs")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary; a run still going after `deadline` is killed and fails the test: the
/// guard against a hang, not a measure of speed.
fn raftsim_within(args: &[&str], deadline: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("raftsim starts");
    let started = Instant::now();
    // Bounded by the deadline: polls every 10 ms.
    while child
        .try_wait()
        .expect("raftsim can be waited for")
        .is_none()
    {
        if started.elapsed() > deadline {
            let _ = child.kill();
            panic!("raftsim {args:?} was still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("raftsim's output")
}

fn raftsim(args: &[&str]) -> Output {
    raftsim_within(args, Duration::from_secs(120))
}

/// `args` exits with `exit`, prints nothing on stdout for a refusal, and its stderr holds
/// `message`.
fn refused(args: &[&str], exit: i32, message: &str) {
    let out = raftsim(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{args:?}: exit status; stderr: {err}"
    );
    assert!(
        err.contains(message),
        "{args:?}: expected `{message}` in: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    if exit == 2 {
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}

fn churn() -> String {
    scenarios_dir().join("churn.toml").display().to_string()
}

fn fifo(dir: &Path) -> String {
    let path = dir.join("fifo");
    let made = Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
    path.display().to_string()
}

#[test]
fn devices_fifos_folders_and_missing_files_are_refused_by_every_reader() {
    let dir = work_dir("readers");
    let fifo = fifo(&dir);
    let folder = dir.display().to_string();
    let readers: [(&[&str], &str); 6] = [
        (&["run"], "the scenario file"),
        (&["sweep", "--seeds", "2"], "the scenario file"),
        (&["check-history"], "the history"),
        (&["chart", "-o", "/tmp/unused.svg"], "the trace file"),
        (&["replay"], "the trace file"),
        (&["from-fuzz", "-o", "/tmp/unused.toml"], "the fuzz input"),
    ];
    for (command, what) in readers {
        for (input, why) in [
            (
                "/dev/zero",
                "not a regular file (a device, a FIFO or a socket)",
            ),
            (
                fifo.as_str(),
                "not a regular file (a device, a FIFO or a socket)",
            ),
            (folder.as_str(), "it is a directory"),
            ("/no/such/input", "No such file or directory"),
        ] {
            let mut args = vec![command[0], input];
            args.extend_from_slice(&command[1..]);
            let out = raftsim_within(&args, Duration::from_secs(5));
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            let expected = format!("{input}: cannot read {what}: {why}");
            assert!(
                err.contains(&expected),
                "{args:?}: expected `{expected}` in: {err}"
            );
        }
    }
}

#[test]
fn files_beyond_the_input_cap_and_text_that_is_not_utf8_are_refused() {
    let dir = work_dir("caps");
    refused(
        &["--max-input-bytes", "100", "run", &churn()],
        2,
        "cannot read the scenario file: 692 bytes, more than the limit of 100 bytes (raise it with --max-input-bytes)",
    );
    // The flag is global: it may follow the command too.
    refused(
        &["run", &churn(), "--max-input-bytes", "100"],
        2,
        "more than the limit of 100 bytes",
    );
    refused(
        &["--max-input-bytes", "0", "run", &churn()],
        2,
        "invalid value '0' for '--max-input-bytes <BYTES>'",
    );
    let binary = dir.join("binary.toml");
    std::fs::write(&binary, b"seed = 1\nnodes = \xff\n").unwrap();
    refused(
        &["run", binary.to_str().unwrap()],
        2,
        "cannot read the scenario file: not UTF-8 text (byte 17)",
    );
    let history = dir.join("binary.edn");
    std::fs::write(&history, b"{:type :invoke \xfe}").unwrap();
    refused(
        &["check-history", history.to_str().unwrap()],
        2,
        "cannot read the history: not UTF-8 text (byte 15)",
    );
    // A trace whose first line never ends: refused at the line cap, not read whole.
    let trace = dir.join("endless.jsonl");
    std::fs::write(&trace, vec![b'x'; 2 << 20]).unwrap();
    refused(
        &[
            "chart",
            trace.to_str().unwrap(),
            "-o",
            dir.join("c.svg").to_str().unwrap(),
        ],
        2,
        "a line longer than 1048576 bytes",
    );
}

/// Each of these once ran for an hour or more: a rate of one event per simulated nanosecond.
/// Now the file is refused as it is read.
#[test]
fn rates_that_would_flood_a_run_are_refused_at_once() {
    let dir = work_dir("rates");
    let cases = [
        ("[faults]\ncrash_every = \"1ns\"", "field `faults.crash_every`: must be at least 10ms"),
        ("[faults]\npartition_every = \"1ns\"", "field `faults.partition_every`: must be at least 10ms"),
        ("[faults]\npause_every = \"1ns\"", "field `faults.pause_every`: must be at least 10ms"),
        ("[faults]\nclog_every = \"1ns\"", "field `faults.clog_every`: must be at least 10ms"),
        ("[faults]\ncrash_every = \"9ms\"", "must be at least 10ms (a mean time between random events; at most 100 a second), found 9ms"),
        ("[clocks]\njump_every = \"1us\"", "field `clocks.jump_every`: must be at least 10ms"),
        ("[membership]\nchurn_every = \"1ms\"", "field `membership.churn_every`: must be at least 10ms"),
        ("[raft]\nheartbeat_interval = \"1ns\"\nelection_timeout = [\"2ns\", \"3ns\"]", "field `raft.heartbeat_interval`: must be at least 1ms, found 1ns"),
        ("[workload]\nrate = 1000000\ncount = 100000000", "field `workload.rate`: must be between 0 and 10000 proposals per second"),
    ];
    for (i, (section, message)) in cases.iter().enumerate() {
        let path = dir.join(format!("rate-{i}.toml"));
        std::fs::write(
            &path,
            format!("seed = 1\nnodes = 5\nduration = \"10s\"\n{section}\n"),
        )
        .unwrap();
        let out = raftsim_within(&["run", path.to_str().unwrap()], Duration::from_secs(5));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{section}: {err}");
        assert!(
            err.contains(message),
            "{section}: expected `{message}` in: {err}"
        );
    }
    // The floor itself is accepted.
    let path = dir.join("floor.toml");
    std::fs::write(
        &path,
        "seed = 1\nnodes = 3\nduration = \"2s\"\n[faults]\ncrash_every = \"10ms\"\n",
    )
    .unwrap();
    let out = raftsim_within(&["run", path.to_str().unwrap()], Duration::from_secs(5));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_run_that_reaches_its_event_budget_has_its_own_verdict_and_exit_status() {
    let out = raftsim(&["run", &churn(), "--events-max", "2000"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.starts_with("BUDGET EXHAUSTED  churn seed 5\n"),
        "{text}"
    );
    assert!(
        text.contains("note: the run stopped at the event budget"),
        "{text}"
    );
    let out = raftsim(&["run", &churn(), "--events-max", "2000", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json["verdict"], "budget-exhausted");
    assert_eq!(json["budget_exhausted"], true);
    // A budget the run never reaches changes nothing.
    let whole = raftsim(&["run", &churn(), "--json"]);
    let roomy = raftsim(&["run", &churn(), "--json", "--events-max", "100000000"]);
    let hash = |o: &Output| {
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["trace_hash"].clone()
    };
    assert_eq!(whole.status.code(), Some(0));
    assert_eq!(hash(&whole), hash(&roomy));
    refused(
        &["run", &churn(), "--events-max", "0"],
        2,
        "invalid value '0' for '--events-max <N>'",
    );
}

#[test]
fn output_paths_are_checked_before_the_work_starts() {
    let dir = work_dir("outputs");
    let file = dir.join("plain");
    std::fs::write(&file, "").unwrap();
    let inside_file = file.join("sub");
    let missing = dir.join("missing/t.jsonl");
    let gif = dir.join("t.gif");
    let cases: [(Vec<&str>, String); 6] = [
        (
            vec!["run", "CHURN", "--chart", gif.to_str().unwrap()],
            format!(
                "--chart {}: the file name must end in .svg or .png",
                gif.display()
            ),
        ),
        (
            vec!["run", "CHURN", "--trace", missing.to_str().unwrap()],
            format!(
                "--trace {}: the folder `{}` does not exist",
                missing.display(),
                dir.join("missing").display()
            ),
        ),
        (
            vec!["run", "CHURN", "--history", dir.to_str().unwrap()],
            format!("--history {}: is a folder, not a file", dir.display()),
        ),
        (
            vec!["run", "CHURN", "--report", inside_file.to_str().unwrap()],
            format!(
                "--report {}: `{}` is a file, not a folder",
                inside_file.display(),
                file.display()
            ),
        ),
        (
            vec![
                "sweep",
                "CHURN",
                "--seeds",
                "1000",
                "--report",
                inside_file.to_str().unwrap(),
            ],
            format!(
                "--report {}: `{}` is a file, not a folder",
                inside_file.display(),
                file.display()
            ),
        ),
        (
            vec!["chart", "CHURN", "-o", gif.to_str().unwrap()],
            format!(
                "-o {}: the file name must end in .svg or .png",
                gif.display()
            ),
        ),
    ];
    let churn = churn();
    for (args, message) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "CHURN" { churn.as_str() } else { a })
            .collect();
        // A thousand seeds of churn take minutes: refused in seconds, the check came first.
        let out = raftsim_within(&args, Duration::from_secs(5));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&message),
            "{args:?}: expected `{message}` in: {err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing was written but the test's own file"
    );
}

/// What `raftsim` says of one fuzz-found input: its exit status and its first line on
/// stderr, with the input's path written as FILE.
fn verdict_on(target: &str, path: &Path) -> String {
    let shown = path.display().to_string();
    let args: Vec<&str> = match target {
        "scenario_file" => vec!["run", &shown, "--events-max", "2000000"],
        _ => vec!["check-history", &shown],
    };
    let out = raftsim(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{shown}: {err}");
    let code = out
        .status
        .code()
        .expect("raftsim exits, never killed by a signal");
    assert!(matches!(code, 0..=3), "{shown}: exit status {code}: {err}");
    let first = err.lines().next().unwrap_or("").replace(&shown, "FILE");
    format!("{code} {first}")
}

#[test]
fn fuzz_found_inputs_get_their_recorded_exit_status_and_message() {
    let root = fuzz_found();
    let mut lines = Vec::new();
    for target in ["scenario_file", "history"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 20,
            "{target}: the corpus holds {} inputs",
            files.len()
        );
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            lines.push(format!("{target}/{name}\t{}", verdict_on(target, &file)));
        }
    }
    let now = lines.join("\n") + "\n";
    let expected_path = root.join("expected.txt");
    if std::env::var_os("RAFTSIM_BLESS").is_some() {
        std::fs::write(&expected_path, &now).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    for (now, was) in now.lines().zip(expected.lines()) {
        assert_eq!(
            now, was,
            "a fuzz-found input's verdict changed (RAFTSIM_BLESS=1 to accept)"
        );
    }
    assert_eq!(
        now.lines().count(),
        expected.lines().count(),
        "inputs added or removed (RAFTSIM_BLESS=1 to record)"
    );
}
