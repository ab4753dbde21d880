//! The checks that need more than a type (ranges, node ids, times within the run): [`Cx`]
//! turns a [`RawScenario`] into a [`Scenario`], or a [`ScenarioError`] that names the line
//! and field.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml_edit::{ImDocument, Item, TableLike, Value};

use super::duration::{format_duration, MAX_DURATION_NS, NS_PER_MS, NS_PER_S, NS_PER_US};
use super::raw::{
    ActionKind, Dur, DurRange, Int, Opt, RawAction, RawClients, RawExpect, RawKeyDistribution,
    RawOpKind, RawOperation, RawScenario, RawWorkload,
};
use super::{
    Action, Clients, ClockSettings, DiskSettings, Expectation, FaultSettings, KeyDistribution,
    LatencyDistribution, LivenessSettings, MembershipSettings, NetworkSettings, NodeId, OpMix,
    RaftSettings, Scenario, ScenarioError, ScheduledAction, ScriptedOp, SwarmSettings, Workload,
    DEFAULT_START_NS, HOLD_STALE_FOR_DEFAULT_NS, HOLD_STALE_FOR_MAX_NS, MAX_NODES,
    OPERATIONS_EXPLICIT_MAX,
};

/// `Ok` if `ok`, else the message.
pub(super) fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

fn between(lo: u64, hi: u64) -> impl Fn(Int) -> Result<(), String> {
    move |Int(n)| {
        ensure((lo..=hi).contains(&n), || match hi {
            u64::MAX => format!("must be at least {lo}, found {n}"),
            _ => format!("must be between {lo} and {hi}, found {n}"),
        })
    }
}

fn positive(Dur(d): Dur) -> Result<(), String> {
    ensure(d > 0, || "must be greater than 0".to_string())
}

/// The shortest mean time between random events of one kind (`*_every`): at most 100 a
/// second, far more than any fault model wants, so that no rate can flood a run's event budget
/// (a `crash_every = "1ns"` would try a crash every simulated nanosecond).
pub const EVERY_MIN_NS: u64 = 10 * NS_PER_MS;

/// The shortest heartbeat interval: every node's timers fire at most this often, which
/// bounds the events a quiet cluster makes.
pub const HEARTBEAT_MIN_NS: u64 = NS_PER_MS;

/// At least [`EVERY_MIN_NS`].
fn at_least_every_min(Dur(d): Dur) -> Result<(), String> {
    ensure(d >= EVERY_MIN_NS, || {
        format!(
            "must be at least {} (a mean time between random events; at most 100 a second), found {}",
            format_duration(EVERY_MIN_NS),
            format_duration(d)
        )
    })
}

/// `min > 0`, and with `strict`, `min < max`.
fn positive_range(strict: bool) -> impl Fn(DurRange) -> Result<(), String> {
    move |DurRange { min, max }| {
        ensure(min > 0, || "min must be greater than 0".to_string())?;
        let (lo, hi) = (format_duration(min), format_duration(max));
        ensure(!strict || min < max, || {
            format!("min ({lo}) must be less than max ({hi})")
        })
    }
}

/// A time within the run: `<= duration`.
fn within_run(duration_ns: u64) -> impl Fn(Dur) -> Result<(), String> {
    move |Dur(t)| {
        let (t_text, d) = (format_duration(t), format_duration(duration_ns));
        ensure(t <= duration_ns, || {
            format!("{t_text} is after the end of the run (duration = {d})")
        })
    }
}

/// The dotted path of the field at `span` in `table` (at `path`): the table itself if `span`
/// is its span (as for a missing field), else the innermost key or value holding its start.
fn field_at(
    table: &dyn TableLike,
    table_span: Option<Range<usize>>,
    path: String,
    span: &Range<usize>,
) -> Option<String> {
    if table_span.as_ref() == Some(span) {
        return Some(path);
    }
    for (key, item) in table.iter() {
        let here = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        let nth = |i: usize| format!("{here}[{i}]");
        let tables: Vec<(String, &dyn TableLike, _)> = match item {
            Item::Table(t) => vec![(here.clone(), t, t.span())],
            Item::Value(Value::InlineTable(t)) => vec![(here.clone(), t, item.span())],
            Item::ArrayOfTables(a) => (a.iter().enumerate())
                .map(|(i, t)| (nth(i), t as _, t.span()))
                .collect(),
            Item::Value(Value::Array(a)) => (a.iter().enumerate())
                .filter_map(|(i, v)| Some((nth(i), v.as_inline_table()? as _, v.span())))
                .collect(),
            _ => Vec::new(),
        };
        for (path, t, t_span) in tables {
            if let Some(found) = field_at(t, t_span, path, span) {
                return Some(found);
            }
        }
        let key_span = table.key(key).and_then(|k| k.span());
        if [key_span, item.span()]
            .iter()
            .flatten()
            .any(|s| s.contains(&span.start))
        {
            return Some(here);
        }
    }
    None
}

/// The file being parsed, for messages.
pub(super) struct Cx<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
}

