//! The file as serde sees it: the `Raw*` structs mirror a scenario file, every field with
//! its place in the text, and [`Int`], [`Dur`] and [`DurRange`] type its values.

use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use super::duration::{format_duration, parse_duration};
use super::validate::ensure;
use super::{IoBoundary, LatencyDistribution, SendMoment, SnapshotStage, StaleUntil};

/// An optional field, with its place in the file.
pub(super) type Opt<T> = Option<Spanned<T>>;

/// A value to write: it has no place in any text.
pub(super) fn spanless<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

/// The whole file. Every field of a section is optional, so a missing section is empty.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: Option<String>,
    pub(super) seed: Int,
    pub(super) nodes: Spanned<Int>,
    pub(super) duration: Spanned<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) implementation: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(super) implementation_options: std::collections::BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) raft: RawRaft,
    #[serde(default)]
    pub(super) network: RawNetwork,
    #[serde(default)]
    pub(super) disk: RawDisk,
    #[serde(default)]
    pub(super) faults: RawFaults,
    #[serde(default)]
    pub(super) workload: RawWorkload,
    #[serde(default)]
    pub(super) clients: RawClients,
    #[serde(default)]
    pub(super) clocks: RawClocks,
    #[serde(default)]
    pub(super) liveness: RawLiveness,
    #[serde(default)]
    pub(super) swarm: RawSwarm,
    #[serde(default)]
    pub(super) membership: RawMembership,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) schedule: Vec<Spanned<RawAction>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) expect: Vec<Spanned<RawExpect>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) operation: Vec<Spanned<RawOperation>>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an `[[expect]]` table")]
pub(super) struct RawExpect {
    pub(super) from: Spanned<Dur>,
    pub(super) to: Spanned<Dur>,
    pub(super) commits_max: Opt<Int>,
    pub(super) commits_min: Opt<Int>,
    pub(super) messages_max: Opt<Int>,
    pub(super) leaders_max: Opt<Int>,
    pub(super) leader: Opt<bool>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[clocks]` section)")]
pub(super) struct RawClocks {
    pub(super) offset_max: Opt<Dur>,
    pub(super) drift_ppm_max: Opt<Int>,
    pub(super) jump_every: Opt<Dur>,
    pub(super) jump: Opt<DurRange>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[liveness]` section)")]
pub(super) struct RawLiveness {
    pub(super) leader_within: Opt<Dur>,
    pub(super) clients_within: Opt<Dur>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[swarm]` section)")]
pub(super) struct RawSwarm {
    pub(super) enabled: Opt<bool>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[raft]` section)")]
pub(super) struct RawRaft {
    pub(super) election_timeout: Opt<DurRange>,
    pub(super) heartbeat_interval: Opt<Dur>,
    pub(super) msg_entries_max: Opt<Int>,
    pub(super) inflight_msgs_max: Opt<Int>,
    pub(super) uncommitted_entries_max: Opt<Int>,
    pub(super) session_timeout: Opt<Dur>,
    pub(super) sessions_max: Opt<Int>,
    pub(super) value_bytes_max: Opt<Int>,
    pub(super) learner_lag_entries_max: Opt<Int>,
    pub(super) snapshot_entries: Opt<Int>,
    pub(super) snapshot_bytes: Opt<Int>,
    pub(super) snapshot_chunk_bytes: Opt<Int>,
    pub(super) snapshot_catch_up_entries: Opt<Int>,
    pub(super) checkpoint_entries: Opt<Int>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[membership]` section)")]
pub(super) struct RawMembership {
    pub(super) initial: Opt<Int>,
    pub(super) churn_every: Opt<Dur>,
    pub(super) voters_min: Opt<Int>,
    pub(super) voters_max: Opt<Int>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[network]` section)")]
pub(super) struct RawNetwork {
    pub(super) latency: Opt<DurRange>,
    pub(super) loss: Opt<f64>,
    pub(super) latency_distribution: Opt<LatencyDistribution>,
    pub(super) tail_probability: Opt<f64>,
    pub(super) tail_latency: Opt<DurRange>,
    pub(super) duplicate: Opt<f64>,
    pub(super) reorder: Opt<f64>,
    pub(super) reorder_delay: Opt<DurRange>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[disk]` section)")]
pub(super) struct RawDisk {
    pub(super) sync_latency: Opt<DurRange>,
    pub(super) torn_writes: Opt<f64>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[faults]` section)")]
