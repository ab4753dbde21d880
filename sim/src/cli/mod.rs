//! The `raftsim` commands, as a library: [`Cli`] is the command line (clap), [`execute`] runs
//! one command and returns its exit status. `main.rs` only parses and calls it. Each command
//! reads its input, runs the simulator's library functions and prints; nothing here draws a
//! random number or affects a run.

mod hunt_cli;
mod outputs;
mod shrink_cli;

use crate::implementation::Implementation;
use crate::{Report, RunOptions};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status of a run that found a violation.
const EXIT_VIOLATION: u8 = 1;
/// Exit status of a replay whose run differs from its trace file.
const EXIT_DIVERGED: u8 = 1;
/// Exit status for bad input: a scenario file, a flag.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status of a run that stopped at its event budget before its end, without a
/// violation: nothing is known of the rest of the run.
const EXIT_BUDGET: u8 = 3;

/// The `raftsim` command line.
#[derive(Parser, Debug)]
#[command(
    name = "raftsim",
    version,
    about = "Deterministic simulation testing for Raft"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The largest input file read whole (a scenario file, a history, a fuzz input), and the
    /// longest line of one read line by line (default 268435456, 256 MiB). Devices, FIFOs and
    /// directories are refused whatever the limit.
    #[arg(long, global = true, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    max_input_bytes: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario with one seed and check every safety invariant after every event,
    /// and the clients' history at the end.
    Run(RunArgs),
    /// Shrink a failing run (a scenario file and a seed, such as a hunt finding) to the
    /// smallest scenario file that still breaks the same invariant: the drawn faults and
    /// workload made explicit, then cut down (ddmin), fewer nodes and clients, a shorter run,
    /// random knobs off. Exit 0 written, 2 bad input (including a seed that passes), 130
    /// interrupted (the smallest file so far is written).
    #[command(
        after_help = "Example:\n  raftsim hunt --mutation install-older-snapshot --findings out/findings\n  \
                            raftsim shrink out/findings/change-while-down-v0-seed1-install-older-snapshot.toml --seed 1 --mutation install-older-snapshot -o out/small.toml\n  \
                            raftsim run out/small.toml --mutation install-older-snapshot"
    )]
    Shrink(shrink_cli::ShrinkArgs),
    /// Check a history (raftsim JSON lines, Jepsen EDN or a Jepsen log) for linearizability.
    /// Exit 0 linearizable, 1 not, 3 unknown (step budget spent), 2 bad input.
    CheckHistory(crate::history::cli::CheckHistoryArgs),
    /// Run many seeds of one or more scenarios on several threads; list the failing seeds with
    /// a reproduce command each, and the protocol situations reached.
    /// Exit 0 all passed, 1 a run failed, 2 bad input, 130 interrupted.
    Sweep(SweepArgs),
    /// Turn a fuzz input (a libFuzzer crash file or corpus entry) into a scenario file that
    /// `raftsim run FILE` replays.
    ///
    /// The bytes are decoded exactly as the fuzz target decodes them
    /// (`crate::fuzz_input::from_bytes`), and the file written is the very scenario the fuzz
    /// target ran, seed included. Exit 0 written, 2 bad input: an unreadable artifact, bytes
    /// too short to be a fuzz input or that give no valid scenario, an unwritable FILE.
    #[command(
        after_help = "Example (a crash file of `cargo fuzz run schedule` is in fuzz/artifacts/schedule/):\n  \
                            raftsim from-fuzz fuzz/seeds/schedule/seed-0 -o out/finding.toml\n  \
                            raftsim run out/finding.toml"
    )]
    FromFuzz(FromFuzzArgs),
    /// Draw the timeline of a run from its trace file (`raftsim run --trace FILE`): one lane per
    /// node with its roles and terms, the faults, one lane per client with its operations, the
    /// violation if any. Zoom in with --from/--to to see each message as an arrow.
    /// Exit 0 drawn, 2 bad input (an unreadable trace, a bad window, an unwritable FILE).
    #[command(
        after_help = "Example:\n  raftsim run scenarios/figure8.toml --seed 7 --trace out/t.jsonl\n  \
                            raftsim chart out/t.jsonl -o out/t.svg\n  \
                            raftsim chart out/t.jsonl -o out/zoom.png --from 2.5s --to 3s"
    )]
    Chart(ChartArgs),
    /// Hunt for bugs: a time-boxed, breadth-first campaign over a library of scenarios and
    /// variants of them, steered toward rare protocol situations. It stops at the first
    /// violation and writes a scenario file that replays it.
    /// Exit 0 clean, 1 found, 2 bad input, 130 interrupted.
    #[command(
        after_help = "Example:\n  raftsim hunt --runs 100 --findings out/findings\n  \
                            raftsim hunt scenarios/figure8.toml scenarios/churn.toml --mutation vote-without-log-check --findings out/findings"
    )]
    Hunt(HuntArgs),
    /// The bug-finding benchmark: for every mutation, a hunt over the library; then the
    /// unmutated build with the same total budget, which must come out clean. Prints, per
    /// mutation, whether it was found, how fast, by which checker and in which scenario.
    /// Exit 0 every mutation found and the unmutated hunt clean, 1 otherwise, 2 bad input,
    /// 130 interrupted.
    Bugs(BugsArgs),
    /// Print a run's trace file (`raftsim run --trace FILE`) as a text timeline: one line per
    /// event with the time, the node, its role, term and commit index after the event, and
    /// what happened, messages in full. Exit 0 printed, 2 bad input (an unreadable trace, a
    /// bad window).
    #[command(
        after_help = "Example:\n  raftsim run scenarios/figure8.toml --seed 7 --trace out/t.jsonl\n  \
                            raftsim log out/t.jsonl --node 3 --from 2.5s --to 3s"
    )]
    Log(LogArgs),
    /// Run a trace file's run again (the header's scenario file, seed and mutation) and
    /// compare the new trace with the file, record by record: identical, or the first event
    /// that differs, side by side, with the 10 events before it. `--mutation` replays with
    /// another rule broken (or `none`), to see where a change in the code changes behaviour.
    /// Exit 0 identical, 1 diverged, 2 bad input (an unreadable, malformed or truncated trace,
    /// a scenario file missing or changed since the trace was written, a bad flag).
    #[command(
        after_help = "Example:\n  raftsim run scenarios/figure8.toml --seed 7 --trace out/t.jsonl\n  \
                            raftsim replay out/t.jsonl\n  \
                            raftsim replay out/t.jsonl --mutation vote-without-log-check"
    )]
    Replay(ReplayArgs),
    /// List the deliberately broken rules that `--mutation` accepts.
    Mutations,
    /// Measure simulator speed: run seeds 1..=N of a scenario on one thread, report events/s.
    Bench {
        /// The scenario file.
        #[arg(default_value = "scenarios/churn.toml")]
        scenario: PathBuf,
        /// How many seeds to run.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        seeds: u64,
        /// The Raft implementation to run (`raftsim`, the default; see `raftsim implementations`),
        /// in place of the one each scenario names.
        #[arg(long = "impl", value_name = "NAME", value_parser = parse_impl)]
        implementation: Option<Implementation>,
        /// Also run a bare event loop of the same shape (a timed heap, ChaCha latencies, a
        /// handler that does almost nothing) for as many events, and print raftsim's rate as a
        /// fraction of it.
        #[arg(long)]
        floor: bool,
    },
    /// List the Raft implementations `--impl` and a scenario's `implementation` accept.
    Implementations,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The seed; the scenario's own seed if omitted.
    #[arg(long)]
    seed: Option<u64>,
    /// Write every event of the run to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write the clients' history to FILE: Jepsen EDN if FILE ends in .edn, else JSON lines.
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Draw the run's timeline to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// Write a self-contained HTML page about the run to DIR/index.html.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
    /// Run with a deliberately broken protocol rule (see `raftsim mutations`).
    #[arg(long, value_name = "NAME")]
    mutation: Option<String>,
    /// The Raft implementation to run (`raftsim`, the default; see `raftsim implementations`),
    /// in place of the one each scenario names.
    #[arg(long = "impl", value_name = "NAME", value_parser = parse_impl)]
    implementation: Option<Implementation>,
    /// Stop the run after N events (default and most 200000000): a run that reaches it without
    /// a violation ends with the verdict BUDGET EXHAUSTED and exit status 3.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=crate::sim::EVENTS_MAX))]
    events_max: Option<u64>,
}

