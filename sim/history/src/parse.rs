//! Readers and writers of history files: raftsim JSON lines, Jepsen EDN, Jepsen text logs.
//!
//! [`parse_history`] detects the format of a file and reads its events, remembering the
//! source line of each so that every later complaint ([`pair`]) can point at a line.
//! [`to_json_lines`] and [`to_edn`] write events back out; reading what they write gives the
//! same events.
//!
//! Jepsen's EDN is read by a small reader for the subset its histories use: nil, booleans,
//! integers (with an optional `N`), floats, strings with escapes, characters, keywords,
//! symbols, lists, vectors, maps, sets, tagged literals (the tag is dropped, so
//! `#jepsen.history.Op{...}` reads as the map), `;` comments, `#_` discards, and commas as
//! whitespace.

use super::{operations, Event, EventKind, Function, Operation, Value};
use std::fmt;

/// The formats [`parse_history`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line, each an [`Event`] (what [`to_json_lines`] writes).
    RaftsimJson,
    /// Jepsen's `history.edn`: op maps, one or more per line, or all in one vector or list.
    JepsenEdn,
    /// A Jepsen text log: the op lines `jepsen.util` prints, among any other lines.
    JepsenLog,
}

impl Format {
    /// The format's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Format::RaftsimJson => "raftsim JSON lines",
            Format::JepsenEdn => "Jepsen EDN",
            Format::JepsenLog => "Jepsen log",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a history file says it is a history of: a header line that raftsim writes first in
/// the files it makes, so that `check-history` needs no `--model` for them. In JSON lines,
/// `{"history":"raftsim","model":"kv"}`; in EDN, where it is a comment that other readers
/// skip, `; raftsim history: model kv`. A register model may add its initial value, in EDN
/// (`"initial":"nil"`, `, initial nil`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredModel {
    /// The model's name as written (`kv`, `register`, `cas-register`); the reader of the
    /// header checks it.
    pub model: String,
    /// The registers' initial value as written, in EDN.
    pub initial: Option<String>,
    /// The header's line.
    pub line: usize,
}

/// The EDN comment that starts a header line.
const EDN_HEADER_PREFIX: &str = "; raftsim history: model ";

/// The JSON fields of a header line.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonHeader {
    history: String,
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initial: Option<String>,
}

/// The header line [`DeclaredModel`] describes, for raftsim JSON lines.
pub fn header_json(model: &str, initial: Option<&str>) -> String {
    let header = JsonHeader {
        history: "raftsim".into(),
        model: model.into(),
        initial: initial.map(str::to_string),
    };
    serde_json::to_string(&header).expect("a header always serializes") + "\n"
}

/// The header line [`DeclaredModel`] describes, for Jepsen EDN: a comment.
pub fn header_edn(model: &str, initial: Option<&str>) -> String {
    match initial {
        Some(initial) => format!("{EDN_HEADER_PREFIX}{model}, initial {initial}\n"),
        None => format!("{EDN_HEADER_PREFIX}{model}\n"),
    }
}

/// The header of `text`, if its first line that is not blank is one: for JSON lines, an
/// object with a `history` field; for the other formats, the EDN comment. A JSON object with a
/// `history` field that is not a header is an error at its line.
fn declared_model(text: &str) -> Result<Option<DeclaredModel>, Fault> {
    let Some((number, line)) = (text.lines().enumerate())
        .map(|(i, line)| (i + 1, line.trim()))
        .find(|(_, line)| !line.is_empty())
    else {
        return Ok(None);
    };
    if let Some(rest) = line.strip_prefix(EDN_HEADER_PREFIX) {
        let (model, initial) = match rest.split_once(", initial ") {
            Some((model, initial)) => (model, Some(initial.trim().to_string())),
            None => (rest, None),
        };
        return Ok(Some(DeclaredModel {
            model: model.trim().to_string(),
            initial,
            line: number,
        }));
    }
    if !(line.starts_with('{') && line.contains("\"history\"")) {
        return Ok(None);
    }
    match serde_json::from_str::<JsonHeader>(line) {
        Ok(h) if h.history == "raftsim" => Ok(Some(DeclaredModel {
            model: h.model,
            initial: h.initial,
            line: number,
        })),
        Ok(h) => Err(Fault {
            line: number,
            message: format!(
                "a header of a `{}` history: expected \"history\":\"raftsim\"",
                h.history
            ),
        }),
        // Not a header after all: the reader of events says what is wrong with the line.
        Err(_) => Ok(None),
    }
}

/// A history read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedHistory {
    /// The format detected.
    pub format: Format,
    /// The client events, in file order; nemesis ops are left out.
    pub events: Vec<Event>,
    /// The 1-based source line of each event (where its op map or log line starts).
    pub lines: Vec<usize>,
    /// The model the file's header names, if it has one.
    pub declared: Option<DeclaredModel>,
}

/// How to read a history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Values are Jepsen independent tuples `[key value]` (a cas's is `[key [expected new]]`):
    /// split each into the event's key and value. Applies to the Jepsen formats; raftsim JSON
    /// lines carry keys in their own `key` field. A completion whose value is nil keeps no key.
    pub independent: bool,
}

/// A history file that cannot be read, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file name, as given.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// What was found and what was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Reads a history in any of the [`Format`]s, detected from the text:
///
/// - a first significant line (not blank, not a `;` comment) starting with `{"` is raftsim
///   JSON lines;
/// - one starting with `{` or `#` is Jepsen EDN op maps: one or more per line if the first
///   line holds complete maps (a truncated line is then reported at its line), else maps
///   that may span lines;
/// - otherwise, if a line holds a `jepsen.util` op (`jepsen.util - PROCESS TYPE F VALUE` or
///   `jepsen.util: ...`), a Jepsen log: its other lines are skipped;
/// - otherwise one starting with `[` or `(` is Jepsen EDN: one vector or list of op maps.
///
/// An empty file is an empty raftsim JSON lines history. Nemesis ops (whose `:process` is not
/// an integer) are skipped.
pub fn parse_history(
    file: &str,
    text: &str,
    options: &ParseOptions,
) -> Result<ParsedHistory, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let located = |fault: Fault| ParseError {
        file: file.to_string(),
        line: fault.line,
        message: fault.message,
    };
    let declared = declared_model(text).map_err(located)?;
    let header_line = declared.as_ref().map(|d| d.line);
    let (format, read) = match detect(text, header_line) {
        Detected::Json => (Format::RaftsimJson, read_json_lines(text, header_line)),
        // One map per line reports a truncated line at that line; should a later map span
        // lines, the file is read again as maps that may span lines. If both fail, the
        // reading that got further is the likelier right.
        Detected::EdnLines => (
            Format::JepsenEdn,
            read_edn_lines(text, options).or_else(|by_line| match read_edn_stream(text, options) {
                Err(spanning) if spanning.line > by_line.line => Err(spanning),
                Err(_) => Err(by_line),
                read => read,
            }),
        ),
        Detected::EdnStream => (Format::JepsenEdn, read_edn_stream(text, options)),
        Detected::EdnCollection => (Format::JepsenEdn, read_edn_collection(text, options)),
        Detected::Log => (Format::JepsenLog, read_log(text, options)),
        Detected::Unknown { line, found } => {
            return Err(located(Fault {
                line,
                message: format!(
                    "found `{found}`: expected a raftsim JSON lines, Jepsen EDN or Jepsen log \
                     history"
                ),
            }))
        }
    };
    let (events, lines) = read.map_err(located)?;
    Ok(ParsedHistory {
        format,
        events,
        lines,
        declared,
    })
}

