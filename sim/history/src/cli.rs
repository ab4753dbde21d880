//! The `raftsim check-history` command: read a history file in any format
//! [`parse`] knows, pair it into operations, and check that it is linearizable.
//!
//! Exit status: 0 linearizable, 1 not linearizable, 3 unknown (the search gave up), 2 bad
//! input (an unreadable file, a parse or pairing error, a bad `--initial`), with
//! `error: FILE:LINE: ...` on stderr.

use super::linearizability::{check, CheckOptions, KeyReport, Model, Report, Verdict};
use super::parse::{self, function_name, value_to_edn, ParseOptions, ParsedHistory};
use super::{Call, Completion, Function, Operation, Value};
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Exit status: the history is linearizable.
pub const EXIT_LINEARIZABLE: u8 = 0;
/// Exit status: the history is not linearizable.
pub const EXIT_NOT_LINEARIZABLE: u8 = 1;
/// Exit status: bad input (a file, a flag).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status: the checker gave up before deciding (`--steps-max`).
pub const EXIT_UNKNOWN: u8 = 3;

/// The model a history is checked against.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelArg {
    /// A string per key, initially empty: read (get), write (put), append, cas; values are
    /// taken by their string form.
    Kv,
    /// One register (read, write), or one per key.
    Register,
    /// One register with compare-and-set (read, write, cas), or one per key.
    CasRegister,
}

impl ModelArg {
    /// The model `name` spells (as `--model` does), if any.
    pub fn from_name(name: &str) -> Option<ModelArg> {
        [ModelArg::Kv, ModelArg::Register, ModelArg::CasRegister]
            .into_iter()
            .find(|m| m.name() == name)
    }

    /// The name, as `--model` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ModelArg::Kv => "kv",
            ModelArg::Register => "register",
            ModelArg::CasRegister => "cas-register",
        }
    }
}

