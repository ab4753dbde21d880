//! The trace file: what `raftsim run --trace FILE` writes and `raftsim chart FILE`,
//! `raftsim log FILE` and `raftsim replay FILE` read.
//!
//! JSON lines, format [`FORMAT`]. Line 1 is the [`Header`] (`"type": "raftsim-trace"`: format,
//! scenario name, the scenario file as `run` was given it and the FNV-1a hash of its bytes,
//! seed, mutation, the cluster's size, the end of the run, the reproduce command). Then every
//! event of the run in trace order, one [`Record`](crate::trace::Record) per line (`seq`,
//! `time_ns`, `type` and the event's fields; a delivery, a client's request and a reply carry
//! the whole message as JSON in `message`). Then the clients' history, one
//! `{"type": "history", "event": {...}}` per event, and what went wrong, if anything:
//! `{"type": "violation", ...}` (time, title, nodes) and
//! `{"type": "evidence", "invoke_positions": [...]}` (the history positions of the operations
//! that show it). The last line is the [`End`]: `{"type": "end", "events": N, "trace_hash":
//! "..."}`, so that a file cut short is refused rather than read as a shorter run. A file is
//! enough to draw the run's timeline, and with its scenario file to run it again.

use crate::history;
use crate::timeline::{RunFacts, Step, StepsKept, TimedStep};
use crate::trace::{Record, TraceHasher};
use crate::{Outcome, Scenario, ScenarioError};
use reports::model as m;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::hash::Hasher;
use std::io::{BufRead, Write};
use std::path::Path;

/// The format version this build writes and reads. Format 2 added the scenario file's path and
/// hash, the mutation and the end line, and keeps messages as JSON (format 1: Debug strings).
pub const FORMAT: u64 = 2;

/// The `type` of the header line.
const HEADER_TYPE: &str = "raftsim-trace";
/// The `type` of the last line.
const END_TYPE: &str = "end";

/// 64-bit FNV-1a of a scenario file's bytes: what a trace's header remembers of its scenario.
pub fn scenario_hash(bytes: &[u8]) -> u64 {
    let mut hasher = TraceHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// A 64-bit hash as trace files and reports write it: 16 lowercase hex digits.
pub fn hex16(hash: u64) -> String {
    format!("{hash:016x}")
}

/// Where a run came from, beyond its seed: what running it again needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The scenario file, as the command line gave it.
    pub scenario_path: String,
    /// [`scenario_hash`] of the file's bytes.
    pub scenario_hash: u64,
    /// The deliberately broken rule the run had, if any.
    pub mutation: Option<String>,
}

impl Origin {
    /// Loads the scenario file at `path` and remembers its bytes' hash (one read, so the hash
    /// is of the very text parsed).
    pub fn load(path: &Path, mutation: Option<&str>) -> Result<(Scenario, Origin), ScenarioError> {
        let file = path.display().to_string();
        let bytes =
            crate::history::input::read(path, "the scenario file").map_err(|e| ScenarioError {
                file: file.clone(),
                line: None,
                field: None,
                message: e.message,
            })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| ScenarioError {
            file: file.clone(),
            line: None,
            field: None,
            message: format!(
                "cannot read the scenario file: not UTF-8 text (byte {})",
                e.valid_up_to()
            ),
        })?;
        let scenario = crate::scenario::parse(&file, text)?;
        let origin = Origin {
            scenario_path: file,
            scenario_hash: scenario_hash(&bytes),
            mutation: mutation.map(str::to_string),
        };
        Ok((scenario, origin))
    }
}

/// Line 1 of a trace file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `raftsim-trace`.
    #[serde(rename = "type")]
    pub kind: String,
    /// [`FORMAT`].
    pub format: u64,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file, as `raftsim run` was given it (relative to where it ran).
    pub scenario_path: String,
    /// [`scenario_hash`] of the scenario file's bytes, as [`hex16`] writes it.
    pub scenario_hash: String,
    /// The seed.
    pub seed: u64,
    /// The deliberately broken rule of the run (`--mutation`), if any.
    pub mutation: Option<String>,
    /// The implementation the run was against, when not raftsim's own (`--impl`, or the
    /// scenario's `implementation`); left out otherwise, so older traces read the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    /// Nodes `1..=nodes`, spares included.
    pub nodes: u64,
    /// Nodes `1..=members_initial` ran from the start.
    pub members_initial: u64,
    /// The end of the run.
    pub end_ns: u64,
    /// The command that reproduces the run.
    pub reproduce: String,
    /// The run's event budget (`run --events-max`), when one was given; left out otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_max: Option<u64>,
}

