//! `raftsim replay`: runs a trace file's run again and compares the new trace with the file,
//! record by record, to show the first event where they part.
//!
//! The file is read by [`trace_file::read`] first, so a malformed trace is refused exactly as
//! `chart` and `log` refuse it. The scenario comes from the header's `scenario_path` and must
//! still hash to the header's `scenario_hash`: a changed scenario is a different run, and
//! comparing it would report a divergence that no code change caused. Each new record is
//! serialized as [`trace_file::write`] writes it, and the two are compared as JSON values.
//! Replaying with another mutation than the recorded one shows where a change in the code (a
//! mutation stands in for one) changes behaviour.

use crate::timeline::RunFacts;
use crate::trace::format_time;
use crate::trace_file::{self, Header};
use crate::trace_log::{self, LogState};
use crate::{RunOptions, Scenario};
use serde::Serialize;
use serde_json::Value;
use std::fmt::{self, Write as _};
use std::path::Path;

/// How many events before the first difference a replay shows.
pub const EVENTS_BEFORE: usize = 10;

/// Width of each column of the side-by-side view, in characters.
const COLUMN_CHARS: usize = 72;

/// Why a trace cannot be replayed: bad input, never a divergence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError(pub String);

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReplayError {}

/// A trace file that was read and whose scenario still is the one it ran.
#[derive(Debug)]
pub struct Recorded {
    /// The trace file.
    pub path: String,
    /// Its header.
    pub header: Header,
    /// What its timeline is drawn from (the violation among it).
    pub facts: RunFacts,
    /// The scenario, loaded from the header's `scenario_path`.
    pub scenario: Scenario,
}

/// Reads the trace at `path` and loads its scenario, refusing a malformed trace, a scenario
/// file that cannot be read or parsed, and one that changed since the trace was written.
pub fn open(path: &Path) -> Result<Recorded, ReplayError> {
    let (header, facts) = trace_file::read(path).map_err(|e| ReplayError(e.to_string()))?;
    let trace = path.display().to_string();
    let scenario_path = &header.scenario_path;
    let bytes = crate::history::input::read(Path::new(scenario_path), "the scenario file")
        .map_err(|e| {
            ReplayError(format!(
                "{trace}: the header's scenario file `{scenario_path}` cannot be read: {} \
                 (the path is as `raftsim run` was given it: replay from the directory it ran \
                 in)",
                e.message
            ))
        })?;
    let now = trace_file::hex16(trace_file::scenario_hash(&bytes));
    if now != header.scenario_hash {
        return Err(ReplayError(format!(
            "{scenario_path}: the scenario file changed since the trace {trace} was written \
             (its hash is now {now}, the trace's header says {}); replaying it would report \
             a false divergence",
            header.scenario_hash
        )));
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut scenario = crate::scenario::parse(scenario_path, &text)
        .map_err(|e| ReplayError(format!("{trace}: the header's scenario: {e}")))?;
    if let Some(name) = &header.implementation {
        scenario.implementation = crate::implementation::Implementation::from_name(name)
            .ok_or_else(|| {
                ReplayError(format!(
                    "{trace}: line 1, field implementation: unknown implementation `{name}`"
                ))
            })?;
    }
    Ok(Recorded {
        path: trace,
        header,
        facts,
        scenario,
    })
}

/// The outcome of a replay.
#[derive(Clone, Debug, Serialize)]
pub struct Replay {
    /// `identical` or `diverged`.
    pub verdict: &'static str,
    /// The trace file.
    pub trace: String,
    /// The scenario file.
    pub scenario_path: String,
    /// The seed.
    pub seed: u64,
    /// The recorded run's mutation.
    pub mutation_recorded: Option<String>,
    /// The mutation the replay ran with.
    pub mutation_replayed: Option<String>,
    /// Events in the file.
    pub events_recorded: u64,
    /// Events of the new run.
    pub events_replayed: u64,
    /// The file's trace hash (its end line).
    pub trace_hash_recorded: String,
    /// The new run's trace hash.
    pub trace_hash_replayed: String,
    /// The recorded run's violation, as its title.
    pub violation_recorded: Option<String>,
    /// The new run's violation, as its title.
    pub violation_replayed: Option<String>,
    /// The first event that differs, if any.
    pub first_difference: Option<Difference>,
    /// With every event the same, the first other line (history, violation, evidence, end)
    /// that differs.
    pub other_difference: Option<OtherDifference>,
}

/// The first event at which two runs part.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    /// Its position in both traces.
    pub seq: u64,
    /// The earlier time of the two records (the time of the one that exists if a run ended).
    pub time_ns: u64,
    /// The file's record; `None` if the recorded run ended before it.
    pub recorded: Option<Value>,
    /// The new run's record; `None` if the new run ended before it.
    pub replayed: Option<Value>,
    /// The events before it, which both runs share, oldest first (at most [`EVENTS_BEFORE`]).
    pub before: Vec<Value>,
    /// `before` as `raftsim log` lines.
    #[serde(skip)]
    pub before_lines: Vec<String>,
    /// `recorded` as a `raftsim log` line.
    #[serde(skip)]
    pub recorded_line: Option<String>,
    /// `replayed` as a `raftsim log` line.
    #[serde(skip)]
    pub replayed_line: Option<String>,
    /// The fields whose values differ, as dotted paths (`message.body.granted`), at most
    /// [`FIELDS_SHOWN_MAX`]; only `type` for events of two kinds; empty if a run ended.
    pub fields: Vec<String>,
}