impl Cx<'_> {
    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.text
            .bytes()
            .take(offset)
            .filter(|&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at `span` of the (well-formed) text; `missing` names a field that the table
    /// at `span` lacks.
    fn error(&self, span: Range<usize>, missing: Option<&str>, message: String) -> ScenarioError {
        let doc = ImDocument::parse(self.text).ok();
        let root = doc.as_ref().map(|d| d.as_table());
        let at = root.and_then(|t| field_at(t, t.span(), String::new(), &span));
        let field = match (at.filter(|f| !f.is_empty()), missing) {
            (Some(table), Some(key)) => Some(format!("{table}.{key}")),
            (at, key) => key.map(str::to_string).or(at),
        };
        ScenarioError {
            file: self.file.to_string(),
            line: Some(self.line(span.start)),
            field,
            message,
        }
    }

    pub(super) fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().replace('\n', "; ");
        if ImDocument::parse(self.text).is_err() {
            return ScenarioError {
                field: None,
                message: format!("invalid TOML: {message}"),
                ..self.error(span, None, String::new())
            };
        }
        // serde's "missing field `x`" has the span of the table that lacks it.
        let missing = message.strip_prefix("missing field `");
        let missing = missing
            .and_then(|m| m.strip_suffix('`'))
            .map(str::to_string);
        self.error(span, missing.as_deref(), message)
    }

    /// `implementation`: a registered name, or the default.
    fn implementation(
        &self,
        name: &Option<Spanned<String>>,
    ) -> Result<crate::implementation::Implementation, ScenarioError> {
        use crate::implementation::Implementation;
        let Some(name) = name else {
            return Ok(Implementation::default());
        };
        Implementation::from_name(name.get_ref()).ok_or_else(|| {
            let message = format!(
                "unknown implementation `{}`; expected one of: {}",
                name.get_ref(),
                Implementation::names()
            );
            self.fail(name, message)
        })
    }

    /// `[implementation_options]`: each a string, a number or a boolean, kept as text.
    fn implementation_options(
        &self,
        raw: &std::collections::BTreeMap<String, Spanned<toml::Value>>,
    ) -> Result<std::collections::BTreeMap<String, String>, ScenarioError> {
        raw.iter()
            .map(|(key, value)| {
                let text = match value.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        let kind = other.type_str();
                        let message =
                            format!("expected a string, a number or a boolean, found {kind}");
                        return Err(self.fail(value, message));
                    }
                };
                Ok((key.clone(), text))
            })
            .collect()
    }

    /// An error at the value `v`.
    fn fail<T>(&self, v: &Spanned<T>, message: String) -> ScenarioError {
        self.error(v.span(), None, message)
    }

    /// The value of a field, checked by `check`.
    fn get<T: Copy>(
        &self,
        v: &Spanned<T>,
        check: impl FnOnce(T) -> Result<(), String>,
    ) -> Result<T, ScenarioError> {
        check(*v.get_ref()).map_err(|m| self.fail(v, m))?;
        Ok(*v.get_ref())
    }

    /// The value of an optional field, checked by `check`, or `default`.
    fn opt<T: Copy>(
        &self,
        v: &Opt<T>,
        default: T,
        check: impl FnOnce(T) -> Result<(), String>,
    ) -> Result<T, ScenarioError> {
        v.as_ref().map_or(Ok(default), |v| self.get(v, check))
    }

    pub(super) fn scenario(&self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        let Int(nodes) = self.get(&raw.nodes, between(1, MAX_NODES))?;
        let Dur(duration_ns) = self.get(&raw.duration, |Dur(d)| {
            let found = format_duration(d);
            let message = || format!("must be greater than 0 and at most 24h, found {found}");
            ensure(d > 0 && d <= MAX_DURATION_NS, message)
        })?;
        let (r, n, f, w) = (&raw.raft, &raw.network, &raw.faults, &raw.workload);
        let ms = |min, max| DurRange {
            min: min * NS_PER_MS,
            max: max * NS_PER_MS,
        };
        let any = |_| Ok(());
        let int = |v, default, lo, hi| self.opt(v, Int(default), between(lo, hi)).map(|i| i.0);
        let every = |v: &Opt<_>| {
            v.as_ref()
                .map(|v| self.get(v, at_least_every_min).map(|d| d.0))
                .transpose()
        };
        let positive_or_none = |v: &Opt<_>| {
            v.as_ref()
                .map(|v| self.get(v, positive).map(|d| d.0))
                .transpose()
        };

        let election = self.opt(&r.election_timeout, ms(150, 300), positive_range(true))?;
        let Dur(heartbeat) = self.opt(&r.heartbeat_interval, Dur(50 * NS_PER_MS), |Dur(h)| {
            ensure(h >= HEARTBEAT_MIN_NS, || {
                let (min, found) = (format_duration(HEARTBEAT_MIN_NS), format_duration(h));
                format!("must be at least {min}, found {found}")
            })
        })?;
        if heartbeat >= election.min {
            // Blame the field that was written (the other one is a default).
            let span = match (&r.heartbeat_interval, &r.election_timeout) {
                (Some(h), _) => h.span(),
                (None, e) => e.as_ref().map_or(0..0, Spanned::span),
            };
            let (h, e) = (format_duration(heartbeat), format_duration(election.min));
            let message = format!(
                "heartbeat_interval ({h}) must be less than the election timeout minimum ({e})"
            );
            return Err(self.error(span, None, message));
        }
        let latency = self.opt(&n.latency, ms(1, 10), any)?;
        let loss = self.opt(&n.loss, 0.0, |x| {
            let message =
                || format!("must be at least 0.0 and less than 1.0 (a probability), found {x:?}");
            ensure((0.0..1.0).contains(&x), message)
        })?;
        let sync = DurRange {
            min: 100 * NS_PER_US,
            max: NS_PER_MS,
        };
        let sync = self.opt(&raw.disk.sync_latency, sync, any)?;
        let probability = |v: &Opt<f64>, default: f64, below_one: bool| {
            self.opt(v, default, |x: f64| {
                let ok = x >= 0.0 && if below_one { x < 1.0 } else { x <= 1.0 };
                let bound = if below_one {
                    "less than 1.0"
                } else {
                    "at most 1.0"
                };
                ensure(ok, || {
                    format!("must be at least 0.0 and {bound} (a probability), found {x:?}")
                })
            })
        };
        let base = NetworkSettings::uniform(latency.min, latency.max);
        let tail = DurRange {
            min: base.tail_latency_min_ns,
            max: base.tail_latency_max_ns,
        };
        let tail = self.opt(&n.tail_latency, tail, positive_range(false))?;
        let reorder_delay = DurRange {
            min: base.reorder_delay_min_ns,
            max: base.reorder_delay_max_ns,
        };
        let reorder_delay = self.opt(&n.reorder_delay, reorder_delay, any)?;
        let network = NetworkSettings {
            loss,
            latency_distribution: n
                .latency_distribution
                .as_ref()
                .map_or(LatencyDistribution::Uniform, |d| *d.get_ref()),
            tail_probability: probability(&n.tail_probability, base.tail_probability, false)?,
            tail_latency_min_ns: tail.min,
            tail_latency_max_ns: tail.max,
            duplicate: probability(&n.duplicate, 0.0, true)?,
            reorder: probability(&n.reorder, 0.0, true)?,
            reorder_delay_min_ns: reorder_delay.min,
            reorder_delay_max_ns: reorder_delay.max,
            ..base
        };
        let torn_writes = probability(&raw.disk.torn_writes, 0.0, false)?;
        let c = &raw.clocks;
        let jump = self.opt(&c.jump, ms(100, 2000), positive_range(false))?;
        let clocks = ClockSettings {
            offset_max_ns: self.opt(&c.offset_max, Dur(0), |_| Ok(()))?.0,
            drift_ppm_max: int(&c.drift_ppm_max, 0, 0, 100_000)?,
            jump_every_ns: every(&c.jump_every)?,
            jump_min_ns: jump.min,
            jump_max_ns: jump.max,
        };
        let l = &raw.liveness;
        let liveness = LivenessSettings {
            leader_within_ns: positive_or_none(&l.leader_within)?,
            clients_within_ns: positive_or_none(&l.clients_within)?,
        };
        let mb = &raw.membership;
        let initial = int(&mb.initial, nodes, 1, nodes)?;
        let voters_max = int(&mb.voters_max, nodes, 1, nodes)?;
        let voters_min = int(&mb.voters_min, 3.min(initial), 1, initial)?;
        if voters_min > voters_max {
            let span =
                (mb.voters_min.as_ref().or(mb.voters_max.as_ref())).map_or(0..0, Spanned::span);
            let message = format!("voters_min ({voters_min}) is above voters_max ({voters_max})");
            return Err(self.error(span, None, message));
        }
        let membership = MembershipSettings {
            initial,
            churn_every_ns: every(&mb.churn_every)?,
            voters_min,
            voters_max,
        };
        let swarm = SwarmSettings {
            enabled: raw.swarm.enabled.as_ref().is_some_and(|e| *e.get_ref()),
        };
        let pause_for = self.opt(&f.pause_for, ms(100, 2000), positive_range(false))?;
        let clog_for = self.opt(&f.clog_for, ms(100, 1000), positive_range(false))?;
        let down_for = self.opt(&f.down_for, ms(1000, 4000), positive_range(false))?;
        let Int(max_down) = self.opt(&f.max_down, Int((nodes - 1) / 2), |Int(m)| {
            ensure(m < nodes, || {
                format!("must be less than nodes ({nodes}), found {m}")
            })
        })?;
        let partition_for = self.opt(&f.partition_for, ms(1000, 5000), positive_range(false))?;
        let Dur(until_ns) = self.opt(&f.until, Dur(duration_ns), within_run(duration_ns))?;
        // At most 10,000 a second: a leader takes one proposal per event, and faster rates
        // only flood the event budget (ten simulated seconds at 10,000 a second already make
        // a million events).
        let rate_per_s = self.opt(&w.rate, 0.0, |r| {
            let message =
                || format!("must be between 0 and 10000 proposals per second, found {r:?}");
            ensure((0.0..=1e4).contains(&r), message)
        })?;
        // The default start is not checked: a run that ends before it has no workload.
        let Dur(start_ns) = self.opt(&w.start, Dur(DEFAULT_START_NS), |Dur(s)| {
            let (d, found) = (format_duration(duration_ns), format_duration(s));
            let message =
                || format!("must be before the end of the run (duration = {d}), found {found}");
            ensure(s < duration_ns, message)
        })?;
        let mut clients = self.clients(&raw.clients, duration_ns)?;
        let operations = self.operations(&raw, &mut clients, duration_ns)?;
        let at_ns = self.proposal_times(w, duration_ns)?;
        let mut schedule = (raw.schedule.iter())
            .map(|a| self.action(a, nodes, duration_ns))
            .collect::<Result<Vec<_>, _>>()?;
        schedule.sort_by_key(|a| a.at_ns);
        let expect = (raw.expect.iter())
            .map(|e| self.expectation(e, duration_ns))
            .collect::<Result<Vec<_>, _>>()?;
        let implementation = self.implementation(&raw.implementation)?;
        let implementation_options = self.implementation_options(&raw.implementation_options)?;
        Ok(Scenario {
            expect,
            implementation,
            implementation_options,
            name: raw.name.unwrap_or_else(|| default_name(self.file)),
            seed: raw.seed.0,
            nodes,
            duration_ns,
            raft: RaftSettings {
                election_timeout_min_ns: election.min,
                election_timeout_max_ns: election.max,
                heartbeat_interval_ns: heartbeat,
                msg_entries_max: int(&r.msg_entries_max, 64, 1, 4096)?,
                inflight_msgs_max: int(&r.inflight_msgs_max, 16, 1, 1024)?,
                uncommitted_entries_max: int(&r.uncommitted_entries_max, 4096, 1, u64::MAX)?,
                session_timeout_ns: self
                    .opt(&r.session_timeout, Dur(30 * NS_PER_S), positive)?
                    .0,
                sessions_max: int(&r.sessions_max, 1024, 1, 1_000_000)?,
                value_bytes_max: int(&r.value_bytes_max, 65_536, 1, u64::MAX)?,
                learner_lag_entries_max: int(&r.learner_lag_entries_max, 64, 1, u64::MAX)?,
                snapshot_entries: int(&r.snapshot_entries, 0, 0, u64::MAX)?,
                snapshot_bytes: int(&r.snapshot_bytes, 0, 0, u64::MAX)?,
                snapshot_chunk_bytes: int(&r.snapshot_chunk_bytes, 65_536, 1, 1 << 24)?,
                snapshot_catch_up_entries: int(&r.snapshot_catch_up_entries, 64, 0, u64::MAX)?,
                checkpoint_entries: int(&r.checkpoint_entries, 1000, 0, u64::MAX)?,
            },
            network,
            disk: DiskSettings {
                sync_latency_min_ns: sync.min,
                sync_latency_max_ns: sync.max,
                torn_writes,
            },
            clocks,
            liveness,
            swarm,
            membership,
            faults: FaultSettings {
                crash_every_ns: every(&f.crash_every)?,
                down_for_min_ns: down_for.min,
                down_for_max_ns: down_for.max,
                max_down,
                partition_every_ns: every(&f.partition_every)?,
                partition_for_min_ns: partition_for.min,
                partition_for_max_ns: partition_for.max,
                until_ns,
                pause_every_ns: every(&f.pause_every)?,
                pause_for_min_ns: pause_for.min,
                pause_for_max_ns: pause_for.max,
                clog_every_ns: every(&f.clog_every)?,
                clog_for_min_ns: clog_for.min,
                clog_for_max_ns: clog_for.max,
                one_way_every_ns: every(&f.one_way_every)?,
                bridge_every_ns: every(&f.bridge_every)?,
                isolate_leader_every_ns: every(&f.isolate_leader_every)?,
                crash_leader_every_ns: every(&f.crash_leader_every)?,
                partition_after_append_every_ns: every(&f.partition_after_append_every)?,
                drop_quorum_ack_every_ns: every(&f.drop_quorum_ack_every)?,
                crash_before_sync_every_ns: every(&f.crash_before_sync_every)?,
                crash_after_send_every_ns: every(&f.crash_after_send_every)?,
                hold_stale_every_ns: every(&f.hold_stale_every)?,
                replay_old_every_ns: every(&f.replay_old_every)?,
                crash_during_snapshot_every_ns: every(&f.crash_during_snapshot_every)?,
                change_while_down_every_ns: every(&f.change_while_down_every)?,
                crash_at_io_every_ns: every(&f.crash_at_io_every)?,
            },
            workload: Workload {
                rate_per_s,
                count: w.count.map_or(0, |c| c.0),
                start_ns,
                at_ns,
            },
            clients,
            schedule,
            operations,
        })
    }

    /// `workload.at`: sorted times within the run, never beside `rate` or `count`.
    fn proposal_times(&self, w: &RawWorkload, duration_ns: u64) -> Result<Vec<u64>, ScenarioError> {
        let Some(at) = &w.at else {
            return Ok(Vec::new());
        };
        if w.rate.is_some() || w.count.is_some() {
            let message = "`at` lists the proposals one by one: leave out `rate` and `count`";
            return Err(self.fail(at, message.to_string()));
        }
        if at.get_ref().len() > OPERATIONS_EXPLICIT_MAX {
            let message = format!("at most {OPERATIONS_EXPLICIT_MAX} proposals");
            return Err(self.fail(at, message));
        }
        let mut times = (at.get_ref().iter())
            .map(|t| self.get(t, within_run(duration_ns)).map(|d| d.0))
            .collect::<Result<Vec<_>, _>>()?;
        times.sort_unstable();
        Ok(times)
    }

    /// The `[[operation]]` tables; with any, `clients.operations` is their number.
    fn operations(
        &self,
        raw: &RawScenario,
        clients: &mut Clients,
        duration_ns: u64,
    ) -> Result<Vec<ScriptedOp>, ScenarioError> {
        if raw.operation.is_empty() {
            return Ok(Vec::new());
        }
        if raw.operation.len() > OPERATIONS_EXPLICIT_MAX {
            let message = format!("at most {OPERATIONS_EXPLICIT_MAX} `[[operation]]` tables");
            return Err(self.fail(&raw.operation[OPERATIONS_EXPLICIT_MAX], message));
        }
        let mut ops = (raw.operation.iter())
            .map(|o| self.operation(o, clients.count, duration_ns))
            .collect::<Result<Vec<_>, _>>()?;
        let count = ops.iter().filter(|o| o.op.is_some()).count() as u64;
        if let Some(given) = &raw.clients.operations {
            if given.get_ref().0 != count {
                let message = format!(
                    "the file lists {count} operations (`[[operation]]` tables other than \
                     f = \"register\"), so `operations` must be {count} or left out, found {}",
                    given.get_ref().0
                );
                return Err(self.fail(given, message));
            }
        }
        clients.operations = count;
        ops.sort_by_key(|o| o.at_ns);
        Ok(ops)
    }

    fn operation(
        &self,
        entry: &Spanned<RawOperation>,
        clients: u64,
        duration_ns: u64,
    ) -> Result<ScriptedOp, ScenarioError> {
        use crate::node::ClientOp;
        let o = entry.get_ref();
        let Int(client) = self.get(&o.client, |Int(c)| {
            ensure((1..=clients).contains(&c), || {
                format!("client {c} does not exist: `clients.count` is {clients}")
            })
        })?;
        let Dur(at_ns) = self.get(&o.at, within_run(duration_ns))?;
        let kind = *o.f.get_ref();
        let name = format!("{kind:?}").to_lowercase();
        if let Some(key) = o.key.as_ref().filter(|k| k.get_ref().is_empty()) {
            return Err(self.fail(key, "must not be empty".to_string()));
        }
        let fields = [
            ("key", &o.key),
            ("value", &o.value),
            ("expected", &o.expected),
            ("new", &o.new),
        ];
        let wanted: &[&str] = match kind {
            RawOpKind::Register => &[],
            RawOpKind::Get => &["key"],
            RawOpKind::Put | RawOpKind::Append => &["key", "value"],
            RawOpKind::Cas => &["key", "expected", "new"],
        };
        for (field, value) in fields {
            match (value, wanted.contains(&field)) {
                (Some(v), false) => {
                    let message = format!("field `{field}` does not belong to f = \"{name}\"");
                    return Err(self.fail(v, message));
                }
                (None, true) => {
                    let message =
                        format!("missing required field `{field}`: f = \"{name}\" needs it");
                    return Err(self.error(entry.span(), Some(field), message));
                }
                _ => {}
            }
        }
        let text = |v: &Option<Spanned<String>>| {
            v.as_ref().map(|v| v.get_ref().clone()).unwrap_or_default()
        };
        let key = text(&o.key);
        let op = match kind {
            RawOpKind::Register => None,
            RawOpKind::Get => Some(ClientOp::Get { key }),
            RawOpKind::Put => Some(ClientOp::Put {
                key,
                value: text(&o.value),
            }),
            RawOpKind::Append => Some(ClientOp::Append {
                key,
                value: text(&o.value),
            }),
            RawOpKind::Cas => Some(ClientOp::Cas {
                key,
                expected: text(&o.expected),
                new: text(&o.new),
            }),
        };
        Ok(ScriptedOp {
            client,
            at_ns,
            op,
            line: self.line(entry.span().start),
        })
    }

    fn clients(&self, c: &RawClients, duration_ns: u64) -> Result<Clients, ScenarioError> {
        let int = |v, default, lo, hi| self.opt(v, Int(default), between(lo, hi)).map(|i| i.0);
        let weight = |v: &Opt<f64>, default| {
            self.opt(v, default, |w: f64| {
                ensure(w.is_finite() && w >= 0.0, || {
                    format!("must be a weight >= 0, found {w:?}")
                })
            })
        };
        let mix = match &c.mix {
            None => OpMix {
                get: 0.4,
                put: 0.2,
                append: 0.2,
                cas: 0.2,
            },
            Some(m) => {
                let r = m.get_ref();
                let mix = OpMix {
                    get: weight(&r.get, 0.0)?,
                    put: weight(&r.put, 0.0)?,
                    append: weight(&r.append, 0.0)?,
                    cas: weight(&r.cas, 0.0)?,
                };
                if mix.get + mix.put + mix.append + mix.cas <= 0.0 {
                    return Err(self.fail(m, "some operation needs a weight above 0".to_string()));
                }
                mix
            }
        };
        let exponent = self.opt(&c.zipf_exponent, 1.0, |x: f64| {
            ensure(x > 0.0 && x <= 10.0, || {
                format!("must be above 0 and at most 10, found {x:?}")
            })
        })?;
        let key_distribution = match c.key_distribution.as_ref().map(|d| *d.get_ref()) {
            None | Some(RawKeyDistribution::Uniform) => KeyDistribution::Uniform,
            Some(RawKeyDistribution::Zipf) => KeyDistribution::Zipf { exponent },
        };
        let think = self.opt(
            &c.think_time,
            DurRange {
                min: 0,
                max: 20 * NS_PER_MS,
            },
            |_| Ok(()),
        )?;
        let Dur(start_ns) = self.opt(&c.start, Dur(DEFAULT_START_NS), |Dur(s)| {
            let (d, found) = (format_duration(duration_ns), format_duration(s));
            let message =
                || format!("must be before the end of the run (duration = {d}), found {found}");
            ensure(s < duration_ns, message)
        })?;
        Ok(Clients {
            count: int(&c.count, 0, 0, 1000)?,
            operations: int(&c.operations, 0, 0, u64::MAX)?,
            keys: int(&c.keys, 5, 1, 100_000)?,
            key_distribution,
            mix,
            think_time_min_ns: think.min,
            think_time_max_ns: think.max,
            timeout_ns: self.opt(&c.timeout, Dur(500 * NS_PER_MS), positive)?.0,
            attempts_max: int(&c.attempts_max, 8, 1, 1000)?,
            start_ns,
        })
    }

    fn action(
        &self,
        entry: &Spanned<RawAction>,
        nodes: u64,
        duration_ns: u64,
    ) -> Result<ScheduledAction, ScenarioError> {
        let a = entry.get_ref();
        let Dur(at_ns) = self.get(&a.at, within_run(duration_ns))?;
        let kind = a.action;
        let name = kind.name();
        let (required, optional) = kind.fields();
        let present = [
            ("torn", a.torn.as_ref().map(Spanned::span)),
            ("latency", a.latency.as_ref().map(Spanned::span)),
            (
                "latency_distribution",
                a.latency_distribution.as_ref().map(Spanned::span),
            ),
            ("loss", a.loss.as_ref().map(Spanned::span)),
            ("duplicate", a.duplicate.as_ref().map(Spanned::span)),
            ("reorder", a.reorder.as_ref().map(Spanned::span)),
            ("groups", a.groups.as_ref().map(Spanned::span)),
            ("node", a.node.as_ref().map(Spanned::span)),
            ("from", a.from.as_ref().map(Spanned::span)),
            ("to", a.to.as_ref().map(Spanned::span)),
            ("for", a.for_.as_ref().map(Spanned::span)),
            ("by", a.by.as_ref().map(Spanned::span)),
            ("kind", a.kind.as_ref().map(Spanned::span)),
            ("when", a.when.as_ref().map(Spanned::span)),
            ("until", a.until.as_ref().map(Spanned::span)),
            ("stage", a.stage.as_ref().map(Spanned::span)),
            ("boundary", a.boundary.as_ref().map(Spanned::span)),
            ("pause", a.pause.as_ref().map(Spanned::span)),
            ("isolate", a.isolate.as_ref().map(Spanned::span)),
        ];
        for (key, span) in &present {
            let Some(span) = span else { continue };
            if required.contains(key) || optional.contains(key) {
                continue;
            }
            let owners: Vec<String> = ActionKind::ALL
                .iter()
                .filter(|k| k.fields().0.contains(key) || k.fields().1.contains(key))
                .map(|k| format!("\"{}\"", k.name()))
                .collect();
            let message = format!(
                "field `{key}` does not belong to action \"{name}\"; it is only allowed with {}",
                owners.join(", ")
            );
            return Err(self.error(span.clone(), None, message));
        }
        let missing = |key: &str| {
            let message = format!("missing required field `{key}`: action \"{name}\" needs it");
            self.error(entry.span(), Some(key), message)
        };
        if let Some((key, _)) = present
            .iter()
            .find(|(key, span)| span.is_none() && required.contains(key))
        {
            return Err(missing(key));
        }
        // Every required field is present from here on.
        let node = || self.node_id(a.node.as_ref().expect("required"), nodes);
        let for_ns = || {
            self.get(a.for_.as_ref().expect("required"), positive)
                .map(|d| d.0)
        };
        let action = match kind {
            ActionKind::Partition => Action::Partition {
                groups: self.groups(a.groups.as_ref().expect("required"), nodes)?,
            },
            ActionKind::Heal => Action::Heal,
            ActionKind::Crash => Action::Crash {
                node: node()?,
                torn: a.torn.as_ref().is_some_and(|t| *t.get_ref()),
            },
            ActionKind::Network => self.network_action(a)?,
            ActionKind::Restart => Action::Restart { node: node()? },
            ActionKind::OneWay => {
                let (from, to) = self.links(a, nodes)?;
                Action::OneWay { from, to }
            }
            ActionKind::Bridge => {
                let node = node()?;
                let groups =
                    self.bridge_groups(a.groups.as_ref().expect("required"), node, nodes)?;
                Action::Bridge { groups, node }
            }
            ActionKind::Clog => {
                let (from, to) = self.links(a, nodes)?;
                Action::Clog {
                    from,
                    to,
                    for_ns: for_ns()?,
                }
            }
            ActionKind::Pause => Action::Pause {
                node: node()?,
                for_ns: for_ns()?,
            },
            ActionKind::ClockJump => Action::ClockJump {
                node: node()?,
                by_ns: self.get(a.by.as_ref().expect("required"), positive)?.0,
            },
            ActionKind::IsolateLeader => Action::IsolateLeader { for_ns: for_ns()? },
            ActionKind::CrashLeader => Action::CrashLeader { for_ns: for_ns()? },
            ActionKind::PartitionAfterAppend => Action::PartitionAfterAppend { for_ns: for_ns()? },
            ActionKind::DropQuorumAck => Action::DropQuorumAck,
            ActionKind::CrashBeforeSync => Action::CrashBeforeSync {
                node: a
                    .node
                    .as_ref()
                    .map(|n| self.node_id(n, nodes))
                    .transpose()?,
                for_ns: for_ns()?,
            },
            ActionKind::AddServer => Action::AddServer { node: node()? },
            ActionKind::RemoveServer => Action::RemoveServer { node: node()? },
            ActionKind::ReplaceLeader => Action::ReplaceLeader { node: node()? },
            ActionKind::ReplaceServer => {
                let (from, to) = self.links(a, nodes)?;
                Action::ReplaceServer { from, to }
            }
            ActionKind::CrashAfterSend
            | ActionKind::HoldStale
            | ActionKind::ReplayOld
            | ActionKind::CrashDuringSnapshot
            | ActionKind::ChangeWhileDown
            | ActionKind::CrashAtIo => self.protocol_action(kind, a, nodes)?,
        };
        let line = self.line(entry.span().start);
        Ok(ScheduledAction {
            at_ns,
            action,
            line,
        })
    }

    fn expectation(
        &self,
        entry: &Spanned<RawExpect>,
        duration_ns: u64,
    ) -> Result<Expectation, ScenarioError> {
        let e = entry.get_ref();
        let Dur(from_ns) = self.get(&e.from, within_run(duration_ns))?;
        let Dur(to_ns) = self.get(&e.to, within_run(duration_ns))?;
        if to_ns <= from_ns {
            let (f, t) = (format_duration(from_ns), format_duration(to_ns));
            return Err(self.fail(&e.to, format!("must be after `from` ({f}), found {t}")));
        }
        let int = |v: &Opt<Int>| v.as_ref().map(|v| v.get_ref().0);
        let expectation = Expectation {
            from_ns,
            to_ns,
            commits_max: int(&e.commits_max),
            commits_min: int(&e.commits_min),
            messages_max: int(&e.messages_max),
            leaders_max: int(&e.leaders_max),
            leader: e.leader.as_ref().map(|v| *v.get_ref()),
            line: self.line(entry.span().start),
        };
        let x = &expectation;
        let bounds = [x.commits_max, x.commits_min, x.messages_max, x.leaders_max];
        if bounds.iter().all(Option::is_none) && x.leader.is_none() {
            let message = "an expectation needs at least one bound: commits_max, commits_min, \
                           messages_max, leaders_max or leader"
                .to_string();
            return Err(self.error(entry.span(), None, message));
        }
        Ok(expectation)
    }

    /// A protocol-timed fault; its required fields are present.
    fn protocol_action(
        &self,
        kind: ActionKind,
        a: &RawAction,
        nodes: u64,
    ) -> Result<Action, ScenarioError> {
        let node = a
            .node
            .as_ref()
            .map(|n| self.node_id(n, nodes))
            .transpose()?;
        let for_ns = |default: Option<u64>, max_ns: u64| {
            let check = |Dur(d): Dur| {
                let found = format_duration(d);
                let at_most = format_duration(max_ns);
                let message =
                    || format!("must be greater than 0 and at most {at_most}, found {found}");
                ensure(d > 0 && d <= max_ns, message)
            };
            match (&a.for_, default) {
                (Some(v), _) => self.get(v, check).map(|d| d.0),
                (None, Some(d)) => Ok(d),
                (None, None) => unreachable!("`for` is required"),
            }
        };
        fn required<T: Copy>(v: &Opt<T>) -> T {
            *v.as_ref().expect("required").get_ref()
        }
        let flag = |v: &Opt<bool>| v.as_ref().is_some_and(|b| *b.get_ref());
        let action = match kind {
            ActionKind::CrashAfterSend => Action::CrashAfterSend {
                kind: self.message_kind(&a.kind)?,
                when: required(&a.when),
                node,
                for_ns: for_ns(None, MAX_DURATION_NS)?,
                pause: flag(&a.pause),
            },
            ActionKind::HoldStale => Action::HoldStale {
                kind: self.message_kind(&a.kind)?,
                until: required(&a.until),
                for_ns: for_ns(Some(HOLD_STALE_FOR_DEFAULT_NS), HOLD_STALE_FOR_MAX_NS)?,
            },
            ActionKind::ReplayOld => Action::ReplayOld,
            ActionKind::CrashDuringSnapshot => Action::CrashDuringSnapshot {
                stage: required(&a.stage),
                node,
                for_ns: for_ns(None, MAX_DURATION_NS)?,
            },
            ActionKind::ChangeWhileDown => Action::ChangeWhileDown {
                for_ns: for_ns(None, MAX_DURATION_NS)?,
                isolate: flag(&a.isolate),
            },
            ActionKind::CrashAtIo => Action::CrashAtIo {
                boundary: required(&a.boundary),
                node,
                for_ns: for_ns(None, MAX_DURATION_NS)?,
            },
            _ => unreachable!("called for protocol-timed faults only"),
        };
        Ok(action)
    }

    /// A message kind as `MessageInfo::kind` names it: an identifier in CamelCase. Whether the
    /// implementation sends it is checked when the run starts (`SimNode::message_kinds`).
    fn message_kind(&self, v: &Opt<String>) -> Result<Option<String>, ScenarioError> {
        let Some(v) = v else { return Ok(None) };
        let kind = v.get_ref();
        let well_formed = kind.len() <= 64
            && kind.starts_with(|c: char| c.is_ascii_uppercase())
            && kind.chars().all(|c| c.is_ascii_alphanumeric());
        if !well_formed {
            let message = format!(
                "must be a message kind in CamelCase such as \"RequestVoteResponse\" or \"AppendEntriesResponse\", found {kind:?}"
            );
            return Err(self.fail(v, message));
        }
        Ok(Some(kind.clone()))
    }

    /// A `network` action: at least one setting, each checked as in `[network]`.
    fn network_action(&self, a: &RawAction) -> Result<Action, ScenarioError> {
        let probability = |v: &Opt<f64>| {
            v.as_ref()
                .map(|v| {
                    self.get(v, |x: f64| {
                        ensure((0.0..1.0).contains(&x), || {
                            format!("must be at least 0.0 and less than 1.0 (a probability), found {x:?}")
                        })
                    })
                })
                .transpose()
        };
        let action = Action::Network {
            latency: a
                .latency
                .as_ref()
                .map(|l| (l.get_ref().min, l.get_ref().max)),
            latency_distribution: a.latency_distribution.as_ref().map(|d| *d.get_ref()),
            loss: probability(&a.loss)?,
            duplicate: probability(&a.duplicate)?,
            reorder: probability(&a.reorder)?,
        };
        if action
            == (Action::Network {
                latency: None,
                latency_distribution: None,
                loss: None,
                duplicate: None,
                reorder: None,
            })
        {
            return Err(self.fail(
                &a.at,
                "action \"network\" needs at least one of latency, latency_distribution, loss, \
                 duplicate, reorder"
                    .to_string(),
            ));
        }
        Ok(action)
    }

    /// A non-empty list of distinct node ids.
    fn node_list(
        &self,
        v: &Spanned<Vec<Spanned<Int>>>,
        nodes: u64,
    ) -> Result<Vec<NodeId>, ScenarioError> {
        if v.get_ref().is_empty() {
            return Err(self.fail(v, "the list is empty: name at least one node".to_string()));
        }
        let mut out = Vec::new();
        for id in v.get_ref() {
            let n = self.node_id(id, nodes)?;
            if out.contains(&n) {
                return Err(self.fail(id, format!("node {n} is named more than once")));
            }
            out.push(n);
        }
        Ok(out)
    }

    /// `from` and `to` of a one-way partition or a clog: two disjoint lists.
    fn links(
        &self,
        a: &RawAction,
        nodes: u64,
    ) -> Result<(Vec<NodeId>, Vec<NodeId>), ScenarioError> {
        let (from_v, to_v) = (
            a.from.as_ref().expect("required"),
            a.to.as_ref().expect("required"),
        );
        let from = self.node_list(from_v, nodes)?;
        let to = self.node_list(to_v, nodes)?;
        if let Some(both) = to.iter().find(|n| from.contains(n)) {
            let message =
                format!("node {both} is in both `from` and `to`: a node always reaches itself");
            return Err(self.fail(to_v, message));
        }
        Ok((from, to))
    }

    /// The two sides of a bridge partition: two non-empty groups without the bridge node.
    fn bridge_groups(
        &self,
        groups: &Spanned<Vec<Spanned<Vec<Spanned<Int>>>>>,
        bridge: NodeId,
        nodes: u64,
    ) -> Result<Vec<Vec<NodeId>>, ScenarioError> {
        if groups.get_ref().len() != 2 {
            let n = groups.get_ref().len();
            let message = format!("a bridge needs exactly two groups (its two sides), found {n}");
            return Err(self.fail(groups, message));
        }
        let mut out: Vec<Vec<NodeId>> = Vec::new();
        for group in groups.get_ref() {
            let ids = self.node_list(group, nodes)?;
            if let Some(n) = ids
                .iter()
                .find(|n| **n == bridge || out.iter().flatten().any(|m| m == *n))
            {
                let message = format!(
                    "node {n} is the bridge or on the other side: the sides and the bridge are disjoint"
                );
                return Err(self.fail(group, message));
            }
            out.push(ids);
        }
        Ok(out)
    }

    fn node_id(&self, v: &Spanned<Int>, nodes: u64) -> Result<NodeId, ScenarioError> {
        let message = |id| format!("node {id} does not exist: the cluster has nodes 1..={nodes}");
        let Int(id) = self.get(v, |Int(id)| {
            ensure((1..=nodes).contains(&id), || message(id))
        })?;
        Ok(id)
    }

    fn groups(
        &self,
        groups: &Spanned<Vec<Spanned<Vec<Spanned<Int>>>>>,
        nodes: u64,
    ) -> Result<Vec<Vec<NodeId>>, ScenarioError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, group) in groups.get_ref().iter().enumerate() {
            if group.get_ref().is_empty() {
                let message = format!(
                    "group {} is empty: every group needs at least one node",
                    i + 1
                );
                return Err(self.fail(group, message));
            }
            let mut ids = Vec::new();
            for v in group.get_ref() {
                let id = self.node_id(v, nodes)?;
                if !seen.insert(id) {
                    let message = "is named more than once: a node can be in at most one group";
                    return Err(self.fail(v, format!("node {id} {message}")));
                }
                ids.push(id);
            }
            out.push(ids);
        }
        // The nodes not named form one more group.
        if out.len() + usize::from((seen.len() as u64) < nodes) < 2 {
            return Err(self.fail(
                groups,
                format!(
                    "the partition does not split the cluster: it must leave at least two groups \
                 (the named groups plus the nodes not named), but all {nodes} nodes end up in one"
                ),
            ));
        }
        Ok(out)
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
    #[test]
    fn default_name() {
        assert_eq!(super::default_name("a/b/churn.toml"), "churn");
        assert_eq!(super::default_name("churn"), "churn");
        assert_eq!(super::default_name("x.y.toml"), "x.y");
    }
}
