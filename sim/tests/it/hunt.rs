//! Hunting: a deterministic plan whatever the threads, findings written before they are
//! reported and replayed from their file, panics caught as findings, seed-major sweeps, and
//! the `hunt` and `bugs` verbs' exit statuses.

use crate::{scenario, scenarios_dir};
use sim::hunt::{self, HuntScenario, Plan};
use sim::node::{
    ClientId, ClientRequest, DurableState, MessageInfo, NodeView, Output, Refusal, SimNode,
    StartContext,
};
use sim::sweep::{self, SeedRange, Shard, SweepScenario};
use sim::{RaftNode, RunOptions};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::AtomicBool;

fn library(names: &[&str]) -> Vec<HuntScenario> {
    names
        .iter()
        .map(|name| {
            let path = scenarios_dir().join(format!("{name}.toml"));
            HuntScenario {
                path: path.display().to_string(),
                text: std::fs::read_to_string(&path).unwrap(),
                scenario: scenario(name),
            }
        })
        .collect()
}

fn findings_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("findings")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    hunt::prepare_findings_dir(&dir).unwrap();
    dir
}

fn plan(names: &[&str], jobs: usize, mutation: Option<&str>, runs_max: u64, dir: &str) -> Plan {
    Plan {
        scenarios: library(names),
        jobs,
        mutation: mutation.map(str::to_string),
        seed_base: 5,
        findings_dir: findings_dir(dir),
        runs_max,
        command: "test".into(),
    }
}

#[test]
fn the_runs_a_hunt_tries_do_not_depend_on_the_threads() {
    let names = ["basic-agreement", "figure8", "snapshot-full-crash"];
    let stop = AtomicBool::new(false);
    let one = hunt::run(&plan(&names, 1, None, 60, "jobs-1"), &stop, |_| {}).unwrap();
    let two = hunt::run(&plan(&names, 2, None, 60, "jobs-2"), &stop, |_| {}).unwrap();
    assert_eq!(one.runs.len(), 60);
    assert_eq!(one.runs, two.runs);
    assert_eq!(one.events, two.events);
    assert_eq!(one.reached, two.reached);
    assert!(one.finding.is_none() && !one.stopped);
    // Breadth first: every file as written, then a variant of each, before any repeats.
    let first: Vec<(&str, u32)> = one.runs[..6]
        .iter()
        .map(|(s, v, _)| (s.as_str(), *v))
        .collect();
    assert_eq!(
        first,
        [
            ("basic-agreement", 0),
            ("figure8", 0),
            ("snapshot-full-crash", 0),
            ("basic-agreement", 1),
            ("figure8", 1),
            ("snapshot-full-crash", 1)
        ]
    );
    assert!(
        one.runs.iter().any(|(_, v, _)| *v > 2),
        "the power rounds draw new variants"
    );
}

#[test]
fn a_finding_is_written_and_its_file_replays_it() {
    let names = ["basic-agreement", "churn"];
    let mutation = "vote-without-log-check";
    let p = plan(&names, 2, Some(mutation), 400, "finding");
    let stop = AtomicBool::new(false);
    let found = hunt::run(&p, &stop, |_| {}).unwrap();
    let f = found.finding.expect("the broken vote rule is found");
    assert_eq!(found.runs.len() as u64, f.runs_until);
    assert!(f.reproduce.starts_with(&format!("raftsim run {}", f.file)));
    assert!(f
        .reproduce
        .ends_with(&format!("--seed {} --mutation {mutation}", f.seed)));
    let text = std::fs::read_to_string(&f.file).unwrap();
    assert!(text.starts_with(&format!("# raftsim hunt finding: {}", f.invariant)));
    assert!(text.contains(&format!("# replay: {}", f.reproduce)));
    let replay = sim::scenario::parse(&f.file, &text).unwrap();
    let options = RunOptions {
        keep_trace: false,
        mutation: Some(mutation.into()),
        events_max: None,
    };
    let outcome = sim::run(&replay, f.seed, options).unwrap();
    let v = outcome.violation.expect("the file replays the violation");
    assert_eq!(v.invariant.name(), f.invariant);
    assert_eq!(v.time_ns, f.time_ns);
    // The same file without the mutation passes.
    let clean = sim::run(&replay, f.seed, RunOptions::default()).unwrap();
    assert!(clean.violation.is_none(), "{:?}", clean.violation);
}

