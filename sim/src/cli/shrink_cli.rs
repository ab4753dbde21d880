//! `raftsim shrink`: the command line around [`crate::shrink`]. The wall clock is read here
//! only to end shrinking at `--time` and to say how long it took; no run reads it.

use super::hunt_cli::{interrupt_flag, jobs_or_cores};
use super::{parse_budget, parse_impl, EXIT_BAD_INPUT, EXIT_INTERRUPTED};
use crate::implementation::Implementation;
use crate::shrink::{self, Request, ShrinkError, Shrunk, Sizes};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct ShrinkArgs {
    /// The scenario file of the failing run (a hunt finding is one).
    scenario: PathBuf,
    /// The failing seed; default: the file's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// The mutation the run failed under (see `raftsim mutations`).
    #[arg(long, value_name = "NAME")]
    mutation: Option<String>,
    /// Where to write the shrunk scenario; `-` writes it to standard output. Default: the
    /// scenario's path with `.shrunk.toml` for `.toml`.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Stop after this long (wall clock) with the smallest failing file found so far.
    #[arg(long, value_name = "D", default_value = "60s", value_parser = parse_budget)]
    time: Duration,
    /// Threads trying candidates side by side; default: the machine's cores. The result does
    /// not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::sweep::JOBS_MAX as u64))]
    jobs: Option<u64>,
    /// Only make the run explicit: write its drawn faults as `[[schedule]]` actions and its
    /// workload as `workload.at` and `[[operation]]`s, and cut nothing.
    #[arg(long)]
    explicit_only: bool,
    /// Seeds a smaller candidate may fail with: its own, then the next ones (the result's
    /// `seed` says which). 1 keeps the original seed throughout.
    #[arg(long, value_name = "K", default_value_t = shrink::SEEDS_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    seeds: u64,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
    /// The Raft implementation to run, in place of the one the scenario names.
    #[arg(long = "impl", value_name = "NAME", value_parser = parse_impl)]
    implementation: Option<Implementation>,
}

pub fn shrink(args: ShrinkArgs) -> ExitCode {
    let bad = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let mut scenario = match crate::scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    scenario.implementation = args.implementation.unwrap_or(scenario.implementation);
    if let Some(name) = &args.mutation {
        if let Err(e) = super::check_mutation(scenario.implementation, name) {
            return bad(e);
        }
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.scenario));
    if let Err(e) = check_output(&output) {
        return bad(e);
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let request = Request {
        scenario,
        seed,
        mutation: args.mutation.clone(),
        jobs: jobs_or_cores(args.jobs),
        explicit_only: args.explicit_only,
        seeds: args.seeds,
    };
    let interrupted = interrupt_flag();
    let (result, seconds) = timed_shrink(&request, args.time, &interrupted);
    let shrunk = match result {
        Ok(s) => s,
        Err(e) => return bad(format!("{}: seed {seed}: {e}", args.scenario.display())),
    };
    let command = original_command(&args.scenario, seed, args.mutation.as_deref())
        + &crate::implementation::flag(request.scenario.implementation);
    let text = shrink::file_text(&shrunk, &command, args.mutation.as_deref());
    if let Err(e) = write_output(&output, &text) {
        return bad(e);
    }
    let shown = match output.as_os_str() == "-" {
        true => "standard output".to_string(),
        false => output.display().to_string(),
    };
    if args.json {
        println!("{}", json(&args, seed, &shrunk, seconds, &shown));
    } else if output.as_os_str() != "-" {
        print!("{}", summary(&args, seed, &shrunk, seconds, &shown));
    }
    if interrupted.load(Ordering::Relaxed) {
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    ExitCode::SUCCESS
}

/// `x.toml` gives `x.shrunk.toml`.
fn default_output(scenario: &Path) -> PathBuf {
    let name = scenario
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name.strip_suffix(".toml").unwrap_or(&name);
    scenario.with_file_name(format!("{stem}.shrunk.toml"))
}

/// Checked before shrinking starts, so that no result is found and then lost.
fn check_output(output: &Path) -> Result<(), String> {
    if output.as_os_str() == "-" {
        return Ok(());
    }
    let shown = output.display();
    if output.is_dir() {
        return Err(format!("-o {shown}: is a directory"));
    }
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "-o {shown}: the directory {} does not exist",
            parent.display()
        ));
    }
    Ok(())
}