/// Pairs the parsed events into operations ([`operations`]), reporting a history that makes
/// no sense (a completion without an invocation, ...) at the offending event's source line.
pub fn pair(parsed: &ParsedHistory, file: &str) -> Result<Vec<Operation>, ParseError> {
    operations(&parsed.events).map_err(|e| ParseError {
        file: file.to_string(),
        line: parsed.lines.get(e.event).copied().unwrap_or(0),
        message: e.message,
    })
}

/// Writes events as raftsim JSON lines: one JSON [`Event`] per line.
pub fn to_json_lines(events: &[Event]) -> String {
    let mut out = String::new();
    for event in events {
        out.push_str(&serde_json::to_string(event).expect("an event always serializes"));
        out.push('\n');
    }
    out
}

/// Writes events as Jepsen EDN, one op map per line, e.g.
/// `{:type :invoke, :f :cas, :value [1 4], :process 3, :time 123}`. `:time` (nanoseconds) is
/// there if the event has a time; an event with a key has its value as the independent tuple
/// `[key value]` (the key as an integer if it is one, else as a string).
pub fn to_edn(events: &[Event]) -> String {
    let mut out = String::new();
    for event in events {
        out.push_str("{:type :");
        out.push_str(kind_name(event.kind));
        out.push_str(", :f :");
        out.push_str(function_name(event.f));
        out.push_str(", :value ");
        match &event.key {
            Some(key) => {
                out.push('[');
                write_key(&mut out, key);
                out.push(' ');
                write_value(&mut out, &event.value);
                out.push(']');
            }
            None => write_value(&mut out, &event.value),
        }
        out.push_str(", :process ");
        out.push_str(&event.process.to_string());
        if let Some(time) = event.time_ns {
            out.push_str(", :time ");
            out.push_str(&time.to_string());
        }
        out.push_str("}\n");
    }
    out
}

/// A value in EDN, as Jepsen prints it: `nil`, `3`, `"a \"b\""`, `[1 4]`.
pub fn value_to_edn(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Reads one EDN value: nil, an integer, a string, a keyword (as the string of its name) or
/// a vector or list of those. The error says what was found instead.
pub fn parse_value(text: &str) -> Result<Value, String> {
    let mut reader = Reader::new(text, 1, "end of input");
    let edn = reader.read().map_err(|fault| fault.message)?;
    if !reader.at_end().map_err(|fault| fault.message)? {
        return Err(format!(
            "found `{}` after the value: expected one value",
            reader.rest_excerpt()
        ));
    }
    edn_to_value(&edn)
}

/// The name of an event kind, as Jepsen's `:type` and raftsim's `type` spell it.
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    }
}

/// The name of a function, as Jepsen's `:f` and raftsim's `f` spell it.
pub fn function_name(f: Function) -> &'static str {
    match f {
        Function::Read => "read",
        Function::Write => "write",
        Function::Cas => "cas",
        Function::Append => "append",
    }
}

fn write_key(out: &mut String, key: &str) {
    match key.parse::<i64>() {
        Ok(n) if n.to_string() == key => out.push_str(key),
        _ => write_string(out, key),
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Str(s) => write_string(out, s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A complaint about the input, at a 1-based line.
#[derive(Debug)]
struct Fault {
    line: usize,
    message: String,
}

type Events = (Vec<Event>, Vec<usize>);

enum Detected {
    Json,
    EdnLines,
    EdnStream,
    EdnCollection,
    Log,
    Unknown { line: usize, found: String },
}

fn detect(text: &str, header_line: Option<usize>) -> Detected {
    let first = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_start()))
        .filter(|&(number, _)| Some(number) != header_line)
        .find(|(_, line)| !line.is_empty() && !line.starts_with(';'));
    let Some((line_number, line)) = first else {
        // Nothing but blank lines and `;` comments: EDN reads comments, JSON does not.
        let commented = text.lines().any(|line| line.trim_start().starts_with(';'));
        return if commented {
            Detected::EdnLines
        } else {
            Detected::Json
        };
    };
    match line.chars().next() {
        Some('{') if matches!(line[1..].trim_start().chars().next(), Some('"' | '}')) => {
            return Detected::Json;
        }
        Some('{' | '#') => {
            return if holds_complete_maps(line) {
                Detected::EdnLines
            } else {
                Detected::EdnStream
            };
        }
        _ => {}
    }
    if text.lines().any(|line| log_op_fields(line).is_some()) {
        return Detected::Log;
    }
    if line.starts_with(['[', '(']) {
        return Detected::EdnCollection;
    }
    Detected::Unknown {
        line: line_number,
        found: excerpt(line),
    }
}

/// Whether a line is one or more complete EDN maps and nothing else.
fn holds_complete_maps(line: &str) -> bool {
    let mut reader = Reader::new(line, 1, "end of line");
    loop {
        match reader.at_end() {
            Ok(true) => return true,
            Ok(false) => {}
            Err(_) => return false,
        }
        if !matches!(reader.read(), Ok(Edn::Map(_))) {
            return false;
        }
    }
}

fn excerpt(text: &str) -> String {
    const EXCERPT_CHARS_MAX: usize = 40;
    let text = text.lines().next().unwrap_or("").trim_end();
    if text.chars().count() > EXCERPT_CHARS_MAX {
        let cut: String = text.chars().take(EXCERPT_CHARS_MAX).collect();
        format!("{cut}...")
    } else {
        text.to_string()
    }
}

fn read_json_lines(text: &str, header_line: Option<usize>) -> Result<Events, Fault> {
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || Some(i + 1) == header_line {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(event) => {
                events.push(event);
                lines.push(i + 1);
            }
            Err(e) => {
                let full = e.to_string();
                let position = format!(" at line {} column {}", e.line(), e.column());
                let message = match full.strip_suffix(&position) {
                    Some(message) => format!("{message} (column {})", e.column()),
                    None => full,
                };
                return Err(Fault {
                    line: i + 1,
                    message: format!("not a raftsim JSON event: {message}"),
                });
            }
        }
    }
    Ok((events, lines))
}

/// Op maps, one or more per line; each line is read alone.
fn read_edn_lines(text: &str, options: &ParseOptions) -> Result<Events, Fault> {
    let mut out = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let mut reader = Reader::new(line, i + 1, "end of line");
        while !reader.at_end()? {
            let start = reader.line;
            let form = reader.read()?;
            push_op(&mut out, form, start, options)?;
        }
    }
    Ok(out)
}