impl Header {
    /// The header of a run of `scenario`, loaded from `origin`.
    pub fn new(
        scenario: &Scenario,
        outcome: &Outcome,
        reproduce: String,
        origin: &Origin,
    ) -> Header {
        Header {
            kind: HEADER_TYPE.into(),
            format: FORMAT,
            scenario: scenario.name.clone(),
            scenario_path: origin.scenario_path.clone(),
            scenario_hash: hex16(origin.scenario_hash),
            seed: outcome.seed,
            mutation: origin.mutation.clone(),
            implementation: (scenario.implementation != Default::default())
                .then(|| scenario.implementation.name().to_string()),
            nodes: scenario.nodes,
            members_initial: members_initial(scenario),
            end_ns: outcome.sim_time_ns,
            reproduce,
            events_max: None,
        }
    }
}

fn members_initial(scenario: &Scenario) -> u64 {
    match scenario.membership.initial {
        0 => scenario.nodes,
        n => n.min(scenario.nodes),
    }
}

/// The violation mark and the evidence of a finished run.
pub fn what_went_wrong(outcome: &Outcome) -> (Option<m::ViolationMark>, BTreeSet<u64>) {
    let mark = outcome.violation.as_ref().map(|v| m::ViolationMark {
        time_ns: v.time_ns,
        title: format!(
            "{}: {}",
            v.invariant.name(),
            v.detail.lines().next().unwrap_or("")
        ),
        nodes: v.nodes.clone(),
    });
    let evidence = outcome
        .linearizability
        .iter()
        .flat_map(|r| &r.keys)
        .flat_map(|k| &k.minimal)
        .map(|op| op.invoke_pos)
        .collect();
    (mark, evidence)
}

/// What the timeline of a finished run (kept with its full trace) is drawn from.
pub fn facts(header: &Header, outcome: &Outcome) -> RunFacts {
    let steps = outcome
        .trace
        .all()
        .unwrap_or(&[])
        .iter()
        .filter_map(crate::timeline::step_of)
        .collect();
    facts_of_steps(header, outcome, steps, (0, 0))
}

/// A run's facts from the steps kept of it, and the messages left out (see
/// [`crate::timeline::StepsKept`]).
pub fn facts_of_steps(
    header: &Header,
    outcome: &Outcome,
    steps: Vec<crate::timeline::TimedStep>,
    messages_left_out: (u64, u64),
) -> RunFacts {
    let (violation, evidence) = what_went_wrong(outcome);
    RunFacts {
        title: title(header),
        nodes: header.nodes,
        members_initial: header.members_initial,
        end_ns: header.end_ns,
        steps,
        messages_left_out,
        history: outcome.history.clone(),
        violation,
        evidence,
    }
}

fn title(header: &Header) -> String {
    format!("{} · seed {}", header.scenario, header.seed)
}

/// The last line of a trace file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// Always `end`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How many event records the file holds.
    pub events: u64,
    /// The run's trace hash, as [`hex16`] writes it.
    pub trace_hash: String,
}

impl End {
    /// The end line of a finished run.
    pub fn of(outcome: &Outcome) -> End {
        End {
            kind: END_TYPE.into(),
            events: outcome.trace.len(),
            trace_hash: hex16(outcome.trace.hash()),
        }
    }
}

/// Writes the trace file of a finished run kept with its full trace.
pub fn write(path: &Path, header: &Header, outcome: &Outcome) -> std::io::Result<()> {
    let Some(records) = outcome.trace.all() else {
        return Err(std::io::Error::other(
            "the run did not keep its full trace (RunOptions::keep_trace)",
        ));
    };
    write_around(path, header, outcome, |out| {
        for record in records {
            writeln!(
                out,
                "{}",
                record_line(record).map_err(std::io::Error::other)?
            )?;
        }
        Ok(())
    })
}

