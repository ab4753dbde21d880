//! `raftsim hunt` and `raftsim bugs`: the wall-clock side of hunting (deadlines, progress,
//! the time to a finding). The clock decides only when a hunt stops, never what a run does.

use super::{BugsArgs, HuntArgs, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_VIOLATION};
use crate::hunt::{self, HuntScenario, Plan};
use crate::implementation::Implementation;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Scenario files in `paths`: each file as given, each directory's `*.toml` files sorted by
/// name (not its subdirectories, which hold long runs and regressions).
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| format!("{}: cannot list the directory: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!("no scenario file (*.toml) in {}", shown.join(" ")));
    }
    Ok(files)
}

/// The scenario files of `paths`, each against `implementation` if given (a file whose own
/// `implementation` differs is then written out again with it, so that a finding's copy of
/// the file runs what the hunt ran).
fn load_library(
    paths: &[PathBuf],
    implementation: Option<Implementation>,
) -> Result<Vec<HuntScenario>, String> {
    let mut scenarios = Vec::new();
    for file in scenario_files(paths)? {
        let mut text = crate::history::input::read_to_string(&file, "the scenario file")?;
        let path = file.display().to_string();
        let mut scenario = crate::scenario::parse(&path, &text).map_err(|e| e.to_string())?;
        if let Some(i) = implementation.filter(|&i| i != scenario.implementation) {
            scenario.implementation = i;
            text = scenario.to_toml();
        }
        scenarios.push(HuntScenario {
            path,
            text,
            scenario,
        });
    }
    Ok(scenarios)
}

/// `--mutation NAME` must be one of every scenario's implementation.
fn check_mutation(scenarios: &[HuntScenario], name: &str) -> Result<(), String> {
    for s in scenarios {
        super::check_mutation(s.scenario.implementation, name)
            .map_err(|e| format!("{}: {e}", s.path))?;
    }
    Ok(())
}

pub(crate) fn jobs_or_cores(jobs: Option<u64>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    jobs.map_or(cores, |j| j as usize)
}

