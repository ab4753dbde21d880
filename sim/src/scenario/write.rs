//! Writing a scenario back: [`Scenario::to_toml`] fills the `Raw*` structs from a
//! [`Scenario`] and serializes them; [`Scenario::to_toml_short`] leaves out the defaults.

use toml::Spanned;
use toml_edit::Item;

use super::duration::format_duration;
use super::raw::{
    spanless, ActionKind, Dur, DurRange, Int, Opt, RawAction, RawClients, RawClocks, RawDisk,
    RawExpect, RawFaults, RawKeyDistribution, RawLiveness, RawMembership, RawMix, RawNetwork,
    RawOpKind, RawOperation, RawRaft, RawScenario, RawSwarm, RawWorkload,
};
use super::{
    parse, Action, Clients, Expectation, KeyDistribution, NodeId, Scenario, ScheduledAction,
    ScriptedOp, DEFAULT_START_NS,
};

impl Scenario {
    /// This scenario as a scenario file that [`parse`] reads back to an equal `Scenario`
    /// (except [`ScheduledAction::line`], which becomes the line in the new text). Every
    /// field is written, durations with [`format_duration`]; only `workload.start` is left
    /// out when it is the default and the run ends before it, as a file may not say that.
    ///
    /// # Panics
    ///
    /// If an integer (such as `seed`) is above `i64::MAX`, which TOML cannot represent; a
    /// scenario from [`parse`] never has one.
    pub fn to_toml(&self) -> String {
        let dur = |ns| Some(spanless(Dur(ns)));
        let range = |min, max| Some(spanless(DurRange { min, max }));
        let int = |n| Some(spanless(Int(n)));
        let (r, f, w, n) = (&self.raft, &self.faults, &self.workload, &self.network);
        let omit_start = w.start_ns == DEFAULT_START_NS && w.start_ns >= self.duration_ns;
        let raw = RawScenario {
            name: Some(self.name.clone()),
            seed: Int(self.seed),
            nodes: spanless(Int(self.nodes)),
            duration: spanless(Dur(self.duration_ns)),
            implementation: (self.implementation != Default::default())
                .then(|| spanless(self.implementation.name().to_string())),
            implementation_options: (self.implementation_options.iter())
                .map(|(k, v)| (k.clone(), spanless(toml::Value::String(v.clone()))))
                .collect(),
            raft: RawRaft {
                election_timeout: range(r.election_timeout_min_ns, r.election_timeout_max_ns),
                heartbeat_interval: dur(r.heartbeat_interval_ns),
                msg_entries_max: int(r.msg_entries_max),
                inflight_msgs_max: int(r.inflight_msgs_max),
                uncommitted_entries_max: int(r.uncommitted_entries_max),
                session_timeout: dur(r.session_timeout_ns),
                sessions_max: int(r.sessions_max),
                value_bytes_max: int(r.value_bytes_max),
                learner_lag_entries_max: int(r.learner_lag_entries_max),
                snapshot_entries: int(r.snapshot_entries),
                snapshot_bytes: int(r.snapshot_bytes),
                snapshot_chunk_bytes: int(r.snapshot_chunk_bytes),
                snapshot_catch_up_entries: int(r.snapshot_catch_up_entries),
                checkpoint_entries: int(r.checkpoint_entries),
            },
            network: RawNetwork {
                latency: range(n.latency_min_ns, n.latency_max_ns),
                loss: Some(spanless(n.loss)),
                latency_distribution: Some(spanless(n.latency_distribution)),
                tail_probability: Some(spanless(n.tail_probability)),
                tail_latency: range(n.tail_latency_min_ns, n.tail_latency_max_ns),
                duplicate: Some(spanless(n.duplicate)),
                reorder: Some(spanless(n.reorder)),
                reorder_delay: range(n.reorder_delay_min_ns, n.reorder_delay_max_ns),
            },
            disk: RawDisk {
                sync_latency: range(self.disk.sync_latency_min_ns, self.disk.sync_latency_max_ns),
                torn_writes: Some(spanless(self.disk.torn_writes)),
            },
            clocks: RawClocks {
                offset_max: dur(self.clocks.offset_max_ns),
                drift_ppm_max: int(self.clocks.drift_ppm_max),
                jump_every: self.clocks.jump_every_ns.and_then(dur),
                jump: range(self.clocks.jump_min_ns, self.clocks.jump_max_ns),
            },
            liveness: RawLiveness {
                leader_within: self.liveness.leader_within_ns.and_then(dur),
                clients_within: self.liveness.clients_within_ns.and_then(dur),
            },
            swarm: RawSwarm {
                enabled: Some(spanless(self.swarm.enabled)),
            },
            membership: RawMembership {
                initial: int(self.membership.initial),
                churn_every: self.membership.churn_every_ns.and_then(dur),
                voters_min: int(self.membership.voters_min),
                voters_max: int(self.membership.voters_max),
            },
            faults: RawFaults {
                crash_every: f.crash_every_ns.and_then(dur),
                down_for: range(f.down_for_min_ns, f.down_for_max_ns),
                max_down: int(f.max_down),
                partition_every: f.partition_every_ns.and_then(dur),
                partition_for: range(f.partition_for_min_ns, f.partition_for_max_ns),
                until: dur(f.until_ns),
                pause_every: f.pause_every_ns.and_then(dur),
                pause_for: range(f.pause_for_min_ns, f.pause_for_max_ns),
                clog_every: f.clog_every_ns.and_then(dur),
                clog_for: range(f.clog_for_min_ns, f.clog_for_max_ns),
                one_way_every: f.one_way_every_ns.and_then(dur),
                bridge_every: f.bridge_every_ns.and_then(dur),
                isolate_leader_every: f.isolate_leader_every_ns.and_then(dur),
                crash_leader_every: f.crash_leader_every_ns.and_then(dur),
                partition_after_append_every: f.partition_after_append_every_ns.and_then(dur),
                drop_quorum_ack_every: f.drop_quorum_ack_every_ns.and_then(dur),
                crash_before_sync_every: f.crash_before_sync_every_ns.and_then(dur),
                crash_after_send_every: f.crash_after_send_every_ns.and_then(dur),
                hold_stale_every: f.hold_stale_every_ns.and_then(dur),
                replay_old_every: f.replay_old_every_ns.and_then(dur),
                crash_during_snapshot_every: f.crash_during_snapshot_every_ns.and_then(dur),
                change_while_down_every: f.change_while_down_every_ns.and_then(dur),
                crash_at_io_every: f.crash_at_io_every_ns.and_then(dur),
            },
            workload: match w.at_ns.is_empty() {
                true => RawWorkload {
                    rate: Some(spanless(w.rate_per_s)),
                    count: Some(Int(w.count)),
                    start: if omit_start { None } else { dur(w.start_ns) },
                    at: None,
                },
                false => RawWorkload {
                    rate: None,
                    count: None,
                    start: None,
                    at: Some(spanless(
                        w.at_ns.iter().map(|&t| spanless(Dur(t))).collect(),
                    )),
                },
            },
            clients: RawClients::new(&self.clients, self.duration_ns),
            schedule: self.schedule.iter().map(RawAction::new).collect(),
            expect: self.expect.iter().map(RawExpect::new).collect(),
            operation: self.operations.iter().map(RawOperation::new).collect(),
        };
        match toml::to_string(&raw) {
            Ok(text) => text,
            Err(e) => panic!("cannot write scenario {:?}: {e}", self.name),
        }
    }
}