/// Op maps anywhere, possibly spanning lines.
fn read_edn_stream(text: &str, options: &ParseOptions) -> Result<Events, Fault> {
    let mut out = (Vec::new(), Vec::new());
    let mut reader = Reader::new(text, 1, "end of file");
    while !reader.at_end()? {
        let start = reader.line;
        let form = reader.read()?;
        push_op(&mut out, form, start, options)?;
    }
    Ok(out)
}

/// One vector or list of op maps.
fn read_edn_collection(text: &str, options: &ParseOptions) -> Result<Events, Fault> {
    let mut out = (Vec::new(), Vec::new());
    let mut reader = Reader::new(text, 1, "end of file");
    reader.skip_ws()?;
    let start = reader.line;
    let close = match reader.bump() {
        Some('[') => ']',
        Some('(') => ')',
        _ => {
            return Err(Fault {
                line: start,
                message: "expected a vector or list of op maps".to_string(),
            })
        }
    };
    let what = if close == ']' { "vector" } else { "list" };
    loop {
        reader.skip_ws()?;
        match reader.peek() {
            None => {
                return Err(Fault {
                    line: start,
                    message: format!(
                        "unterminated {what} of ops: expected `{close}` before end of file"
                    ),
                })
            }
            Some(c) if c == close => {
                reader.bump();
                break;
            }
            Some(_) => {
                let op_line = reader.line;
                let form = reader.read()?;
                push_op(&mut out, form, op_line, options)?;
            }
        }
    }
    if !reader.at_end()? {
        return Err(reader.fault(format!(
            "found `{}` after the {what} of ops: expected end of file",
            reader.rest_excerpt()
        )));
    }
    Ok(out)
}

fn push_op(out: &mut Events, form: Edn, line: usize, options: &ParseOptions) -> Result<(), Fault> {
    let at_line = |message| Fault { line, message };
    let Some(event) = event_from_edn(&form).map_err(at_line)? else {
        return Ok(());
    };
    let event = finish(event, options).map_err(at_line)?;
    out.0.push(event);
    out.1.push(line);
    Ok(())
}

/// The event of a Jepsen op map; `None` for an op of no client (a nemesis op).
fn event_from_edn(form: &Edn) -> Result<Option<Event>, String> {
    let Edn::Map(entries) = form else {
        return Err(format!(
            "found {}: expected an op map {{:type ..., :f ..., :value ..., :process ...}}",
            show(form)
        ));
    };
    let get = |name: &str| {
        entries
            .iter()
            .find(|(key, _)| matches!(key, Edn::Keyword(k) if k == name))
            .map(|(_, value)| value)
    };
    let process = match get("process") {
        None => return Err("the op map has no :process: expected an integer process".to_string()),
        Some(Edn::Int(n)) => process_of(*n)?,
        // The nemesis, or some other actor that is not a client.
        Some(_) => return Ok(None),
    };
    let kind = match get("type") {
        None => return Err(format!("the op map has no :type: expected {KINDS}")),
        Some(edn) => kind_of(edn)?,
    };
    let f = match get("f") {
        None => return Err(format!("the op map has no :f: expected {FUNCTIONS}")),
        Some(edn) => function_of(edn)?,
    };
    let value = match get("value") {
        None => Value::Nil,
        Some(edn) => edn_to_value(edn)?,
    };
    let time_ns = match get("time") {
        None | Some(Edn::Nil) => None,
        Some(edn) => Some(time_of(edn)?),
    };
    // Some histories (Porcupine's key-value tests among them) name the key in the op map.
    let key = match get("key") {
        None | Some(Edn::Nil) => None,
        Some(Edn::Str(k) | Edn::Keyword(k)) => Some(k.clone()),
        Some(Edn::Int(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(format!(
                "found :key {}: expected a string or an integer",
                show(other)
            ))
        }
    };
    Ok(Some(Event {
        process,
        kind,
        f,
        key,
        value,
        time_ns,
    }))
}

const KINDS: &str = ":invoke, :ok, :fail or :info";
const FUNCTIONS: &str = ":read, :write, :cas or :append (or :get, :put)";

fn time_of(edn: &Edn) -> Result<u64, String> {
    match edn {
        Edn::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "found :time {}: expected a non-negative integer of nanoseconds",
            show(edn)
        )
    })
}

fn process_of(n: i128) -> Result<u64, String> {
    u64::try_from(n).map_err(|_| format!("found :process {n}: expected a non-negative integer"))
}

fn kind_of(edn: &Edn) -> Result<EventKind, String> {
    match edn {
        Edn::Keyword(k) if k == "invoke" => Ok(EventKind::Invoke),
        Edn::Keyword(k) if k == "ok" => Ok(EventKind::Ok),
        Edn::Keyword(k) if k == "fail" => Ok(EventKind::Fail),
        Edn::Keyword(k) if k == "info" => Ok(EventKind::Info),
        other => Err(format!("unknown :type {}: expected {KINDS}", show(other))),
    }
}

fn function_of(edn: &Edn) -> Result<Function, String> {
    match edn {
        Edn::Keyword(k) if k == "read" || k == "get" => Ok(Function::Read),
        Edn::Keyword(k) if k == "write" || k == "put" => Ok(Function::Write),
        Edn::Keyword(k) if k == "cas" => Ok(Function::Cas),
        Edn::Keyword(k) if k == "append" => Ok(Function::Append),
        other => Err(format!("unknown :f {}: expected {FUNCTIONS}", show(other))),
    }
}

fn edn_to_value(edn: &Edn) -> Result<Value, String> {
    match edn {
        Edn::Nil => Ok(Value::Nil),
        Edn::Int(n) => i64::try_from(*n).map(Value::Int).map_err(|_| {
            format!("found the integer {n}: expected a value that fits in 64 signed bits")
        }),
        Edn::Str(s) | Edn::Keyword(s) => Ok(Value::Str(s.clone())),
        Edn::Char(c) => Ok(Value::Str(c.to_string())),
        Edn::List(items) | Edn::Vector(items) => Ok(Value::List(
            items.iter().map(edn_to_value).collect::<Result<_, _>>()?,
        )),
        other => Err(format!(
            "unsupported value {}: expected nil, an integer, a string, a keyword, or a vector \
             or list of those",
            show(other)
        )),
    }
}

/// Applies the options to a freshly read Jepsen event.
fn finish(mut event: Event, options: &ParseOptions) -> Result<Event, String> {
    if !options.independent {
        return Ok(event);
    }
    match std::mem::replace(&mut event.value, Value::Nil) {
        Value::List(pair) if pair.len() == 2 => {
            let [key, value]: [Value; 2] = pair.try_into().expect("two items");
            event.key = Some(match key {
                Value::Int(n) => n.to_string(),
                Value::Str(s) => s,
                other => {
                    return Err(format!(
                        "found the key {} in an independent tuple: expected an integer or a \
                         string",
                        value_to_edn(&other)
                    ))
                }
            });
            event.value = value;
            Ok(event)
        }
        Value::Nil if event.kind != EventKind::Invoke => Ok(event),
        other => Err(format!(
            "found the value {}: expected an independent tuple [key value] (--independent)",
            value_to_edn(&other)
        )),
    }
}

