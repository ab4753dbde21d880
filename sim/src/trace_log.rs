//! `raftsim log`: a trace file as a text timeline, one fixed-column line per event: the time,
//! the node, that node's role, term and commit index after the event, and what happened, with
//! messages in full.
//!
//! The file is first read by [`crate::trace_file::read`], so a malformed trace is refused with
//! its line and field exactly as `chart` refuses it; the lines are then rendered from the JSON.

use crate::trace::format_time;
use crate::trace_file::{self, TraceFileError};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::Path;

/// Which events to show.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter {
    /// Only this node's events (and events of no node: partitions, heals, the window's end).
    pub node: Option<u64>,
    /// Only events at or after this simulated time.
    pub from_ns: Option<u64>,
    /// Only events at or before this simulated time.
    pub to_ns: Option<u64>,
}

/// A node's state as the trace shows it.
#[derive(Clone, Debug)]
struct NodeState {
    role: String,
    term: u64,
    commit: u64,
}

/// The header line of the timeline's columns.
pub fn columns() -> String {
    format!(
        "{:>16} {:>4} {:<9} {:>5} {:>7}  event",
        "time", "node", "role", "term", "commit"
    )
}

/// The timeline of the trace at `path`, filtered.
pub fn render(path: &Path, filter: &Filter) -> Result<String, TraceFileError> {
    let (header, _) = trace_file::read(path)?;
    let mut log = LogState::new(header.nodes);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} seed {} ({} nodes); reproduce: {}",
        header.scenario, header.seed, header.nodes, header.reproduce
    );
    let _ = writeln!(out, "{}", columns());
    // `read` accepted every line, so each is a JSON object.
    for record in trace_file::json_lines(path)? {
        if let Value::Object(record) = record {
            if let Some(line) = log.step(&record, filter) {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    Ok(out)
}

/// What a timeline knows as it goes: each node's role, term and commit index so far.
#[derive(Clone, Debug)]
pub struct LogState {
    nodes: Vec<NodeState>,
}

impl LogState {
    /// Nodes `1..=nodes`, each a follower in term 0 that has committed nothing.
    pub fn new(nodes: u64) -> LogState {
        let start = NodeState {
            role: "follower".into(),
            term: 0,
            commit: 0,
        };
        LogState {
            nodes: vec![start; nodes as usize],
        }
    }

    /// Follows one line of a trace file and renders it as `raftsim log` does (without the
    /// newline); `None` for lines that are not events (the history, the evidence, the end).
    pub fn line(&mut self, record: &Value) -> Option<String> {
        match record {
            Value::Object(record) => self.step(record, &Filter::default()),
            _ => None,
        }
    }

    /// Follows one line of a trace file without rendering it.
    pub fn follow(&mut self, record: &Value) {
        if let Value::Object(record) = record {
            self.follow_event(record);
        }
    }

    /// Updates the state of the event's node; the event's time and node, `None` for lines
    /// that are not events.
    fn follow_event(&mut self, record: &Map<String, Value>) -> Option<(u64, Option<u64>)> {
        let kind = record.get("type").and_then(Value::as_str).unwrap_or("");
        // History, evidence and end lines: `check-history` and the report show them.
        let time_ns = record.get("time_ns").and_then(Value::as_u64)?;
        record.get("seq")?;
        let node = event_node(kind, record);
        if let Some(id) = node {
            update(&mut self.nodes, id, kind, record);
        }
        Some((time_ns, node))
    }

    fn step(&mut self, record: &Map<String, Value>, filter: &Filter) -> Option<String> {
        let kind = record.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "violation" {
            let title = record.get("title").and_then(Value::as_str).unwrap_or("");
            return Some(format!("VIOLATION {title}"));
        }
        let (time_ns, node) = self.follow_event(record)?;
        let shown = filter.from_ns.is_none_or(|f| time_ns >= f)
            && filter.to_ns.is_none_or(|t| time_ns <= t)
            && (filter.node.is_none() || node.is_none() || node == filter.node);
        if !shown {
            return None;
        }
        let state = node.and_then(|id| self.nodes.get((id.wrapping_sub(1)) as usize));
        let (id, role, term, commit) = match (node, state) {
            (Some(id), Some(s)) => (
                id.to_string(),
                s.role.clone(),
                s.term.to_string(),
                s.commit.to_string(),
            ),
            _ => ("-".into(), String::new(), String::new(), String::new()),
        };
        Some(format!(
            "{:>16} {id:>4} {role:<9} {term:>5} {commit:>7}  {}",
            format_time(time_ns),
            describe(kind, record)
        ))
    }
}

/// The node an event happened at: its `node`, or a message's receiver.
fn event_node(kind: &str, record: &Map<String, Value>) -> Option<u64> {
    let field = match kind {
        "deliver" | "drop" | "rejected" | "nemesis-message" => "to",
        _ => "node",
    };
    record.get(field).and_then(Value::as_u64)
}

fn update(nodes: &mut [NodeState], id: u64, kind: &str, record: &Map<String, Value>) {
    let Some(state) = nodes.get_mut((id.wrapping_sub(1)) as usize) else {
        return;
    };
    match kind {
        "role" => {
            if let Some(role) = record.get("role").and_then(Value::as_str) {
                state.role = role.to_string();
            }
            if let Some(term) = record.get("term").and_then(Value::as_u64) {
                state.term = term;
            }
        }
        "commit" => {
            if let Some(index) = record.get("index").and_then(Value::as_u64) {
                state.commit = index;
            }
        }
        "crash" => state.role = "down".into(),
        "pause" => state.role = "paused".into(),
        // A restarted node's commit index starts again from what it learns.
        "restart" | "join" => {
            state.role = "follower".into();
            state.commit = 0;
        }
        _ => {}
    }
}

/// What happened, in words: the event's kind, a message's kind, sender, receiver and term,
/// then every other field as `key=value`, and the full message last.
fn describe(kind: &str, record: &Map<String, Value>) -> String {
    const SKIPPED: [&str; 7] = ["seq", "time_ns", "type", "node", "to", "msg", "message"];
    let mut s = kind.to_string();
    if let Some(Value::Object(msg)) = record.get("msg") {
        let field = |k: &str| msg.get(k).map(compact).unwrap_or_default();
        let to = record.get("to").map(compact).unwrap_or_default();
        let _ = write!(
            s,
            " {} {}->{to} term {}",
            field("kind"),
            field("from"),
            field("term")
        );
    }
    for (key, value) in record {
        if SKIPPED.contains(&key.as_str()) {
            continue;
        }
        match (key.strip_suffix("_ns"), value.as_u64()) {
            (Some(name), Some(ns)) => {
                let _ = write!(s, " {name}={}", format_time(ns));
            }
            _ => {
                let _ = write!(s, " {key}={}", compact(value));
            }
        }
    }
    if let Some(message) = record.get("message") {
        let _ = write!(s, ": {message}");
    }
    s
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}
