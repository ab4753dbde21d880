//! The trace: every event of a run, hashed as it happens. A run keeps the last
//! `RECENT_EVENTS_MAX` events for violation reports, and all of them only when asked.

use crate::node::{MessageInfo, NodeId, Role};
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};

/// How many recent events a violation report shows.
pub const RECENT_EVENTS_MAX: usize = 40;

/// 64-bit FNV-1a: stable across platforms and releases, unlike `DefaultHasher`.
#[derive(Clone, Copy, Debug)]
pub struct TraceHasher(u64);

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for TraceHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // One multiply per word, not per byte: the trace hash is on the hot path.
        self.0 ^= n;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// Random loss.
    Loss,
    /// The two nodes were on different sides of a partition.
    Partition,
    /// The recipient was down.
    Down,
    /// The sender crashed before its disk synced the state the message depends on.
    Crashed,
    /// A nemesis dropped it on purpose (the acknowledgement that would complete a quorum).
    Nemesis,
}

/// A simulated instant as seconds with all nine decimals, for reading traces side by side.
pub fn format_time(ns: u64) -> String {
    format!("{}.{:09}s", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// One event of a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[allow(missing_docs)] // The fields' names (node, to, msg, term, index) are their documentation.
pub enum Event {
    /// A message arrived; it was sent at `sent_ns`.
    Deliver {
        to: NodeId,
        msg: MessageInfo,
        sent_ns: u64,
    },
    /// A message was rejected by its recipient.
    Rejected {
        to: NodeId,
        msg: MessageInfo,
        error: String,
    },
    /// A message sent at `sent_ns` was lost.
    Drop {
        to: NodeId,
        msg: MessageInfo,
        reason: DropReason,
        sent_ns: u64,
    },
    /// A node's timer fired.
    Timer { node: NodeId },
    /// A node's disk finished a sync.
    Synced { node: NodeId, last_index: u64 },
    /// A node crashed; `writes_lost` unsynced writes vanished, `writes_torn` survived in
    /// part or whole although never synced.
    Crash {
        node: NodeId,
        writes_lost: u64,
        writes_torn: u64,
    },
    /// A node froze until `until_ns`.
    Pause { node: NodeId, until_ns: u64 },
    /// Messages from each `from` to each `to` are dropped, one way.
    OneWay { from: Vec<NodeId>, to: Vec<NodeId> },
    /// Two sides that only `node` connects.
    Bridge {
        groups: Vec<Vec<NodeId>>,
        node: NodeId,
    },
    /// Links from each `from` to each `to` hold their messages until `until_ns`.
    Clog {
        from: Vec<NodeId>,
        to: Vec<NodeId>,
        until_ns: u64,
    },
    /// A node's clock leapt forward.
    ClockJump { node: NodeId, by_ns: u64 },
    /// A nemesis that waits for a protocol moment was armed, or fired at `node`.
    Nemesis {
        name: &'static str,
        fired: bool,
        node: Option<NodeId>,
    },
    /// A liveness deadline was checked.
    LivenessCheck { what: &'static str, ok: bool },
    /// A membership change was accepted, committed or abandoned, or a server started to join.
    Membership { what: String },
    /// The network's settings changed (a `network` action).
    Network { settings: String },
    /// A node restarted from its disk.
    Restart { node: NodeId },
    /// A spare started, empty, to join the cluster.
    Join { node: NodeId },
    /// The network was partitioned.
    Partition { groups: Vec<Vec<NodeId>> },
    /// Every partition healed.
    Heal,
    /// A client proposal, taken by `node` or refused by all.
    Propose { number: u64, node: Option<NodeId> },
    /// A node's role or term changed.
    Role { node: NodeId, role: Role, term: u64 },
    /// A node's commit index advanced.
    Commit { node: NodeId, index: u64 },
    /// The fault window ended: everything healed and restarted.
    FaultWindowEnd,
    /// A client's request reached a node.
    ClientRequest { client: u64, node: NodeId },
    /// A node's reply reached a client.
    ClientReply { client: u64, node: NodeId },
    /// A nemesis did `what` with a message to `to` (held it back, let it go, replayed it, or
    /// crashed its sender or receiver because of it). Last, so that the variants before it
    /// keep the hashes they always had.
    NemesisMessage {
        name: &'static str,
        what: &'static str,
        to: NodeId,
        msg: MessageInfo,
    },
}

/// An event with its time and sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Position in the trace, from 0.
    pub seq: u64,
    /// Simulated time.
    pub time_ns: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
    /// The full message of a delivery (or a client's request or reply), as data, kept only
    /// in a full trace (not hashed twice: the message itself is in the hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<serde_json::Value>,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} ", self.seq, format_time(self.time_ns))?;
        match &self.event {
            Event::Deliver { to, msg, .. } => write!(
                f,
                "deliver {} {}->{} term {}",
                msg.kind, msg.from, to, msg.term
            ),
            Event::Rejected { to, msg, error } => write!(
                f,
                "rejected {} {}->{} term {}: {error}",
                msg.kind, msg.from, to, msg.term
            ),
            Event::Drop {
                to, msg, reason, ..
            } => write!(
                f,
                "drop {} {}->{} term {} ({reason:?})",
                msg.kind, msg.from, to, msg.term
            ),
            Event::Timer { node } => write!(f, "timer node {node}"),
            Event::Synced { node, last_index } => {
                write!(f, "synced node {node} through index {last_index}")
            }
            Event::Crash {
                node,
                writes_lost,
                writes_torn,
            } => write!(
                f,
                "crash node {node} ({writes_lost} unsynced writes lost, {writes_torn} torn)"
            ),
            Event::Pause { node, until_ns } => {
                write!(f, "pause node {node} until {}", format_time(*until_ns))
            }
            Event::OneWay { from, to } => write!(f, "one-way cut {from:?} -> {to:?}"),
            Event::Bridge { groups, node } => write!(f, "bridge {groups:?} through node {node}"),
            Event::Clog { from, to, until_ns } => {
                write!(
                    f,
                    "clog {from:?} -> {to:?} until {}",
                    format_time(*until_ns)
                )
            }
            Event::ClockJump { node, by_ns } => {
                write!(f, "clock of node {node} jumps {} s", format_time(*by_ns))
            }
            Event::Nemesis { name, fired, node } => match (fired, node) {
                (true, Some(n)) => write!(f, "nemesis {name} fires at node {n}"),
                (true, None) => write!(f, "nemesis {name} fires"),
                (false, _) => write!(f, "nemesis {name} armed"),
            },
            Event::Membership { what } => write!(f, "membership: {what}"),
            Event::Network { settings } => write!(f, "network now: {settings}"),
            Event::LivenessCheck { what, ok } => {
                write!(
                    f,
                    "liveness: {what}: {}",
                    if *ok { "ok" } else { "VIOLATED" }
                )
            }
            Event::Restart { node } => write!(f, "restart node {node}"),
            Event::Join { node } => write!(f, "node {node} starts empty to join"),
            Event::Partition { groups } => write!(f, "partition {groups:?}"),
            Event::Heal => write!(f, "heal"),
            Event::Propose {
                number,
                node: Some(n),
            } => write!(f, "proposal {number} taken by node {n}"),
            Event::Propose { number, node: None } => write!(f, "proposal {number} refused"),
            Event::Role { node, role, term } => write!(f, "node {node} is {role:?} in term {term}"),
            Event::Commit { node, index } => write!(f, "node {node} commits through {index}"),
            Event::FaultWindowEnd => write!(f, "fault window ends: heal and restart all"),
            Event::ClientRequest { client, node } => {
                write!(f, "client {client} request reaches node {node}")
            }
            Event::ClientReply { client, node } => {
                write!(f, "client {client} gets a reply from node {node}")
            }
            Event::NemesisMessage {
                name,
                what,
                to,
                msg,
            } => write!(
                f,
                "nemesis {name} {what}: {} {}->{to} term {}",
                msg.kind, msg.from, msg.term
            ),
        }
    }
}

/// Where a streamed trace's records go, each as it happens (`raftsim run --trace` writes
/// them to a file, so that a long run's trace never sits in memory).
pub trait RecordSink: Send {
    /// Takes the next record.
    fn write(&mut self, record: &Record);
    /// Whether the records need their messages as data (a trace file does; describing every
    /// message costs more than the rest of recording it).
    fn wants_messages(&self) -> bool {
        true
    }
    /// Ends the stream: everything written is flushed, or the first error is returned.
    fn finish(self: Box<Self>) -> std::io::Result<std::path::PathBuf>;
}

struct Stream(Box<dyn RecordSink>);

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stream")
    }
}