fn write_output(output: &Path, text: &str) -> Result<(), String> {
    if output.as_os_str() == "-" {
        print!("{text}");
        return Ok(());
    }
    std::fs::write(output, text).map_err(|e| format!("-o {}: {e}", output.display()))
}

fn original_command(scenario: &Path, seed: u64, mutation: Option<&str>) -> String {
    let mutation = mutation
        .map(|m| format!(" --mutation {m}"))
        .unwrap_or_default();
    format!("raftsim run {} --seed {seed}{mutation}", scenario.display())
}

/// Shrinks until done, `budget` has passed or Ctrl-C was pressed; with the wall time taken.
/// The clock only stops the shrink and reports its time: which candidates it tries, and the
/// file it keeps when it is not stopped, do not depend on it.
pub(crate) fn timed_shrink(
    request: &Request,
    budget: Duration,
    interrupted: &AtomicBool,
) -> (Result<Shrunk, ShrinkError>, f64) {
    let stop = AtomicBool::new(false);
    // Wall time only raises `stop` and reports how long shrinking took; no run reads it.
    let started = Instant::now();
    let result = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if started.elapsed() >= budget || interrupted.load(Ordering::Relaxed) {
                    stop.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let result = shrink::shrink(request, &stop);
        stop.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        result
    });
    (result, started.elapsed().as_secs_f64())
}

fn sizes_line(s: &Sizes) -> String {
    format!(
        "{} nodes, {} clients, {}, {} schedule actions, {} random fault kinds, {} proposals, \
         {} client operations; {} events",
        s.nodes,
        s.clients,
        crate::scenario::format_duration(s.duration_ns),
        s.actions,
        s.random_fault_kinds,
        s.proposals,
        s.operations,
        s.events
    )
}

fn summary(args: &ShrinkArgs, seed: u64, s: &Shrunk, seconds: f64, shown: &str) -> String {
    let mut out = format!(
        "shrunk {} seed {seed}: {}\n",
        args.scenario.display(),
        s.invariant.name()
    );
    out.push_str(&format!("  before: {}\n", sizes_line(&s.before)));
    out.push_str(&format!("  after:  {}\n", sizes_line(&s.after)));
    let factor = s.before.events as f64 / s.after.events.max(1) as f64;
    out.push_str(&format!(
        "  {:.1}x fewer events; {} schedule actions and operations left\n",
        factor,
        s.after.actions_and_operations()
    ));
    out.push_str(match (s.explicit, s.explicit_exact) {
        (true, true) => "  explicit schedule: replays the original run event for event\n",
        (true, false) => "  explicit schedule: fails the same way (not event for event)\n",
        (false, _) => {
            "  explicit schedule: did not fail; shrunk from the file's own schedule and knobs\n"
        }
    });
    out.push_str(&format!("  {} runs in {seconds:.1} s\n", s.runs));
    if !s.complete {
        out.push_str("  stopped at --time (or Ctrl-C): a smaller file may exist\n");
    }
    let mutation = (args.mutation.as_ref())
        .map(|m| format!(" --mutation {m}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "wrote {shown}; run it: raftsim run {shown} --seed {}{mutation}\n",
        s.scenario.seed
    ));
    out
}

fn json(args: &ShrinkArgs, seed: u64, s: &Shrunk, seconds: f64, shown: &str) -> serde_json::Value {
    serde_json::json!({
        "scenario": args.scenario.display().to_string(),
        "seed": seed,
        "seed_after": s.scenario.seed,
        "mutation": args.mutation,
        "invariant": s.invariant.name(),
        "before": s.before,
        "after": s.after,
        "actions_and_operations": s.after.actions_and_operations(),
        "explicit": s.explicit,
        "explicit_exact": s.explicit_exact,
        "runs": s.runs,
        "seconds": seconds,
        "complete": s.complete,
        "output": shown,
    })
}