/// Check that a client history is linearizable.
#[derive(clap::Args, Clone, Debug)]
pub struct CheckHistoryArgs {
    /// The history: raftsim JSON lines, Jepsen EDN (history.edn) or a Jepsen log; the format
    /// is detected.
    pub file: PathBuf,
    /// What the history is of. Default: the model the file's header names (raftsim writes
    /// one), else cas-register.
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// The registers' initial value, in EDN: an integer, nil or a "string" (default nil).
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub initial: Option<String>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Take a read that returned nil as a read whose result is unknown.
    #[arg(long)]
    pub nil_read_unknown: bool,
    /// Values are Jepsen independent tuples [key value]: check each key on its own.
    #[arg(long)]
    pub independent: bool,
    /// Give up, with the verdict unknown, after this many search steps for a key.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub steps_max: u64,
    /// Give up, with the verdict unknown, when the check has taken this long (wall clock),
    /// e.g. 30s or 10m. The verdict may then depend on the machine; `--steps-max` alone
    /// does not.
    #[arg(long, value_name = "D", default_value = "60s", value_parser = parse_time_max)]
    pub time_max: std::time::Duration,
    /// The verdict alone: skip the minimal failing sub-history and the longest linearization.
    #[arg(long)]
    pub verdict_only: bool,
    /// Threads checking keys side by side (default: the machine's cores). The verdict and the
    /// evidence do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: Option<u64>,
    /// Write a self-contained HTML page about the check to DIR/index.html: per key, every
    /// operation on an axis by client, the longest linearization and where it stopped, the
    /// minimal failing sub-history highlighted. (The `raftsim` binary draws it, with the
    /// `reports` crate, from [`evaluate`]'s [`Checked`]; this crate alone does not.)
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Check the history N times and report the median and fastest check time (parsing
    /// excluded): for measuring the checker.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub repeat: u64,
}

/// A positive wall-clock duration: a number and a unit, `ms`, `s`, `m` or `h`.
fn parse_time_max(text: &str) -> Result<std::time::Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(|| format!("`{text}` has no unit: expected e.g. 30s, 500ms, 10m or 1h"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a number before the unit"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}`; expected ms, s, m or h"
            ))
        }
    };
    if !(seconds > 0.0 && seconds <= 7.0 * 24.0 * 3600.0) {
        return Err(format!("`{text}`: expected more than 0 and at most a week"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// Runs the command: prints the summary (or the JSON object) on stdout, or the error on
/// stderr, and returns the exit status.
pub fn check_history(args: &CheckHistoryArgs) -> u8 {
    match evaluate(args) {
        Ok(checked) => checked.print(args.json),
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_BAD_INPUT
        }
    }
}

/// A history read, paired and checked: what the command prints, and what a report draws.
pub struct Checked {
    /// The file, as given.
    pub file: String,
    /// What was read.
    pub parsed: ParsedHistory,
    /// The operations, paired, in history order.
    pub ops: Vec<Operation>,
    model: ModelArg,
    /// Where the model came from: `flag`, `header` or `default`.
    model_source: &'static str,
    /// The model the file's header names, when `--model` named another.
    header_model: Option<String>,
    /// The registers' initial value; `None` for the kv model.
    initial: Option<Value>,
    /// The checker's report.
    pub report: Report,
    /// Time of one check (median and fastest of `repeat`), parsing excluded.
    check_ms_median: f64,
    check_ms_min: f64,
    repeat: u64,
    /// `--verdict-only`: no evidence was looked for.
    verdict_only: bool,
    /// `--steps-max` and `--time-max`, to say which ran out.
    steps_max: u64,
    time_max: std::time::Duration,
}

/// Reads, pairs and checks; the error is the message for a bad input.
pub fn evaluate(args: &CheckHistoryArgs) -> Result<Checked, String> {
    let file = args.file.display().to_string();
    let text = crate::input::read_to_string(&args.file, "the history")?;
    let options = ParseOptions {
        independent: args.independent,
    };
    let parsed = parse::parse_history(&file, &text, &options).map_err(|e| e.to_string())?;
    drop(text);
    let chosen = choose_model(args, &file, parsed.declared.as_ref())?;
    let ChosenModel {
        model,
        source: model_source,
        initial,
        header_model,
    } = chosen;
    let ops = parse::pair(&parsed, &file).map_err(|e| e.to_string())?;
    if ops.is_empty() {
        // Neither verdict would be true of nothing: a test that recorded no operation has
        // not shown anything to be linearizable.
        return Err(format!(
            "{file}: the history holds no operations: nothing to check ({} events, none an \
             operation of a client)",
            parsed.events.len()
        ));
    }
    let model_checked = match (model, &initial) {
        (ModelArg::Kv, _) => Model::Kv,
        (ModelArg::Register, initial) => Model::Register {
            initial: initial.clone().unwrap_or(Value::Nil),
        },
        (ModelArg::CasRegister, initial) => Model::CasRegister {
            initial: initial.clone().unwrap_or(Value::Nil),
        },
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let check_options = CheckOptions {
        steps_max: args.steps_max,
        nil_read_unknown: args.nil_read_unknown,
        evidence: !args.verdict_only,
        jobs: args.jobs.map_or(cores, |j| j as usize),
        deadline: None,
    };
    // Wall time is measured here only to report the checker's speed.
    let mut times_ms = Vec::new();
    let mut report = None;
    for _ in 0..args.repeat {
        // Wall time is only reported (the checker's speed); the verdict never depends on it.
        let started = std::time::Instant::now();
        let options = CheckOptions {
            deadline: Some(started + args.time_max),
            ..check_options
        };
        report = Some(check(&ops, &model_checked, &options));
        times_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times_ms.sort_by(f64::total_cmp);
    Ok(Checked {
        file,
        parsed,
        ops,
        model,
        model_source,
        header_model,
        initial,
        report: report.expect("repeat >= 1"),
        check_ms_median: times_ms[times_ms.len() / 2],
        check_ms_min: times_ms[0],
        repeat: args.repeat,
        verdict_only: args.verdict_only,
        steps_max: args.steps_max,
        time_max: args.time_max,
    })
}

/// The model a history is checked against, and where it came from.
struct ChosenModel {
    model: ModelArg,
    /// `flag`, `header` or `default`.
    source: &'static str,
    /// The registers' initial value; `None` for the kv model.
    initial: Option<Value>,
    /// The header's model, when `--model` named another.
    header_model: Option<String>,
}

/// `--model` if given, else the header's, else cas-register; `--initial` if given, else the
/// header's, else nil (for a register model).
fn choose_model(
    args: &CheckHistoryArgs,
    file: &str,
    declared: Option<&parse::DeclaredModel>,
) -> Result<ChosenModel, String> {
    let header = match declared {
        None => None,
        Some(d) => {
            let model = ModelArg::from_name(&d.model).ok_or_else(|| {
                format!(
                    "{file}:{}: the header's model `{}`: expected kv, register or cas-register",
                    d.line, d.model
                )
            })?;
            Some((model, d))
        }
    };
    let (model, source) = match (args.model, header) {
        (Some(model), _) => (model, "flag"),
        (None, Some((model, _))) => (model, "header"),
        (None, None) => (ModelArg::CasRegister, "default"),
    };
    let header_model = header
        .filter(|(m, _)| *m != model)
        .map(|(m, _)| m.name().to_string());
    // The header's initial value counts only with the header's model.
    let header_initial = header
        .filter(|(m, _)| *m == model)
        .and_then(|(_, d)| d.initial.as_ref().map(|text| (text, d.line)));
    let initial = match (&args.initial, header_initial, model) {
        (Some(_), _, ModelArg::Kv) => {
            return Err(
                "--initial: the kv model has no initial value (every key starts empty); \
                 expected --model register or cas-register"
                    .to_string(),
            )
        }
        (Some(text), _, _) => {
            Some(parse::parse_value(text).map_err(|e| format!("--initial `{text}`: {e}"))?)
        }
        (None, Some((text, line)), ModelArg::Register | ModelArg::CasRegister) => Some(
            parse::parse_value(text)
                .map_err(|e| format!("{file}:{line}: the header's initial value `{text}`: {e}"))?,
        ),
        (None, _, ModelArg::Kv) => None,
        (None, _, _) => Some(Value::Nil),
    };
    Ok(ChosenModel {
        model,
        source,
        initial,
        header_model,
    })
}

fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable => "not linearizable",
        Verdict::Unknown => "unknown",
    }
}

/// "1 operation", "3 operations".
fn operations(n: usize) -> String {
    if n == 1 {
        "1 operation".to_string()
    } else {
        format!("{n} operations")
    }
}

fn key_name(key: &Option<String>) -> String {
    match key {
        Some(key) => format!("key {key}"),
        None => "the register".to_string(),
    }
}

impl Checked {
    /// Prints the summary (or, with `json`, the JSON object) and returns the exit status.
    pub fn print(&self, json: bool) -> u8 {
        if json {
            print_out(&format!("{}\n", self.json()));
        } else {
            print_out(&self.human());
        }
        self.exit_status()
    }

    /// The summary's first lines as label and value: the file, the model, the operations,
    /// the keys, the verdict.
    pub fn summary_rows(&self) -> Vec<(String, String)> {
        let (ok, fail, info) = self.completions();
        vec![
            (
                "history".into(),
                format!(
                    "{} ({}, {} events)",
                    self.file,
                    self.parsed.format,
                    self.parsed.events.len()
                ),
            ),
            ("model".into(), self.model_description()),
            (
                "operations".into(),
                format!("{}: {ok} ok, {fail} fail, {info} info", self.ops.len()),
            ),
            ("keys".into(), self.keys().to_string()),
            (
                "verdict".into(),
                verdict_name(self.report.verdict).to_string(),
            ),
        ]
    }

    /// `write 3 -> ok`, `read -> ok 3`: an operation without its process.
    pub fn label(op: &Operation) -> String {
        let described = describe(op);
        let process = format!("process {} ", op.process);
        described
            .strip_prefix(&process)
            .unwrap_or(&described)
            .to_string()
    }

    /// `lines 3, 8`, or `line 3` for an operation that never returned: where it is in the file.
    pub fn lines_of(&self, op: &Operation) -> String {
        match (
            self.line_of(op.invoke_pos),
            op.return_pos.and_then(|p| self.line_of(p)),
        ) {
            (Some(start), Some(end)) => format!("lines {start}, {end}"),
            (Some(start), None) => format!("line {start}"),
            _ => String::new(),
        }
    }

    /// One sentence on a key's search, as the summary says it.
    pub fn key_note(&self, key: &KeyReport) -> String {
        match key.verdict {
            Verdict::Linearizable => format!(
                "Linearizable: {} ordered in {} search steps.",
                operations(key.operations),
                key.steps
            ),
            Verdict::NotLinearizable if self.verdict_only => format!(
                "Not linearizable ({} steps); no evidence was looked for (--verdict-only).",
                key.steps
            ),
            Verdict::NotLinearizable => format!(
                "Not linearizable: the longest linearization found orders {} of {}, and {} \
                 of them cannot be linearized whatever the others did ({} steps).",
                key.longest_linearization.len(),
                operations(key.operations),
                key.minimal.len(),
                key.steps
            ),
            Verdict::Unknown => format!(
                "Unknown: gave up after {} steps over {}: {}.",
                key.steps,
                operations(key.operations),
                self.how_to_go_further(key)
            ),
        }
    }

    fn exit_status(&self) -> u8 {
        match self.report.verdict {
            Verdict::Linearizable => EXIT_LINEARIZABLE,
            Verdict::NotLinearizable => EXIT_NOT_LINEARIZABLE,
            Verdict::Unknown => EXIT_UNKNOWN,
        }
    }

    /// How many operations completed ok, failed, and stayed unknown.
    fn completions(&self) -> (usize, usize, usize) {
        let count =
            |f: fn(&Completion) -> bool| self.ops.iter().filter(|op| f(&op.completion)).count();
        (
            count(|c| matches!(c, Completion::Ok(_))),
            count(|c| matches!(c, Completion::Fail)),
            count(|c| matches!(c, Completion::Info)),
        )
    }

    fn keys(&self) -> usize {
        let mut keys: Vec<&Option<String>> = self.ops.iter().map(|op| &op.key).collect();
        keys.sort();
        keys.dedup();
        keys.len()
    }

    fn model_description(&self) -> String {
        let model = match &self.initial {
            Some(initial) => format!("{}, initial {}", self.model.name(), value_to_edn(initial)),
            None => self.model.name().to_string(),
        };
        let source = match (self.model_source, &self.header_model) {
            ("flag", Some(header)) => format!("--model; the file's header says {header}"),
            ("flag", None) => "--model".to_string(),
            ("header", _) => "the file's header".to_string(),
            _ => "the default: the file names no model; choose with --model kv, register or \
                  cas-register"
                .to_string(),
        };
        format!("{model} ({source})")
    }

    /// The summary for people.
    fn human(&self) -> String {
        let mut out = String::new();
        let (ok, fail, info) = self.completions();
        let _ = writeln!(
            out,
            "history      {} ({}, {} events)",
            self.file,
            self.parsed.format,
            self.parsed.events.len()
        );
        let _ = writeln!(out, "model        {}", self.model_description());
        let _ = writeln!(
            out,
            "operations   {}: {ok} ok, {fail} fail, {info} info",
            self.ops.len()
        );
        let _ = writeln!(out, "keys         {}", self.keys());
        let _ = writeln!(out, "verdict      {}", verdict_name(self.report.verdict));
        let repeat = match self.repeat {
            1 => String::new(),
            n => format!(
                ", median of {n} checks, fastest {:.3} ms",
                self.check_ms_min
            ),
        };
        let _ = writeln!(
            out,
            "check time   {:.3} ms (parsing excluded{repeat})",
            self.check_ms_median
        );
        for key in &self.report.keys {
            match key.verdict {
                Verdict::Linearizable => {}
                Verdict::Unknown
                    if self.verdict_only && self.report.verdict == Verdict::NotLinearizable =>
                {
                    let _ = writeln!(
                        out,
                        "\n{}: not decided: another key settled the verdict first (--verdict-only)",
                        key_name(&key.key)
                    );
                }
                Verdict::Unknown => {
                    let _ = writeln!(
                        out,
                        "\n{}: unknown: gave up after {} steps over {}: {}",
                        key_name(&key.key),
                        key.steps,
                        operations(key.operations),
                        self.how_to_go_further(key)
                    );
                }
                Verdict::NotLinearizable => self.human_failure(&mut out, key),
            }
        }
        out
    }

    /// Which limit stopped the search of `key`, and what to raise.
    fn how_to_go_further(&self, key: &KeyReport) -> String {
        let verdict_only = if self.verdict_only {
            ""
        } else {
            "; --verdict-only decides sooner"
        };
        if key.steps >= self.steps_max {
            format!(
                "--steps-max {} ran out; raise it{verdict_only}",
                self.steps_max
            )
        } else {
            format!(
                "--time-max {:?} ran out; raise it (e.g. --time-max 10m){verdict_only}",
                self.time_max
            )
        }
    }

    fn human_failure(&self, out: &mut String, key: &KeyReport) {
        let _ = writeln!(
            out,
            "\n{}: not linearizable ({}, {} steps)",
            key_name(&key.key),
            operations(key.operations),
            key.steps
        );
        if self.verdict_only {
            return; // No evidence was looked for.
        }
        let _ = writeln!(
            out,
            "  a minimal set of operations that is not linearizable, whatever the others did ({}):",
            operations(key.minimal.len())
        );
        self.human_ops(out, &key.minimal);
        let _ = writeln!(
            out,
            "  the longest linearization found ({} of {}):",
            key.longest_linearization.len(),
            operations(key.operations)
        );
        self.human_ops(out, &key.longest_linearization);
    }

    /// One operation a line: `process 2 cas [1 4] -> ok  events [7, 12]  lines 8, 13`.
    fn human_ops(&self, out: &mut String, ops: &[Operation]) {
        if ops.is_empty() {
            let _ = writeln!(out, "    (none)");
            return;
        }
        let described: Vec<String> = ops.iter().map(describe).collect();
        let positions: Vec<String> = ops
            .iter()
            .map(|op| {
                let end = op.return_pos.map_or("-".to_string(), |p| p.to_string());
                format!("[{}, {end}]", op.invoke_pos)
            })
            .collect();
        let width = described
            .iter()
            .map(|d| d.chars().count())
            .max()
            .unwrap_or(0);
        let position_width = positions.iter().map(String::len).max().unwrap_or(0);
        for ((op, description), position) in ops.iter().zip(&described).zip(&positions) {
            let lines = match (
                self.line_of(op.invoke_pos),
                op.return_pos.and_then(|p| self.line_of(p)),
            ) {
                (Some(start), Some(end)) => format!("lines {start}, {end}"),
                (Some(start), None) => format!("line {start}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "    {description:<width$}  events {position:<position_width$}  {lines}"
            );
        }
    }

    fn line_of(&self, position: u64) -> Option<usize> {
        usize::try_from(position)
            .ok()
            .and_then(|p| self.parsed.lines.get(p).copied())
    }

    /// The JSON object of `--json`.
    fn json(&self) -> serde_json::Value {
        let (ok, fail, info) = self.completions();
        let keys: Vec<serde_json::Value> = self
            .report
            .keys
            .iter()
            .map(|key| {
                json!({
                    "key": key.key,
                    "verdict": key.verdict,
                    "steps": key.steps,
                    "operations": key.operations,
                    "minimal": key.minimal.iter().map(|op| self.op_json(op)).collect::<Vec<_>>(),
                    "longest_linearization": key
                        .longest_linearization
                        .iter()
                        .map(|op| self.op_json(op))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "verdict": self.report.verdict,
            "model": self.model.name(),
            "model_source": self.model_source,
            "initial": self.initial,
            "file": self.file,
            "format": self.parsed.format.name(),
            "events": self.parsed.events.len(),
            "check_ms_median": self.check_ms_median,
            "check_ms_min": self.check_ms_min,
            "repeat": self.repeat,
            "operations": self.ops.len(),
            "ok": ok,
            "fail": fail,
            "info": info,
            "keys": keys,
        })
    }

    /// An operation as JSON: `value` is the argument, or for a read that completed ok the
    /// value read; positions are event indexes, lines 1-based source lines.
    fn op_json(&self, op: &Operation) -> serde_json::Value {
        let (f, value) = call_parts(op);
        let completion = match op.completion {
            Completion::Ok(_) => "ok",
            Completion::Fail => "fail",
            Completion::Info => "info",
        };
        json!({
            "process": op.process,
            "key": op.key,
            "f": f,
            "value": value,
            "completion": completion,
            "invoke_pos": op.invoke_pos,
            "return_pos": op.return_pos,
            "invoke_line": self.line_of(op.invoke_pos),
            "return_line": op.return_pos.and_then(|p| self.line_of(p)),
            "invoke_ns": op.invoke_ns,
            "return_ns": op.return_ns,
        })
    }
}

/// The function's name and the value a Jepsen op would show: the argument, or the value a
/// read returned.
fn call_parts(op: &Operation) -> (&'static str, Value) {
    match &op.call {
        Call::Read => (
            function_name(Function::Read),
            match &op.completion {
                Completion::Ok(value) => value.clone(),
                _ => Value::Nil,
            },
        ),
        Call::Write(v) => (function_name(Function::Write), v.clone()),
        Call::Cas(expected, new) => (
            function_name(Function::Cas),
            Value::List(vec![expected.clone(), new.clone()]),
        ),
        Call::Append(v) => (function_name(Function::Append), v.clone()),
    }
}

/// `process 2 cas [1 4] -> ok`, `process 0 read -> ok 3`.
fn describe(op: &Operation) -> String {
    let (f, value) = call_parts(op);
    let call = match op.call {
        Call::Read => f.to_string(),
        _ => format!("{f} {}", value_to_edn(&value)),
    };
    let completion = match (&op.call, &op.completion) {
        (Call::Read, Completion::Ok(v)) => format!("ok {}", value_to_edn(v)),
        (_, Completion::Ok(_)) => "ok".to_string(),
        (_, Completion::Fail) => "fail".to_string(),
        (_, Completion::Info) => "info".to_string(),
    };
    format!("process {} {call} -> {completion}", op.process)
}

/// Writes `text` to stdout. A reader that went away (`raftsim ... | head`) is not an error
/// worth a panic: the rest of the output is simply not wanted.
pub fn print_out(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/histories")
            .join(name)
    }

    fn args(file: PathBuf) -> CheckHistoryArgs {
        CheckHistoryArgs {
            file,
            model: Some(ModelArg::CasRegister),
            initial: None,
            json: false,
            nil_read_unknown: false,
            independent: false,
            steps_max: 10_000_000,
            time_max: std::time::Duration::from_secs(600),
            verdict_only: false,
            jobs: None,
            report: None,
            repeat: 1,
        }
    }

    /// A file of its own under the temporary directory.
    fn temp_file(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "raftsim-check-history-{}-{name}",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn bad_input(args: &CheckHistoryArgs) -> String {
        match evaluate(args) {
            Ok(checked) => panic!("expected bad input, got:\n{}", checked.human()),
            Err(message) => {
                assert_eq!(check_history(args), EXIT_BAD_INPUT);
                message
            }
        }
    }

    #[test]
    fn linearizable_samples_pass() {
        let mut cases = vec![
            args(sample("etcd-cas-register.edn")),
            args(sample("etcd-cas-register.log")),
        ];
        let mut independent = args(sample("independent-cas-register.edn"));
        independent.independent = true;
        cases.push(independent);
        let mut kv = args(sample("kv.jsonl"));
        kv.model = Some(ModelArg::Kv);
        cases.push(kv);
        for case in cases {
            let checked = evaluate(&case).unwrap_or_else(|e| panic!("{e}"));
            let human = checked.human();
            assert_eq!(checked.report.verdict, Verdict::Linearizable, "{human}");
            assert!(human.contains("verdict      linearizable\n"), "{human}");
            assert_eq!(check_history(&case), EXIT_LINEARIZABLE);
        }
    }

    /// A kv history as raftsim writes it: a read of an empty key returns "".
    const KV_EVENTS: &str =
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"k\",\"value\":null}\n\
        {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"k\",\"value\":\"\"}\n";

    #[test]
    fn the_model_comes_from_the_flag_then_the_header_then_the_default() {
        let headed = temp_file(
            "headed.jsonl",
            &(parse::header_json("kv", None) + KV_EVENTS),
        );
        let mut from_header = args(headed.clone());
        from_header.model = None;
        let checked = evaluate(&from_header).unwrap();
        assert_eq!(
            (checked.model, checked.model_source),
            (ModelArg::Kv, "header")
        );
        assert_eq!(checked.report.verdict, Verdict::Linearizable);
        assert!(checked
            .human()
            .contains("model        kv (the file's header)\n"));
        assert_eq!(checked.json()["model_source"], "header");

        // The flag wins, and the summary says the header differs.
        let overridden = evaluate(&args(headed)).unwrap();
        assert_eq!(overridden.model, ModelArg::CasRegister);
        assert_eq!(overridden.report.verdict, Verdict::NotLinearizable);
        assert!(overridden.human().contains(
            "model        cas-register, initial nil (--model; the file's header says kv)\n"
        ));

        // No header, no flag: the default, and how to choose.
        let bare = temp_file("bare.jsonl", KV_EVENTS);
        let mut by_default = args(bare);
        by_default.model = None;
        let human = evaluate(&by_default).unwrap().human();
        assert!(human.contains("model        cas-register, initial nil (the default: the file names no model; choose with --model kv, register or cas-register)\n"), "{human}");
    }

    #[test]
    fn an_edn_header_is_a_comment_and_may_give_the_initial_value() {
        let text = parse::header_edn("register", Some("3"))
            + "{:type :invoke, :f :read, :value nil, :process 0}\n\
               {:type :ok, :f :read, :value 3, :process 0}\n";
        assert!(text.starts_with("; raftsim history: model register, initial 3\n"));
        let mut headed = args(temp_file("headed.edn", &text));
        headed.model = None;
        let checked = evaluate(&headed).unwrap();
        assert_eq!(checked.model, ModelArg::Register);
        assert_eq!(checked.initial, Some(Value::Int(3)));
        assert_eq!(checked.report.verdict, Verdict::Linearizable);
        // --initial wins over the header's.
        headed.initial = Some("4".into());
        assert_eq!(
            evaluate(&headed).unwrap().report.verdict,
            Verdict::NotLinearizable
        );
    }

    #[test]
    fn a_bad_header_and_an_empty_history_are_refused() {
        let bad = temp_file("bad-header.edn", "; raftsim history: model queue\n");
        let mut no_flag = args(bad);
        no_flag.model = None;
        let e = bad_input(&no_flag);
        assert!(e.ends_with("bad-header.edn:1: the header's model `queue`: expected kv, register or cas-register"), "{e}");
        let bad_initial = temp_file(
            "bad-initial.jsonl",
            "{\"history\":\"raftsim\",\"model\":\"register\",\"initial\":\"[1\"}\n",
        );
        let mut no_flag = args(bad_initial);
        no_flag.model = None;
        assert!(
            bad_input(&no_flag).contains("bad-initial.jsonl:1: the header's initial value `[1`")
        );
        for (name, text) in [
            ("empty.jsonl", ""),
            (
                "header-only.jsonl",
                "{\"history\":\"raftsim\",\"model\":\"kv\"}\n",
            ),
            ("comments.edn", "; nothing\n"),
        ] {
            let e = bad_input(&args(temp_file(name, text)));
            assert!(
                e.contains("the history holds no operations: nothing to check"),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn summary_counts_operations_and_keys() {
        let mut independent = args(sample("independent-cas-register.edn"));
        independent.independent = true;
        let human = evaluate(&independent).unwrap().human();
        assert!(human.contains("(Jepsen EDN, 60 events)"), "{human}");
        assert!(human.contains("keys         2\n"), "{human}");
        assert!(
            human.contains("model        cas-register, initial nil (--model)\n"),
            "{human}"
        );

        let log = evaluate(&args(sample("etcd-cas-register.log"))).unwrap();
        let (ok, fail, info) = log.completions();
        assert_eq!(ok + fail + info, log.ops.len());
        assert!(log.human().contains("(Jepsen log, 48 events)"));
    }

    #[test]
    fn a_stale_read_is_caught_and_shown() {
        let stale = args(sample("etcd-stale-read.edn"));
        assert_eq!(check_history(&stale), EXIT_NOT_LINEARIZABLE);
        let checked = evaluate(&stale).unwrap();
        assert_eq!(checked.report.verdict, Verdict::NotLinearizable);
        let human = checked.human();
        assert!(human.contains("verdict      not linearizable\n"), "{human}");
        assert!(human.contains("the register: not linearizable"), "{human}");
        assert!(
            human.contains("a minimal set of operations that is not linearizable"),
            "{human}"
        );
        assert!(human.contains("the longest linearization found"), "{human}");

        let json = checked.json();
        assert_eq!(json["verdict"], "not-linearizable");
        assert_eq!(json["model"], "cas-register");
        assert_eq!(json["operations"], 14);
        let key = &json["keys"][0];
        assert_eq!(key["verdict"], "not-linearizable");
        assert_eq!(key["key"], serde_json::Value::Null);
        let minimal = key["minimal"].as_array().unwrap();
        let longest = key["longest_linearization"].as_array().unwrap();
        assert!(!minimal.is_empty());
        // The file's event i (its `:index`) is on line i + 3, after two comment lines.
        for op in minimal.iter().chain(longest) {
            let line = |pos: &serde_json::Value| pos.as_u64().map(|p| p + 3);
            assert_eq!(op["invoke_line"].as_u64(), line(&op["invoke_pos"]), "{op}");
            assert_eq!(op["return_line"].as_u64(), line(&op["return_pos"]), "{op}");
            let printed = format!("events [{}, {}]", op["invoke_pos"], op["return_pos"]);
            assert!(human.contains(&printed), "{printed} not in {human}");
        }
        // The stale read (invoked at event 23, returned 3 at event 27) fits in no
        // linearization: every write before it completed before it began, the last of 1.
        assert!(!longest.iter().any(|op| op["invoke_pos"] == 23), "{key}");
    }

    #[test]
    fn json_output_has_the_documented_fields() {
        let mut kv = args(sample("kv.jsonl"));
        kv.model = Some(ModelArg::Kv);
        kv.json = true;
        let json = evaluate(&kv).unwrap().json();
        assert_eq!(json["verdict"], "linearizable");
        assert_eq!(json["model"], "kv");
        assert_eq!(json["format"], "raftsim JSON lines");
        assert_eq!(json["operations"], 36);
        for key in json["keys"].as_array().unwrap() {
            for field in ["key", "verdict", "steps", "operations", "minimal"] {
                assert!(!key[field].is_null(), "{field} in {key}");
            }
            assert!(key["longest_linearization"].is_array());
        }
        assert_eq!(check_history(&kv), EXIT_LINEARIZABLE);
    }

    #[test]
    fn the_initial_value_matters() {
        // A history whose one read returns 5 is linearizable only from 5.
        let path = temp_file(
            "initial.edn",
            "{:type :invoke, :f :read, :value nil, :process 0}\n\
             {:type :ok, :f :read, :value 5, :process 0}\n",
        );
        let mut from_nil = args(path.clone());
        assert_eq!(check_history(&from_nil), EXIT_NOT_LINEARIZABLE);
        from_nil.initial = Some("5".to_string());
        assert_eq!(check_history(&from_nil), EXIT_LINEARIZABLE);
        from_nil.model = Some(ModelArg::Register);
        assert_eq!(check_history(&from_nil), EXIT_LINEARIZABLE);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn nil_reads_can_be_unknown() {
        let path = temp_file(
            "nil-read.edn",
            "{:type :invoke, :f :write, :value 1, :process 0}\n\
             {:type :ok, :f :write, :value 1, :process 0}\n\
             {:type :invoke, :f :read, :value nil, :process 1}\n\
             {:type :ok, :f :read, :value nil, :process 1}\n",
        );
        let mut nil_read = args(path.clone());
        assert_eq!(check_history(&nil_read), EXIT_NOT_LINEARIZABLE);
        nil_read.nil_read_unknown = true;
        assert_eq!(check_history(&nil_read), EXIT_LINEARIZABLE);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn giving_up_is_unknown() {
        let mut tiny = args(sample("etcd-cas-register.edn"));
        tiny.steps_max = 1;
        let checked = evaluate(&tiny).unwrap();
        assert_eq!(
            checked.report.verdict,
            Verdict::Unknown,
            "{}",
            checked.human()
        );
        assert!(checked
            .human()
            .contains("--steps-max 1 ran out; raise it; --verdict-only decides sooner"));
        assert_eq!(check_history(&tiny), EXIT_UNKNOWN);
    }

    #[test]
    fn a_check_past_its_time_max_is_unknown_and_says_so() {
        let mut hurried = args(sample("etcd-cas-register.log"));
        let decided = evaluate(&hurried).unwrap().report.verdict;
        assert_ne!(decided, Verdict::Unknown, "the sample decides in time");
        // A deadline passed at once: the search reads the clock at its first step.
        hurried.time_max = std::time::Duration::from_nanos(1);
        let checked = evaluate(&hurried).unwrap();
        assert_eq!(checked.report.verdict, Verdict::Unknown);
        assert!(
            checked
                .human()
                .contains("--time-max 1ns ran out; raise it (e.g. --time-max 10m)"),
            "{}",
            checked.human()
        );
        assert_eq!(
            parse_time_max("90s"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            parse_time_max("1.5m"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert!(parse_time_max("0s").is_err());
        assert!(parse_time_max("30").unwrap_err().contains("has no unit"));
        assert!(parse_time_max("3d")
            .unwrap_err()
            .contains("unknown unit `d`"));
    }

    #[test]
    fn bad_inputs_exit_2_with_file_and_line() {
        let missing = bad_input(&args(sample("no-such-history.edn")));
        assert!(
            missing.contains("no-such-history.edn: cannot read"),
            "{missing}"
        );

        let path = temp_file(
            "frob.edn",
            "{:type :invoke, :f :read, :value nil, :process 0}\n\
             {:type :invoke, :f :frob, :value nil, :process 1}\n",
        );
        let message = bad_input(&args(path.clone()));
        assert_eq!(
            message,
            format!(
                "{}:2: unknown :f :frob: expected :read, :write, :cas or :append (or :get, :put)",
                path.display()
            )
        );
        std::fs::remove_file(path).unwrap();

        let path = temp_file(
            "orphan.edn",
            "{:type :invoke, :f :read, :value nil, :process 0}\n\
             \n\
             {:type :ok, :f :write, :value 3, :process 4}\n",
        );
        let message = bad_input(&args(path.clone()));
        assert!(
            message.starts_with(&format!("{}:3: ", path.display())),
            "{message}"
        );
        assert!(message.contains("never invoked"), "{message}");

        let mut bad_initial = args(path.clone());
        bad_initial.initial = Some("[1".to_string());
        let message = bad_input(&bad_initial);
        assert!(
            message.starts_with("--initial `[1`: unterminated vector"),
            "{message}"
        );
        bad_initial.initial = Some("1.5".to_string());
        assert!(bad_input(&bad_initial).contains("unsupported value 1.5"));
        bad_initial.initial = Some("3".to_string());
        bad_initial.model = Some(ModelArg::Kv);
        assert!(bad_input(&bad_initial).contains("kv model has no initial value"));
        std::fs::remove_file(path).unwrap();

        let mut not_tuples = args(sample("etcd-cas-register.edn"));
        not_tuples.independent = true;
        let message = bad_input(&not_tuples);
        assert!(message.contains("etcd-cas-register.edn:1: "), "{message}");
        assert!(message.contains("independent tuple"), "{message}");
    }

    #[test]
    fn describes_operations_like_jepsen() {
        let op = |call, completion, return_pos| Operation {
            process: 2,
            key: None,
            call,
            completion,
            invoke_pos: 3,
            return_pos,
            invoke_ns: None,
            return_ns: None,
        };
        assert_eq!(
            describe(&op(
                Call::Cas(Value::Int(1), Value::Int(4)),
                Completion::Ok(Value::Nil),
                Some(5)
            )),
            "process 2 cas [1 4] -> ok"
        );
        assert_eq!(
            describe(&op(
                Call::Read,
                Completion::Ok(Value::Str("x".into())),
                Some(5)
            )),
            "process 2 read -> ok \"x\""
        );
        assert_eq!(
            describe(&op(Call::Write(Value::Int(7)), Completion::Info, None)),
            "process 2 write 7 -> info"
        );
    }
}