/// Records and hashes events.
#[derive(Debug)]
pub struct Trace {
    hasher: TraceHasher,
    events: u64,
    recent: VecDeque<Record>,
    all: Option<Vec<Record>>,
    stream: Option<Stream>,
}

impl Trace {
    /// A trace that keeps every event if `keep_all`, else only recent ones.
    pub fn new(keep_all: bool) -> Trace {
        Trace {
            hasher: TraceHasher::default(),
            events: 0,
            recent: VecDeque::with_capacity(RECENT_EVENTS_MAX),
            all: keep_all.then(Vec::new),
            stream: None,
        }
    }

    /// Hands every record from now on to `sink` too, with its message as a full trace keeps
    /// it.
    pub fn stream_to(&mut self, sink: Box<dyn RecordSink>) {
        self.stream = Some(Stream(sink));
    }

    /// The sink given to [`Trace::stream_to`], to finish it once the run is over.
    pub fn take_stream(&mut self) -> Option<Box<dyn RecordSink>> {
        self.stream.take().map(|s| s.0)
    }

    /// Appends an event; `extra` is detail that is hashed, and kept only in a full trace.
    pub fn record(&mut self, time_ns: u64, event: Event, extra: Option<&dyn Detail>) {
        self.hasher.write_u64(time_ns);
        event.hash(&mut self.hasher);
        if let Some(extra) = extra {
            extra.hash_dyn(&mut self.hasher);
        }
        let full = self.all.is_some() || self.stream.as_ref().is_some_and(|s| s.0.wants_messages());
        let message = extra.filter(|_| full).map(|extra| extra.describe());
        let record = Record {
            seq: self.events,
            time_ns,
            event,
            message,
        };
        self.events += 1;
        if self.recent.len() == RECENT_EVENTS_MAX {
            self.recent.pop_front();
        }
        if let Some(all) = &mut self.all {
            all.push(record.clone());
        }
        if let Some(stream) = &mut self.stream {
            stream.0.write(&record);
        }
        self.recent.push_back(record);
    }

    /// The hash of every event so far.
    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }
    /// How many events were recorded.
    pub fn len(&self) -> u64 {
        self.events
    }
    /// True before the first event.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }
    /// The most recent events, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &Record> {
        self.recent.iter()
    }
    /// Every event, if the trace keeps them.
    pub fn all(&self) -> Option<&[Record]> {
        self.all.as_deref()
    }
}

/// Detail of an event that the trace hashes but keeps only in full traces: a message.
pub trait Detail {
    /// Feeds `self` to `hasher`.
    fn hash_dyn(&self, hasher: &mut TraceHasher);
    /// The whole detail as data.
    fn describe(&self) -> serde_json::Value;
}

impl<T: Hash + Serialize> Detail for T {
    fn hash_dyn(&self, hasher: &mut TraceHasher) {
        self.hash(hasher);
    }
    fn describe(&self) -> serde_json::Value {
        // Only a map with keys that are not strings fails; the trace says so rather than
        // stopping the run.
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "unserializable": e.to_string() }))
    }
}