#[derive(clap::Args, Debug)]
struct ChartArgs {
    /// The trace file written by `raftsim run --trace FILE`.
    trace: PathBuf,
    /// Where to write the chart: FILE.svg or FILE.png.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Start of the window drawn, e.g. 2.5s or 2500ms (default: the start of the run).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    from: Option<u64>,
    /// End of the window drawn (default: the end of the run).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    to: Option<u64>,
    /// Width of the chart in pixels.
    #[arg(long, default_value_t = 1600, value_parser = clap::value_parser!(u32).range(
        i64::from(reports::timeline::WIDTH_PX_MIN)..=i64::from(reports::timeline::WIDTH_PX_MAX)
    ))]
    width: u32,
}

#[derive(clap::Args, Debug)]
struct LogArgs {
    /// The trace file written by `raftsim run --trace FILE`.
    trace: PathBuf,
    /// Only this node's events (events of no node, such as partitions, are always shown).
    #[arg(long, value_name = "N")]
    node: Option<u64>,
    /// Only events at or after this simulated time, e.g. 2.5s.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    from: Option<u64>,
    /// Only events at or before this simulated time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    to: Option<u64>,
}

#[derive(clap::Args, Debug)]
struct ReplayArgs {
    /// The trace file written by `raftsim run --trace FILE`.
    trace: PathBuf,
    /// Replay with this deliberately broken rule instead of the recorded run's (see
    /// `raftsim mutations`); `none` replays without one.
    #[arg(long, value_name = "NAME")]
    mutation: Option<String>,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

fn replay(args: &ReplayArgs) -> ExitCode {
    let bad_input = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let unknown = |name: &str| name != "none" && raft::Mutation::from_name(name).is_none();
    if let Some(name) = args.mutation.as_deref().filter(|n| unknown(n)) {
        return bad_input(format!(
            "--mutation: unknown mutation `{name}` (see `raftsim mutations`, or `none`)"
        ));
    }
    let recorded = match crate::replay::open(&args.trace) {
        Ok(recorded) => recorded,
        Err(e) => return bad_input(e.to_string()),
    };
    let mutation = match args.mutation.as_deref() {
        None => recorded.header.mutation.clone(),
        Some("none") => None,
        Some(name) => Some(name.to_string()),
    };
    if let Some(name) = mutation.as_deref().filter(|n| unknown(n)) {
        return bad_input(format!(
            "{}:1: field `mutation`: `{name}` is not a mutation this build knows \
             (see `raftsim mutations`); replay with --mutation NAME or --mutation none",
            args.trace.display()
        ));
    }
    let outcome = match crate::replay::replay(&recorded, mutation) {
        Ok(outcome) => outcome,
        Err(e) => return bad_input(e.to_string()),
    };
    if args.json {
        let json = serde_json::to_string(&outcome).expect("a replay always serializes");
        crate::history::cli::print_out(&format!("{json}\n"));
    } else {
        crate::history::cli::print_out(&outcome.human());
    }
    if outcome.identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DIVERGED)
    }
}