#[test]
fn a_drawn_variant_that_finds_a_bug_is_written_as_a_complete_file() {
    // figure8 alone, seed bases 1 to 8: at least one finds this mutation first in a drawn variant.
    let names = ["figure8"];
    let mutation = "commit-prior-term-by-counting";
    let mut found = None;
    for seed_base in 1..=8 {
        let mut p = plan(
            &names,
            2,
            Some(mutation),
            300,
            &format!("variant-{seed_base}"),
        );
        p.seed_base = seed_base;
        let h = hunt::run(&p, &AtomicBool::new(false), |_| {}).unwrap();
        if let Some(f) = h.finding.filter(|f| f.variant > 0) {
            found = Some(f);
            break;
        }
    }
    let f = found.expect("some seed base finds it in a variant");
    let text = std::fs::read_to_string(&f.file).unwrap();
    let replay = sim::scenario::parse(&f.file, &text).unwrap();
    assert_eq!(
        replay.seed, f.seed,
        "the variant's file carries the failing seed"
    );
    assert!(
        !replay.swarm.enabled,
        "the draw is written out, not drawn again"
    );
    let options = RunOptions {
        keep_trace: false,
        mutation: Some(mutation.into()),
        events_max: None,
    };
    let v = sim::run(&replay, replay.seed, options).unwrap().violation;
    assert_eq!(v.map(|v| v.invariant.name()), Some(f.invariant));
}

/// raftsim's Raft with a planted bug: node 1 panics at its 40th delivery when its generator's
/// seed (a function of the run's seed) is odd.
struct Panicking {
    inner: RaftNode,
    armed: bool,
    delivered: u64,
}

impl SimNode for Panicking {
    type Message = <RaftNode as SimNode>::Message;

    fn start(ctx: &StartContext<'_>, durable: &DurableState) -> Result<Self, String> {
        Ok(Panicking {
            inner: RaftNode::start(ctx, durable)?,
            armed: ctx.id == 1 && ctx.rng_seed % 2 == 1,
            delivered: 0,
        })
    }
    fn deliver(&mut self, now_ns: u64, msg: Self::Message) -> Result<(), String> {
        self.delivered += 1;
        assert!(!(self.armed && self.delivered == 40), "planted panic");
        self.inner.deliver(now_ns, msg)
    }
    fn next_timer_ns(&self) -> u64 {
        self.inner.next_timer_ns()
    }
    fn fire_timer(&mut self, now_ns: u64) {
        self.inner.fire_timer(now_ns)
    }
    fn propose(&mut self, now_ns: u64, command: Vec<u8>) -> Result<(), Refusal> {
        self.inner.propose(now_ns, command)
    }
    fn submit(&mut self, now_ns: u64, client: ClientId, request: ClientRequest) {
        self.inner.submit(now_ns, client, request)
    }
    fn log_synced(&mut self, index: u64, term: u64) {
        self.inner.log_synced(index, term)
    }
    fn change_membership(
        &mut self,
        now_ns: u64,
        add: &[u64],
        remove: &[u64],
    ) -> Result<(), Refusal> {
        self.inner.change_membership(now_ns, add, remove)
    }
    fn take_output(&mut self) -> Output<Self::Message> {
        self.inner.take_output()
    }
    fn view(&self) -> NodeView {
        self.inner.view()
    }
    fn message_info(msg: &Self::Message) -> MessageInfo {
        RaftNode::message_info(msg)
    }
}