impl Scenario {
    /// The scenario with this one's seed, nodes and duration and every other field at its
    /// default; `None` only if those three cannot be written (a seed above `i64::MAX`).
    pub fn bare(&self) -> Option<Scenario> {
        let text = format!(
            "seed = {}\nnodes = {}\nduration = \"{}\"\n",
            self.seed,
            self.nodes,
            format_duration(self.duration_ns)
        );
        parse("defaults", &text).ok()
    }

    /// This scenario as a scenario file that leaves out every field equal to its default,
    /// for files people read (shrunk findings). It reads back to the same scenario as
    /// [`Scenario::to_toml`]; if leaving defaults out would change anything (a default that
    /// depends on another field), it is [`Scenario::to_toml`] itself.
    pub fn to_toml_short(&self) -> String {
        let full = self.to_toml();
        let Some(defaults) = self.bare() else {
            return full;
        };
        let (Ok(mut doc), Ok(plain)) = (
            full.parse::<toml_edit::DocumentMut>(),
            defaults.to_toml().parse::<toml_edit::DocumentMut>(),
        ) else {
            return full;
        };
        drop_defaults(
            doc.as_table_mut(),
            plain.as_table(),
            &["name", "seed", "nodes", "duration"],
        );
        let short = doc.to_string();
        let same = |text: &str| {
            parse("short", text).is_ok_and(|mut s| {
                let mut me = self.clone();
                for a in me.schedule.iter_mut().chain(s.schedule.iter_mut()) {
                    a.line = 0;
                }
                for o in me.operations.iter_mut().chain(s.operations.iter_mut()) {
                    o.line = 0;
                }
                me.expect
                    .iter_mut()
                    .chain(s.expect.iter_mut())
                    .for_each(|e| e.line = 0);
                s == me
            })
        };
        if same(&short) {
            short
        } else {
            full
        }
    }
}