fn log(args: &LogArgs) -> ExitCode {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            eprintln!("error: --from is after --to");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let filter = crate::trace_log::Filter {
        node: args.node,
        from_ns: args.from,
        to_ns: args.to,
    };
    match crate::trace_log::render(&args.trace, &filter) {
        Ok(text) => {
            crate::history::cli::print_out(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn parse_time(text: &str) -> Result<u64, String> {
    if text == "0" {
        return Ok(0);
    }
    crate::scenario::parse_duration(text)
}

#[derive(clap::Args, Debug)]
struct FromFuzzArgs {
    /// The fuzz input: a libFuzzer artifact (crash-*, timeout-*, ...) or a corpus entry.
    artifact: PathBuf,
    /// Where to write the scenario file; `-` writes it to standard output.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The implementation the fuzzer ran (`RAFTSIM_IMPL`), written into the scenario file.
    #[arg(long = "impl", value_name = "NAME", value_parser = parse_impl)]
    implementation: Option<Implementation>,
}

#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// The scenario files (TOML).
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// The seeds: A..B (both included) or N (1..N).
    #[arg(long, value_parser = crate::sweep::SeedRange::parse)]
    seeds: crate::sweep::SeedRange,
    /// Threads, each running one simulator at a time; default: the machine's cores.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::sweep::JOBS_MAX as u64))]
    jobs: Option<u64>,
    /// Run only part K of N of the seeds, so that N machines together run each seed once.
    #[arg(long, value_name = "K/N", value_parser = crate::sweep::Shard::parse)]
    shard: Option<crate::sweep::Shard>,
    /// Stop at the first failing run, in run order: every scenario's first seed, then every
    /// scenario's second, and so on. Results are still listed by scenario, then seed.
    #[arg(long)]
    fail_fast: bool,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
    /// Run with a deliberately broken protocol rule (see `raftsim mutations`).
    #[arg(long, value_name = "NAME")]
    mutation: Option<String>,
    /// Write a self-contained HTML page about the sweep to DIR/index.html (distributions,
    /// situations, failing runs), and a page for each of the first failing runs under DIR/runs/.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// The Raft implementation to run (`raftsim`, the default; see `raftsim implementations`),
    /// in place of the one each scenario names.
    #[arg(long = "impl", value_name = "NAME", value_parser = parse_impl)]
    implementation: Option<Implementation>,
}

#[derive(clap::Args, Debug)]
struct HuntArgs {
    /// Scenario files, or directories whose *.toml files are taken (not their subdirectories).
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// The Raft implementation to run (`raftsim`, the default; see `raftsim implementations`),
    /// in place of the one each scenario names.
    #[arg(long = "impl", value_name = "NAME", value_parser = parse_impl)]
    implementation: Option<Implementation>,

    /// How long to hunt (wall clock), e.g. 30s or 10m.
    #[arg(long, value_name = "D", default_value = "60s", value_parser = parse_budget)]
    time: std::time::Duration,
    /// Threads, each running one simulator at a time; default: the machine's cores. The runs
    /// tried do not depend on it, only how fast they go.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::sweep::JOBS_MAX as u64))]
    jobs: Option<u64>,
    /// Run with a deliberately broken protocol rule (see `raftsim mutations`).
    #[arg(long, value_name = "NAME")]
    mutation: Option<String>,
    /// Everything the hunt draws (variants, the schedule, the seeds) follows from this.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed_base: u64,
    /// Where a finding's scenario file is written.
    #[arg(long, value_name = "DIR", default_value = "findings")]
    findings: PathBuf,
    /// Stop after N runs even if time is left: a hunt whose extent does not depend on speed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct BugsArgs {
    /// Scenario files, or directories whose *.toml files are taken.
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// The Raft implementation to run (`raftsim`, the default; see `raftsim implementations`),
    /// in place of the one each scenario names.
    #[arg(long = "impl", value_name = "NAME", value_parser = parse_impl)]
    implementation: Option<Implementation>,

    /// Time budget of each mutation's hunt.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = parse_budget)]
    time_per_mutation: std::time::Duration,
    /// Time budget of the unmutated hunt; default: the mutations' budgets added up.
    #[arg(long, value_name = "D", value_parser = parse_budget)]
    clean_time: Option<std::time::Duration>,
    /// Threads; default: the machine's cores.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::sweep::JOBS_MAX as u64))]
    jobs: Option<u64>,
    /// The seed base of every hunt.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed_base: u64,
    /// Where findings are written.
    #[arg(long, value_name = "DIR", default_value = "findings")]
    findings: PathBuf,
    /// Only these mutations (comma-separated); default: all of them.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    only: Vec<String>,
    /// Shrink each mutation's finding (`raftsim shrink`) and add the shrunk sizes and the
    /// time taken to the table; the shrunk file is written beside the finding
    /// (`*.shrunk.toml`).
    #[arg(long)]
    shrink: bool,
    /// The wall-clock budget of each shrink.
    #[arg(long, value_name = "D", default_value = "60s", value_parser = parse_budget)]
    shrink_time: std::time::Duration,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// A positive wall-clock budget such as 30s or 10m.
/// `--impl NAME`: a registered implementation.
pub(crate) fn parse_impl(text: &str) -> Result<Implementation, String> {
    Implementation::from_name(text).ok_or_else(|| {
        format!(
            "unknown implementation `{text}`; expected one of: {}",
            Implementation::names()
        )
    })
}

/// Checks `--mutation NAME` against what `implementation` has.
pub(crate) fn check_mutation(implementation: Implementation, name: &str) -> Result<(), String> {
    if implementation.mutations().contains(&name) {
        return Ok(());
    }
    Err(format!(
        "--mutation: unknown mutation `{name}` for implementation {} (see `raftsim mutations`)",
        implementation.name()
    ))
}

fn parse_budget(text: &str) -> Result<std::time::Duration, String> {
    let ns = crate::scenario::parse_duration(text)?;
    if ns == 0 {
        return Err("the time must be positive".into());
    }
    Ok(std::time::Duration::from_nanos(ns))
}

/// Exit status of a sweep stopped by Ctrl-C without a failure (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// Runs the command `cli` names and returns its exit status.
pub fn execute(cli: Cli) -> ExitCode {
    if let Some(bytes) = cli.max_input_bytes {
        crate::history::input::set_input_bytes_max(bytes);
    }
    match cli.command {
        Command::Run(args) => run(args),
        Command::Shrink(args) => shrink_cli::shrink(args),
        Command::CheckHistory(args) => check_history(&args),
        Command::Bench {
            scenario,
            seeds,
            implementation,
            floor,
        } => bench(&scenario, seeds, implementation, floor),
        Command::Implementations => {
            for &i in Implementation::ALL {
                let mutations = i.mutations().len();
                println!("{:<10} {mutations} mutations", i.name());
            }
            ExitCode::SUCCESS
        }
        Command::Sweep(args) => sweep(args),
        Command::FromFuzz(args) => from_fuzz(&args),
        Command::Chart(args) => chart(&args),
        Command::Hunt(args) => hunt_cli::hunt(args),
        Command::Bugs(args) => hunt_cli::bugs(args),
        Command::Log(args) => log(&args),
        Command::Replay(args) => replay(&args),
        Command::Mutations => {
            // The name comes first, so `cut -d' ' -f1` still lists names.
            for m in raft::Mutation::ALL {
                println!("{:<33} {:<11} {}", m.name(), m.area(), m.rule());
            }
            ExitCode::SUCCESS
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let RunArgs {
        scenario: path,
        seed,
        trace: trace_path,
        history: history_path,
        chart: chart_path,
        report: report_dir,
        json,
        mutation,
        implementation,
        events_max,
    } = args;
    let path = path.as_path();
    let outputs = [
        trace_path
            .as_deref()
            .map(|p| outputs::check_file("--trace", p)),
        history_path
            .as_deref()
            .map(|p| outputs::check_file("--history", p)),
        chart_path
            .as_deref()
            .map(|p| outputs::check_chart("--chart", p)),
        report_dir
            .as_deref()
            .map(|d| outputs::check_dir("--report", d)),
    ];
    if let Some(Err(e)) = outputs.into_iter().flatten().find(Result::is_err) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let (mut scenario, origin) = match crate::trace_file::Origin::load(path, mutation.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    scenario.implementation = implementation.unwrap_or(scenario.implementation);
    if let Some(Err(e)) = mutation
        .as_deref()
        .map(|m| check_mutation(scenario.implementation, m))
    {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let seed = seed.unwrap_or(scenario.seed);
    // The trace is streamed to its file as the run goes, and a chart or a page is drawn from
    // what is kept of the run as it goes (`pages::Kept`): no run keeps its every event.
    let streamed = trace_path.as_ref();
    let options = RunOptions {
        keep_trace: false,
        mutation: mutation.clone(),
        events_max,
    };
    let mut sink = match streamed {
        None => None,
        Some(p) => match crate::trace_file::StreamedRecords::create(p) {
            Ok(records) => Some(Box::new(records) as Box<dyn crate::trace::RecordSink>),
            Err(e) => {
                eprintln!("error: --trace {}: {e}", p.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
    };
    let pictures = (chart_path.is_some() || report_dir.is_some()).then(|| {
        let kept = crate::pages::Kept::new(scenario.duration_ns);
        std::sync::Arc::new(std::sync::Mutex::new(kept))
    });
    if let Some(kept) = &pictures {
        let next = sink.take();
        sink = Some(Box::new(crate::pages::KeptSink {
            kept: kept.clone(),
            next,
        }));
    }
    // Wall time is measured here, outside the simulation, only to report the run's speed.
    let started = std::time::Instant::now();
    let ran = match sink {
        Some(sink) => crate::run_streaming(&scenario, seed, options, sink),
        None => crate::run(&scenario, seed, options),
    };
    let mut outcome = match ran {
        Ok(o) => o,
        Err(e) => {
            if let Some(p) = streamed {
                // The run never started: its records file holds nothing worth keeping.
                let _ = std::fs::remove_file(crate::trace_file::StreamedRecords::path_for(p));
            }
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let report = Report::new(
        &outcome,
        &scenario.name,
        &path.display().to_string(),
        mutation.as_deref(),
        wall_ms,
    );
    let mut header =
        crate::trace_file::Header::new(&scenario, &outcome, report.reproduce.clone(), &origin);
    header.events_max = events_max;
    let stream = outcome.trace.take_stream();
    if let Some(trace_path) = trace_path {
        let written = match stream {
            Some(sink) => sink.finish().and_then(|records| {
                crate::trace_file::write_streamed(&trace_path, &header, &outcome, &records)
            }),
            None => crate::trace_file::write(&trace_path, &header, &outcome),
        };
        if let Err(e) = written {
            eprintln!("error: --trace {}: {e}", trace_path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let kept = pictures.map(|kept| {
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *kept, crate::pages::Kept::new(0)).finish(&header, &outcome)
    });
    if let (Some(chart_path), Some((facts, _))) = (&chart_path, &kept) {
        let timeline = crate::timeline::timeline(facts);
        let options = reports::timeline::ChartOptions::default();
        if let Err(e) = draw(&timeline, &options, chart_path) {
            eprintln!("error: --chart {}: {e}", chart_path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if let (Some(dir), Some((facts, records))) = (&report_dir, &kept) {
        let page = crate::pages::run_page_of(&header, &outcome, &report, facts, records);
        if let Err(e) = reports::html::write_run_report(dir, &page) {
            eprintln!("error: --report {}: {e}", dir.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if let Some(history_path) = history_path {
        let edn = history_path.extension().is_some_and(|x| x == "edn");
        // A header names the model the simulator checked, so `check-history FILE` needs
        // no --model.
        use crate::history::parse;
        let text = if edn {
            parse::header_edn("kv", None) + &parse::to_edn(&outcome.history)
        } else {
            parse::header_json("kv", None) + &parse::to_json_lines(&outcome.history)
        };
        if let Err(e) = std::fs::write(&history_path, text) {
            eprintln!("error: --history {}: {e}", history_path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if json {
        let json = serde_json::to_string(&report).expect("a report always serializes");
        crate::history::cli::print_out(&format!("{json}\n"));
    } else {
        crate::history::cli::print_out(&report.human());
    }
    if !report.violations.is_empty() {
        ExitCode::from(EXIT_VIOLATION)
    } else if report.budget_exhausted {
        ExitCode::from(EXIT_BUDGET)
    } else {
        ExitCode::SUCCESS
    }
}

/// `check-history`: the `history` crate's command, and with `--report DIR` its page.
fn check_history(args: &crate::history::cli::CheckHistoryArgs) -> ExitCode {
    if let Err(e) = outputs::check_report_dir(args.report.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let checked = match crate::history::cli::evaluate(args) {
        Ok(checked) => checked,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(crate::history::cli::EXIT_BAD_INPUT);
        }
    };
    let status = checked.print(args.json);
    if let Some(dir) = &args.report {
        let page = crate::pages::history_page_of(&checked);
        if let Err(e) = reports::html::write_history_report(dir, &page) {
            eprintln!("error: --report {}: {e}", dir.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    ExitCode::from(status)
}

fn from_fuzz(args: &FromFuzzArgs) -> ExitCode {
    let artifact = args.artifact.display();
    let bad_input = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let bytes = match crate::history::input::read(&args.artifact, "the fuzz input") {
        Ok(bytes) => bytes,
        Err(e) => return bad_input(e.to_string()),
    };
    let input = match crate::fuzz_input::from_bytes(&bytes) {
        Ok(input) => input,
        Err(e) => return bad_input(format!("{artifact}: {e}")),
    };
    if let Err(e) = input.scenario() {
        return bad_input(format!("{artifact}: gives no valid scenario: {e}"));
    }
    let text = match args
        .implementation
        .filter(|&i| i != Implementation::default())
    {
        // A top-level key, so it goes before the first table.
        Some(i) => format!("implementation = \"{}\"\n{}", i.name(), input.to_toml()),
        None => input.to_toml(),
    };
    if args.output.as_os_str() == "-" {
        crate::history::cli::print_out(&text);
        eprintln!("replay: save it to FILE, then `raftsim run FILE`");
        return ExitCode::SUCCESS;
    }
    let output = args.output.display();
    if let Err(e) = std::fs::write(&args.output, text) {
        return bad_input(format!("-o {output}: cannot write the scenario file: {e}"));
    }
    println!("wrote {output} from {artifact}");
    println!("replay: raftsim run {output}");
    ExitCode::SUCCESS
}

/// Draws `timeline` to `path`, SVG or PNG by its extension.
fn draw(
    timeline: &reports::model::Timeline,
    options: &reports::timeline::ChartOptions,
    path: &std::path::Path,
) -> Result<(), String> {
    let extension = path
        .extension()
        .and_then(|x| x.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match extension.as_deref() {
        Some("svg") => reports::timeline::svg(timeline, options).map(String::into_bytes),
        Some("png") => reports::timeline::png(timeline, options),
        _ => return Err("the file name must end in .svg or .png".into()),
    }
    .map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| format!("cannot write: {e}"))
}

fn chart(args: &ChartArgs) -> ExitCode {
    if let Err(e) = outputs::check_chart("-o", &args.output) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let keep = crate::trace_file::Keep::ForChart {
        from_ns: args.from,
        to_ns: args.to,
    };
    let (_, facts) = match crate::trace_file::read_keeping(&args.trace, keep) {
        Ok(read) => read,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let timeline = crate::timeline::timeline(&facts);
    let options = reports::timeline::ChartOptions {
        from_ns: args.from,
        to_ns: args.to,
        width_px: args.width,
    };
    if let Err(e) = draw(&timeline, &options, &args.output) {
        eprintln!("error: -o {}: {e}", args.output.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    println!(
        "wrote {} ({} nodes, {} client operations, {} faults)",
        args.output.display(),
        timeline.nodes.len(),
        timeline.ops.len(),
        timeline.faults.len()
    );
    ExitCode::SUCCESS
}

fn bench(
    path: &std::path::Path,
    seeds: u64,
    implementation: Option<Implementation>,
    floor: bool,
) -> ExitCode {
    let mut scenario = match crate::scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    scenario.implementation = implementation.unwrap_or(scenario.implementation);
    let mut events_total = 0u64;
    let mut per_run_ms = Vec::new();
    let mut violations = 0u64;
    // Wall time is the measured quantity here; it never feeds back into a run.
    let started = std::time::Instant::now();
    for seed in 1..=seeds {
        // Each run's wall time, for the benchmark's percentiles only.
        let run_started = std::time::Instant::now();
        let outcome = match crate::run(&scenario, seed, RunOptions::default()) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        per_run_ms.push(run_started.elapsed().as_secs_f64() * 1000.0);
        events_total += outcome.trace.len();
        violations += u64::from(outcome.violation.is_some());
    }
    let wall_s = started.elapsed().as_secs_f64();
    per_run_ms.sort_by(f64::total_cmp);
    let median_ms = per_run_ms[per_run_ms.len() / 2];
    println!(
        "scenario     {} ({}), implementation {}",
        scenario.name,
        path.display(),
        scenario.implementation.name()
    );
    println!("runs         {seeds} (seeds 1..={seeds}), one thread, {violations} with a violation");
    println!("events       {events_total}");
    println!("wall time    {wall_s:.3} s (median run {median_ms:.1} ms)");
    let rate = events_total as f64 / wall_s;
    println!("throughput   {rate:.0} events/s");
    if floor {
        // Wall time of the bare loop, the measured quantity; the loop never reads it.
        let floor_started = std::time::Instant::now();
        let run = crate::floor::run(scenario.nodes, events_total, 1);
        let floor_rate = run.events as f64 / floor_started.elapsed().as_secs_f64();
        println!("floor        {floor_rate:.0} events/s (a bare event loop, {} events, checksum {:016x})", run.events, run.checksum);
        println!(
            "of floor     {:.3} (raftsim's throughput / the floor's)",
            rate / floor_rate
        );
    }
    ExitCode::SUCCESS
}

fn sweep(args: SweepArgs) -> ExitCode {
    use crate::sweep::{self, Plan, Shard, SweepScenario};
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    if let Err(e) = outputs::check_report_dir(args.report.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let mut scenarios = Vec::new();
    for path in &args.scenarios {
        match crate::scenario::load(path) {
            Ok(mut scenario) => {
                scenario.implementation = args.implementation.unwrap_or(scenario.implementation);
                scenarios.push(SweepScenario {
                    path: path.display().to_string(),
                    scenario,
                });
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    if let Some(name) = &args.mutation {
        for s in &scenarios {
            if let Err(e) = check_mutation(s.scenario.implementation, name) {
                eprintln!("error: {}: {e}", s.path);
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let shard = args.shard.unwrap_or(Shard::ALL);
    if shard.seeds_in(args.seeds) == 0 {
        // An empty shard would print PASS having run nothing: a job array with more tasks
        // than seeds must hear of it.
        let (seeds, count) = (args.seeds, args.seeds.len());
        eprintln!(
            "error: --shard {}/{}: this shard holds no seed of {}..={} ({count} seeds dealt \
             to {} shards); use at most {count} shards",
            shard.index, shard.count, seeds.first, seeds.last, shard.count
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let plan = Plan {
        scenarios,
        seeds: args.seeds,
        shard: args.shard.unwrap_or(Shard::ALL),
        mutation: args.mutation,
        jobs: args.jobs.map_or(cores, |j| j as usize),
        fail_fast: args.fail_fast,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    // A second Ctrl-C finds the handler already set and kills the process the usual way.
    let _ = ctrlc::set_handler(move || {
        if handler_stop.swap(true, Ordering::Relaxed) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    let mut progress = SweepProgress::new(std::io::stderr().is_terminal());
    // Wall time is measured outside the simulations, only to report speed and progress.
    let started = std::time::Instant::now();
    let result = sweep::run(&plan, &stop, |run, p| {
        progress.update(&plan, run, p, started)
    });
    let wall_s = started.elapsed().as_secs_f64();
    progress.finish();
    if let Some(error) = &result.error {
        eprintln!("error: {error}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let report = sweep::Report::new(&plan, &result, wall_s);
    if let Some(dir) = &args.report {
        if let Err(e) = write_sweep_report(dir, &plan, &result, &report) {
            eprintln!("error: --report {}: {e}", dir.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if args.json {
        let json = serde_json::to_string(&report).expect("a report always serializes");
        crate::history::cli::print_out(&format!("{json}\n"));
    } else {
        crate::history::cli::print_out(&report.human());
    }
    if report.failed > 0 {
        ExitCode::from(EXIT_VIOLATION)
    } else if report.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes a sweep's page, and a page for each of its first failing runs (each run again with
/// its full trace: the same seed gives the same run).
fn write_sweep_report(
    dir: &std::path::Path,
    plan: &crate::sweep::Plan,
    sweep: &crate::sweep::Sweep,
    report: &crate::sweep::Report,
) -> Result<(), String> {
    let mut pages = std::collections::BTreeMap::new();
    for run in sweep.failures().take(crate::pages::FAILING_RUN_PAGES_MAX) {
        let entry = &plan.scenarios[run.scenario];
        let options = RunOptions {
            keep_trace: true,
            mutation: plan.mutation.clone(),
            events_max: None,
        };
        let outcome = crate::run(&entry.scenario, run.seed, options)?;
        let run_report = Report::new(
            &outcome,
            &entry.scenario.name,
            &entry.path,
            plan.mutation.as_deref(),
            0.0,
        );
        // The sweep loaded the file earlier; its bytes are read again only for the hash.
        let bytes =
            crate::history::input::read(std::path::Path::new(&entry.path), "the scenario file")?;
        let origin = crate::trace_file::Origin {
            scenario_path: entry.path.clone(),
            scenario_hash: crate::trace_file::scenario_hash(&bytes),
            mutation: plan.mutation.clone(),
        };
        let header = crate::trace_file::Header::new(
            &entry.scenario,
            &outcome,
            run_report.reproduce.clone(),
            &origin,
        );
        let page = crate::pages::run_page(&header, &outcome, &run_report);
        let name = format!(
            "runs/{}-seed-{}",
            crate::hunt::file_safe(&entry.scenario.name),
            run.seed
        );
        reports::html::write_run_report(dir.join(&name), &page).map_err(|e| e.to_string())?;
        pages.insert((run.scenario, run.seed), format!("{name}/index.html"));
    }
    let command: Vec<String> = std::env::args().collect();
    let page = crate::pages::sweep_page(plan, sweep, report, &command.join(" "), &pages);
    let path = reports::html::write_sweep_report(dir, &page).map_err(|e| e.to_string())?;
    eprintln!("report: {}", path.display());
    Ok(())
}

/// Progress on stderr: a bar on a terminal, otherwise a plain line every few seconds.
/// Failures are announced as they are found, with their reproduce command.
struct SweepProgress {
    bar: Option<indicatif::ProgressBar>,
    line_last: Option<std::time::Instant>,
}

impl SweepProgress {
    /// Seconds between plain progress lines.
    const LINE_INTERVAL_S: u64 = 5;

    fn new(terminal: bool) -> SweepProgress {
        SweepProgress {
            bar: terminal.then(indicatif::ProgressBar::hidden),
            line_last: None,
        }
    }

    fn update(
        &mut self,
        plan: &crate::sweep::Plan,
        run: &crate::sweep::RunSummary,
        p: crate::sweep::Progress,
        started: std::time::Instant,
    ) {
        if let Some(v) = &run.violation {
            let line = format!(
                "FAIL {} seed {}: {}\n     {}",
                plan.scenarios[run.scenario].scenario.name,
                run.seed,
                v.invariant.name(),
                crate::sweep::reproduce(plan, run)
            );
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        match &self.bar {
            Some(bar) => {
                if bar.is_hidden() {
                    bar.set_length(p.total);
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {pos}/{len} seeds  {per_sec}  {msg}  ETA {eta}",
                        )
                        .expect("a valid template"),
                    );
                }
                bar.set_position(p.done);
                bar.set_message(format!("{} failed", p.failed));
            }
            None => {
                let due = self
                    .line_last
                    .is_none_or(|t| t.elapsed().as_secs() >= Self::LINE_INTERVAL_S);
                if due || p.done == p.total {
                    let elapsed = started.elapsed().as_secs_f64();
                    let rate = p.done as f64 / elapsed.max(1e-9);
                    let eta = (p.total - p.done) as f64 / rate.max(1e-9);
                    eprintln!(
                        "progress {}/{} seeds, {rate:.1} seeds/s, {} failed, ETA {eta:.0} s",
                        p.done, p.total, p.failed
                    );
                    // Wall time paces the progress lines only; no run reads it.
                    self.line_last = Some(std::time::Instant::now());
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