/// The fields after `jepsen.util - ` or `jepsen.util: ` on a line that logs an op: those
/// start with a process (an integer, or a keyword such as `:nemesis`).
fn log_op_fields(line: &str) -> Option<&str> {
    const MARK: &str = "jepsen.util";
    let at = line.find(MARK)?;
    let rest = line[at + MARK.len()..].trim_start();
    let rest = rest
        .strip_prefix('-')
        .or_else(|| rest.strip_prefix(':'))?
        .trim_start();
    let mut chars = rest.chars();
    let looks_like_op = match chars.next()? {
        ':' => true,
        c if c.is_ascii_digit() => true,
        '-' | '+' => chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    looks_like_op.then_some(rest)
}

fn read_log(text: &str, options: &ParseOptions) -> Result<Events, Fault> {
    let mut out = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let Some(fields) = log_op_fields(line) else {
            continue;
        };
        let at_line = |message| Fault {
            line: i + 1,
            message,
        };
        let mut reader = Reader::new(fields, i + 1, "end of line");
        let mut field = |what: &str| -> Result<Edn, Fault> {
            if reader.at_end()? {
                return Err(at_line(format!(
                    "found end of line: expected the op's {what} (fields PROCESS TYPE F VALUE \
                     after jepsen.util)"
                )));
            }
            reader.read()
        };
        let process = match field("process")? {
            Edn::Int(n) => process_of(n).map_err(at_line)?,
            // The nemesis: not a client.
            _ => continue,
        };
        let kind = kind_of(&field("type")?).map_err(at_line)?;
        let f = function_of(&field("function")?).map_err(at_line)?;
        let value = edn_to_value(&field("value")?).map_err(at_line)?;
        // Whatever follows the value (an error, say) is not part of the op.
        let event = Event {
            process,
            kind,
            f,
            key: None,
            value,
            time_ns: None,
        };
        out.0.push(finish(event, options).map_err(at_line)?);
        out.1.push(i + 1);
    }
    Ok(out)
}

/// An EDN value, as far as histories need it.
#[derive(Clone, Debug, PartialEq)]
enum Edn {
    Nil,
    Bool(bool),
    Int(i128),
    /// A floating point number, as written.
    Float(String),
    Str(String),
    Char(char),
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
    Set(Vec<Edn>),
}

/// A short rendering of an EDN value, for messages.
fn show(edn: &Edn) -> String {
    let mut out = String::new();
    write_edn(&mut out, edn);
    excerpt(&out)
}

fn write_edn(out: &mut String, edn: &Edn) {
    fn items(out: &mut String, open: &str, close: char, items: &[Edn]) {
        out.push_str(open);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            write_edn(out, item);
        }
        out.push(close);
    }
    match edn {
        Edn::Nil => out.push_str("nil"),
        Edn::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Edn::Int(n) => out.push_str(&n.to_string()),
        Edn::Float(text) | Edn::Symbol(text) => out.push_str(text),
        Edn::Str(s) => write_string(out, s),
        Edn::Char(c) => {
            out.push('\\');
            out.push(*c);
        }
        Edn::Keyword(k) => {
            out.push(':');
            out.push_str(k);
        }
        Edn::List(xs) => items(out, "(", ')', xs),
        Edn::Vector(xs) => items(out, "[", ']', xs),
        Edn::Set(xs) => items(out, "#{", '}', xs),
        Edn::Map(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_edn(out, k);
                out.push(' ');
                write_edn(out, v);
            }
            out.push('}');
        }
    }
}

/// Nesting deeper than this is refused rather than risking the stack.
const NESTING_MAX: usize = 128;