pub(super) struct RawFaults {
    pub(super) crash_every: Opt<Dur>,
    pub(super) down_for: Opt<DurRange>,
    pub(super) max_down: Opt<Int>,
    pub(super) partition_every: Opt<Dur>,
    pub(super) partition_for: Opt<DurRange>,
    pub(super) until: Opt<Dur>,
    pub(super) pause_every: Opt<Dur>,
    pub(super) pause_for: Opt<DurRange>,
    pub(super) clog_every: Opt<Dur>,
    pub(super) clog_for: Opt<DurRange>,
    pub(super) one_way_every: Opt<Dur>,
    pub(super) bridge_every: Opt<Dur>,
    pub(super) isolate_leader_every: Opt<Dur>,
    pub(super) crash_leader_every: Opt<Dur>,
    pub(super) partition_after_append_every: Opt<Dur>,
    pub(super) drop_quorum_ack_every: Opt<Dur>,
    pub(super) crash_before_sync_every: Opt<Dur>,
    pub(super) crash_after_send_every: Opt<Dur>,
    pub(super) hold_stale_every: Opt<Dur>,
    pub(super) replay_old_every: Opt<Dur>,
    pub(super) crash_during_snapshot_every: Opt<Dur>,
    pub(super) change_while_down_every: Opt<Dur>,
    pub(super) crash_at_io_every: Opt<Dur>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[workload]` section)")]
pub(super) struct RawWorkload {
    pub(super) rate: Opt<f64>,
    pub(super) count: Option<Int>,
    pub(super) start: Opt<Dur>,
    pub(super) at: Opt<Vec<Spanned<Dur>>>,
}

/// One `[[operation]]` table.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an `[[operation]]` table")]
pub(super) struct RawOperation {
    pub(super) client: Spanned<Int>,
    pub(super) at: Spanned<Dur>,
    pub(super) f: Spanned<RawOpKind>,
    pub(super) key: Option<Spanned<String>>,
    pub(super) value: Option<Spanned<String>>,
    pub(super) expected: Option<Spanned<String>>,
    pub(super) new: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawOpKind {
    Register,
    Get,
    Put,
    Append,
    Cas,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a table (a `[clients]` section)")]
pub(super) struct RawClients {
    pub(super) count: Opt<Int>,
    pub(super) operations: Opt<Int>,
    pub(super) keys: Opt<Int>,
    pub(super) key_distribution: Opt<RawKeyDistribution>,
    pub(super) zipf_exponent: Opt<f64>,
    pub(super) mix: Option<Spanned<RawMix>>,
    pub(super) think_time: Opt<DurRange>,
    pub(super) timeout: Opt<Dur>,
    pub(super) attempts_max: Opt<Int>,
    pub(super) start: Opt<Dur>,
}

#[derive(Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawKeyDistribution {
    Uniform,
    Zipf,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of weights, such as { get = 1, put = 1 }"
)]
pub(super) struct RawMix {
    pub(super) get: Opt<f64>,
    pub(super) put: Opt<f64>,
    pub(super) append: Opt<f64>,
    pub(super) cas: Opt<f64>,
}

/// One `[[schedule]]` table. A flat struct rather than an enum tagged by `action`: serde
/// buffers tagged enums, which loses the places of the fields.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a `[[schedule]]` table")]
pub(super) struct RawAction {
    pub(super) at: Spanned<Dur>,
    pub(super) action: ActionKind,
    pub(super) groups: Opt<Vec<Spanned<Vec<Spanned<Int>>>>>,
    pub(super) node: Opt<Int>,
    pub(super) from: Opt<Vec<Spanned<Int>>>,
    pub(super) to: Opt<Vec<Spanned<Int>>>,
    #[serde(rename = "for")]
    pub(super) for_: Opt<Dur>,
    pub(super) by: Opt<Dur>,
    pub(super) torn: Opt<bool>,
    pub(super) latency: Opt<DurRange>,
    pub(super) latency_distribution: Opt<LatencyDistribution>,
    pub(super) loss: Opt<f64>,
    pub(super) duplicate: Opt<f64>,
    pub(super) reorder: Opt<f64>,
    pub(super) kind: Opt<String>,
    pub(super) when: Opt<SendMoment>,
    pub(super) until: Opt<StaleUntil>,
    pub(super) stage: Opt<SnapshotStage>,
    pub(super) boundary: Opt<IoBoundary>,
    pub(super) pause: Opt<bool>,
    pub(super) isolate: Opt<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum ActionKind {
    Partition,
    Heal,
    Crash,
    Restart,
    OneWay,
    Bridge,
    Clog,
    Pause,
    ClockJump,
    IsolateLeader,
    CrashLeader,
    PartitionAfterAppend,
    DropQuorumAck,
    CrashBeforeSync,
    AddServer,
    RemoveServer,
    ReplaceServer,
    ReplaceLeader,
    Network,
    CrashAfterSend,
    HoldStale,
    ReplayOld,
    CrashDuringSnapshot,
    ChangeWhileDown,
    CrashAtIo,
}

impl ActionKind {
    pub(super) const ALL: [ActionKind; 25] = [
        ActionKind::Partition,
        ActionKind::Heal,
        ActionKind::Crash,
        ActionKind::Restart,
        ActionKind::OneWay,
        ActionKind::Bridge,
        ActionKind::Clog,
        ActionKind::Pause,
        ActionKind::ClockJump,
        ActionKind::IsolateLeader,
        ActionKind::CrashLeader,
        ActionKind::PartitionAfterAppend,
        ActionKind::DropQuorumAck,
        ActionKind::CrashBeforeSync,
        ActionKind::AddServer,
        ActionKind::RemoveServer,
        ActionKind::ReplaceServer,
        ActionKind::ReplaceLeader,
        ActionKind::Network,
        ActionKind::CrashAfterSend,
        ActionKind::HoldStale,
        ActionKind::ReplayOld,
        ActionKind::CrashDuringSnapshot,
        ActionKind::ChangeWhileDown,
        ActionKind::CrashAtIo,
    ];

    /// The name in a file.
    pub(super) fn name(self) -> &'static str {
        match self {
            ActionKind::Partition => "partition",
            ActionKind::Heal => "heal",
            ActionKind::Crash => "crash",
            ActionKind::Restart => "restart",
            ActionKind::OneWay => "one-way",
            ActionKind::Bridge => "bridge",
            ActionKind::Clog => "clog",
            ActionKind::Pause => "pause",
            ActionKind::ClockJump => "clock-jump",
            ActionKind::IsolateLeader => "isolate-leader",
            ActionKind::CrashLeader => "crash-leader",
            ActionKind::PartitionAfterAppend => "partition-after-append",
            ActionKind::DropQuorumAck => "drop-quorum-ack",
            ActionKind::CrashBeforeSync => "crash-before-sync",
            ActionKind::AddServer => "add-server",
            ActionKind::RemoveServer => "remove-server",
            ActionKind::ReplaceServer => "replace-server",
            ActionKind::ReplaceLeader => "replace-leader",
            ActionKind::Network => "network",
            ActionKind::CrashAfterSend => "crash-after-send",
            ActionKind::HoldStale => "hold-stale",
            ActionKind::ReplayOld => "replay-old",
            ActionKind::CrashDuringSnapshot => "crash-during-snapshot",
            ActionKind::ChangeWhileDown => "change-while-down",
            ActionKind::CrashAtIo => "crash-at-io",
        }
    }

    /// The fields besides `at` and `action` that the action takes: (required, optional).
    pub(super) fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ActionKind::Partition => (&["groups"], &[]),
            ActionKind::Heal | ActionKind::DropQuorumAck | ActionKind::ReplayOld => (&[], &[]),
            ActionKind::Crash => (&["node"], &["torn"]),
            ActionKind::Restart => (&["node"], &[]),
            ActionKind::OneWay => (&["from", "to"], &[]),
            ActionKind::Bridge => (&["groups", "node"], &[]),
            ActionKind::Clog => (&["from", "to", "for"], &[]),
            ActionKind::Pause => (&["node", "for"], &[]),
            ActionKind::ClockJump => (&["node", "by"], &[]),
            ActionKind::IsolateLeader | ActionKind::CrashLeader => (&["for"], &[]),
            ActionKind::PartitionAfterAppend => (&["for"], &[]),
            ActionKind::CrashBeforeSync => (&["for"], &["node"]),
            ActionKind::AddServer | ActionKind::RemoveServer | ActionKind::ReplaceLeader => {
                (&["node"], &[])
            }
            ActionKind::ReplaceServer => (&["from", "to"], &[]),
            ActionKind::CrashAfterSend => (&["when", "for"], &["kind", "node", "pause"]),
            ActionKind::HoldStale => (&["until"], &["kind", "for"]),
            ActionKind::CrashDuringSnapshot => (&["stage", "for"], &["node"]),
            ActionKind::ChangeWhileDown => (&["for"], &["isolate"]),
            ActionKind::CrashAtIo => (&["boundary", "for"], &["node"]),
            ActionKind::Network => (
                &[],
                &[
                    "latency",
                    "latency_distribution",
                    "loss",
                    "duplicate",
                    "reorder",
                ],
            ),
        }
    }
}

/// A non-negative integer (the newtype makes messages say so rather than "u64").
#[derive(Clone, Copy, Serialize)]
#[serde(transparent)]
pub(super) struct Int(pub(super) u64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Int, E> {
                let negative = |_| E::invalid_value(Unexpected::Signed(n), &self);
                u64::try_from(n).map(Int).map_err(negative)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in nanoseconds, written as a string such as `"150ms"` (see [`parse_duration`]).
#[derive(Clone, Copy)]
pub(super) struct Dur(pub(super) u64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"150ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "durations are strings with a unit, such as \"150ms\"; \
                     found the bare integer {n}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// `[min, max]`: two durations, `min <= max`.
#[derive(Clone, Copy, Deserialize, Serialize)]
#[serde(try_from = "Vec<Dur>", into = "[Dur; 2]")]
pub(super) struct DurRange {
    pub(super) min: u64,
    pub(super) max: u64,
}

impl TryFrom<Vec<Dur>> for DurRange {
    type Error = String;
    fn try_from(v: Vec<Dur>) -> Result<Self, String> {
        let &[Dur(min), Dur(max)] = &v[..] else {
            let n = v.len();
            return Err(format!(
                "expected [min, max], an array of two durations such as [\"1ms\", \"10ms\"], \
                 found an array of {n} elements"
            ));
        };
        let (lo, hi) = (format_duration(min), format_duration(max));
        ensure(min <= max, || {
            format!("min ({lo}) must not be greater than max ({hi})")
        })?;
        Ok(DurRange { min, max })
    }
}

impl From<DurRange> for [Dur; 2] {
    fn from(r: DurRange) -> Self {
        [Dur(r.min), Dur(r.max)]
    }
}
