//! Charts and pages of real runs: trace files read back to what the run itself draws, the
//! timeline has what the trace has (a lane per node, a marker per crash, a bar per client
//! operation, the violation and its evidence), and `raftsim chart`, `run --chart/--report` and
//! `sweep --report` write what they say.

use crate::scenarios_dir;
use reports::model::{FaultKind, OpOutcome};
use sim::trace::Event;
use sim::trace_file::{self, Header};
use sim::{Outcome, RunOptions};
use std::path::PathBuf;
use std::process::{Command, Output};

fn run_traced(name: &str, seed: u64, mutation: Option<&str>) -> (Header, Outcome) {
    let path = scenarios_dir().join(format!("{name}.toml"));
    let (s, origin) = trace_file::Origin::load(&path, mutation).unwrap();
    let options = RunOptions {
        keep_trace: true,
        mutation: mutation.map(str::to_string),
        events_max: None,
    };
    let outcome = sim::run(&s, seed, options).unwrap();
    let header = Header::new(
        &s,
        &outcome,
        format!("raftsim run {name}.toml --seed {seed}"),
        &origin,
    );
    (header, outcome)
}

fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn raftsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

/// A nemesis seed whose history is not linearizable when reads skip the quorum check.
fn failing_history_seed() -> u64 {
    (1..=20)
        .find(|&seed| {
            let (_, o) = run_traced("nemesis", seed, Some("read-without-quorum"));
            o.violation
                .as_ref()
                .is_some_and(|v| v.invariant == sim::Invariant::Linearizability)
        })
        .expect("read-without-quorum breaks linearizability on one of nemesis seeds 1..=20")
}

#[test]
fn a_trace_file_reads_back_to_what_the_run_draws() {
    let seed = failing_history_seed();
    for (name, seed, mutation) in [
        ("figure8", 3, None),
        ("membership-churn", 1, None),
        ("nemesis", seed, Some("read-without-quorum")),
        ("stale-messages", 3, None),
        ("protocol-crashes", 3, None),
    ] {
        let (header, outcome) = run_traced(name, seed, mutation);
        let path = temp(&format!("{name}-{seed}.jsonl"));
        trace_file::write(&path, &header, &outcome).unwrap();
        let (read_header, read) = trace_file::read(&path).unwrap();
        assert_eq!(read_header, header);
        let direct = trace_file::facts(&header, &outcome);
        assert!(!direct.steps.is_empty(), "{name}: steps");
        assert!(
            read == direct,
            "{name} seed {seed}: the file reads back to other facts"
        );
    }
}

#[test]
fn the_timeline_has_a_lane_per_node_a_marker_per_crash_and_a_bar_per_operation() {
    let (header, outcome) = run_traced("nemesis", 2, None);
    let t = sim::timeline::timeline(&trace_file::facts(&header, &outcome));
    let records = outcome.trace.all().unwrap();
    assert_eq!(t.nodes, (1..=header.nodes).collect::<Vec<_>>());
    let crashes = records
        .iter()
        .filter(|r| matches!(r.event, Event::Crash { .. }))
        .count();
    let markers = t
        .faults
        .iter()
        .filter(|f| f.kind == FaultKind::Crash)
        .count();
    assert!(crashes > 0, "nemesis seed 2 crashes nodes");
    assert_eq!(markers, crashes);
    let invocations = outcome
        .history
        .iter()
        .filter(|e| e.kind == sim::history::EventKind::Invoke)
        .count();
    assert_eq!(t.ops.len(), invocations);
    assert!(t.ops.iter().any(|op| op.outcome == OpOutcome::Ok));
    // Each node's bands tile its lane from 0 to the end.
    for node in &t.nodes {
        let mut at = 0;
        for span in t.roles.iter().filter(|s| s.node == *node) {
            assert_eq!(span.from_ns, at, "node {node}: a gap or an overlap at {at}");
            at = span.to_ns;
        }
        assert_eq!(at, t.end_ns, "node {node}");
    }
    assert!(t.violation.is_none());
    assert!(!t.messages.is_empty());
}

#[test]
fn a_failing_history_marks_the_violation_and_highlights_its_evidence() {
    let seed = failing_history_seed();
    let (header, outcome) = run_traced("nemesis", seed, Some("read-without-quorum"));
    let t = sim::timeline::timeline(&trace_file::facts(&header, &outcome));
    let mark = t.violation.as_ref().expect("a violation mark");
    assert!(mark.title.starts_with("linearizability"), "{}", mark.title);
    let minimal: usize = outcome
        .linearizability
        .as_ref()
        .unwrap()
        .keys
        .iter()
        .map(|k| k.minimal.len())
        .sum();
    let highlighted = t.ops.iter().filter(|op| op.highlighted).count();
    assert!(minimal > 0);
    assert_eq!(highlighted, minimal);
}