/// An EDN reader over a text that starts at a given line.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// The current 1-based line.
    line: usize,
    /// How to call the end of the text in messages: "end of line", "end of file".
    end: &'static str,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, line: usize, end: &'static str) -> Self {
        Reader {
            text,
            pos: 0,
            line,
            end,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn fault(&self, message: String) -> Fault {
        Fault {
            line: self.line,
            message,
        }
    }

    fn rest_excerpt(&self) -> String {
        excerpt(&self.text[self.pos..])
    }

    /// What is next, for messages: `` `x` `` or the end.
    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("`{c}`"),
            None => self.end.to_string(),
        }
    }

    /// Skips whitespace, commas, `;` comments and `#_` discarded forms; says whether the
    /// text is over.
    fn at_end(&mut self) -> Result<bool, Fault> {
        self.skip_ws()?;
        Ok(self.peek().is_none())
    }

    fn skip_ws(&mut self) -> Result<(), Fault> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == ',' => {
                    self.bump();
                }
                Some(';') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                Some('#') if self.text[self.pos..].starts_with("#_") => {
                    self.bump();
                    self.bump();
                    self.read()?;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Reads one value.
    fn read(&mut self) -> Result<Edn, Fault> {
        self.depth += 1;
        if self.depth > NESTING_MAX {
            return Err(self.fault(format!(
                "found values nested more than {NESTING_MAX} deep: expected a flatter history"
            )));
        }
        let read = self.read_form();
        self.depth -= 1;
        read
    }

    fn read_form(&mut self) -> Result<Edn, Fault> {
        self.skip_ws()?;
        let line = self.line;
        let Some(c) = self.peek() else {
            return Err(self.fault(format!("found {}: expected a value", self.end)));
        };
        match c {
            '(' | '[' | '{' => {
                self.bump();
                self.read_collection(c, line)
            }
            ')' | ']' | '}' => Err(self.fault(format!("found `{c}`: expected a value"))),
            '"' => {
                self.bump();
                self.read_string(line).map(Edn::Str)
            }
            '\\' => {
                self.bump();
                self.read_char()
            }
            '#' => {
                self.bump();
                self.read_dispatch(line)
            }
            _ => {
                let token = self.read_token();
                classify(token).map_err(|message| Fault { line, message })
            }
        }
    }

    fn read_collection(&mut self, open: char, line: usize) -> Result<Edn, Fault> {
        let (close, what) = match open {
            '(' => (')', "list"),
            '[' => (']', "vector"),
            '{' => ('}', "map"),
            _ => ('}', "set"),
        };
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                None => {
                    return Err(Fault {
                        line,
                        message: format!(
                            "unterminated {what}: expected `{close}` before {}",
                            self.end
                        ),
                    })
                }
                Some(c) if c == close => {
                    self.bump();
                    break;
                }
                Some(c @ (')' | ']' | '}')) => {
                    let at = if self.line == line {
                        String::new()
                    } else {
                        format!(" on line {}", self.line)
                    };
                    return Err(Fault {
                        line,
                        message: format!(
                            "unterminated {what}: found `{c}`{at}, expected `{close}` first"
                        ),
                    });
                }
                Some(_) => items.push(self.read()?),
            }
        }
        Ok(match open {
            '(' => Edn::List(items),
            '[' => Edn::Vector(items),
            '{' => {
                if !items.len().is_multiple_of(2) {
                    return Err(Fault {
                        line,
                        message: format!(
                            "found a map of {} forms: expected keys and values in pairs",
                            items.len()
                        ),
                    });
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                let mut items = items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    pairs.push((k, v));
                }
                Edn::Map(pairs)
            }
            _ => Edn::Set(items),
        })
    }

    /// Reads a string's body, after its opening quote.
    fn read_string(&mut self, line: usize) -> Result<String, Fault> {
        let unterminated = |reader: &Self| Fault {
            line,
            message: format!(
                "unterminated string: expected a closing `\"` before {}",
                reader.end
            ),
        };
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(unterminated(self)),
                Some('"') => return Ok(s),
                Some('\\') => {
                    let c = match self.bump() {
                        None => return Err(unterminated(self)),
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('u') => self.read_unicode_escape()?,
                        Some(c) => {
                            return Err(self.fault(format!(
                                "found the escape `\\{c}` in a string: expected \\n, \\t, \\r, \
                                 \\b, \\f, \\\", \\\\ or \\uXXXX"
                            )))
                        }
                    };
                    s.push(c);
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// Reads the four hex digits after `\u`, and a second escape for a surrogate pair.
    fn read_unicode_escape(&mut self) -> Result<char, Fault> {
        let high = self.read_hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !self.text[self.pos..].starts_with("\\u") {
                return Err(self.fault(format!(
                    "found the lone surrogate \\u{high:04x}: expected a \\u escape of its low half"
                )));
            }
            self.bump();
            self.bump();
            let low = self.read_hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.fault(format!(
                    "found \\u{low:04x} after \\u{high:04x}: expected a low surrogate"
                )));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| {
            self.fault(format!(
                "found \\u{code:04x}: expected the escape of a character"
            ))
        })
    }

    fn read_hex4(&mut self) -> Result<u32, Fault> {
        let digits: String = self.text[self.pos..].chars().take(4).collect();
        match u32::from_str_radix(&digits, 16) {
            Ok(code) if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_hexdigit()) => {
                self.pos += 4;
                Ok(code)
            }
            _ => Err(self.fault(format!(
                "found `\\u{}`: expected four hex digits after \\u",
                excerpt(&digits)
            ))),
        }
    }

    /// Reads a character literal, after its backslash.
    fn read_char(&mut self) -> Result<Edn, Fault> {
        let Some(first) = self.bump() else {
            return Err(self.fault(format!(
                "found {} after `\\`: expected a character",
                self.end
            )));
        };
        let start = self.pos - first.len_utf8();
        while self.peek().is_some_and(|c| !is_delimiter(c)) {
            self.bump();
        }
        let name = &self.text[start..self.pos];
        let c = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ if name.chars().count() == 1 => first,
            _ => match name
                .strip_prefix('u')
                .map(|hex| u32::from_str_radix(hex, 16))
            {
                Some(Ok(code)) if name.len() == 5 => char::from_u32(code)
                    .ok_or_else(|| self.fault(format!("found `\\{name}`: expected a character")))?,
                _ => return Err(self.fault(format!("found `\\{name}`: expected a character"))),
            },
        };
        Ok(Edn::Char(c))
    }

    /// Reads what follows a `#`: a set, a tagged value (the tag is dropped), a regex (read
    /// as a string) or a symbolic number (`##Inf`).
    fn read_dispatch(&mut self, line: usize) -> Result<Edn, Fault> {
        match self.peek() {
            Some('{') => {
                self.bump();
                self.read_collection('#', line)
            }
            Some('"') => {
                self.bump();
                self.read_string(line).map(Edn::Str)
            }
            Some('#') => {
                self.bump();
                let token = self.read_token();
                Ok(Edn::Float(format!("##{token}")))
            }
            Some(c) if c.is_alphabetic() => {
                let tag = self.read_token().to_string();
                if self.at_end()? {
                    return Err(self.fault(format!(
                        "found {} after the tag #{tag}: expected a value",
                        self.end
                    )));
                }
                self.read()
            }
            _ => Err(self.fault(format!(
                "found {} after `#`: expected a tag, `{{` or `_`",
                self.found()
            ))),
        }
    }

    fn read_token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_delimiter(c)) {
            self.bump();
        }
        &self.text[start..self.pos]
    }
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';')
}