/// How many differing fields a difference names.
pub const FIELDS_SHOWN_MAX: usize = 8;

/// A line after the events that differs although every event is the same.
#[derive(Clone, Debug, Serialize)]
pub struct OtherDifference {
    /// Which line: `history event N`, `violation`, `evidence`, `end`.
    pub line: String,
    /// The file's line; `None` if it has none there.
    pub recorded: Option<Value>,
    /// The new run's line; `None` if it has none there.
    pub replayed: Option<Value>,
}

/// Runs the recorded run again with `mutation` (the caller decides whether that is the
/// header's) and compares it with the file.
///
/// Lines are compared as text first, and only lines whose text differs are parsed and
/// compared as JSON values: an untouched file costs no parsing, and an edit that keeps the
/// value (spacing, the order of keys) is no difference.
pub fn replay(recorded: &Recorded, mutation: Option<String>) -> Result<Replay, ReplayError> {
    let header = &recorded.header;
    let options = RunOptions {
        keep_trace: true,
        mutation: mutation.clone(),
        events_max: header.events_max,
    };
    let outcome = crate::run(&recorded.scenario, header.seed, options)
        .map_err(|e| ReplayError(format!("{}: {e}", header.scenario_path)))?;
    let json = |e: serde_json::Error| ReplayError(format!("a replayed record: {e}"));
    let records = outcome.trace.all().unwrap_or(&[]);
    let trace = Path::new(&recorded.path);
    let unreadable = |e: trace_file::TraceFileError| ReplayError(e.to_string());
    let mut lines = trace_file::text_lines(trace)
        .map_err(unreadable)?
        .peekable();
    let mut parted = None;
    for seq in 0.. {
        let mine = lines.next_if(|line| is_record(line));
        let theirs = records.get(seq).map(trace_file::record_line).transpose();
        match (mine, theirs.map_err(json)?) {
            (None, None) => break,
            (Some(a), Some(b)) if a == b => {}
            (a, b) => {
                let (a, b) = (a.as_deref().map(parse), b.as_deref().map(parse));
                if a != b {
                    parted = Some((seq as u64, a, b));
                    break;
                }
            }
        }
    }
    let tail: Vec<String> = lines.filter(|line| !is_record(line)).collect();
    let end = tail.last().map_or(Value::Null, |line| parse(line));
    let (first_difference, other_difference) = match parted {
        Some((seq, a, b)) => {
            let lines = trace_file::text_lines(trace).map_err(unreadable)?;
            (Some(difference(lines, header.nodes, seq, a, b)), None)
        }
        None => (None, other_difference(&tail, &outcome).map_err(json)?),
    };
    let identical = first_difference.is_none() && other_difference.is_none();
    let (violation, _) = trace_file::what_went_wrong(&outcome);
    Ok(Replay {
        verdict: if identical { "identical" } else { "diverged" },
        trace: recorded.path.clone(),
        scenario_path: header.scenario_path.clone(),
        seed: header.seed,
        mutation_recorded: header.mutation.clone(),
        mutation_replayed: mutation,
        events_recorded: end.get("events").and_then(Value::as_u64).unwrap_or(0),
        events_replayed: outcome.trace.len(),
        trace_hash_recorded: end
            .get("trace_hash")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        trace_hash_replayed: trace_file::hex16(outcome.trace.hash()),
        violation_recorded: recorded.facts.violation.as_ref().map(|v| v.title.clone()),
        violation_replayed: violation.map(|v| v.title),
        first_difference,
        other_difference,
    })
}

/// A line `read` accepted, or one `trace_file` wrote, as JSON.
fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or(Value::Null)
}