/// Writes the trace file `path`: the header, what `records` writes, then the tail.
fn write_around(
    path: &Path,
    header: &Header,
    outcome: &Outcome,
    records: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let json = |e: serde_json::Error| std::io::Error::other(e);
    writeln!(out, "{}", serde_json::to_string(header).map_err(json)?)?;
    records(&mut out)?;
    for line in tail_lines(outcome).map_err(json)? {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// The records of a run as it goes, written to a file beside the trace file (its name with
/// `.part` added); [`write_streamed`] puts the trace file together once the run is over. A
/// run's trace then never sits in memory, however long the run.
pub struct StreamedRecords {
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    error: Option<std::io::Error>,
}

impl StreamedRecords {
    /// The records file of the trace file `trace_path`.
    pub fn path_for(trace_path: &Path) -> std::path::PathBuf {
        let mut name = trace_path.as_os_str().to_owned();
        name.push(".part");
        std::path::PathBuf::from(name)
    }

    /// Creates the records file for the trace file `trace_path`.
    pub fn create(trace_path: &Path) -> std::io::Result<StreamedRecords> {
        let path = StreamedRecords::path_for(trace_path);
        let out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        Ok(StreamedRecords {
            path,
            out,
            error: None,
        })
    }
}

impl crate::trace::RecordSink for StreamedRecords {
    fn write(&mut self, record: &Record) {
        if self.error.is_some() {
            return;
        }
        let line = record_line(record).map_err(std::io::Error::other);
        if let Err(e) = line.and_then(|line| writeln!(self.out, "{line}")) {
            self.error = Some(e);
        }
    }

    fn finish(mut self: Box<Self>) -> std::io::Result<std::path::PathBuf> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.path.clone())
    }
}

/// Writes the trace file `path` of a run whose records were streamed to `records` (see
/// [`StreamedRecords`]): the same bytes [`write`] writes for the run kept in memory. The
/// records file is removed.
pub fn write_streamed(
    path: &Path,
    header: &Header,
    outcome: &Outcome,
    records: &Path,
) -> std::io::Result<()> {
    write_around(path, header, outcome, |out| {
        std::io::copy(&mut std::fs::File::open(records)?, out).map(|_| ())
    })?;
    std::fs::remove_file(records)
}

/// One event's line, as [`write`] writes it.
pub fn record_line(record: &Record) -> serde_json::Result<String> {
    serde_json::to_string(record)
}

/// The lines after the events, as [`write`] writes them: the history, what went wrong, the end.
pub fn tail_lines(outcome: &Outcome) -> serde_json::Result<Vec<String>> {
    let mut lines = Vec::with_capacity(outcome.history.len() + 3);
    for event in &outcome.history {
        lines.push(serde_json::json!({ "type": "history", "event": event }).to_string());
    }
    let (violation, evidence) = what_went_wrong(outcome);
    if let Some(v) = violation {
        let mut value = serde_json::to_value(&v)?;
        value["type"] = "violation".into();
        lines.push(value.to_string());
    }
    if !evidence.is_empty() {
        lines.push(
            serde_json::json!({ "type": "evidence", "invoke_positions": evidence }).to_string(),
        );
    }
    lines.push(serde_json::to_string(&End::of(outcome))?);
    Ok(lines)
}

/// The lines after the header of a trace file that [`read`] accepted, as text, in order,
/// blank lines left out. A line that cannot be read (the file changed since) ends them.
pub fn text_lines(path: &Path) -> Result<impl Iterator<Item = String>, TraceFileError> {
    let file =
        crate::history::input::open_stream(path, "the trace file").map_err(|e| TraceFileError {
            path: path.display().to_string(),
            line: 0,
            message: e.message,
        })?;
    let lines = std::io::BufReader::new(file).lines().skip(1);
    Ok(lines
        .map_while(Result::ok)
        .filter(|line| !line.trim().is_empty()))
}

/// The lines after the header of a trace file that [`read`] accepted, as JSON, in order.
/// A line that is not JSON (the file changed since it was read) ends the lines.
pub fn json_lines(path: &Path) -> Result<impl Iterator<Item = Value>, TraceFileError> {
    Ok(text_lines(path)?.map_while(|line| serde_json::from_str(&line).ok()))
}