/// A number, keyword, symbol, nil or boolean.
fn classify(token: &str) -> Result<Edn, String> {
    if let Some(name) = token.strip_prefix(':') {
        if name.is_empty() {
            return Err("found a lone `:`: expected a keyword".to_string());
        }
        return Ok(Edn::Keyword(name.to_string()));
    }
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    if unsigned.starts_with(|c: char| c.is_ascii_digit()) {
        let integer = token.strip_suffix('N').unwrap_or(token);
        if let Ok(n) = integer.parse::<i128>() {
            return Ok(Edn::Int(n));
        }
        let digits = integer.strip_prefix(['+', '-']).unwrap_or(integer);
        if digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "found the integer {token}: expected one that fits in 128 bits"
            ));
        }
        let float = token.strip_suffix('M').unwrap_or(token);
        if float.parse::<f64>().is_ok() {
            return Ok(Edn::Float(token.to_string()));
        }
        return Err(format!("found `{token}`: expected a number"));
    }
    Ok(match token {
        "nil" => Edn::Nil,
        "true" => Edn::Bool(true),
        "false" => Edn::Bool(false),
        _ => Edn::Symbol(token.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NO_OPTIONS: ParseOptions = ParseOptions { independent: false };
    const INDEPENDENT: ParseOptions = ParseOptions { independent: true };

    fn parse(text: &str) -> Result<ParsedHistory, ParseError> {
        parse_history("h", text, &NO_OPTIONS)
    }

    fn parse_err(text: &str) -> ParseError {
        match parse(text) {
            Ok(parsed) => panic!("expected an error, parsed {parsed:?}"),
            Err(e) => e,
        }
    }

    fn assert_err(text: &str, line: usize, phrase: &str) {
        let e = parse_err(text);
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains(phrase), "`{phrase}` not in: {e}");
    }

    fn ev(process: u64, kind: EventKind, f: Function, value: Value) -> Event {
        Event {
            process,
            kind,
            f,
            key: None,
            value,
            time_ns: None,
        }
    }

    fn int(n: i64) -> Value {
        Value::Int(n)
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn timed(mut event: Event, time_ns: u64) -> Event {
        event.time_ns = Some(time_ns);
        event
    }

    fn keyed(mut event: Event, key: &str) -> Event {
        event.key = Some(key.to_string());
        event
    }

    use EventKind::{Fail, Info, Invoke, Ok as Okay};
    use Function::{Append, Cas, Read, Write};

    #[test]
    fn reads_json_lines() {
        let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":3,\"time_ns\":5}\n\
                    \n\
                    {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":3}\n\
                    {\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.format, Format::RaftsimJson);
        assert_eq!(parsed.lines, vec![1, 3, 4]);
        assert_eq!(
            parsed.events,
            vec![
                timed(keyed(ev(0, Invoke, Write, int(3)), "x"), 5),
                ev(0, Okay, Write, int(3)),
                ev(1, Invoke, Read, Value::Nil),
            ]
        );
    }

    #[test]
    fn reports_bad_json_lines() {
        let good = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n";
        assert_err(
            &format!(
                "{good}{}",
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"frob\",\"value\":null}"
            ),
            2,
            "unknown variant `frob`",
        );
        assert_err(
            &format!("{good}{good}{{\"process\":0,\"type\":\"inv"),
            3,
            "EOF",
        );
        assert_err(
            &format!(
                "{good}{}",
                "{\"process\":-1,\"type\":\"ok\",\"f\":\"read\"}"
            ),
            2,
            "expected u64",
        );
        assert_err(
            "{\"type\":\"ok\",\"f\":\"read\"}",
            1,
            "missing field `process`",
        );
        let e = parse_err("{\"process\":0,\"type\":\"invoke\",\"f\":\"frob\"}");
        assert!(e.message.contains("(column "), "{e}");
        assert!(!e.message.contains("at line"), "{e}");
        assert_eq!(e.to_string(), format!("h:1: {}", e.message));
    }

    #[test]
    fn reads_edn_one_map_per_line() {
        let text = "; a Jepsen history\n\
                    {:type :invoke, :f :read, :value nil, :process 0, :time 12345, :index 0}\n\
                    \n\
                    {:type :info, :f :start, :value nil, :process :nemesis, :time 12400, :index 1}\n\
                    {:type :ok, :f :read, :value 3, :process 0, :time 12500, :index 2} ; done\n\
                    {:type :invoke :f :cas :value [-1 4] :process 3} {:type :fail :f :cas :value [-1 4] :process 3 :error :timeout}\n\
                    {:index 5, :process 7, :value \"a \\\"b\\\"\\n\\u00e9\", :f :put, :type :invoke}\n\
                    {:type :invoke, :f :get, :value :some-key, :process 8}\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.format, Format::JepsenEdn);
        assert_eq!(parsed.lines, vec![2, 5, 6, 6, 7, 8]);
        assert_eq!(
            parsed.events,
            vec![
                timed(ev(0, Invoke, Read, Value::Nil), 12345),
                timed(ev(0, Okay, Read, int(3)), 12500),
                ev(3, Invoke, Cas, list(vec![int(-1), int(4)])),
                ev(3, Fail, Cas, list(vec![int(-1), int(4)])),
                ev(7, Invoke, Write, Value::Str("a \"b\"\né".to_string())),
                ev(8, Invoke, Read, Value::Str("some-key".to_string())),
            ]
        );
    }

    #[test]
    fn reads_edn_vector_list_and_tagged_ops() {
        let vector = "[{:type :invoke, :f :write, :value 1, :process 0}\n \
                      {:type :invoke,\n  :f :append, :value [[1 2] \"x\"], :process 1}\n \
                      {:type :ok, :f :write, :value 1, :process 0}]\n";
        let parsed = parse(vector).unwrap();
        assert_eq!(parsed.format, Format::JepsenEdn);
        assert_eq!(parsed.lines, vec![1, 2, 4]);
        assert_eq!(
            parsed.events[1],
            ev(
                1,
                Invoke,
                Append,
                list(vec![list(vec![int(1), int(2)]), Value::Str("x".into())])
            )
        );

        let listed = "; comment\n({:type :invoke, :f :read, :process 2}\n \
                      #_{:type :ok :f :read :process 99}\n \
                      {:type :info, :f :kill, :process :nemesis}\n \
                      {:type :ok, :f :read, :value 0N, :process 2})\n";
        let parsed = parse(listed).unwrap();
        assert_eq!(parsed.lines, vec![2, 5]);
        assert_eq!(parsed.events[1], ev(2, Okay, Read, int(0)));

        let tagged = "#jepsen.history.Op{:index 0, :time 10, :type :invoke, :process 1, :f :read, :value nil}\n\
                      #jepsen.history.Op{:index 1, :time 20, :type :ok, :process 1, :f :read, :value 5}\n";
        let parsed = parse(tagged).unwrap();
        assert_eq!(parsed.lines, vec![1, 2]);
        assert_eq!(parsed.events[1], timed(ev(1, Okay, Read, int(5)), 20));

        let in_vector = "[#jepsen.history.Op{:type :invoke, :process 1, :f :read, :value nil}]";
        assert_eq!(parse(in_vector).unwrap().events.len(), 1);
    }

    #[test]
    fn reads_edn_maps_spanning_lines() {
        let text = "{:type :invoke,\n :f :write,\n :value 2,\n :process 4}\n\
                    {:type :ok, :f :write, :value 2,\n :process 4}\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.format, Format::JepsenEdn);
        assert_eq!(parsed.lines, vec![1, 5]);
        assert_eq!(parsed.events[1], ev(4, Okay, Write, int(2)));
    }

    #[test]
    fn reads_edn_lines_then_maps_spanning_lines() {
        let text = "{:type :invoke, :f :write, :value 2, :process 4}\n\
                    {:type :ok, :f :write,\n :value 2, :process 4}\n\
                    {:type :invoke, :f :read, :process 4}\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.lines, vec![1, 2, 4]);
        assert_eq!(parsed.events[1], ev(4, Okay, Write, int(2)));
        assert_err(
            &format!("{text}{{:type :ok, :f :frob, :process 4}}\n"),
            5,
            "unknown :f :frob",
        );
    }

    #[test]
    fn reports_bad_edn() {
        let good = "{:type :invoke, :f :read, :value nil, :process 0}\n";
        // Truncated lines, in a file of one map per line.
        assert_err(
            &format!("{good}{good}{{:type :ok, :f :read, :value\n{good}"),
            3,
            "unterminated map: expected `}` before end of line",
        );
        assert_err(
            &format!("{good}{{:type :ok, :f :read, :value \"abc, :process 0}}\n"),
            2,
            "unterminated string",
        );
        // In a vector, an unterminated map is reported where it starts.
        assert_err(
            "[{:type :invoke, :f :read, :process 0}\n {:type :ok, :f :read, :process 0\n]\n",
            2,
            "unterminated map: found `]` on line 3, expected `}` first",
        );
        assert_err(
            "[{:type :invoke, :f :read, :process 0}\n\n",
            1,
            "unterminated vector of ops",
        );
        assert_err(
            "({:type :invoke, :f :read, :process 0}) [1]",
            1,
            "after the list of ops",
        );
        assert_err(
            "[{:type :invoke, :f :read, :process 0}\n 3]",
            2,
            "expected an op map",
        );
        assert_err(
            "[{:type :invoke, :f :read, :process 0}\n {:type :ok :f}]",
            2,
            "pairs",
        );
        assert_err(
            &format!(
                "{good}{}",
                "{:type :invoke, :f :frob, :value 1, :process 0}"
            ),
            2,
            "unknown :f :frob",
        );
        assert_err(
            &format!("{good}{}", "{:type :done, :f :read, :value 1, :process 1}"),
            2,
            "unknown :type :done",
        );
        assert_err(
            &format!("{good}{}", "{:f :read, :value 1, :process 1}"),
            2,
            "no :type",
        );
        assert_err(
            &format!("{good}{}", "{:type :ok, :value 1, :process 1}"),
            2,
            "no :f",
        );
        assert_err(
            &format!("{good}{}", "{:type :ok, :f :read, :value 1}"),
            2,
            "no :process",
        );
        assert_err(
            &format!("{good}{}", "{:type :ok, :f :read, :process -2}"),
            2,
            "non-negative",
        );
        assert_err(
            &format!(
                "{good}{}",
                "{:type :ok, :f :read, :value 1, :process 0, :time 1.5}"
            ),
            2,
            "found :time 1.5: expected a non-negative integer",
        );
        assert_err(
            &format!(
                "{good}{}",
                "{:type :ok, :f :read, :value 1, :process 0, :time \"noon\"}"
            ),
            2,
            "found :time \"noon\"",
        );
        assert_err(
            &format!(
                "{good}{}",
                "{:type :ok, :f :read, :value {:a 1}, :process 0}"
            ),
            2,
            "unsupported value {:a 1}",
        );
        assert_err(
            &format!(
                "{good}{}",
                "{:type :ok, :f :read, :value 99999999999999999999, :process 0}"
            ),
            2,
            "64 signed bits",
        );
        assert_err(
            &format!(
                "{good}{}",
                "{:type :ok, :f :read, :value \"\\q\", :process 0}"
            ),
            2,
            "escape `\\q`",
        );
        assert_err(
            &format!("{good}{}", "{:type :ok, :f :read, :value 12ab, :process 0}"),
            2,
            "expected a number",
        );
        let deep = format!("[{}]", "[".repeat(10_000));
        assert_err(&deep, 1, "nested more than");
    }

    #[test]
    fn pair_reports_lines() {
        let text = "{:type :invoke, :f :read, :value nil, :process 0}\n\
                    ; noise\n\
                    {:type :ok, :f :read, :value nil, :process 0}\n\
                    {:type :ok, :f :write, :value 2, :process 5}\n";
        let parsed = parse(text).unwrap();
        let e = pair(&parsed, "h.edn").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("never invoked"), "{e}");
        assert!(e.to_string().starts_with("h.edn:4: process 5"), "{e}");

        let good = parse("{:type :invoke, :f :cas, :value [1 2], :process 0}\n").unwrap();
        let ops = pair(&good, "h").unwrap();
        assert_eq!(ops.len(), 1);
    }

    #[test]
    fn reads_jepsen_logs() {
        let text = "INFO  jepsen.core - Running test etcd\n\
                    INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\n\
                    2017-05-01 12:00:00,123{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
                    INFO  jepsen.util - 3 :ok :cas [1 4]\n\
                    INFO  jepsen.util - Relative time begins now\n\
                    INFO [jepsen worker 1] jepsen.util: 1     :ok     :read   \"a b\"\n\
                    INFO  jepsen.util - 2\t:invoke\t:write\t7\n\
                    INFO  jepsen.util - 2\t:info\t:write\t7\tindeterminate: timed out\n\
                    WARN  jepsen.control - ssh: something\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.format, Format::JepsenLog);
        assert_eq!(parsed.lines, vec![2, 3, 5, 7, 8, 9]);
        assert_eq!(
            parsed.events,
            vec![
                ev(3, Invoke, Cas, list(vec![int(1), int(4)])),
                ev(1, Invoke, Read, Value::Nil),
                ev(3, Okay, Cas, list(vec![int(1), int(4)])),
                ev(1, Okay, Read, Value::Str("a b".into())),
                ev(2, Invoke, Write, int(7)),
                ev(2, Info, Write, int(7)),
            ]
        );
        assert_eq!(pair(&parsed, "log").unwrap().len(), 3);
    }

    #[test]
    fn reports_bad_log_lines() {
        let good = "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n";
        let other = "INFO  jepsen.core - hello\n";
        assert_err(
            &format!("{other}{good}INFO  jepsen.util - 3\t:ok\n"),
            3,
            "expected the op's function",
        );
        assert_err(
            &format!("{good}INFO  jepsen.util - 3\t:ok\t:read\n"),
            2,
            "expected the op's value",
        );
        assert_err(
            &format!("{good}INFO  jepsen.util - 3\t:ok\t:frob\t1\n"),
            2,
            "unknown :f :frob",
        );
        assert_err(
            &format!("{good}INFO  jepsen.util - 3\t:yes\t:read\t1\n"),
            2,
            "unknown :type :yes",
        );
        assert_err(
            &format!("{good}INFO  jepsen.util - 3\t:ok\t:read\t[1 2\n"),
            2,
            "unterminated vector",
        );
        assert_err(
            &format!("{good}INFO  jepsen.util - -3\t:ok\t:read\t1\n"),
            2,
            "non-negative",
        );
    }

    #[test]
    fn splits_independent_tuples() {
        let edn = "{:type :invoke, :f :cas, :value [7 [1 4]], :process 0}\n\
                   {:type :ok, :f :cas, :value [7 [1 4]], :process 0}\n\
                   {:type :invoke, :f :read, :value [\"k\" nil], :process 1}\n\
                   {:type :info, :f :read, :value nil, :process 1}\n\
                   {:type :invoke, :f :write, :value [:kw 2], :process 2}\n";
        let parsed = parse_history("h", edn, &INDEPENDENT).unwrap();
        assert_eq!(
            parsed.events,
            vec![
                keyed(ev(0, Invoke, Cas, list(vec![int(1), int(4)])), "7"),
                keyed(ev(0, Okay, Cas, list(vec![int(1), int(4)])), "7"),
                keyed(ev(1, Invoke, Read, Value::Nil), "k"),
                ev(1, Info, Read, Value::Nil),
                keyed(ev(2, Invoke, Write, int(2)), "kw"),
            ]
        );
        let ops = pair(&parsed, "h").unwrap();
        assert_eq!(ops[0].key.as_deref(), Some("7"));

        let log = "INFO  jepsen.util - 3\t:invoke\t:write\t[2 5]\n";
        let parsed = parse_history("h", log, &INDEPENDENT).unwrap();
        assert_eq!(
            parsed.events,
            vec![keyed(ev(3, Invoke, Write, int(5)), "2")]
        );

        let e = parse_history("h", "{:type :ok, :f :read, :value nil, :process 0}\n{:type :invoke, :f :write, :value 3, :process 0}\n", &INDEPENDENT)
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("independent tuple"), "{e}");
        let e = parse_history(
            "h",
            "{:type :invoke, :f :write, :value [[1] 3], :process 0}",
            &INDEPENDENT,
        )
        .unwrap_err();
        assert!(e.message.contains("found the key [1]"), "{e}");

        // Without the option, tuples stay values.
        let parsed = parse(edn).unwrap();
        assert_eq!(
            parsed.events[0].value,
            list(vec![int(7), list(vec![int(1), int(4)])])
        );
    }

    #[test]
    fn detects_formats_or_says_what_it_expected() {
        assert_eq!(parse("").unwrap().events, vec![]);
        assert_eq!(parse("\n  \n").unwrap().format, Format::RaftsimJson);
        assert_err(
            "hello world\n{:type :ok}",
            1,
            "found `hello world`: expected a raftsim JSON lines, Jepsen EDN or Jepsen log history",
        );
        assert_err("\n\nprocess,type\n", 3, "expected a raftsim JSON lines");
        // A log whose first lines start with a bracket.
        let log =
            "[main] INFO jepsen.core - start\n[w1] INFO jepsen.util - 1\t:invoke\t:read\tnil\n";
        assert_eq!(parse(log).unwrap().format, Format::JepsenLog);
    }

    #[test]
    fn parses_single_values() {
        assert_eq!(parse_value("nil"), Ok(Value::Nil));
        assert_eq!(parse_value(" -12 "), Ok(int(-12)));
        assert_eq!(parse_value("\"x y\""), Ok(Value::Str("x y".into())));
        assert_eq!(
            parse_value("[1 [2 nil]]"),
            Ok(list(vec![int(1), list(vec![int(2), Value::Nil])]))
        );
        assert!(parse_value("1 2")
            .unwrap_err()
            .contains("expected one value"));
        assert!(parse_value("").unwrap_err().contains("expected a value"));
        assert!(parse_value("1.5")
            .unwrap_err()
            .contains("unsupported value 1.5"));
        assert!(parse_value("\"abc")
            .unwrap_err()
            .contains("unterminated string"));
    }

    #[test]
    fn writes_edn_as_jepsen_does() {
        let events = vec![
            timed(ev(3, Invoke, Cas, list(vec![int(1), int(4)])), 123),
            keyed(ev(0, Okay, Read, Value::Str("q\"\\\n".into())), "k"),
            keyed(ev(1, Invoke, Write, Value::Nil), "12"),
        ];
        assert_eq!(
            to_edn(&events),
            "{:type :invoke, :f :cas, :value [1 4], :process 3, :time 123}\n\
             {:type :ok, :f :read, :value [\"k\" \"q\\\"\\\\\\n\"], :process 0}\n\
             {:type :invoke, :f :write, :value [12 nil], :process 1}\n"
        );
    }

    /// The sample histories under `sim/tests/data/histories/`.
    fn sample(name: &str) -> (String, String) {
        let path = format!(
            "{}/../tests/data/histories/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        (path, text)
    }

    #[test]
    fn parses_the_sample_histories() {
        let samples = [
            ("etcd-cas-register.edn", Format::JepsenEdn, false, 80),
            ("etcd-stale-read.edn", Format::JepsenEdn, false, 28),
            ("etcd-cas-register.log", Format::JepsenLog, false, 48),
            ("independent-cas-register.edn", Format::JepsenEdn, true, 60),
            ("kv.jsonl", Format::RaftsimJson, false, 72),
        ];
        for (name, format, independent, events) in samples {
            let (path, text) = sample(name);
            let parsed = parse_history(&path, &text, &ParseOptions { independent })
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.format, format, "{name}");
            assert_eq!(parsed.events.len(), events, "{name}");
            pair(&parsed, &path).unwrap_or_else(|e| panic!("{e}"));
        }
        let (path, text) = sample("etcd-stale-read.edn");
        let parsed = parse_history(&path, &text, &NO_OPTIONS).unwrap();
        assert_eq!(parsed.lines[0], 3);
        assert_eq!(parsed.lines[27], 30);
        assert_eq!(
            parsed.events[27],
            timed(ev(2, Okay, Read, int(3)), 120_844_562)
        );
    }

    fn value_strategy() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<i64>().prop_map(Value::Int),
            "\\PC*".prop_map(Value::Str),
            any::<String>().prop_map(Value::Str),
            "[\"\\\\ a\\n\\t\\r;,{}\\[\\]#:é😀]{0,8}".prop_map(Value::Str),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop::collection::vec(inner, 0..4).prop_map(Value::List)
        })
    }

    fn event_strategy(with_key: bool) -> impl Strategy<Value = Event> {
        let kind = prop_oneof![Just(Invoke), Just(Okay), Just(Fail), Just(Info)];
        let f = prop_oneof![Just(Read), Just(Write), Just(Cas), Just(Append)];
        let process = prop_oneof![0u64..16, any::<u64>()];
        let key = if with_key {
            prop_oneof![
                any::<String>(),
                "-?[0-9]{1,3}",
                "[+0][0-9]",
                Just(String::new())
            ]
            .prop_map(Some)
            .boxed()
        } else {
            Just(None).boxed()
        };
        let time = prop::option::of(any::<u64>());
        (process, kind, f, key, value_strategy(), time).prop_map(
            |(process, kind, f, key, value, time_ns)| Event {
                process,
                kind,
                f,
                key,
                value,
                time_ns,
            },
        )
    }

    fn history_strategy() -> impl Strategy<Value = (bool, Vec<Event>)> {
        any::<bool>().prop_flat_map(|with_key| {
            (
                Just(with_key),
                prop::collection::vec(event_strategy(with_key), 0..12),
            )
        })
    }

    proptest! {
        #[test]
        fn json_lines_round_trip((_, events) in history_strategy()) {
            let parsed = parse(&to_json_lines(&events)).unwrap();
            prop_assert_eq!(parsed.events, events);
        }

        #[test]
        fn edn_round_trip((with_key, events) in history_strategy()) {
            let text = to_edn(&events);
            let options = ParseOptions { independent: with_key };
            let parsed = parse_history("h", &text, &options).unwrap();
            prop_assert_eq!(&parsed.events, &events);
            if !events.is_empty() {
                prop_assert_eq!(parsed.format, Format::JepsenEdn);
                prop_assert_eq!(parsed.lines, (1..=events.len()).collect::<Vec<_>>());
            }
            // The same ops as one vector, spanning lines.
            let vector = format!("[{}]", text);
            let parsed = parse_history("h", &vector, &options).unwrap();
            prop_assert_eq!(&parsed.events, &events);
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse(&text);
            let _ = parse_history("h", &text, &INDEPENDENT);
        }

        #[test]
        fn edn_like_text_never_panics(text in "[\\[\\](){}#_:;\"\\\\ ,\\na-z0-9.+-]{0,40}") {
            let _ = parse(&text);
            let _ = parse(&format!("{{:type :ok :f :read :process 1 :value {text}}}"));
            let _ = parse_value(&text);
        }
    }
}