fn sweep_plan(names: &[&str], seeds: u64, fail_fast: bool) -> sweep::Plan {
    sweep::Plan {
        scenarios: names
            .iter()
            .map(|n| SweepScenario {
                path: format!("scenarios/{n}.toml"),
                scenario: scenario(n),
            })
            .collect(),
        seeds: SeedRange {
            first: 1,
            last: seeds,
        },
        shard: Shard::ALL,
        mutation: None,
        jobs: 2,
        fail_fast,
    }
}

#[test]
fn a_panic_is_a_finding_and_the_sweep_goes_on() {
    let plan = sweep_plan(&["basic-agreement"], 12, false);
    let result = sweep::run_with::<Panicking>(&plan, &AtomicBool::new(false), |_, _| {});
    assert_eq!(result.runs.len(), 12, "every seed ran");
    let panicked: Vec<u64> = result.failures().map(|r| r.seed).collect();
    assert!(
        !panicked.is_empty() && panicked.len() < 12,
        "some seeds panic, others pass: {panicked:?}"
    );
    for run in result.failures() {
        let v = run.violation.as_ref().unwrap();
        assert_eq!(v.invariant.name(), "panic");
        assert!(v.detail.contains("planted panic"), "{}", v.detail);
        assert!(v.detail.contains("hunt.rs:"), "the location: {}", v.detail);
        assert!(v.time_ns > 0, "the simulated time of the panic is kept");
    }
    let report = sweep::Report::new(&plan, &result, 1.0);
    assert_eq!(
        report.failures_by_invariant.get("panic").copied(),
        Some(panicked.len() as u64)
    );
    assert!(report.failures[0]
        .reproduce
        .starts_with("raftsim run scenarios/basic-agreement.toml --seed"));
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"invariant\":\"panic\""));
    // The same plan against the real node: no failure, so the panics are the planted ones.
    let clean = sweep::run(&plan, &AtomicBool::new(false), |_, _| {});
    assert_eq!(clean.failures().count(), 0);
}

#[test]
fn a_hunt_reports_a_panic_with_its_file() {
    let p = plan(&["basic-agreement"], 2, None, 50, "panic");
    let h = hunt::run_with::<Panicking>(&p, &AtomicBool::new(false), |_| {}).unwrap();
    let f = h.finding.expect("the planted panic is found");
    assert_eq!(f.invariant, "panic");
    assert!(f.detail.contains("planted panic"));
    assert!(std::path::Path::new(&f.file).is_file());
}

#[test]
fn a_sweep_goes_seed_major_so_fail_fast_reaches_every_file_early() {
    // basic-agreement never fails; churn fails on its first seed with the vote rule broken.
    let mut plan = sweep_plan(&["basic-agreement", "churn"], 50, true);
    plan.mutation = Some("vote-without-log-check".into());
    let result = sweep::run(&plan, &AtomicBool::new(false), |_, _| {});
    assert!(result.stopped_at_failure);
    let ran: Vec<(usize, u64)> = result.runs.iter().map(|r| (r.scenario, r.seed)).collect();
    let failing = result.failures().next().unwrap();
    assert_eq!(failing.scenario, 1);
    // Seed-major order: only seeds up to the failing one ran for either file, and the results
    // are listed by scenario, then seed.
    let seed = failing.seed;
    let mut expected: Vec<(usize, u64)> = (1..=seed).map(|s| (0, s)).collect();
    expected.extend((1..=seed).map(|s| (1, s)));
    assert_eq!(ran, expected);
}

fn raftsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