/// Removes from `table` every value equal to the one at the same place in `defaults`, and
/// every section left empty. Arrays of tables (`[[schedule]]`) are kept whole.
fn drop_defaults(table: &mut toml_edit::Table, defaults: &toml_edit::Table, keep: &[&str]) {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    for key in keys.into_iter().filter(|k| !keep.contains(&k.as_str())) {
        let Some(default) = defaults.get(&key) else {
            continue;
        };
        let remove = match table.get_mut(&key) {
            Some(Item::Table(t)) => match default.as_table() {
                Some(d) => {
                    drop_defaults(t, d, &[]);
                    t.is_empty()
                }
                None => false,
            },
            Some(Item::Value(v)) => default
                .as_value()
                .is_some_and(|d| d.to_string().trim() == v.to_string().trim()),
            _ => false,
        };
        if remove {
            table.remove(&key);
        }
    }
}

impl RawExpect {
    fn new(e: &Expectation) -> Spanned<RawExpect> {
        let int = |v: Option<u64>| v.map(|n| spanless(Int(n)));
        spanless(RawExpect {
            from: spanless(Dur(e.from_ns)),
            to: spanless(Dur(e.to_ns)),
            commits_max: int(e.commits_max),
            commits_min: int(e.commits_min),
            messages_max: int(e.messages_max),
            leaders_max: int(e.leaders_max),
            leader: e.leader.map(spanless),
        })
    }
}

impl RawOperation {
    fn new(o: &ScriptedOp) -> Spanned<Self> {
        use crate::node::ClientOp;
        let text = |s: &String| Some(spanless(s.clone()));
        let (f, key, value, expected, new) = match &o.op {
            None => (RawOpKind::Register, None, None, None, None),
            Some(ClientOp::Get { key }) => (RawOpKind::Get, text(key), None, None, None),
            Some(ClientOp::Put { key, value }) => {
                (RawOpKind::Put, text(key), text(value), None, None)
            }
            Some(ClientOp::Append { key, value }) => {
                (RawOpKind::Append, text(key), text(value), None, None)
            }
            Some(ClientOp::Cas { key, expected, new }) => {
                (RawOpKind::Cas, text(key), None, text(expected), text(new))
            }
        };
        spanless(RawOperation {
            client: spanless(Int(o.client)),
            at: spanless(Dur(o.at_ns)),
            f: spanless(f),
            key,
            value,
            expected,
            new,
        })
    }
}