/// A trace file that cannot be read: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceFileError {
    /// The file.
    pub path: String,
    /// The line, from 1 (0: the file itself).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TraceFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(f, "{}:{}: {}", self.path, self.line, self.message)
        }
    }
}

impl std::error::Error for TraceFileError {}

/// Lines longer than this are refused (a trace line is a few hundred bytes).
const LINE_BYTES_MAX: usize = 1 << 20;

/// What [`read_keeping`] keeps of a trace's steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Every step: a run in memory and its file give the same facts.
    All,
    /// What a chart of the window `from_ns..to_ns` (the whole run without either) draws,
    /// within bounds ([`StepsKept`]): a trace of any length charts in bounded memory.
    ForChart {
        /// The window's start.
        from_ns: Option<u64>,
        /// The window's end.
        to_ns: Option<u64>,
    },
}

/// Reads a trace file into what its timeline is drawn from, and its header.
pub fn read(path: &Path) -> Result<(Header, RunFacts), TraceFileError> {
    read_keeping(path, Keep::All)
}

/// [`read`], keeping of the steps what `keep` says; the whole file is checked either way.
pub fn read_keeping(path: &Path, keep: Keep) -> Result<(Header, RunFacts), TraceFileError> {
    let name = path.display().to_string();
    let err = |line: usize, message: String| TraceFileError {
        path: name.clone(),
        line,
        message,
    };
    let file = crate::history::input::open_stream(path, "the trace file")
        .map_err(|e| err(0, e.message))?;
    let mut reader = std::io::BufReader::new(file);
    let mut header: Option<Header> = None;
    let mut facts = RunFacts {
        title: String::new(),
        nodes: 0,
        members_initial: 0,
        end_ns: 0,
        steps: Vec::new(),
        messages_left_out: (0, 0),
        history: Vec::new(),
        violation: None,
        evidence: BTreeSet::new(),
    };
    let mut text = String::new();
    let mut order = Order::default();
    let mut kept: Option<StepsKept> = None;
    for number in 1.. {
        text.clear();
        // Capped as it is read: a line with no end (a file of zeros) is not read whole.
        let read =
            crate::history::input::read_line_within(&mut reader, &mut text, LINE_BYTES_MAX as u64)
                .map_err(|e| err(number, e))?;
        if read == 0 {
            break;
        }
        if text.trim().is_empty() {
            continue;
        }
        let value = match serde_json::from_str::<LineFields>(&text) {
            Ok(LineFields(fields)) => Value::Object(fields),
            Err(e) if e.is_data() => return Err(err(number, "expected a JSON object".into())),
            Err(e) => return Err(err(number, format!("not JSON: {e}"))),
        };
        let Some(h) = &header else {
            let h = parse_header(value).map_err(|m| err(number, m))?;
            order.end_ns = h.end_ns;
            order.nodes = h.nodes;
            kept = match keep {
                Keep::All => None,
                Keep::ForChart {
                    from_ns: None,
                    to_ns: None,
                } => Some(StepsKept::new(h.end_ns)),
                Keep::ForChart { from_ns, to_ns } => Some(StepsKept::window(
                    h.end_ns,
                    from_ns.unwrap_or(0),
                    to_ns.unwrap_or(h.end_ns),
                )),
            };
            header = Some(h);
            continue;
        };
        debug_assert_eq!(order.end_ns, h.end_ns);
        if let Some((end_line, _)) = &order.end {
            return Err(err(
                number,
                format!("a line after the end line (line {end_line})"),
            ));
        }
        order.line = number;
        read_line(value, &mut facts, &mut kept, &mut order).map_err(|m| err(number, m))?;
        order.lines = number;
    }
    let header = header.ok_or_else(|| err(0, "empty file: no header line".into()))?;
    match &order.end {
        None => {
            return Err(err(
                0,
                format!(
                    "truncated: no end line (`{{\"type\":\"{END_TYPE}\",...}}`) after line {}, \
                     the last; the file was cut short or is still being written",
                    order.lines.max(1)
                ),
            ))
        }
        Some((line, end)) if end.events != order.events => {
            return Err(err(
                *line,
                format!(
                    "field `events`: the end line counts {} events, the file holds {}",
                    end.events, order.events
                ),
            ))
        }
        Some(_) => {}
    }
    facts.title = title(&header);
    facts.nodes = header.nodes;
    facts.members_initial = header.members_initial;
    facts.end_ns = header.end_ns;
    if let Some(kept) = kept {
        (facts.steps, facts.messages_left_out) = kept.finish();
    }
    // The history must pair: each completion after its process's invocation.
    if let Err(e) = history::operations(&facts.history) {
        let line = order.history_lines.get(e.event).copied().unwrap_or(0);
        return Err(err(line, format!("the history: {}", e.message)));
    }
    Ok((header, facts))
}