#[test]
fn hunt_cli_exit_statuses_and_bad_input() {
    let dir = findings_dir("cli");
    let d = dir.to_str().unwrap();
    let lib = scenarios_dir();
    let figure8 = lib.join("figure8.toml");
    let f8 = figure8.to_str().unwrap();
    let out = raftsim(&["hunt", f8, "--runs", "4", "--findings", d]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("CLEAN  hunt of 1 scenarios"), "{text}");
    assert!(text.contains("situations"));

    let out = raftsim(&[
        "hunt",
        f8,
        "--mutation",
        "vote-without-log-check",
        "--findings",
        d,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "found");
    let file = json["finding"]["file"].as_str().unwrap();
    assert!(std::path::Path::new(file).is_file());
    let reproduce: Vec<&str> = json["finding"]["reproduce"]
        .as_str()
        .unwrap()
        .split(' ')
        .collect();
    assert_eq!(&reproduce[..3], ["raftsim", "run", file]);
    let replay = raftsim(&reproduce[1..]);
    assert_eq!(
        replay.status.code(),
        Some(1),
        "the reproduce command fails the same way"
    );

    let empty = findings_dir("empty");
    let empty = empty.to_str().unwrap();
    let bad: [(&[&str], &str); 5] = [
        (
            &["hunt", f8, "--mutation", "no-such-rule"],
            "unknown mutation `no-such-rule`",
        ),
        (&["hunt", f8, "--time", "0s"], "the time must be positive"),
        (&["hunt", f8, "--time", "soon"], "not a valid duration"),
        (&["hunt", empty], "no scenario file (*.toml) in"),
        (&["hunt", f8, "--findings", f8], "not a directory"),
    ];
    for (args, message) in bad {
        let out = raftsim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn ctrl_c_stops_a_hunt_with_its_summary_and_exit_130() {
    let dir = findings_dir("interrupt");
    let child = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(["hunt", "--time", "10m", "--findings", dir.to_str().unwrap()])
        .current_dir(scenarios_dir().join(".."))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("raftsim starts");
    // Let it get past the start (the handler is set before the first run), then interrupt.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().expect("raftsim ends");
    assert_eq!(out.status.code(), Some(130));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("INTERRUPTED  hunt of"), "{text}");
    assert!(text.contains("situations"), "{text}");
}

#[test]
fn bugs_prints_a_row_per_mutation_and_the_unmutated_verdict() {
    let dir = findings_dir("bugs");
    let lib = scenarios_dir();
    let paths = ["churn", "exactly-once"].map(|n| lib.join(format!("{n}.toml")));
    let mut args: Vec<&str> = vec!["bugs"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    args.extend([
        "--only",
        "vote-without-log-check,no-session-dedup",
        "--time-per-mutation",
        "20s",
        "--clean-time",
        "1s",
        "--findings",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let out = raftsim(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["found"] == true));
    assert_eq!(rows[1]["invariant"], "exactly-once");
    assert_eq!(json["clean"]["verdict"], "clean");
    let out = raftsim(&[
        "bugs",
        "--only",
        "nope",
        "--findings",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// `bugs --shrink`: each finding is shrunk beside itself, the row carries the shrunk sizes,
/// and the shrunk file breaks the same invariant with the mutation and passes without it.
#[test]
fn bugs_shrink_writes_a_smaller_file_that_fails_the_same_way() {
    let dir = findings_dir("bugs-shrink");
    let lib = scenarios_dir();
    let path = lib.join("churn.toml");
    let args = [
        "bugs",
        path.to_str().unwrap(),
        "--only",
        "no-session-dedup",
        "--time-per-mutation",
        "20s",
        "--clean-time",
        "1s",
        "--shrink",
        "--findings",
        dir.to_str().unwrap(),
        "--json",
    ];
    let out = raftsim(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &json["rows"][0];
    let shrunk = &row["shrunk"];
    assert!(
        shrunk["events_after"].as_u64() <= shrunk["events_before"].as_u64(),
        "{row}"
    );
    assert_eq!(shrunk["events_before"], row["events"]);
    let file = shrunk["file"].as_str().unwrap();
    assert!(file.ends_with(".shrunk.toml"), "{file}");
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("# Invariant: exactly-once"), "{text}");
    let with = raftsim(&["run", file, "--mutation", "no-session-dedup"]);
    assert_eq!(with.status.code(), Some(1));
    let without = raftsim(&["run", file]);
    assert_eq!(without.status.code(), Some(0));
}