impl RawClients {
    fn new(c: &Clients, duration_ns: u64) -> RawClients {
        fn f<T>(x: T) -> Opt<T> {
            Some(spanless(x))
        }
        let (distribution, exponent) = match c.key_distribution {
            KeyDistribution::Uniform => (RawKeyDistribution::Uniform, None),
            KeyDistribution::Zipf { exponent } => (RawKeyDistribution::Zipf, f(exponent)),
        };
        let omit_start = c.start_ns == DEFAULT_START_NS && c.start_ns >= duration_ns;
        RawClients {
            count: f(Int(c.count)),
            operations: f(Int(c.operations)),
            keys: f(Int(c.keys)),
            key_distribution: f(distribution),
            zipf_exponent: exponent,
            mix: f(RawMix {
                get: f(c.mix.get),
                put: f(c.mix.put),
                append: f(c.mix.append),
                cas: f(c.mix.cas),
            }),
            think_time: f(DurRange {
                min: c.think_time_min_ns,
                max: c.think_time_max_ns,
            }),
            timeout: f(Dur(c.timeout_ns)),
            attempts_max: f(Int(c.attempts_max)),
            start: if omit_start { None } else { f(Dur(c.start_ns)) },
        }
    }
}

impl RawAction {
    fn new(a: &ScheduledAction) -> Spanned<Self> {
        let id = |n: &NodeId| spanless(Int(*n));
        let ids = |v: &[NodeId]| Some(spanless(v.iter().map(id).collect::<Vec<_>>()));
        let groups_of = |groups: &[Vec<NodeId>]| {
            let g = groups.iter().map(|g| spanless(g.iter().map(id).collect()));
            Some(spanless(g.collect()))
        };
        let dur = |ns: &u64| Some(spanless(Dur(*ns)));
        let mut raw = RawAction {
            at: spanless(Dur(a.at_ns)),
            action: ActionKind::Heal,
            groups: None,
            node: None,
            from: None,
            to: None,
            for_: None,
            by: None,
            torn: None,
            latency: None,
            latency_distribution: None,
            loss: None,
            duplicate: None,
            reorder: None,
            kind: None,
            when: None,
            until: None,
            stage: None,
            boundary: None,
            pause: None,
            isolate: None,
        };
        if raw_protocol_action(&a.action, &mut raw) {
            return spanless(raw);
        }
        match &a.action {
            Action::Partition { groups } => {
                raw.action = ActionKind::Partition;
                raw.groups = groups_of(groups);
            }
            Action::Heal => raw.action = ActionKind::Heal,
            Action::Crash { node, torn } => {
                (raw.action, raw.node) = (ActionKind::Crash, Some(id(node)));
                raw.torn = torn.then(|| spanless(true));
            }
            Action::Network {
                latency,
                latency_distribution,
                loss,
                duplicate,
                reorder,
            } => {
                raw.action = ActionKind::Network;
                raw.latency = latency.map(|(min, max)| spanless(DurRange { min, max }));
                raw.latency_distribution = latency_distribution.map(spanless);
                (raw.loss, raw.duplicate, raw.reorder) = (
                    loss.map(spanless),
                    duplicate.map(spanless),
                    reorder.map(spanless),
                );
            }
            Action::Restart { node } => {
                (raw.action, raw.node) = (ActionKind::Restart, Some(id(node)));
            }
            Action::OneWay { from, to } => {
                (raw.action, raw.from, raw.to) = (ActionKind::OneWay, ids(from), ids(to));
            }
            Action::Bridge { groups, node } => {
                raw.action = ActionKind::Bridge;
                (raw.groups, raw.node) = (groups_of(groups), Some(id(node)));
            }
            Action::Clog { from, to, for_ns } => {
                raw.action = ActionKind::Clog;
                (raw.from, raw.to, raw.for_) = (ids(from), ids(to), dur(for_ns));
            }
            Action::Pause { node, for_ns } => {
                raw.action = ActionKind::Pause;
                (raw.node, raw.for_) = (Some(id(node)), dur(for_ns));
            }
            Action::ClockJump { node, by_ns } => {
                raw.action = ActionKind::ClockJump;
                (raw.node, raw.by) = (Some(id(node)), dur(by_ns));
            }
            Action::IsolateLeader { for_ns } => {
                (raw.action, raw.for_) = (ActionKind::IsolateLeader, dur(for_ns));
            }
            Action::CrashLeader { for_ns } => {
                (raw.action, raw.for_) = (ActionKind::CrashLeader, dur(for_ns));
            }
            Action::PartitionAfterAppend { for_ns } => {
                (raw.action, raw.for_) = (ActionKind::PartitionAfterAppend, dur(for_ns));
            }
            Action::DropQuorumAck => raw.action = ActionKind::DropQuorumAck,
            Action::CrashBeforeSync { node, for_ns } => {
                raw.action = ActionKind::CrashBeforeSync;
                (raw.node, raw.for_) = (node.as_ref().map(id), dur(for_ns));
            }
            Action::AddServer { node } => {
                (raw.action, raw.node) = (ActionKind::AddServer, Some(id(node)));
            }
            Action::RemoveServer { node } => {
                (raw.action, raw.node) = (ActionKind::RemoveServer, Some(id(node)));
            }
            Action::ReplaceLeader { node } => {
                (raw.action, raw.node) = (ActionKind::ReplaceLeader, Some(id(node)));
            }
            Action::ReplaceServer { from, to } => {
                (raw.action, raw.from, raw.to) = (ActionKind::ReplaceServer, ids(from), ids(to));
            }
            _ => unreachable!("raw_protocol_action wrote it"),
        }
        spanless(raw)
    }
}