/// A line's fields as [`read`] needs them: all but a record's `message`, which is checked to
/// be JSON and skipped without being built (messages are most of a trace's bytes, and no
/// timeline looks into them).
struct LineFields(serde_json::Map<String, Value>);

impl<'de> Deserialize<'de> for LineFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = serde_json::Map<String, Value>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "message" {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    } else {
                        fields.insert(key, map.next_value()?);
                    }
                }
                Ok(fields)
            }
        }
        deserializer.deserialize_map(Fields).map(LineFields)
    }
}

/// What reading checks across lines: events in time order, none past the run's end, and where
/// each history event came from.
#[derive(Default)]
struct Order {
    end_ns: u64,
    /// The header's node count.
    nodes: u64,
    last_time_ns: u64,
    /// The line being read.
    line: usize,
    /// Line numbers of the history lines, in order.
    history_lines: Vec<usize>,
    /// Event records read so far: the next one's `seq`.
    events: u64,
    /// The end line and its number, once read.
    end: Option<(usize, End)>,
    /// The number of the last line read.
    lines: usize,
}

fn parse_header(value: Value) -> Result<Header, String> {
    if value.get("type").and_then(Value::as_str) != Some(HEADER_TYPE) {
        return Err(format!(
            "field `type`: expected the header `{HEADER_TYPE}` on line 1 \
             (a trace written by `raftsim run --trace FILE`)"
        ));
    }
    // The format first: an older file lacks fields this build's header has.
    let format = u64_field(&value, "format")?;
    if format != FORMAT {
        return Err(format!(
            "field `format`: the file is trace format {format}, this raftsim reads only format \
             {FORMAT}; run the scenario again with this build's `raftsim run --trace` \
             (the header's `reproduce` command)"
        ));
    }
    hex16_field(&value, "scenario_hash")?;
    let header: Header =
        serde_json::from_value(value).map_err(|e| format!("the header line: {e}"))?;
    if header.nodes == 0 || header.nodes > crate::scenario::MAX_NODES {
        return Err(format!(
            "field `nodes`: expected 1..={}, found {}",
            crate::scenario::MAX_NODES,
            header.nodes
        ));
    }
    Ok(header)
}

fn node_out_of_range(step: &TimedStep, nodes: u64) -> Option<String> {
    let ids: Vec<u64> = match &step.step {
        Step::Role { node, .. }
        | Step::Crash { node, .. }
        | Step::Restart { node }
        | Step::Join { node }
        | Step::Pause { node, .. }
        | Step::Commit { node, .. } => vec![*node],
        Step::Message { from, to, .. } => vec![*from, *to],
        Step::Marker { node, .. } => node.iter().copied().collect(),
        Step::Cut { nodes, .. } | Step::Clog { nodes, .. } => nodes.clone(),
        Step::Heal | Step::FaultWindowEnd => Vec::new(),
    };
    ids.into_iter().find(|&id| id == 0 || id > nodes).map(|id| {
        format!(
            "event #{}: node {id} is not one of the header's {nodes} nodes",
            step.seq
        )
    })
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, String> {
    value
        .get(name)
        .ok_or_else(|| format!("field `{name}`: missing"))
}

fn u64_field(value: &Value, name: &str) -> Result<u64, String> {
    field(value, name)?
        .as_u64()
        .ok_or_else(|| format!("field `{name}`: expected a non-negative integer"))
}

fn str_field<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    field(value, name)?
        .as_str()
        .ok_or_else(|| format!("field `{name}`: expected a string"))
}