/// True for an event record (a line with a `seq`), as opposed to the lines after the events.
fn is_record(line: &str) -> bool {
    /// Only whether the line has a `seq`; every other field is skipped unbuilt.
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: Option<serde::de::IgnoredAny>,
    }
    // `trace_file::write` puts `seq` first; a line edited by hand may not.
    line.starts_with(r#"{"seq":"#)
        || serde_json::from_str::<Seq>(line).is_ok_and(|s| s.seq.is_some())
}

/// The difference at `seq`, with the events before it, which both runs share, read again
/// from the file's `lines` to render them with the node states of their time.
fn difference(
    lines: impl Iterator<Item = String>,
    nodes: u64,
    seq: u64,
    recorded: Option<Value>,
    replayed: Option<Value>,
) -> Difference {
    let mut log = LogState::new(nodes);
    let mut before = Vec::with_capacity(EVENTS_BEFORE);
    let mut before_lines = Vec::with_capacity(EVENTS_BEFORE);
    let shown_from = seq.saturating_sub(EVENTS_BEFORE as u64);
    for (i, line) in (0..seq).zip(lines) {
        let record = parse(&line);
        if i < shown_from {
            log.follow(&record);
        } else {
            before_lines.push(log.line(&record).unwrap_or_default());
            before.push(record);
        }
    }
    let time = |r: &Option<Value>| r.as_ref().and_then(|r| r.get("time_ns")?.as_u64());
    let time_ns = match (time(&recorded), time(&replayed)) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(0),
    };
    // Each side from the node states both runs reached.
    let render = |r: &Option<Value>| r.as_ref().and_then(|r| log.clone().line(r));
    let recorded_line = render(&recorded);
    let replayed_line = render(&replayed);
    let mut fields = Vec::new();
    match (&recorded, &replayed) {
        // Another kind of event differs in every field: its type says it all.
        (Some(a), Some(b)) if a.get("type") != b.get("type") => fields.push("type".into()),
        (Some(a), Some(b)) => differing_fields(a, b, "", &mut fields),
        _ => {}
    }
    Difference {
        seq,
        time_ns,
        recorded,
        replayed,
        before,
        before_lines,
        recorded_line,
        replayed_line,
        fields,
    }
}