#[test]
fn the_same_run_draws_the_same_bytes() {
    let draw = || {
        let (header, outcome) = run_traced("figure8", 5, None);
        let t = sim::timeline::timeline(&trace_file::facts(&header, &outcome));
        let options = reports::timeline::ChartOptions::default();
        reports::timeline::svg(&t, &options).unwrap()
    };
    assert_eq!(draw(), draw());
}

#[test]
fn chart_draws_a_trace_file_and_refuses_a_bad_one() {
    let trace = temp("chart-figure8.jsonl");
    let svg = temp("chart-figure8.svg");
    let png = temp("chart-figure8-zoom.png");
    let figure8 = scenarios_dir().join("figure8.toml");
    let out = raftsim(&[
        "run",
        figure8.to_str().unwrap(),
        "--seed",
        "4",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = raftsim(&[
        "chart",
        trace.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") || text.starts_with("<?xml"));
    let out = raftsim(&[
        "chart",
        trace.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
        "--from",
        "2s",
        "--to",
        "2500ms",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // Bad input: exit 2 and a message naming the file and line, or the flag.
    let bad = temp("bad-trace.jsonl");
    std::fs::write(&bad, "{\"seq\":0}\n").unwrap();
    let out = raftsim(&["chart", bad.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:1:", bad.display())), "{err}");
    let out = raftsim(&["chart", trace.to_str().unwrap(), "-o", "/tmp/x.gif"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".svg or .png"));
    let out = raftsim(&[
        "chart",
        trace.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
        "--from",
        "3s",
        "--to",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_report_writes_a_page_with_the_verdict_and_the_reproduce_command() {
    let seed = failing_history_seed().to_string();
    let dir = temp("run-report");
    let nemesis = scenarios_dir().join("nemesis.toml");
    let out = raftsim(&[
        "run",
        nemesis.to_str().unwrap(),
        "--seed",
        &seed,
        "--mutation",
        "read-without-quorum",
        "--report",
        dir.to_str().unwrap(),
        "--chart",
        temp("run-report.png").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "a violation");
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(page.contains("violation"));
    assert!(page.contains(&format!("--seed {seed} --mutation read-without-quorum")));
    assert!(page.contains("linearizability"));
    assert!(page.contains("<svg"), "the timeline is inline");
    assert!(std::fs::read(temp("run-report.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
}

#[test]
fn sweep_report_writes_distributions_and_pages_for_failing_runs() {
    let dir = temp("sweep-report");
    let _ = std::fs::remove_dir_all(&dir);
    let figure8 = scenarios_dir().join("figure8.toml");
    let out = raftsim(&[
        "sweep",
        figure8.to_str().unwrap(),
        "--seeds",
        "1..40",
        "--mutation",
        "commit-prior-term-by-counting",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "some seed fails");
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(page.contains("time to a new leader after a leader crash"));
    let runs: Vec<_> = std::fs::read_dir(dir.join("runs")).unwrap().collect();
    assert!(!runs.is_empty(), "failing runs have pages");
    for run in runs {
        let name = run.unwrap().file_name().into_string().unwrap();
        assert!(
            page.contains(&format!("runs/{name}/index.html")),
            "the sweep page links {name}"
        );
    }
}

#[test]
fn a_safety_violation_page_zooms_in_on_its_last_moments_with_every_message() {
    let (header, outcome) = run_traced("figure8", 7, Some("commit-prior-term-by-counting"));
    let v = outcome
        .violation
        .as_ref()
        .expect("figure8 seed 7 fails with the mutation");
    let report = sim::Report::new(&outcome, "figure8", "figure8.toml", None, 0.0);
    let page = sim::pages::run_page(&header, &outcome, &report);
    let (from, to) = page.zoom.expect("a zoom window");
    assert!(
        from < v.time_ns && v.time_ns <= to,
        "{from} {} {to}",
        v.time_ns
    );
    let html = reports::html::run_page(&page);
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "the timeline, then the zoom"
    );
    assert!(html.contains("class=\"message"), "arrows in the zoom");
    // A history violation has no zoom: its evidence spans the run.
    let seed = failing_history_seed();
    let (header, outcome) = run_traced("nemesis", seed, Some("read-without-quorum"));
    let report = sim::Report::new(&outcome, "nemesis", "nemesis.toml", None, 0.0);
    assert!(sim::pages::run_page(&header, &outcome, &report)
        .zoom
        .is_none());
}

/// `run --chart/--report` draws from what `pages::Kept` kept as the run went, not from every
/// event. For a failing run that keeps the page as it was: the same events listed, the same
/// violation and its leading events, the same role bands, faults and operations, and every
/// message of the zoomed-in last moments; only the commit line is thinned (to one point per
/// node per pixel of the widest chart).
#[test]
fn a_page_from_what_was_kept_is_the_page_from_every_event() {
    let (header, outcome) = run_traced("figure8", 7, Some("commit-prior-term-by-counting"));
    let report = sim::Report::new(&outcome, "figure8", "figure8.toml", None, 0.0);
    let full = sim::pages::run_page(&header, &outcome, &report);
    let mut kept = sim::pages::Kept::new(header.end_ns);
    for record in outcome.trace.all().unwrap() {
        kept.add(record);
    }
    let (facts, records) = kept.finish(&header, &outcome);
    let page = sim::pages::run_page_of(&header, &outcome, &report, &facts, &records);
    assert_eq!(page.events, full.events);
    assert_eq!(page.violations, full.violations);
    assert_eq!(page.zoom, full.zoom);
    let (t, f) = (&page.timeline, &full.timeline);
    assert_eq!((&t.roles, &t.faults, &t.ops), (&f.roles, &f.faults, &f.ops));
    let (from, to) = page.zoom.expect("a zoom window");
    let in_zoom = |m: &&reports::model::Message| m.sent_ns <= to && m.arrived_ns >= from;
    let zoomed: Vec<_> = t.messages.iter().filter(in_zoom).collect();
    assert_eq!(
        zoomed,
        f.messages.iter().filter(in_zoom).collect::<Vec<_>>()
    );
    assert!(!zoomed.is_empty());
    assert_eq!(
        t.messages.len() as u64 + t.messages_left_out,
        f.messages.len() as u64,
        "every message is drawn or counted"
    );
    assert!(t.commits.len() <= f.commits.len());
    assert_eq!(t.commits.last(), f.commits.last());
}

/// What is kept of a run for its pictures does not grow with its messages and commits: ten
/// simulated minutes of `churn` keep a few thousand steps, not its millions of events.
#[test]
fn what_is_kept_for_pictures_is_bounded() {
    let mut s = sim::scenario::load(&scenarios_dir().join("churn.toml")).unwrap();
    s.duration_ns = 600_000_000_000;
    s.faults.until_ns = 570_000_000_000;
    s.workload.count = 28_000;
    s.clients.operations = 10_000;
    let (s, origin) = (
        s,
        trace_file::Origin::load(&scenarios_dir().join("churn.toml"), None)
            .unwrap()
            .1,
    );
    let outcome = sim::run(
        &s,
        1,
        RunOptions {
            keep_trace: true,
            mutation: None,
            events_max: None,
        },
    )
    .unwrap();
    let header = Header::new(&s, &outcome, String::new(), &origin);
    let records = outcome.trace.all().unwrap();
    let mut kept = sim::pages::Kept::new(header.end_ns);
    for record in records {
        kept.add(record);
    }
    let (facts, listed) = kept.finish(&header, &outcome);
    let steps = facts.steps.len();
    assert!(
        steps < records.len() / 20 && listed.len() <= 2_400,
        "{steps} steps and {} records kept of {} events",
        listed.len(),
        records.len()
    );
}

/// `raftsim chart TRACE` reads what its chart draws and no more (`Keep::ForChart`): the whole
/// run gives the same bands, faults and operations as every step, and the same count of
/// messages; a window keeps every message and commit inside it.
#[test]
fn a_chart_reads_only_what_it_draws_from_a_trace_file() {
    let (header, outcome) = run_traced("nemesis", 3, None);
    let path = temp("keep-nemesis.jsonl");
    trace_file::write(&path, &header, &outcome).unwrap();
    let all = sim::timeline::timeline(&trace_file::read(&path).unwrap().1);
    let keep = |from_ns, to_ns| {
        let kept = trace_file::Keep::ForChart { from_ns, to_ns };
        sim::timeline::timeline(&trace_file::read_keeping(&path, kept).unwrap().1)
    };
    let whole = keep(None, None);
    assert_eq!(
        (&whole.roles, &whole.faults, &whole.ops),
        (&all.roles, &all.faults, &all.ops)
    );
    assert_eq!(
        whole.messages.len() as u64 + whole.messages_left_out,
        all.messages.len() as u64
    );
    assert!(
        whole.commits.len() < all.commits.len(),
        "the commit line is thinned"
    );
    let (from, to) = (2_000_000_000, 2_500_000_000);
    let window = keep(Some(from), Some(to));
    let inside =
        |m: &&reports::model::Message| m.sent_ns <= to && m.arrived_ns.max(m.sent_ns) >= from;
    let expected: Vec<_> = all.messages.iter().filter(inside).collect();
    assert!(!expected.is_empty());
    assert_eq!(window.messages.iter().collect::<Vec<_>>(), expected);
    let commits_in = |t: &reports::model::Timeline| -> Vec<reports::model::CommitPoint> {
        t.commits
            .iter()
            .filter(|c| (from..=to).contains(&c.time_ns))
            .cloned()
            .collect()
    };
    assert_eq!(commits_in(&window), commits_in(&all));
}
