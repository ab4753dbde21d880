//! Scenario files: the TOML description of one simulated cluster run.
//!
//! [`load`] and [`parse`] turn a scenario file into a [`Scenario`], applying
//! defaults and checking every value. Every [`ScenarioError`] names the file,
//! the 1-based line and the dotted path of the offending field (for example
//! `network.loss` or `schedule[2].groups`, where the schedule index is the
//! 0-based position of the `[[schedule]]` table in the file).
//!
//! Durations are strings such as `"150ms"` or `"1.5s"`; see [`parse_duration`].

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml_edit::{ImDocument, Item, TableLike, Value};

/// A node id; the nodes of a cluster of `n` nodes are `1..=n`.
pub type NodeId = u64;

/// A parsed and validated scenario file. Times are virtual nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `name`; default: the file name without directories and `.toml`.
    pub name: String,
    /// `seed` (required): the default seed for runs.
    pub seed: u64,
    /// `nodes` (required): the cluster size, `1..=64`.
    pub nodes: u64,
    /// `duration` (required), e.g. `"60s"`: the length of a run, `> 0` and `<= 24h`.
    pub duration_ns: u64,
    /// The `[raft]` section.
    pub raft: RaftSettings,
    /// The `[network]` section.
    pub network: NetworkSettings,
    /// The `[disk]` section.
    pub disk: DiskSettings,
    /// The `[faults]` section.
    pub faults: FaultSettings,
    /// The `[workload]` section.
    pub workload: Workload,
    /// The `[[schedule]]` tables, sorted by `at_ns` (stable: ties keep file order).
    pub schedule: Vec<ScheduledAction>,
}

/// The `[raft]` section: settings of every Raft node.
#[derive(Clone, Debug, PartialEq)]
pub struct RaftSettings {
    /// Lower bound of `election_timeout` (default `["150ms", "300ms"]`); `> 0` and `< max`.
    pub election_timeout_min_ns: u64,
    /// Upper bound of `election_timeout`.
    pub election_timeout_max_ns: u64,
    /// `heartbeat_interval` (default `"50ms"`); `> 0` and `<` the election timeout minimum.
    pub heartbeat_interval_ns: u64,
    /// `msg_entries_max` (default 64): most entries in one append message, `1..=4096`.
    pub msg_entries_max: u64,
    /// `inflight_msgs_max` (default 16): most unacknowledged append messages, `1..=1024`.
    pub inflight_msgs_max: u64,
    /// `uncommitted_entries_max` (default 4096): most uncommitted entries, `>= 1`.
    pub uncommitted_entries_max: u64,
}

/// The `[network]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSettings {
    /// Lower bound of `latency` (default `["1ms", "10ms"]`); `<= max`.
    pub latency_min_ns: u64,
    /// Upper bound of `latency`.
    pub latency_max_ns: u64,
    /// `loss` (default 0.0): the probability that a message is dropped, `0.0 <= loss < 1.0`.
    pub loss: f64,
}

/// The `[disk]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskSettings {
    /// Lower bound of `sync_latency` (default `["100us", "1ms"]`); `<= max`.
    pub sync_latency_min_ns: u64,
    /// Upper bound of `sync_latency`.
    pub sync_latency_max_ns: u64,
}

/// The `[faults]` section: random crashes and partitions.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSettings {
    /// `crash_every`: mean time between random crashes (exponential); `None` = no random crashes.
    pub crash_every_ns: Option<u64>,
    /// Lower bound of `down_for` (default `["1s", "4s"]`): how long a randomly crashed node stays down.
    pub down_for_min_ns: u64,
    /// Upper bound of `down_for`.
    pub down_for_max_ns: u64,
    /// `max_down`: most nodes down at once through random crashes; default `(nodes - 1) / 2`, `< nodes`.
    pub max_down: u64,
    /// `partition_every`: mean time between random partitions; `None` = no random partitions.
    pub partition_every_ns: Option<u64>,
    /// Lower bound of `partition_for` (default `["1s", "5s"]`): how long a random partition lasts.
    pub partition_for_min_ns: u64,
    /// Upper bound of `partition_for`.
    pub partition_for_max_ns: u64,
    /// `until`: end of the fault window, when random faults stop and everything heals and
    /// restarts; default = the duration, must be `<=` the duration.
    pub until_ns: u64,
}

/// The `[workload]` section: client proposals.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// `rate`: proposals per simulated second; default 0 (no workload), `0 <= rate <= 1e6`.
    pub rate_per_s: f64,
    /// `count`: total proposals; default 0 (none).
    pub count: u64,
    /// `start` (default `"1s"`): when proposals begin; must be `<` the duration when given.
    pub start_ns: u64,
}

/// One `[[schedule]]` table: an action at a fixed time.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledAction {
    /// `at`, e.g. `"5s"`; `<=` the duration.
    pub at_ns: u64,
    /// What happens.
    pub action: Action,
    /// 1-based line of the `[[schedule]]` header in the file, for messages.
    pub line: usize,
}

/// A scheduled action.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `action = "partition"`, `groups = [[1, 2], [3, 4, 5]]`: each node in at most one group,
    /// every id in `1..=nodes`; nodes not named form one more group of their own. The result
    /// has at least two non-empty groups.
    Partition {
        /// The named groups, as written.
        groups: Vec<Vec<NodeId>>,
    },
    /// `action = "heal"`: remove every partition.
    Heal,
    /// `action = "crash"`, `node = 3`.
    Crash {
        /// The node to crash.
        node: NodeId,
    },
    /// `action = "restart"`, `node = 3`.
    Restart {
        /// The node to restart.
        node: NodeId,
    },
}

/// Why a scenario file was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file name, as given.
    pub file: String,
    /// 1-based line; `None` only when the file cannot be read.
    pub line: Option<usize>,
    /// Dotted path of the field, e.g. `network.loss`, `schedule[2].groups`, `duration`;
    /// `None` for errors that concern no single field (such as TOML syntax errors).
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Parse a scenario file from disk.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&file, &text),
        Err(e) => Err(ScenarioError {
            file,
            line: None,
            field: None,
            message: format!("cannot read the scenario file: {e}"),
        }),
    }
}

/// Parse scenario text; `file` is the name used in messages (and for the default name).
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let cx = Cx { file, text };
    let doc = ImDocument::parse(text).map_err(|e| ScenarioError {
        file: file.to_string(),
        line: Some(cx.line_at(e.span())),
        field: None,
        message: format!("invalid TOML: {}", e.message().trim().replace('\n', "; ")),
    })?;
    cx.scenario(doc.as_table())
}

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_M: u64 = 60 * NS_PER_S;
const NS_PER_H: u64 = 60 * NS_PER_M;
const MAX_DURATION_NS: u64 = 24 * NS_PER_H;
const MAX_NODES: u64 = 64;