/// Adds to `out` the dotted paths under `path` at which `a` and `b` differ, leaves first
/// (a list of another length differs as a whole), up to [`FIELDS_SHOWN_MAX`].
fn differing_fields(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    let join = |key: &str| match path {
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    match (a, b) {
        _ if a == b || out.len() >= FIELDS_SHOWN_MAX => {}
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let (p, q) = (x.get(key), y.get(key));
                let null = Value::Null;
                differing_fields(p.unwrap_or(&null), q.unwrap_or(&null), &join(key), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differing_fields(p, q, &join(&i.to_string()), out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// The first line after the events that differs between the file's `recorded` lines and
/// the new run's (a few thousand lines at most: each is parsed).
fn other_difference(
    recorded: &[String],
    outcome: &crate::Outcome,
) -> serde_json::Result<Option<OtherDifference>> {
    let replayed = trace_file::tail_lines(outcome)?;
    let mut history = 0;
    for i in 0..recorded.len().max(replayed.len()) {
        let a = recorded.get(i).map(|line| parse(line));
        let b = replayed.get(i).map(|line| parse(line));
        let kind = a.as_ref().or(b.as_ref());
        let kind = kind.and_then(|v| v.get("type")?.as_str()).unwrap_or("");
        let kind = kind.to_string();
        if a != b {
            let line = match kind.as_str() {
                "history" => format!("history event {history}"),
                other => other.to_string(),
            };
            return Ok(Some(OtherDifference {
                line,
                recorded: a,
                replayed: b,
            }));
        }
        history += usize::from(kind == "history");
    }
    Ok(None)
}

impl Replay {
    /// True if the new run gave the file's every line.
    pub fn identical(&self) -> bool {
        self.first_difference.is_none() && self.other_difference.is_none()
    }

    /// The human report: one line if identical, else where the runs part and around it.
    pub fn human(&self) -> String {
        let mutation = |m: &Option<String>| match m {
            Some(name) => format!("mutation {name}"),
            None => "no mutation".to_string(),
        };
        let run = format!(
            "{} seed {}, {}",
            self.scenario_path,
            self.seed,
            mutation(&self.mutation_recorded)
        );
        if self.identical() {
            let replayed = match self.mutation_replayed == self.mutation_recorded {
                true => String::new(),
                false => format!(" replayed with {}", mutation(&self.mutation_replayed)),
            };
            return format!(
                "identical: {} events, trace hash {} ({}: {run}{replayed})\n",
                self.events_recorded, self.trace_hash_recorded, self.trace
            );
        }
        let mut s = String::new();
        let _ = writeln!(
            s,
            "diverged: {} ({run}) replayed with {}",
            self.trace,
            mutation(&self.mutation_replayed)
        );
        let _ = writeln!(
            s,
            "  events      recorded {:<16} replayed {}",
            self.events_recorded, self.events_replayed
        );
        let _ = writeln!(
            s,
            "  trace hash  recorded {:<16} replayed {}",
            self.trace_hash_recorded, self.trace_hash_replayed
        );
        let violation = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
        let _ = writeln!(
            s,
            "  violation   recorded: {}\n              replayed: {}",
            violation(&self.violation_recorded),
            violation(&self.violation_replayed)
        );
        if let Some(d) = &self.first_difference {
            self.write_difference(&mut s, d);
        }
        if let Some(o) = &self.other_difference {
            let _ = writeln!(
                s,
                "\nevery event is the same; the first other line that differs is the {}:",
                o.line
            );
            write_json(&mut s, "recorded", o.recorded.as_ref(), "none");
            write_json(&mut s, "replayed", o.replayed.as_ref(), "none");
        }
        s
    }

    fn write_difference(&self, s: &mut String, d: &Difference) {
        let _ = writeln!(
            s,
            "\nfirst difference: event #{} at {}",
            d.seq,
            format_time(d.time_ns)
        );
        if !d.before_lines.is_empty() {
            let _ = writeln!(
                s,
                "\nthe {} events before it, the same in both runs:\n{}",
                d.before_lines.len(),
                trace_log::columns()
            );
            for line in &d.before_lines {
                let _ = writeln!(s, "{line}");
            }
        }
        let ended = |events: u64| format!("(this run ended after {events} events)");
        let recorded = d
            .recorded_line
            .clone()
            .unwrap_or_else(|| ended(self.events_recorded));
        let replayed = d
            .replayed_line
            .clone()
            .unwrap_or_else(|| ended(self.events_replayed));
        let fields = match d.fields.is_empty() {
            true => String::new(),
            false => format!(" (differs in {})", d.fields.join(", ")),
        };
        let _ = writeln!(
            s,
            "\nevent #{}, side by side{fields}:\n{:<COLUMN_CHARS$} | replayed",
            d.seq, "recorded"
        );
        let (left, right) = (wrap(&recorded), wrap(&replayed));
        for i in 0..left.len().max(right.len()) {
            let l = left.get(i).map_or("", String::as_str);
            let r = right.get(i).map_or("", String::as_str);
            let _ = writeln!(s, "{}", format!("{l:<COLUMN_CHARS$} | {r}").trim_end());
        }
        let _ = writeln!(s);
        write_json(s, "recorded", d.recorded.as_ref(), "none: the run ended");
        write_json(s, "replayed", d.replayed.as_ref(), "none: the run ended");
    }
}

fn write_json(s: &mut String, side: &str, value: Option<&Value>, absent: &str) {
    match value {
        Some(v) => {
            let _ = writeln!(s, "{side} as JSON:\n  {v}");
        }
        None => {
            let _ = writeln!(s, "{side} as JSON: {absent}");
        }
    }
}

/// `text` cut into lines of at most [`COLUMN_CHARS`] characters, at a space when one is in
/// the second half of the line.
fn wrap(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + COLUMN_CHARS).min(chars.len());
        if end < chars.len() {
            let space = chars[start..end].iter().rposition(|&c| c == ' ');
            if let Some(p) = space.filter(|&p| p >= COLUMN_CHARS / 2) {
                end = start + p + 1;
            }
        }
        lines.push(
            chars[start..end]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        start = end;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character_in_columns() {
        let text = "word ".repeat(40) + &"x".repeat(100);
        let lines = wrap(&text);
        assert!(lines.iter().all(|l| l.chars().count() <= COLUMN_CHARS));
        let joined: String = lines.concat();
        assert_eq!(
            joined.replace(' ', ""),
            text.replace(' ', ""),
            "only spaces at the breaks are dropped"
        );
        assert!(wrap("").is_empty());
    }

    #[test]
    fn differing_fields_are_named_by_their_paths() {
        let a = serde_json::json!({"seq": 4, "message": {"body": {"granted": false}, "to": 3},
                                   "list": [1, 2], "other": [1]});
        let b = serde_json::json!({"seq": 4, "message": {"body": {"granted": true}, "to": 3},
                                   "list": [1, 5], "other": [1, 2], "new": 1});
        let mut fields = Vec::new();
        differing_fields(&a, &b, "", &mut fields);
        assert_eq!(fields, ["list.1", "message.body.granted", "new", "other"]);
    }
}