/// A 64-bit hash written as 16 lowercase hex digits.
fn hex16_field<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    let text = str_field(value, name)?;
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if text.len() != 16 || !text.chars().all(hex) {
        return Err(format!(
            "field `{name}`: expected 16 lowercase hex digits, found `{text}`"
        ));
    }
    Ok(text)
}

fn nodes_field(value: &Value, name: &str) -> Result<Vec<u64>, String> {
    u64_list_field(value, name, "node ids")
}

/// A list of non-negative integers; `what` names them in the error.
fn u64_list_field(value: &Value, name: &str, what: &str) -> Result<Vec<u64>, String> {
    let items = field(value, name)?
        .as_array()
        .ok_or_else(|| format!("field `{name}`: expected a list of {what}"))?;
    items
        .iter()
        .map(|v| {
            v.as_u64()
                .ok_or_else(|| format!("field `{name}`: expected {what}, found {v}"))
        })
        .collect()
}

fn groups_field(value: &Value, name: &str) -> Result<Vec<Vec<u64>>, String> {
    let items = field(value, name)?
        .as_array()
        .ok_or_else(|| format!("field `{name}`: expected a list of groups"))?;
    items
        .iter()
        .map(|g| nodes_field(&serde_json::json!({ name: g }), name))
        .collect()
}

/// Adds one line after the header to `facts`.
fn read_line(
    value: Value,
    facts: &mut RunFacts,
    kept: &mut Option<StepsKept>,
    order: &mut Order,
) -> Result<(), String> {
    let kind = str_field(&value, "type")?.to_string();
    match kind.as_str() {
        "history" => {
            let event: history::Event = serde_json::from_value(field(&value, "event")?.clone())
                .map_err(|e| format!("field `event`: {e}"))?;
            facts.history.push(event);
            order.history_lines.push(order.line);
        }
        "violation" => {
            let mark: m::ViolationMark =
                serde_json::from_value(value).map_err(|e| format!("the violation line: {e}"))?;
            facts.violation = Some(mark);
        }
        "evidence" => {
            facts.evidence = u64_list_field(&value, "invoke_positions", "history positions")?
                .into_iter()
                .collect();
        }
        END_TYPE => {
            u64_field(&value, "events")?;
            hex16_field(&value, "trace_hash")?;
            let end: End =
                serde_json::from_value(value).map_err(|e| format!("the end line: {e}"))?;
            order.end = Some((order.line, end));
        }
        _ => {
            let seq = u64_field(&value, "seq")?;
            if seq != order.events {
                return Err(format!(
                    "field `seq`: expected {} (the events are numbered from 0 in order), found {seq}",
                    order.events
                ));
            }
            order.events += 1;
            let time_ns = u64_field(&value, "time_ns")?;
            if time_ns < order.last_time_ns {
                return Err(format!(
                    "field `time_ns`: {time_ns} is before the event before it ({})",
                    order.last_time_ns
                ));
            }
            if time_ns > order.end_ns {
                return Err(format!(
                    "field `time_ns`: {time_ns} is after the run's end in the header ({})",
                    order.end_ns
                ));
            }
            order.last_time_ns = time_ns;
            if let Some(step) = step_from_json(&kind, &value)? {
                let step = TimedStep { seq, time_ns, step };
                if let Some(bad) = node_out_of_range(&step, order.nodes) {
                    return Err(bad);
                }
                match kept {
                    Some(kept) => kept.add_step(step),
                    None => facts.steps.push(step),
                }
            }
        }
    }
    Ok(())
}