/// Units from largest to smallest.
const UNITS: [(&str, u64); 6] = [
    ("h", NS_PER_H),
    ("m", NS_PER_M),
    ("s", NS_PER_S),
    ("ms", NS_PER_MS),
    ("us", NS_PER_US),
    ("ns", 1),
];

const DURATION_HINT: &str =
    "expected a number followed by a unit (ns, us, ms, s, m, h), such as \"150ms\" or \"1.5s\"";

/// Parse a duration string like "150ms", "1.5s", "250us", "10ns", "2m", "1h", "0s" into
/// nanoseconds. The number may have a decimal fraction, but the result must be a whole
/// number of nanoseconds; spaces, signs and values beyond `u64::MAX` ns are errors.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("\"{s}\" is not a valid duration: {why}; {DURATION_HINT}");
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    if s.starts_with(['+', '-']) {
        return Err(bad("a sign is not allowed"));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(bad("spaces are not allowed"));
    }
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(num_end);
    if num.is_empty() {
        return Err(bad("it does not start with a number"));
    }
    if unit.is_empty() {
        return Err(bad("the unit is missing"));
    }
    let Some(&(_, mult)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(bad(&format!("unknown unit \"{unit}\"")));
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() || frac.contains('.') || (num.contains('.') && frac.is_empty()) {
        return Err(bad(&format!("malformed number \"{num}\"")));
    }
    let too_large = || bad("it is too large (at most 18446744073709551615ns, about 584 years)");
    let mut int_value: u128 = 0;
    for d in int.bytes() {
        int_value = int_value * 10 + u128::from(d - b'0');
        if int_value > u128::from(u64::MAX) {
            return Err(too_large());
        }
    }
    let frac = frac.trim_end_matches('0');
    let not_whole = || bad("it is not a whole number of nanoseconds");
    // A fraction with more than 19 significant digits can never give whole nanoseconds
    // with the units above (the largest, 1h, is 2^13 * 3^2 * 5^11 ns).
    if frac.len() > 19 {
        return Err(not_whole());
    }
    let mut frac_value: u128 = 0;
    let mut scale: u128 = 1;
    for d in frac.bytes() {
        frac_value = frac_value * 10 + u128::from(d - b'0');
        scale *= 10;
    }
    let mult = u128::from(mult);
    let frac_ns = frac_value * mult;
    if !frac_ns.is_multiple_of(scale) {
        return Err(not_whole());
    }
    let total = int_value * mult + frac_ns / scale;
    u64::try_from(total).map_err(|_| too_large())
}

/// Format nanoseconds as the shortest exact duration string ("1.5s", "150ms", "250us",
/// "10ns", "2m", "0s"). Never uses a number below 1 ("0.15s" is written "150ms"); on a
/// tie in length, the form with fewer decimals wins, then the larger unit.
pub fn format_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let mut best = format!("{ns}ns");
    let mut best_key = (best.len(), 0usize);
    for (unit, mult) in UNITS {
        let int = ns / mult;
        if int == 0 {
            continue;
        }
        let mut rem = u128::from(ns % mult);
        let mult = u128::from(mult);
        let mut digits = String::new();
        let mut terminates = true;
        while rem != 0 {
            if digits.len() >= 13 {
                terminates = false;
                break;
            }
            rem *= 10;
            let digit = u32::try_from(rem / mult).unwrap_or(0);
            digits.push(char::from_digit(digit, 10).unwrap_or('0'));
            rem %= mult;
        }
        if !terminates {
            continue;
        }
        let text = if digits.is_empty() {
            format!("{int}{unit}")
        } else {
            format!("{int}.{digits}{unit}")
        };
        let key = (text.len(), digits.len());
        if key < best_key {
            best_key = key;
            best = text;
        }
    }
    best
}

/// What the loader needs to build errors.
struct Cx<'a> {
    file: &'a str,
    text: &'a str,
}

/// One table of the document: the root, a section or a schedule entry.
struct Section<'t> {
    /// Dotted path prefix ("" for the root).
    path: String,
    table: &'t dyn TableLike,
    /// Line of the table's header (1 for the root).
    line: usize,
}

/// One key present in a section.
struct Field<'t> {
    path: String,
    item: &'t Item,
    /// Line of the value (or of the key when the value has no position).
    line: usize,
    /// Line of the key.
    key_line: usize,
}