/// Raised by Ctrl-C; a second Ctrl-C exits at once.
pub(crate) fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler = Arc::clone(&flag);
    let _ = ctrlc::set_handler(move || {
        if handler.swap(true, Ordering::Relaxed) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    flag
}

/// One hunt with a wall-clock budget. Returns the hunt and its wall time.
fn timed_hunt(
    plan: &Plan,
    budget: Duration,
    interrupted: &AtomicBool,
    progress: bool,
) -> Result<(hunt::Hunt, f64), String> {
    let stop = AtomicBool::new(false);
    // Wall time decides only when the hunt stops and what the progress line says; no run
    // reads it, and the runs tried do not depend on it.
    let started = Instant::now();
    let mut line_last = started;
    let result = hunt::run(plan, &stop, |p| {
        if started.elapsed() >= budget || interrupted.load(Ordering::Relaxed) {
            stop.store(true, Ordering::Relaxed);
        }
        // The clock paces the progress line only.
        if progress && line_last.elapsed() >= Duration::from_secs(5) {
            line_last = Instant::now();
            eprintln!(
                "hunting: {} runs, {} regions, {:.0} s",
                p.runs,
                p.regions,
                started.elapsed().as_secs_f64()
            );
        }
    });
    Ok((result?, started.elapsed().as_secs_f64()))
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

pub(crate) fn hunt(args: HuntArgs) -> ExitCode {
    let scenarios = match load_library(&args.paths, args.implementation) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    if let Some(Err(e)) = args
        .mutation
        .as_deref()
        .map(|m| check_mutation(&scenarios, m))
    {
        return bad_input(&e);
    }
    if let Err(e) = hunt::prepare_findings_dir(&args.findings) {
        return bad_input(&e);
    }
    let plan = Plan {
        scenarios,
        jobs: jobs_or_cores(args.jobs),
        mutation: args.mutation,
        seed_base: args.seed_base,
        findings_dir: args.findings,
        runs_max: args.runs.unwrap_or(hunt::RUNS_MAX),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let interrupted = interrupt_flag();
    let (result, wall_s) = match timed_hunt(&plan, args.time, &interrupted, !args.json) {
        Ok(r) => r,
        Err(e) => return bad_input(&e),
    };
    let was_interrupted = interrupted.load(Ordering::Relaxed);
    let report = hunt::Report::new(&plan, &result, wall_s, was_interrupted);
    if args.json {
        let json = serde_json::to_string(&report).expect("a report always serializes");
        crate::history::cli::print_out(&format!("{json}\n"));
    } else {
        crate::history::cli::print_out(&report.human());
    }
    match (&report.finding, was_interrupted) {
        (Some(_), _) => ExitCode::from(EXIT_VIOLATION),
        (None, true) => ExitCode::from(EXIT_INTERRUPTED),
        (None, false) => ExitCode::SUCCESS,
    }
}

/// One row of the bugs table.
#[derive(Clone, Debug, Serialize)]
struct BugRow {
    mutation: String,
    found: bool,
    /// Wall time of the hunt: to the first detection if found, else the whole budget.
    wall_s: f64,
    runs: u64,
    invariant: Option<&'static str>,
    scenario: Option<String>,
    variant: Option<u32>,
    events: Option<u64>,
    reproduce: Option<String>,
    /// With `--shrink`: the shrunk finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    shrunk: Option<ShrunkRow>,
}

/// A finding shrunk (`raftsim bugs --shrink`).
#[derive(Clone, Debug, Serialize)]
struct ShrunkRow {
    events_before: u64,
    events_after: u64,
    /// Schedule actions, proposals and client operations left.
    actions_and_operations: u64,
    nodes: u64,
    wall_s: f64,
    complete: bool,
    file: String,
}

#[derive(Clone, Debug, Serialize)]
struct BugsReport {
    time_per_mutation_s: f64,
    jobs: usize,
    seed_base: u64,
    rows: Vec<BugRow>,
    found: usize,
    median_s: Option<f64>,
    slowest_s: Option<f64>,
    clean: hunt::Report,
}

fn bug_row(mutation: &str, h: &hunt::Hunt, wall_s: f64) -> BugRow {
    let f = h.finding.as_ref();
    BugRow {
        mutation: mutation.to_string(),
        found: f.is_some(),
        wall_s,
        runs: f.map_or(h.runs.len() as u64, |f| f.runs_until),
        invariant: f.map(|f| f.invariant),
        scenario: f.map(|f| f.scenario.clone()),
        variant: f.map(|f| f.variant),
        events: f.map(|f| f.events),
        reproduce: f.map(|f| f.reproduce.clone()),
        shrunk: None,
    }
}

/// Shrinks a finding of a mutation's hunt within `budget`, writing `*.shrunk.toml` beside it.
fn shrink_finding(
    finding: &hunt::Finding,
    mutation: &str,
    jobs: usize,
    budget: Duration,
    interrupted: &AtomicBool,
) -> Result<ShrunkRow, String> {
    let path = Path::new(&finding.file);
    let scenario = crate::scenario::load(path).map_err(|e| e.to_string())?;
    let request = crate::shrink::Request {
        scenario,
        seed: finding.seed,
        mutation: Some(mutation.to_string()),
        jobs,
        explicit_only: false,
        seeds: crate::shrink::SEEDS_DEFAULT,
    };
    let (result, wall_s) = super::shrink_cli::timed_shrink(&request, budget, interrupted);
    let shrunk = result.map_err(|e| format!("{}: {e}", finding.file))?;
    let command = format!(
        "raftsim run {} --seed {} --mutation {mutation}",
        finding.file, finding.seed
    );
    let text = crate::shrink::file_text(&shrunk, &command, Some(mutation));
    let file = finding.file.trim_end_matches(".toml").to_string() + ".shrunk.toml";
    std::fs::write(&file, text).map_err(|e| format!("{file}: {e}"))?;
    Ok(ShrunkRow {
        events_before: shrunk.before.events,
        events_after: shrunk.after.events,
        actions_and_operations: shrunk.after.actions_and_operations(),
        nodes: shrunk.after.nodes,
        wall_s,
        complete: shrunk.complete,
        file,
    })
}

fn median_and_max(mut xs: Vec<f64>) -> (Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None);
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    (Some(median), xs.last().copied())
}

fn bugs_plan(args: &BugsArgs, scenarios: Vec<HuntScenario>, dir: &Path) -> Plan {
    Plan {
        scenarios,
        jobs: jobs_or_cores(args.jobs),
        mutation: None,
        seed_base: args.seed_base,
        findings_dir: dir.to_path_buf(),
        runs_max: hunt::RUNS_MAX,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    }
}

pub(crate) fn bugs(args: BugsArgs) -> ExitCode {
    let scenarios = match load_library(&args.paths, args.implementation) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    for name in &args.only {
        if let Err(e) = check_mutation(&scenarios, name) {
            return bad_input(&e.replace("--mutation", "--only"));
        }
    }
    if let Err(e) = hunt::prepare_findings_dir(&args.findings) {
        return bad_input(&e);
    }
    // The mutations every scenario's implementation has.
    let mutations: Vec<&str> = Implementation::ALL
        .iter()
        .flat_map(|i| i.mutations())
        .filter(|n| {
            scenarios
                .iter()
                .all(|s| s.scenario.implementation.mutations().contains(n))
        })
        .filter(|n| args.only.is_empty() || args.only.iter().any(|o| o == n))
        .fold(Vec::new(), |mut names, n| {
            if !names.contains(&n) {
                names.push(n);
            }
            names
        });
    let mut plan = bugs_plan(&args, scenarios, &args.findings);
    let interrupted = interrupt_flag();
    let mut rows = Vec::new();
    for name in &mutations {
        plan.mutation = Some(name.to_string());
        let (h, wall_s) = match timed_hunt(&plan, args.time_per_mutation, &interrupted, false) {
            Ok(r) => r,
            Err(e) => return bad_input(&e),
        };
        let mut row = bug_row(name, &h, wall_s);
        if let (true, Some(finding)) = (args.shrink, &h.finding) {
            let shrunk = shrink_finding(finding, name, plan.jobs, args.shrink_time, &interrupted);
            match shrunk {
                Ok(s) => row.shrunk = Some(s),
                Err(e) => return bad_input(&e),
            }
        }
        if !args.json {
            eprintln!("{}", row_line(&row));
        }
        rows.push(row);
        if interrupted.load(Ordering::Relaxed) {
            break;
        }
    }
    plan.mutation = None;
    let clean_budget = args
        .clean_time
        .unwrap_or(args.time_per_mutation * mutations.len().max(1) as u32);
    let (clean, clean_s) = match timed_hunt(&plan, clean_budget, &interrupted, !args.json) {
        Ok(r) => r,
        Err(e) => return bad_input(&e),
    };
    let was_interrupted = interrupted.load(Ordering::Relaxed);
    let clean_report = hunt::Report::new(&plan, &clean, clean_s, was_interrupted);
    let found_times: Vec<f64> = rows.iter().filter(|r| r.found).map(|r| r.wall_s).collect();
    let (median_s, slowest_s) = median_and_max(found_times);
    let report = BugsReport {
        time_per_mutation_s: args.time_per_mutation.as_secs_f64(),
        jobs: plan.jobs,
        seed_base: plan.seed_base,
        found: rows.iter().filter(|r| r.found).count(),
        rows,
        median_s,
        slowest_s,
        clean: clean_report,
    };
    if args.json {
        let json = serde_json::to_string(&report).expect("a report always serializes");
        crate::history::cli::print_out(&format!("{json}\n"));
    } else {
        crate::history::cli::print_out(&bugs_table(&report, mutations.len()));
    }
    let all_found = report.found == mutations.len();
    match (was_interrupted, all_found && clean.finding.is_none()) {
        (true, _) => ExitCode::from(EXIT_INTERRUPTED),
        (false, true) => ExitCode::SUCCESS,
        (false, false) => ExitCode::from(EXIT_VIOLATION),
    }
}

fn row_line(r: &BugRow) -> String {
    let found = if r.found { "found" } else { "MISSED" };
    let mut line = format!(
        "{:<34} {:<6} {:>7.2} {:>7} {:<22} {:<28} {:>9}",
        r.mutation,
        found,
        r.wall_s,
        r.runs,
        r.invariant.unwrap_or("-"),
        match (&r.scenario, r.variant) {
            (Some(s), Some(v)) => format!("{s} v{v}"),
            _ => "-".to_string(),
        },
        r.events.map_or("-".to_string(), |e| e.to_string()),
    );
    if let Some(s) = &r.shrunk {
        line.push_str(&format!(
            " {:>9} {:>6} {:>5} {:>7.1}{}",
            s.events_after,
            s.actions_and_operations,
            s.nodes,
            s.wall_s,
            if s.complete {
                ""
            } else {
                " (cut at --shrink-time)"
            }
        ));
    }
    line
}

fn bugs_table(report: &BugsReport, mutations: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let shrunk = report.rows.iter().any(|r| r.shrunk.is_some());
    let _ = write!(
        s,
        "{:<34} {:<6} {:>7} {:>7} {:<22} {:<28} {:>9}",
        "mutation", "found", "wall_s", "runs", "checker", "scenario", "events"
    );
    let _ = match shrunk {
        true => writeln!(
            s,
            " {:>9} {:>6} {:>5} {:>7}",
            "shrunk_ev", "items", "nodes", "shrink_s"
        ),
        false => writeln!(s),
    };
    for row in &report.rows {
        let _ = writeln!(s, "{}", row_line(row));
    }
    let fmt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.2} s"));
    let _ = writeln!(
        s,
        "\nfound {} of {mutations} mutations with {:.0} s each on {} jobs; median {}, slowest {}",
        report.found,
        report.time_per_mutation_s,
        report.jobs,
        fmt(report.median_s),
        fmt(report.slowest_s)
    );
    let shrunk: Vec<&ShrunkRow> = report
        .rows
        .iter()
        .filter_map(|r| r.shrunk.as_ref())
        .collect();
    if !shrunk.is_empty() {
        let items: Vec<f64> = shrunk
            .iter()
            .map(|r| r.actions_and_operations as f64)
            .collect();
        let times: Vec<f64> = shrunk.iter().map(|r| r.wall_s).collect();
        let (items_median, items_max) = median_and_max(items);
        let (time_median, time_max) = median_and_max(times);
        let _ = writeln!(
            s,
            "shrunk {} findings: schedule actions and operations left median {:.0}, most {:.0}; \
             shrink time median {:.1} s, longest {:.1} s",
            shrunk.len(),
            items_median.unwrap_or(0.0),
            items_max.unwrap_or(0.0),
            time_median.unwrap_or(0.0),
            time_max.unwrap_or(0.0)
        );
    }
    let c = &report.clean;
    let verdict = match &c.finding {
        None => "clean".to_string(),
        Some(f) => format!("FALSE ALARM {}: {}", f.invariant, f.reproduce),
    };
    let _ = writeln!(
        s,
        "unmutated: {verdict} after {} runs in {:.1} s ({} events)",
        c.runs, c.wall_s, c.events
    );
    s
}