/// The step of one event line; `None` for events the timeline does not draw.
fn step_from_json(kind: &str, v: &Value) -> Result<Option<Step>, String> {
    let node = || u64_field(v, "node");
    let step = match kind {
        "role" => Step::Role {
            node: node()?,
            role: match str_field(v, "role")? {
                "follower" => crate::node::Role::Follower,
                "candidate" => crate::node::Role::Candidate,
                "leader" => crate::node::Role::Leader,
                other => {
                    return Err(format!(
                        "field `role`: expected follower, candidate or leader, found `{other}`"
                    ))
                }
            },
            term: u64_field(v, "term")?,
        },
        "crash" => Step::crash(
            node()?,
            u64_field(v, "writes_lost")?,
            u64_field(v, "writes_torn")?,
        ),
        "restart" => Step::Restart { node: node()? },
        "join" => Step::Join { node: node()? },
        "pause" => Step::Pause {
            node: node()?,
            until_ns: u64_field(v, "until_ns")?,
        },
        "partition" => Step::partition(&groups_field(v, "groups")?),
        "one-way" => Step::one_way(&nodes_field(v, "from")?, &nodes_field(v, "to")?),
        "bridge" => Step::bridge(&groups_field(v, "groups")?, u64_field(v, "node")?),
        "clog" => Step::clog(
            &nodes_field(v, "from")?,
            &nodes_field(v, "to")?,
            u64_field(v, "until_ns")?,
        ),
        "heal" => Step::Heal,
        "fault-window-end" => Step::FaultWindowEnd,
        "clock-jump" => Step::clock_jump(node()?, u64_field(v, "by_ns")?),
        "membership" => Step::membership(str_field(v, "what")?),
        "network" => Step::network(str_field(v, "settings")?),
        "nemesis" => {
            let fired = field(v, "fired")?
                .as_bool()
                .ok_or("field `fired`: expected true or false")?;
            if !fired {
                return Ok(None);
            }
            Step::nemesis(str_field(v, "name")?, v.get("node").and_then(Value::as_u64))
        }
        "commit" => Step::Commit {
            node: node()?,
            index: u64_field(v, "index")?,
        },
        "deliver" | "drop" => {
            let msg = field(v, "msg")?;
            Step::Message {
                from: u64_field(msg, "from").map_err(|e| format!("msg: {e}"))?,
                to: u64_field(v, "to")?,
                sent_ns: u64_field(v, "sent_ns")?,
                kind: str_field(msg, "kind")
                    .map_err(|e| format!("msg: {e}"))?
                    .to_string(),
                delivered: kind == "deliver",
            }
        }
        "rejected" | "timer" | "synced" | "liveness-check" | "propose" | "client-request"
        | "client-reply" | "nemesis-message" => return Ok(None),
        other => return Err(format!("field `type`: unknown event type `{other}`")),
    };
    Ok(Some(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_lines(lines: &[&str]) -> (tempdir::Dir, std::path::PathBuf) {
        let dir = tempdir::Dir::new();
        let path = dir.path.join("trace.jsonl");
        std::fs::write(&path, lines.join("\n")).unwrap();
        (dir, path)
    }

    mod tempdir {
        /// A directory removed when dropped.
        pub struct Dir {
            pub path: std::path::PathBuf,
        }
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU64, Ordering};
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let path = std::env::temp_dir().join(format!(
                    "raftsim-trace-file-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&path).unwrap();
                Dir { path }
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }

    const HEADER: &str = r#"{"type":"raftsim-trace","format":2,"scenario":"s","scenario_path":"s.toml","scenario_hash":"0123456789abcdef","seed":1,"mutation":null,"nodes":3,"members_initial":3,"end_ns":100,"reproduce":"raftsim run s.toml --seed 1"}"#;

    /// The end line of a file of `events` events.
    fn end(events: u64) -> String {
        format!(r#"{{"type":"end","events":{events},"trace_hash":"00000000000000ff"}}"#)
    }

    #[test]
    fn bad_lines_name_the_line_and_the_field() {
        let end0 = end(0);
        let end1 = end(1);
        let end2 = end(2);
        let format1 = HEADER.replace(r#""format":2"#, r#""format":1"#);
        let cases: [(&[&str], &str); 18] = [
            (&[r#"{"seq":0}"#], ":1: field `type`: expected the header"),
            (
                &[&format1, &end0],
                ":1: field `format`: the file is trace format 1, this raftsim reads only format 2",
            ),
            (
                &[&HEADER.replace("0123456789abcdef", "xyz"), &end0],
                ":1: field `scenario_hash`: expected 16 lowercase hex digits, found `xyz`",
            ),
            (&[HEADER, "{"], ":2: not JSON"),
            (&[HEADER, "[1]"], ":2: expected a JSON object"),
            (
                &[
                    HEADER,
                    r#"{"seq":0,"time_ns":5,"type":"role","node":1,"role":"King","term":1}"#,
                ],
                ":2: field `role`: expected follower, candidate or leader",
            ),
            (
                &[HEADER, r#"{"seq":0,"time_ns":5,"type":"commit","node":1}"#],
                ":2: field `index`: missing",
            ),
            (
                &[HEADER, r#"{"seq":0,"time_ns":5,"type":"teleport"}"#],
                ":2: field `type`: unknown event type `teleport`",
            ),
            (
                &[
                    HEADER,
                    r#"{"seq":0,"time_ns":5,"type":"crash","node":9,"writes_lost":0,"writes_torn":0}"#,
                    &end1,
                ],
                "node 9 is not one of the header's 3 nodes",
            ),
            (
                &[
                    HEADER,
                    r#"{"seq":0,"time_ns":50,"type":"timer","node":1}"#,
                    r#"{"seq":1,"time_ns":5,"type":"timer","node":1}"#,
                ],
                ":3: field `time_ns`: 5 is before the event before it (50)",
            ),
            (
                &[
                    HEADER,
                    r#"{"seq":0,"time_ns":5,"type":"timer","node":1}"#,
                    r#"{"seq":2,"time_ns":6,"type":"timer","node":1}"#,
                ],
                ":3: field `seq`: expected 1",
            ),
            (
                &[HEADER, r#"{"seq":0,"time_ns":101,"type":"heal"}"#],
                ":2: field `time_ns`: 101 is after the run's end in the header (100)",
            ),
            (
                &[
                    HEADER,
                    "",
                    r#"{"type":"history","event":{"process":1,"type":"ok","f":"read","value":1}}"#,
                    &end0,
                ],
                ":3: the history: process 1 completes an operation it never invoked",
            ),
            (
                &[HEADER, r#"{"type":"evidence","invoke_positions":[-1]}"#],
                ":2: field `invoke_positions`: expected history positions",
            ),
            (
                &[HEADER, r#"{"seq":0,"time_ns":5,"type":"heal"}"#],
                "trace.jsonl: truncated: no end line",
            ),
            (
                &[HEADER, r#"{"seq":0,"time_ns":5,"type":"heal"}"#, &end2],
                ":3: field `events`: the end line counts 2 events, the file holds 1",
            ),
            (
                &[HEADER, &end0.replace("00000000000000ff", "ff")],
                ":2: field `trace_hash`: expected 16 lowercase hex digits",
            ),
            (
                &[HEADER, &end0, r#"{"seq":0,"time_ns":5,"type":"heal"}"#],
                ":3: a line after the end line (line 2)",
            ),
        ];
        for (lines, expected) in cases {
            let (_dir, path) = write_lines(lines);
            let e = read(&path).expect_err(expected).to_string();
            assert!(e.contains(expected), "{e} lacks {expected}");
        }
    }

    #[test]
    fn a_minimal_file_reads() {
        let (_dir, path) = write_lines(&[
            HEADER,
            r#"{"seq":0,"time_ns":5,"type":"role","node":1,"role":"leader","term":2}"#,
            r#"{"seq":1,"time_ns":6,"type":"timer","node":1}"#,
            &end(2),
        ]);
        let (header, facts) = read(&path).unwrap();
        assert_eq!(header.seed, 1);
        assert_eq!(header.scenario_path, "s.toml");
        assert_eq!(header.mutation, None);
        assert_eq!(facts.steps.len(), 1);
        assert_eq!(facts.end_ns, 100);
        let lines: Vec<Value> = json_lines(&path).unwrap().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["type"], "end");
    }

    #[test]
    fn the_scenario_hash_is_fnv1a_of_the_bytes() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(hex16(scenario_hash(b"")), "cbf29ce484222325");
        assert_eq!(hex16(scenario_hash(b"a")), "af63dc4c8601ec8c");
        assert_eq!(hex16(scenario_hash(b"foobar")), "85944171f73967e8");
    }
}