fn item_type(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(v) => value_type(v),
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

fn value_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

/// Whole numbers print without a fraction, like TOML would accept them back.
fn show_float(x: f64) -> String {
    format!("{x:?}")
}

impl<'a> Cx<'a> {
    /// 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text
            .as_bytes()
            .get(..end)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            + 1
    }

    fn line_at(&self, span: Option<Range<usize>>) -> usize {
        span.map_or(1, |s| self.line_of(s.start))
    }

    fn span_line(&self, span: Option<Range<usize>>, fallback: usize) -> usize {
        span.map_or(fallback, |s| self.line_of(s.start))
    }

    fn err(&self, line: usize, field: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: Some(line),
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    // ----- walking tables -----

    fn section<'t>(&self, path: String, table: &'t dyn TableLike, line: usize) -> Section<'t> {
        Section { path, table, line }
    }

    fn path(sec: &Section<'_>, key: &str) -> String {
        if sec.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", sec.path)
        }
    }

    /// Reject keys not in `allowed`.
    fn check_keys(&self, sec: &Section<'_>, allowed: &[&str]) -> Result<(), ScenarioError> {
        for (key, item) in sec.table.iter() {
            if allowed.contains(&key) {
                continue;
            }
            let key_span = sec.table.key(key).and_then(|k| k.span());
            let line = self.span_line(key_span.or_else(|| item.span()), sec.line);
            let expected = allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let place = if sec.path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{}`", sec.path)
            };
            return Err(self.err(
                line,
                &Self::path(sec, key),
                format!("unknown field `{key}` {place}; expected one of {expected}"),
            ));
        }
        Ok(())
    }

    fn get<'t>(&self, sec: &Section<'t>, key: &str) -> Option<Field<'t>> {
        let (k, item) = sec.table.get_key_value(key)?;
        if item.is_none() {
            return None;
        }
        let key_line = self.span_line(k.span(), sec.line);
        Some(Field {
            path: Self::path(sec, key),
            item,
            line: self.span_line(item.span(), key_line),
            key_line,
        })
    }

    fn require<'t>(&self, sec: &Section<'t>, key: &str) -> Result<Field<'t>, ScenarioError> {
        self.get(sec, key).ok_or_else(|| {
            let place = if sec.path.is_empty() {
                String::new()
            } else {
                format!(" in `{}`", sec.path)
            };
            self.err(
                sec.line,
                &Self::path(sec, key),
                format!("missing required field `{key}`{place}"),
            )
        })
    }

    /// A sub-table (`[raft]` or `raft = { ... }`); `None` when absent.
    fn sub_section<'t>(
        &self,
        parent: &Section<'t>,
        key: &str,
    ) -> Result<Option<Section<'t>>, ScenarioError> {
        let Some(f) = self.get(parent, key) else {
            return Ok(None);
        };
        match f.item.as_table_like() {
            Some(t) => {
                // Implicit tables (e.g. from dotted keys) have no span: use the key's line.
                let line = self.span_line(f.item.span(), f.key_line);
                Ok(Some(self.section(f.path, t, line)))
            }
            None => Err(self.err(
                f.line,
                &f.path,
                format!(
                    "expected a table (a `[{key}]` section), found {}",
                    item_type(f.item)
                ),
            )),
        }
    }

    // ----- values -----

    fn int(&self, f: &Field<'_>, lo: u64, hi: u64) -> Result<u64, ScenarioError> {
        let Some(Value::Integer(i)) = f.item.as_value() else {
            return Err(self.err(
                f.line,
                &f.path,
                format!("expected an integer, found {}", item_type(f.item)),
            ));
        };
        let n = *i.value();
        match u64::try_from(n) {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            _ if hi == u64::MAX => {
                Err(self.err(f.line, &f.path, format!("must be at least {lo}, found {n}")))
            }
            _ => Err(self.err(
                f.line,
                &f.path,
                format!("must be between {lo} and {hi}, found {n}"),
            )),
        }
    }

    /// A float; an integer is accepted too.
    fn float(&self, f: &Field<'_>) -> Result<f64, ScenarioError> {
        match f.item.as_value() {
            Some(Value::Float(x)) => Ok(*x.value()),
            // Precision loss beyond 2^53 is irrelevant: such values fail the range checks.
            Some(Value::Integer(i)) => Ok(*i.value() as f64),
            _ => Err(self.err(
                f.line,
                &f.path,
                format!("expected a number, found {}", item_type(f.item)),
            )),
        }
    }

    fn string<'t>(&self, f: &Field<'t>) -> Result<&'t str, ScenarioError> {
        match f.item.as_value() {
            Some(Value::String(s)) => Ok(s.value().as_str()),
            _ => Err(self.err(
                f.line,
                &f.path,
                format!("expected a string, found {}", item_type(f.item)),
            )),
        }
    }

    fn duration_value(
        &self,
        v: Option<&Value>,
        found: &str,
        path: &str,
        line: usize,
    ) -> Result<u64, ScenarioError> {
        match v {
            Some(Value::String(s)) => parse_duration(s.value()).map_err(|m| self.err(line, path, m)),
            Some(Value::Integer(i)) => Err(self.err(
                line,
                path,
                format!(
                    "durations are strings with a unit, such as \"150ms\"; found the bare integer {}",
                    i.value()
                ),
            )),
            _ => Err(self.err(
                line,
                path,
                format!("expected a duration string such as \"150ms\", found {found}"),
            )),
        }
    }

    fn duration(&self, f: &Field<'_>) -> Result<u64, ScenarioError> {
        self.duration_value(f.item.as_value(), item_type(f.item), &f.path, f.line)
    }

    /// `[min, max]` of two durations; `strict` requires min < max, else min <= max.
    fn duration_range(
        &self,
        f: &Field<'_>,
        strict: bool,
        min_positive: bool,
    ) -> Result<(u64, u64), ScenarioError> {
        let shape = "expected [min, max], an array of two durations such as [\"1ms\", \"10ms\"]";
        let arr = match f.item.as_value() {
            Some(Value::Array(a)) if a.len() == 2 => a,
            Some(Value::Array(a)) => {
                return Err(self.err(
                    f.line,
                    &f.path,
                    format!("{shape}, found an array of {} elements", a.len()),
                ))
            }
            _ => {
                return Err(self.err(
                    f.line,
                    &f.path,
                    format!("{shape}, found {}", item_type(f.item)),
                ))
            }
        };
        let elem = |i: usize| -> Result<u64, ScenarioError> {
            let v = arr.get(i);
            let line = self.span_line(v.and_then(Value::span), f.line);
            let found = v.map_or("nothing", value_type);
            self.duration_value(v, found, &f.path, line)
        };
        let min = elem(0)?;
        let max = elem(1)?;
        if min_positive && min == 0 {
            return Err(self.err(f.line, &f.path, "min must be greater than 0"));
        }
        if strict && min >= max {
            return Err(self.err(
                f.line,
                &f.path,
                format!(
                    "min ({}) must be less than max ({})",
                    format_duration(min),
                    format_duration(max)
                ),
            ));
        }
        if min > max {
            return Err(self.err(
                f.line,
                &f.path,
                format!(
                    "min ({}) must not be greater than max ({})",
                    format_duration(min),
                    format_duration(max)
                ),
            ));
        }
        Ok((min, max))
    }

    fn positive_duration(&self, f: &Field<'_>) -> Result<u64, ScenarioError> {
        let d = self.duration(f)?;
        if d == 0 {
            return Err(self.err(f.line, &f.path, "must be greater than 0"));
        }
        Ok(d)
    }

    /// A time within the run: `<= duration`.
    fn time_within(&self, f: &Field<'_>, duration_ns: u64) -> Result<u64, ScenarioError> {
        let t = self.duration(f)?;
        if t > duration_ns {
            return Err(self.err(
                f.line,
                &f.path,
                format!(
                    "{} is after the end of the run (duration = {})",
                    format_duration(t),
                    format_duration(duration_ns)
                ),
            ));
        }
        Ok(t)
    }

    // ----- the scenario -----

    fn scenario(&self, root_table: &toml_edit::Table) -> Result<Scenario, ScenarioError> {
        let root = self.section(String::new(), root_table, 1);
        self.check_keys(
            &root,
            &[
                "name", "seed", "nodes", "duration", "raft", "network", "disk", "faults",
                "workload", "schedule",
            ],
        )?;
        let name = match self.get(&root, "name") {
            Some(f) => self.string(&f)?.to_string(),
            None => default_name(self.file),
        };
        let seed = self.int(&self.require(&root, "seed")?, 0, u64::MAX)?;
        let nodes = self.int(&self.require(&root, "nodes")?, 1, MAX_NODES)?;
        let duration_f = self.require(&root, "duration")?;
        let duration_ns = self.duration(&duration_f)?;
        if duration_ns == 0 || duration_ns > MAX_DURATION_NS {
            return Err(self.err(
                duration_f.line,
                &duration_f.path,
                format!(
                    "must be greater than 0 and at most 24h, found {}",
                    format_duration(duration_ns)
                ),
            ));
        }
        Ok(Scenario {
            name,
            seed,
            nodes,
            duration_ns,
            raft: self.raft(&root)?,
            network: self.network(&root)?,
            disk: self.disk(&root)?,
            faults: self.faults(&root, nodes, duration_ns)?,
            workload: self.workload(&root, duration_ns)?,
            schedule: self.schedule(&root, nodes, duration_ns)?,
        })
    }

    fn raft(&self, root: &Section<'_>) -> Result<RaftSettings, ScenarioError> {
        let mut r = RaftSettings {
            election_timeout_min_ns: 150 * NS_PER_MS,
            election_timeout_max_ns: 300 * NS_PER_MS,
            heartbeat_interval_ns: 50 * NS_PER_MS,
            msg_entries_max: 64,
            inflight_msgs_max: 16,
            uncommitted_entries_max: 4096,
        };
        let Some(sec) = self.sub_section(root, "raft")? else {
            return Ok(r);
        };
        self.check_keys(
            &sec,
            &[
                "election_timeout",
                "heartbeat_interval",
                "msg_entries_max",
                "inflight_msgs_max",
                "uncommitted_entries_max",
            ],
        )?;
        let election = self.get(&sec, "election_timeout");
        if let Some(f) = &election {
            (r.election_timeout_min_ns, r.election_timeout_max_ns) =
                self.duration_range(f, true, true)?;
        }
        let heartbeat = self.get(&sec, "heartbeat_interval");
        if let Some(f) = &heartbeat {
            r.heartbeat_interval_ns = self.positive_duration(f)?;
        }
        if r.heartbeat_interval_ns >= r.election_timeout_min_ns {
            let msg = format!(
                "heartbeat_interval ({}) must be less than the election timeout minimum ({})",
                format_duration(r.heartbeat_interval_ns),
                format_duration(r.election_timeout_min_ns)
            );
            // Blame the field that was written (the other one is a default).
            let (line, path) = match (&heartbeat, &election) {
                (Some(f), _) | (None, Some(f)) => (f.line, f.path.clone()),
                (None, None) => (sec.line, "raft.heartbeat_interval".to_string()),
            };
            return Err(self.err(line, &path, msg));
        }
        if let Some(f) = self.get(&sec, "msg_entries_max") {
            r.msg_entries_max = self.int(&f, 1, 4096)?;
        }
        if let Some(f) = self.get(&sec, "inflight_msgs_max") {
            r.inflight_msgs_max = self.int(&f, 1, 1024)?;
        }
        if let Some(f) = self.get(&sec, "uncommitted_entries_max") {
            r.uncommitted_entries_max = self.int(&f, 1, u64::MAX)?;
        }
        Ok(r)
    }

    fn network(&self, root: &Section<'_>) -> Result<NetworkSettings, ScenarioError> {
        let mut n = NetworkSettings {
            latency_min_ns: NS_PER_MS,
            latency_max_ns: 10 * NS_PER_MS,
            loss: 0.0,
        };
        let Some(sec) = self.sub_section(root, "network")? else {
            return Ok(n);
        };
        self.check_keys(&sec, &["latency", "loss"])?;
        if let Some(f) = self.get(&sec, "latency") {
            (n.latency_min_ns, n.latency_max_ns) = self.duration_range(&f, false, false)?;
        }
        if let Some(f) = self.get(&sec, "loss") {
            let loss = self.float(&f)?;
            if !(0.0..1.0).contains(&loss) {
                return Err(self.err(
                    f.line,
                    &f.path,
                    format!(
                        "must be at least 0.0 and less than 1.0 (a probability), found {}",
                        show_float(loss)
                    ),
                ));
            }
            n.loss = loss;
        }
        Ok(n)
    }

    fn disk(&self, root: &Section<'_>) -> Result<DiskSettings, ScenarioError> {
        let mut d = DiskSettings {
            sync_latency_min_ns: 100 * NS_PER_US,
            sync_latency_max_ns: NS_PER_MS,
        };
        let Some(sec) = self.sub_section(root, "disk")? else {
            return Ok(d);
        };
        self.check_keys(&sec, &["sync_latency"])?;
        if let Some(f) = self.get(&sec, "sync_latency") {
            (d.sync_latency_min_ns, d.sync_latency_max_ns) =
                self.duration_range(&f, false, false)?;
        }
        Ok(d)
    }

    fn faults(
        &self,
        root: &Section<'_>,
        nodes: u64,
        duration_ns: u64,
    ) -> Result<FaultSettings, ScenarioError> {
        let mut fs = FaultSettings {
            crash_every_ns: None,
            down_for_min_ns: NS_PER_S,
            down_for_max_ns: 4 * NS_PER_S,
            max_down: nodes.saturating_sub(1) / 2,
            partition_every_ns: None,
            partition_for_min_ns: NS_PER_S,
            partition_for_max_ns: 5 * NS_PER_S,
            until_ns: duration_ns,
        };
        let Some(sec) = self.sub_section(root, "faults")? else {
            return Ok(fs);
        };
        self.check_keys(
            &sec,
            &[
                "crash_every",
                "down_for",
                "max_down",
                "partition_every",
                "partition_for",
                "until",
            ],
        )?;
        if let Some(f) = self.get(&sec, "crash_every") {
            fs.crash_every_ns = Some(self.positive_duration(&f)?);
        }
        if let Some(f) = self.get(&sec, "down_for") {
            (fs.down_for_min_ns, fs.down_for_max_ns) = self.duration_range(&f, false, true)?;
        }
        if let Some(f) = self.get(&sec, "max_down") {
            let m = self.int(&f, 0, u64::MAX)?;
            if m >= nodes {
                return Err(self.err(
                    f.line,
                    &f.path,
                    format!("must be less than nodes ({nodes}), found {m}"),
                ));
            }
            fs.max_down = m;
        }
        if let Some(f) = self.get(&sec, "partition_every") {
            fs.partition_every_ns = Some(self.positive_duration(&f)?);
        }
        if let Some(f) = self.get(&sec, "partition_for") {
            (fs.partition_for_min_ns, fs.partition_for_max_ns) =
                self.duration_range(&f, false, true)?;
        }
        if let Some(f) = self.get(&sec, "until") {
            fs.until_ns = self.time_within(&f, duration_ns)?;
        }
        Ok(fs)
    }

    fn workload(&self, root: &Section<'_>, duration_ns: u64) -> Result<Workload, ScenarioError> {
        let mut w = Workload {
            rate_per_s: 0.0,
            count: 0,
            start_ns: NS_PER_S,
        };
        let Some(sec) = self.sub_section(root, "workload")? else {
            return Ok(w);
        };
        self.check_keys(&sec, &["rate", "count", "start"])?;
        if let Some(f) = self.get(&sec, "rate") {
            let rate = self.float(&f)?;
            if !(0.0..=1e6).contains(&rate) {
                return Err(self.err(
                    f.line,
                    &f.path,
                    format!(
                        "must be between 0 and 1000000 proposals per second, found {}",
                        show_float(rate)
                    ),
                ));
            }
            w.rate_per_s = rate;
        }
        if let Some(f) = self.get(&sec, "count") {
            w.count = self.int(&f, 0, u64::MAX)?;
        }
        if let Some(f) = self.get(&sec, "start") {
            let start = self.duration(&f)?;
            if start >= duration_ns {
                return Err(self.err(
                    f.line,
                    &f.path,
                    format!(
                        "must be before the end of the run (duration = {}), found {}",
                        format_duration(duration_ns),
                        format_duration(start)
                    ),
                ));
            }
            w.start_ns = start;
        }
        Ok(w)
    }

    fn schedule(
        &self,
        root: &Section<'_>,
        nodes: u64,
        duration_ns: u64,
    ) -> Result<Vec<ScheduledAction>, ScenarioError> {
        let Some(f) = self.get(root, "schedule") else {
            return Ok(Vec::new());
        };
        let not_tables = |found: &str| {
            self.err(
                f.line,
                &f.path,
                format!("expected [[schedule]] tables, found {found}"),
            )
        };
        let mut entries: Vec<Section<'_>> = Vec::new();
        match f.item {
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    let line = self.span_line(t.span(), f.line);
                    entries.push(self.section(format!("schedule[{i}]"), t, line));
                }
            }
            Item::Value(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    let Value::InlineTable(t) = v else {
                        return Err(not_tables(&format!("{} in the array", value_type(v))));
                    };
                    let line = self.span_line(v.span(), f.line);
                    entries.push(self.section(format!("schedule[{i}]"), t, line));
                }
            }
            other => return Err(not_tables(item_type(other))),
        }
        let mut out = Vec::with_capacity(entries.len());
        for sec in &entries {
            out.push(self.scheduled_action(sec, nodes, duration_ns)?);
        }
        out.sort_by_key(|a| a.at_ns);
        Ok(out)
    }

    fn scheduled_action(
        &self,
        sec: &Section<'_>,
        nodes: u64,
        duration_ns: u64,
    ) -> Result<ScheduledAction, ScenarioError> {
        self.check_keys(sec, &["at", "action", "groups", "node"])?;
        let at_ns = self.time_within(&self.require(sec, "at")?, duration_ns)?;
        let action_f = self.require(sec, "action")?;
        let name = self.string(&action_f)?;
        let (wants_groups, wants_node) = match name {
            "partition" => (true, false),
            "heal" => (false, false),
            "crash" | "restart" => (false, true),
            other => {
                return Err(self.err(
                    action_f.line,
                    &action_f.path,
                    format!(
                        "unknown action \"{other}\"; expected one of \"partition\", \"heal\", \"crash\", \"restart\""
                    ),
                ))
            }
        };
        let groups_f = self.get(sec, "groups");
        let node_f = self.get(sec, "node");
        for (field, wanted, owner) in [
            (&groups_f, wants_groups, "\"partition\""),
            (&node_f, wants_node, "\"crash\" and \"restart\""),
        ] {
            if let (Some(f), false) = (field, wanted) {
                let key = f.path.rsplit('.').next().unwrap_or(&f.path);
                return Err(self.err(
                    f.key_line,
                    &f.path,
                    format!(
                        "field `{key}` does not belong to action \"{name}\"; it is only allowed with {owner}"
                    ),
                ));
            }
        }
        let missing = |key: &str| {
            self.err(
                sec.line,
                &Self::path(sec, key),
                format!("missing required field `{key}`: action \"{name}\" needs it"),
            )
        };
        let action = match name {
            "partition" => {
                let f = groups_f.ok_or_else(|| missing("groups"))?;
                Action::Partition {
                    groups: self.groups(&f, nodes)?,
                }
            }
            "crash" | "restart" => {
                let f = node_f.ok_or_else(|| missing("node"))?;
                let node =
                    self.node_id(f.item.as_value(), item_type(f.item), &f.path, f.line, nodes)?;
                if name == "crash" {
                    Action::Crash { node }
                } else {
                    Action::Restart { node }
                }
            }
            _ => Action::Heal,
        };
        Ok(ScheduledAction {
            at_ns,
            action,
            line: sec.line,
        })
    }

    fn node_id(
        &self,
        v: Option<&Value>,
        found: &str,
        path: &str,
        line: usize,
        nodes: u64,
    ) -> Result<NodeId, ScenarioError> {
        let Some(Value::Integer(i)) = v else {
            return Err(self.err(
                line,
                path,
                format!("expected a node id (an integer), found {found}"),
            ));
        };
        let n = *i.value();
        match u64::try_from(n) {
            Ok(id) if (1..=nodes).contains(&id) => Ok(id),
            _ => Err(self.err(
                line,
                path,
                format!("node {n} does not exist: the cluster has nodes 1..={nodes}"),
            )),
        }
    }

    fn groups(&self, f: &Field<'_>, nodes: u64) -> Result<Vec<Vec<NodeId>>, ScenarioError> {
        let shape = "expected an array of groups of node ids, such as [[1, 2], [3, 4, 5]]";
        let Some(Value::Array(outer)) = f.item.as_value() else {
            return Err(self.err(
                f.line,
                &f.path,
                format!("{shape}, found {}", item_type(f.item)),
            ));
        };
        // nodes <= MAX_NODES, so this is small.
        let mut seen = vec![false; usize::try_from(nodes).unwrap_or(0).saturating_add(1)];
        let mut named = 0u64;
        let mut groups = Vec::with_capacity(outer.len());
        for (gi, g) in outer.iter().enumerate() {
            let line = self.span_line(g.span(), f.line);
            let Value::Array(inner) = g else {
                return Err(self.err(
                    line,
                    &f.path,
                    format!("{shape}; group {} is {}", gi + 1, value_type(g)),
                ));
            };
            if inner.is_empty() {
                return Err(self.err(
                    line,
                    &f.path,
                    format!(
                        "group {} is empty: every group needs at least one node",
                        gi + 1
                    ),
                ));
            }
            let mut group = Vec::with_capacity(inner.len());
            for v in inner.iter() {
                let vline = self.span_line(v.span(), line);
                let id = self.node_id(Some(v), value_type(v), &f.path, vline, nodes)?;
                let slot = usize::try_from(id).ok().and_then(|i| seen.get_mut(i));
                match slot {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return Err(self.err(
                            vline,
                            &f.path,
                            format!(
                            "node {id} is named more than once: a node can be in at most one group"
                        ),
                        ))
                    }
                }
                named += 1;
                group.push(id);
            }
            groups.push(group);
        }
        let parts = groups.len() + usize::from(named < nodes);
        if parts < 2 {
            return Err(self.err(
                f.line,
                &f.path,
                format!(
                    "the partition does not split the cluster: it must leave at least two groups \
                     (the named groups plus the nodes not named), but all {nodes} nodes end up in one"
                ),
            ));
        }
        Ok(groups)
    }
}

/// The file name without directories and without a `.toml` extension.
fn default_name(file: &str) -> String {
    let base = Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
    match base.strip_suffix(".toml") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse `text` and return the error; panics if it parses.
    fn error(text: &str) -> ScenarioError {
        match parse("dir/test.toml", text) {
            Ok(s) => panic!("expected an error, got {s:?}"),
            Err(e) => e,
        }
    }

    /// Assert the error's line, field and a phrase of its message.
    fn check(text: &str, line: usize, field: Option<&str>, phrase: &str) -> ScenarioError {
        let e = error(text);
        assert_eq!(e.file, "dir/test.toml", "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert_eq!(e.field.as_deref(), field, "{e}");
        assert!(e.message.contains(phrase), "{e} lacks {phrase:?}");
        e
    }

    const HEAD: &str = "seed = 1\nnodes = 5\nduration = \"60s\"\n";

    #[test]
    fn syntax_error() {
        let e = check("seed = 1\nnodes = = 5\n", 2, None, "invalid TOML");
        assert!(
            e.to_string().starts_with("dir/test.toml:2: invalid TOML"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_key_is_a_syntax_error() {
        check("seed = 1\nseed = 2\n", 2, None, "invalid TOML");
    }

    #[test]
    fn unknown_top_level_field() {
        let e = check(
            &format!("{HEAD}\ncolour = \"red\"\n"),
            5,
            Some("colour"),
            "unknown field `colour`",
        );
        assert_eq!(
            e.to_string(),
            format!("dir/test.toml:5: field `colour`: {}", e.message)
        );
    }

    #[test]
    fn unknown_field_in_network() {
        check(
            &format!("{HEAD}[network]\nloss = 0.1\njitter = \"1ms\"\n"),
            6,
            Some("network.jitter"),
            "unknown field `jitter` in `network`",
        );
    }

    #[test]
    fn unknown_field_in_schedule_entry() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\nwhen = 3\n"),
            7,
            Some("schedule[0].when"),
            "unknown field `when`",
        );
    }

    #[test]
    fn wrong_type() {
        check(
            "seed = 1\nnodes = \"five\"\nduration = \"60s\"\n",
            2,
            Some("nodes"),
            "expected an integer, found a string",
        );
    }

    #[test]
    fn section_of_wrong_type() {
        check(
            &format!("{HEAD}raft = 3\n"),
            4,
            Some("raft"),
            "expected a table",
        );
    }

    #[test]
    fn missing_required_field() {
        check(
            "nodes = 5\nduration = \"60s\"\n",
            1,
            Some("seed"),
            "missing required field `seed`",
        );
    }

    #[test]
    fn bad_duration_string() {
        check(
            "seed = 1\nnodes = 5\n\nduration = \"150 parsecs\"\n",
            4,
            Some("duration"),
            "not a valid duration",
        );
    }

    #[test]
    fn bare_integer_duration() {
        check(
            "seed = 1\nnodes = 5\nduration = 60\n",
            3,
            Some("duration"),
            "durations are strings with a unit, such as \"150ms\"",
        );
    }

    #[test]
    fn duration_out_of_bounds() {
        check(
            "seed = 1\nnodes = 5\nduration = \"0s\"\n",
            3,
            Some("duration"),
            "greater than 0",
        );
        check(
            "seed = 1\nnodes = 5\nduration = \"25h\"\n",
            3,
            Some("duration"),
            "at most 24h",
        );
    }

    #[test]
    fn min_greater_than_max() {
        check(
            &format!("{HEAD}[network]\nlatency = [\"10ms\", \"1ms\"]\n"),
            5,
            Some("network.latency"),
            "must not be greater than max",
        );
    }

    #[test]
    fn bad_range_element() {
        check(
            &format!("{HEAD}[disk]\nsync_latency = [\n  \"1ms\",\n  \"2 ms\",\n]\n"),
            7,
            Some("disk.sync_latency"),
            "spaces are not allowed",
        );
    }

    #[test]
    fn loss_out_of_range() {
        check(
            &format!("{HEAD}[network]\nloss = 1.5\n"),
            5,
            Some("network.loss"),
            "less than 1.0",
        );
    }

    #[test]
    fn zero_nodes() {
        check(
            "seed = 1\nnodes = 0\nduration = \"60s\"\n",
            2,
            Some("nodes"),
            "between 1 and 64",
        );
    }

    #[test]
    fn heartbeat_not_below_election_min() {
        check(
            &format!(
                "{HEAD}[raft]\nelection_timeout = [\"100ms\", \"200ms\"]\nheartbeat_interval = \"100ms\"\n"
            ),
            6,
            Some("raft.heartbeat_interval"),
            "must be less than the election timeout minimum",
        );
        // With the default heartbeat, the election timeout is blamed.
        check(
            &format!("{HEAD}[raft]\nelection_timeout = [\"40ms\", \"200ms\"]\n"),
            5,
            Some("raft.election_timeout"),
            "heartbeat_interval (50ms)",
        );
    }

    fn partition(groups: &str) -> String {
        format!("{HEAD}\n[[schedule]]\nat = \"5s\"\naction = \"partition\"\ngroups = {groups}\n")
    }

    #[test]
    fn partition_naming_missing_node() {
        check(
            &partition("[[1, 2], [3, 9]]"),
            8,
            Some("schedule[0].groups"),
            "node 9 does not exist: the cluster has nodes 1..=5",
        );
    }

    #[test]
    fn node_in_two_groups() {
        check(
            &partition("[\n  [1, 2],\n  [2, 3],\n]"),
            10,
            Some("schedule[0].groups"),
            "node 2 is named more than once",
        );
    }

    #[test]
    fn empty_group() {
        check(
            &partition("[[1, 2], []]"),
            8,
            Some("schedule[0].groups"),
            "group 2 is empty",
        );
    }

    #[test]
    fn partition_that_does_not_split() {
        check(
            &partition("[[1, 2, 3, 4, 5]]"),
            8,
            Some("schedule[0].groups"),
            "does not split the cluster",
        );
        check(
            &partition("[]"),
            8,
            Some("schedule[0].groups"),
            "does not split the cluster",
        );
    }

    #[test]
    fn crash_without_node() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\n\n[[schedule]]\nat = \"2s\"\naction = \"crash\"\n"),
            8,
            Some("schedule[1].node"),
            "missing required field `node`",
        );
    }

    #[test]
    fn groups_on_crash() {
        check(
            &format!(
                "{HEAD}[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = 1\ngroups = [[1]]\n"
            ),
            8,
            Some("schedule[0].groups"),
            "does not belong to action \"crash\"",
        );
    }

    #[test]
    fn node_on_partition() {
        check(
            &format!("{}node = 2\n", partition("[[1]]")),
            9,
            Some("schedule[0].node"),
            "only allowed with \"crash\" and \"restart\"",
        );
    }

    #[test]
    fn unknown_action() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"explode\"\n"),
            6,
            Some("schedule[0].action"),
            "unknown action \"explode\"",
        );
    }

    #[test]
    fn schedule_at_beyond_duration() {
        check(
            &format!("{HEAD}[[schedule]]\nat = \"61s\"\naction = \"heal\"\n"),
            5,
            Some("schedule[0].at"),
            "after the end of the run",
        );
    }

    #[test]
    fn until_beyond_duration() {
        check(
            &format!("{HEAD}[faults]\ncrash_every = \"5s\"\nuntil = \"2m\"\n"),
            6,
            Some("faults.until"),
            "2m is after the end of the run (duration = 1m)",
        );
    }

    #[test]
    fn max_down_must_be_below_nodes() {
        check(
            &format!("{HEAD}[faults]\nmax_down = 5\n"),
            5,
            Some("faults.max_down"),
            "less than nodes (5)",
        );
    }

    #[test]
    fn unreadable_file() {
        let e = match load(Path::new("/nonexistent/dir/x.toml")) {
            Ok(s) => panic!("loaded {s:?}"),
            Err(e) => e,
        };
        assert_eq!(e.line, None);
        assert_eq!(e.field, None);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/dir/x.toml: cannot read"),
            "{e}"
        );
    }

    const FULL: &str = r#"# a full scenario
name = "churn"
seed = 7
nodes = 5
duration = "60s"

[raft]
election_timeout = ["200ms", "400ms"]
heartbeat_interval = "40ms"
msg_entries_max = 32
inflight_msgs_max = 8
uncommitted_entries_max = 100

[network]
latency = ["2ms", "20ms"]
loss = 0.05

[disk]
sync_latency = ["50us", "2ms"]

[faults]
crash_every = "5s"
down_for = ["1s", "4s"]
max_down = 2
partition_every = "8s"
partition_for = ["1s", "5s"]
until = "50s"

[workload]
rate = 20
count = 1000
start = "1.5s"

[[schedule]]
at = "9s"
action = "crash"
node = 3

[[schedule]]
at = "5s"
action = "partition"
groups = [[1, 2], [3, 4, 5]]

[[schedule]]
at = "9s"
action = "restart"
node = 3

[[schedule]]
at = "20s"
action = "heal"
"#;

    #[test]
    fn full_file() {
        let s = match parse("scenarios/churn.toml", FULL) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let expected = Scenario {
            name: "churn".into(),
            seed: 7,
            nodes: 5,
            duration_ns: 60 * NS_PER_S,
            raft: RaftSettings {
                election_timeout_min_ns: 200 * NS_PER_MS,
                election_timeout_max_ns: 400 * NS_PER_MS,
                heartbeat_interval_ns: 40 * NS_PER_MS,
                msg_entries_max: 32,
                inflight_msgs_max: 8,
                uncommitted_entries_max: 100,
            },
            network: NetworkSettings {
                latency_min_ns: 2 * NS_PER_MS,
                latency_max_ns: 20 * NS_PER_MS,
                loss: 0.05,
            },
            disk: DiskSettings {
                sync_latency_min_ns: 50 * NS_PER_US,
                sync_latency_max_ns: 2 * NS_PER_MS,
            },
            faults: FaultSettings {
                crash_every_ns: Some(5 * NS_PER_S),
                down_for_min_ns: NS_PER_S,
                down_for_max_ns: 4 * NS_PER_S,
                max_down: 2,
                partition_every_ns: Some(8 * NS_PER_S),
                partition_for_min_ns: NS_PER_S,
                partition_for_max_ns: 5 * NS_PER_S,
                until_ns: 50 * NS_PER_S,
            },
            workload: Workload {
                rate_per_s: 20.0,
                count: 1000,
                start_ns: 1_500 * NS_PER_MS,
            },
            schedule: vec![
                ScheduledAction {
                    at_ns: 5 * NS_PER_S,
                    action: Action::Partition {
                        groups: vec![vec![1, 2], vec![3, 4, 5]],
                    },
                    line: 39,
                },
                ScheduledAction {
                    at_ns: 9 * NS_PER_S,
                    action: Action::Crash { node: 3 },
                    line: 34,
                },
                ScheduledAction {
                    at_ns: 9 * NS_PER_S,
                    action: Action::Restart { node: 3 },
                    line: 44,
                },
                ScheduledAction {
                    at_ns: 20 * NS_PER_S,
                    action: Action::Heal,
                    line: 49,
                },
            ],
        };
        assert_eq!(s, expected);
    }

    #[test]
    fn inline_tables_and_dotted_keys() {
        let text = format!(
            "{HEAD}network.loss = 0\nraft = {{ heartbeat_interval = \"10ms\" }}\n\
             schedule = [{{ at = \"1s\", action = \"crash\", node = 2 }}]\n"
        );
        let s = match parse("x.toml", &text) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s.network.loss, 0.0);
        assert_eq!(s.raft.heartbeat_interval_ns, 10 * NS_PER_MS);
        assert_eq!(s.schedule.len(), 1);
        assert_eq!(s.schedule.first().map(|a| a.line), Some(6));
        check(
            &format!("{HEAD}network.lost = 0\n"),
            4,
            Some("network.lost"),
            "unknown field",
        );
    }

    #[test]
    fn defaults_are_applied() {
        let s = match parse(
            "some/dir/quiet.toml",
            "seed = 3\nnodes = 4\nduration = \"10s\"\n",
        ) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let expected = Scenario {
            name: "quiet".into(),
            seed: 3,
            nodes: 4,
            duration_ns: 10 * NS_PER_S,
            raft: RaftSettings {
                election_timeout_min_ns: 150 * NS_PER_MS,
                election_timeout_max_ns: 300 * NS_PER_MS,
                heartbeat_interval_ns: 50 * NS_PER_MS,
                msg_entries_max: 64,
                inflight_msgs_max: 16,
                uncommitted_entries_max: 4096,
            },
            network: NetworkSettings {
                latency_min_ns: NS_PER_MS,
                latency_max_ns: 10 * NS_PER_MS,
                loss: 0.0,
            },
            disk: DiskSettings {
                sync_latency_min_ns: 100 * NS_PER_US,
                sync_latency_max_ns: NS_PER_MS,
            },
            faults: FaultSettings {
                crash_every_ns: None,
                down_for_min_ns: NS_PER_S,
                down_for_max_ns: 4 * NS_PER_S,
                max_down: 1,
                partition_every_ns: None,
                partition_for_min_ns: NS_PER_S,
                partition_for_max_ns: 5 * NS_PER_S,
                until_ns: 10 * NS_PER_S,
            },
            workload: Workload {
                rate_per_s: 0.0,
                count: 0,
                start_ns: NS_PER_S,
            },
            schedule: Vec::new(),
        };
        assert_eq!(s, expected);
        // Empty sections keep the defaults too.
        let with_sections =
            "seed = 3\nnodes = 4\nduration = \"10s\"\n[raft]\n[network]\n[disk]\n[faults]\n[workload]\n";
        assert_eq!(parse("quiet.toml", with_sections), Ok(expected));
    }

    #[test]
    fn default_name() {
        assert_eq!(super::default_name("a/b/churn.toml"), "churn");
        assert_eq!(super::default_name("churn"), "churn");
        assert_eq!(super::default_name("x.y.toml"), "x.y");
    }

    #[test]
    fn parse_duration_cases() {
        let ok = [
            ("0s", 0),
            ("10ns", 10),
            ("250us", 250_000),
            ("150ms", 150_000_000),
            ("1.5s", 1_500_000_000),
            ("2m", 120_000_000_000),
            ("1h", 3_600_000_000_000),
            ("0.5us", 500),
            ("1.25m", 75_000_000_000),
            ("1.000s", 1_000_000_000),
            ("007ms", 7_000_000),
            ("18446744073709551615ns", u64::MAX),
            ("18446744073.709551615s", u64::MAX),
        ];
        for (s, ns) in ok {
            assert_eq!(parse_duration(s), Ok(ns), "{s}");
        }
        let bad = [
            ("0.5ns", "whole number of nanoseconds"),
            ("1.0000000001ms", "whole number of nanoseconds"),
            ("18446744073709551616ns", "too large"),
            ("5124096h", "too large"),
            ("99999999999999999999999999999999999999999s", "too large"),
            ("", "empty"),
            ("150", "unit is missing"),
            ("ms", "does not start with a number"),
            ("-1s", "sign"),
            ("+1s", "sign"),
            ("1 s", "spaces"),
            ("150 parsecs", "spaces"),
            ("150parsecs", "unknown unit \"parsecs\""),
            ("1.s", "malformed"),
            (".5s", "malformed"),
            ("1.2.3s", "malformed"),
            ("1µs", "unknown unit"),
        ];
        for (s, phrase) in bad {
            match parse_duration(s) {
                Ok(v) => panic!("{s:?} parsed as {v}"),
                Err(m) => assert!(m.contains(phrase), "{s:?}: {m}"),
            }
        }
    }

    #[test]
    fn format_duration_cases() {
        let cases = [
            (0, "0s"),
            (10, "10ns"),
            (250_000, "250us"),
            (150_000_000, "150ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m"),
            (90_000_000_000, "90s"),
            (120_000_000_000, "2m"),
            (5_400_000_000_000, "90m"),
            (86_400_000_000_000, "24h"),
            (1_001_000_000, "1001ms"),
            (1_250_000, "1250us"),
            (2_500_000, "2.5ms"),
        ];
        for (ns, s) in cases {
            assert_eq!(format_duration(ns), s, "{ns}");
        }
        for s in [
            "0s", "10ns", "250us", "150ms", "1.5s", "2m", "24h", "90m", "2.5ms", "3.5us", "12s",
        ] {
            assert_eq!(
                parse_duration(s).map(format_duration),
                Ok(s.to_string()),
                "{s}"
            );
        }
        for ns in [
            1,
            999,
            1_000_001,
            59_999_999_999,
            3_600_000_000_001,
            u64::MAX,
        ] {
            assert_eq!(parse_duration(&format_duration(ns)), Ok(ns), "{ns}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let texts = [
            "",
            "\u{feff}",
            "seed = -1\nnodes = 5\nduration = \"1s\"",
            "seed = 1\nnodes = 5\nduration = \"1s\"\nschedule = 3",
            "seed = 1\nnodes = 5\nduration = \"1s\"\nschedule = [1]",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = 1\naction = \"heal\"",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = 3",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = -3",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = \"partition\"\ngroups = [1]",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[network]\nloss = nan",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[workload]\nrate = inf",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[raft]\nelection_timeout = [\"1s\"]",
            "seed = 1\nnodes = 5\nduration = \"1s\"\n[faults.x]\ny = 1",
            "[[[",
            "a = \"\\u00e9\"\n\u{e9} = 1",
        ];
        for t in texts {
            let e = error(t);
            assert!(e.line.is_some(), "{e}");
        }
    }
}