/// Writes the fields of a protocol-timed fault into `raw`; false for any other action.
fn raw_protocol_action(action: &Action, raw: &mut RawAction) -> bool {
    let id = |n: &NodeId| spanless(Int(*n));
    let dur = |ns: &u64| Some(spanless(Dur(*ns)));
    let flag = |b: &bool| b.then(|| spanless(true));
    match action {
        Action::CrashAfterSend {
            kind,
            when,
            node,
            for_ns,
            pause,
        } => {
            raw.action = ActionKind::CrashAfterSend;
            (raw.kind, raw.when) = (kind.clone().map(spanless), Some(spanless(*when)));
            (raw.node, raw.for_, raw.pause) = (node.as_ref().map(id), dur(for_ns), flag(pause));
        }
        Action::HoldStale {
            kind,
            until,
            for_ns,
        } => {
            raw.action = ActionKind::HoldStale;
            (raw.kind, raw.until) = (kind.clone().map(spanless), Some(spanless(*until)));
            raw.for_ = dur(for_ns);
        }
        Action::ReplayOld => raw.action = ActionKind::ReplayOld,
        Action::CrashDuringSnapshot {
            stage,
            node,
            for_ns,
        } => {
            (raw.action, raw.stage) = (ActionKind::CrashDuringSnapshot, Some(spanless(*stage)));
            (raw.node, raw.for_) = (node.as_ref().map(id), dur(for_ns));
        }
        Action::ChangeWhileDown { for_ns, isolate } => {
            raw.action = ActionKind::ChangeWhileDown;
            (raw.for_, raw.isolate) = (dur(for_ns), flag(isolate));
        }
        Action::CrashAtIo {
            boundary,
            node,
            for_ns,
        } => {
            (raw.action, raw.boundary) = (ActionKind::CrashAtIo, Some(spanless(*boundary)));
            (raw.node, raw.for_) = (node.as_ref().map(id), dur(for_ns));
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::load;
    use crate::scenario::tests::FULL;

    /// `s` with every [`ScheduledAction::line`] set to 0.
    fn without_lines(mut s: Scenario) -> Scenario {
        for a in &mut s.schedule {
            a.line = 0;
        }
        for e in &mut s.expect {
            e.line = 0;
        }
        s
    }

    /// Writes `s`, reads it back, compares, and returns the text.
    fn round_trip(s: &Scenario) -> String {
        let text = s.to_toml();
        let back = match parse("written.toml", &text) {
            Ok(back) => back,
            Err(e) => panic!("{e}\n{text}"),
        };
        // The lines of the read-back entries are those of the new text.
        let lines: Vec<&str> = text.lines().collect();
        for a in &back.schedule {
            let header = a.line.checked_sub(1).and_then(|i| lines.get(i));
            assert_eq!(header, Some(&"[[schedule]]"), "line {}:\n{text}", a.line);
        }
        for e in &back.expect {
            let header = e.line.checked_sub(1).and_then(|i| lines.get(i));
            assert_eq!(header, Some(&"[[expect]]"), "line {}:\n{text}", e.line);
        }
        assert_eq!(without_lines(back), without_lines(s.clone()), "{text}");
        text
    }

    #[test]
    fn round_trip_full() {
        let s = match parse("scenarios/churn.toml", FULL) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let text = round_trip(&s);
        for needle in [
            "name = \"churn\"",
            "duration = \"1m\"",
            "election_timeout = [\"200ms\", \"400ms\"]",
            "sync_latency = [\"50us\", \"2ms\"]",
            "loss = 0.05",
            "start = \"1.5s\"",
            "groups = [[1, 2], [3, 4, 5]]",
            "action = \"restart\"",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn round_trip_defaults() {
        let s = match parse("quiet.toml", "seed = 3\nnodes = 4\nduration = \"10s\"\n") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let text = round_trip(&s);
        // Every field is written, except the random faults that are off.
        for key in [
            "name",
            "seed",
            "nodes",
            "duration",
            "[raft]",
            "election_timeout",
            "heartbeat_interval",
            "msg_entries_max",
            "inflight_msgs_max",
            "uncommitted_entries_max",
            "[network]",
            "latency",
            "loss",
            "[disk]",
            "sync_latency",
            "[faults]",
            "down_for",
            "max_down",
            "partition_for",
            "until",
            "[workload]",
            "rate",
            "count",
            "start",
        ] {
            assert!(text.contains(key), "{key:?} missing from:\n{text}");
        }
        assert!(
            !text.contains("crash_every") && !text.contains("partition_every"),
            "{text}"
        );
        // A run shorter than the default workload start: `start` cannot be written.
        let short = match parse("short.toml", "seed = 3\nnodes = 1\nduration = \"500ms\"\n") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert!(!round_trip(&short).contains("start"));
    }

    #[test]
    fn round_trip_scenario_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        let mut count = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "toml") {
                match load(&path) {
                    Ok(s) => round_trip(&s),
                    Err(e) => panic!("{e}"),
                };
                count += 1;
            }
        }
        assert!(count > 0, "no scenario files in {}", dir.display());
    }

    #[test]
    fn short_files_read_back_the_same() {
        for entry in std::fs::read_dir("../scenarios").unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let s = load(&path).unwrap();
            let short = s.to_toml_short();
            assert!(
                short.len() < s.to_toml().len(),
                "{}: nothing left out",
                path.display()
            );
            let mut back = parse("short", &short).unwrap();
            let mut me = s.clone();
            for a in me.schedule.iter_mut().chain(back.schedule.iter_mut()) {
                a.line = 0;
            }
            me.expect
                .iter_mut()
                .chain(back.expect.iter_mut())
                .for_each(|e| e.line = 0);
            assert_eq!(back, me, "{}:\n{short}", path.display());
        }
    }
}
