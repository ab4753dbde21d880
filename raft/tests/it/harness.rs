//! A cluster of `raft::Node`s driven by hand: one virtual clock, a mailbox of undelivered
//! messages, and a synchronous "disk" per node. After every input to a node the harness takes
//! its `Ready`, persists the hard state and log write, reports the log durable with
//! `log_synced`, queues the messages and records the committed entries as applied, and does so
//! again until the `Ready` is empty.
//!
//! It also checks, after every `Ready`, what no test should have to spell out, and prints a
//! line starting with `!!` when one fails: the disk equals the node's log and hard state;
//! each node applies entries in index order from 1; no two nodes ever apply different entries
//! at one index (State Machine Safety, section 5.4.3); a message that `step` rejects changes
//! nothing.
//!
//! Commands (ids are node ids, durations take a unit: `150ms`):
//!
//! - `add-nodes 3 [election-min=150ms election-max=300ms heartbeat=50ms entries-max=64
//!   inflight-max=16 uncommitted-max=4096 mutation=NAME]`, or `add-nodes ids=(1,2,3) ...`:
//!   a fresh cluster of fresh nodes; resets the clock, the mailbox and the applied entries.
//! - `restore id=N term=T [vote=V] [commit=C] [log=(1/1 2/1:noop 3/2:x)] [mutation=NAME]`:
//!   writes this durable state to N's disk and (re)starts N from it. A bare `I/T` entry carries
//!   the command `iI`.
//! - `campaign N`: advance the clock to N's election deadline and tick N.
//! - `tick N [advance=D]`: advance the clock by D (default 0) and tick N.
//! - `tick-heartbeat N`: advance the clock to leader N's heartbeat deadline and tick N.
//! - `propose N DATA`.
//! - `stabilize`: deliver every message, in order, until none is left.
//! - `deliver-msgs N [drop=(2,3)] [type=KIND]`: deliver the pending messages addressed to N
//!   (only those of type KIND if given); those from a sender in `drop` are dropped instead.
//! - `drop-msgs [from=(..)] [to=(..)] [type=KIND]`: drop pending messages matching all filters.
//! - `send id=N from=M term=T [to=X] BODY`: step N with a hand-made message; BODY is
//!   `RequestVote last=I/T`, `RequestVoteResponse granted|rejected`,
//!   `AppendEntries prev=I/T [commit=C] [entries=(..)]`,
//!   `AppendEntriesResponse success match=I` or `AppendEntriesResponse reject index=I hint=I[/T]`.
//! - `crash N` (the disk survives) / `restart N`.
//! - `join-node N [voters=(..)]`: a new server N with an empty disk, started with these
//!   bootstrap voters (default none), as a server that joins a running cluster.
//! - `change-membership N [add=(..)] [remove=(..)]`: asks node N to change the membership.
//! - `membership`: each node's configuration in effect.
//! - `compact N [index=I]`: node N's host snapshots its state machine through index I
//!   (default: all it applied) and asks the node to compact its log (section 7). The harness's
//!   state machine is the text of the entries applied, so a snapshot that a follower installs
//!   is checked against what the cluster applied through its index.
//! - `add-nodes` also takes `chunk-bytes=N` (`snapshot_chunk_bytes_max`) and `catch-up=N`
//!   (`snapshot_catch_up_entries`); `send` also takes
//!   `InstallSnapshot last=I/T size=S offset=O [data=TEXT]` and
//!   `InstallSnapshotResponse last=I offset=O`.
//! - `raft-state`, `raft-log [N]`, `counters N` (the situations node N counted, non-zero only).

use crate::format::{self, Command};
use raft::{
    Body, Config, Entry, HardState, Index, Membership, Message, Mutation, Node, NodeId, Ready,
    Role, Snapshot, Term,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

/// What a crash leaves: the durable hard state, snapshot and log (the entries after the
/// snapshot).
#[derive(Clone, Debug, Default)]
struct Disk {
    hard_state: HardState,
    snapshot: Option<Snapshot>,
    entries: Vec<Entry>,
}

impl Disk {
    /// Stores `snapshot` and keeps the entries after it if the log holds its last entry
    /// (Figure 13), else none.
    fn install(&mut self, snapshot: &Snapshot) {
        let at = self.entries.iter().position(|e| e.index == snapshot.index);
        let keep = match at {
            Some(p) if self.entries[p].term == snapshot.term => self.entries.split_off(p + 1),
            _ => Vec::new(),
        };
        self.entries = keep;
        self.snapshot = Some(snapshot.clone());
    }

    /// Applies a log write: entries before `from_index` stay.
    fn write(&mut self, from_index: Index, entries: &[Entry]) -> Result<(), String> {
        let first = self.entries.first().map_or_else(
            || self.snapshot.as_ref().map_or(1, |s| s.index + 1),
            |e| e.index,
        );
        let keep = from_index
            .checked_sub(first)
            .filter(|&k| k <= self.entries.len() as u64)
            .ok_or("log write leaves a gap on disk, or rewrites the snapshot")?;
        self.entries.truncate(keep as usize);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    /// The last (index, term) held: the log's, else the snapshot's.
    fn last(&self) -> Option<(Index, Term)> {
        match (self.entries.last(), &self.snapshot) {
            (Some(e), _) => Some((e.index, e.term)),
            (None, Some(s)) => Some((s.index, s.term)),
            (None, None) => None,
        }
    }
}

/// The harness's state machine snapshot through `index`: the entries the cluster applied.
fn state_through(applied: &BTreeMap<Index, (NodeId, Entry)>, index: Index) -> Vec<u8> {
    let entries: Vec<Entry> = applied
        .range(..=index)
        .map(|(_, (_, e))| e.clone())
        .collect();
    format::entries(&entries).into_bytes()
}

struct Slot {
    node: Option<Node>,
    disk: Disk,
    config: Config,
    /// Bumped at every start, to seed each incarnation's generator differently.
    incarnation: u64,
    /// The last index this incarnation applied.
    applied: Index,
}

/// Everything of a node that a test can observe, to check that a rejected message changes
/// nothing.
#[derive(Debug, PartialEq, Eq)]
struct View {
    role: Role,
    term: Term,
    vote: Option<NodeId>,
    leader: Option<NodeId>,
    commit: Index,
    log: Vec<Entry>,
    deadline_ns: u64,
    matches: Vec<Option<Index>>,
}

pub struct Cluster {
    ids: Vec<NodeId>,
    slots: BTreeMap<NodeId, Slot>,
    mailbox: VecDeque<Message>,
    now_ns: u64,
    /// Every entry applied by any node, by index, with the node that applied it first.
    applied: BTreeMap<Index, (NodeId, Entry)>,
    out: String,
}

/// Deliveries after which `stabilize` gives up: the cluster does not settle.
const DELIVERIES_MAX: usize = 10_000;

impl Cluster {
    pub fn new() -> Cluster {
        Cluster {
            ids: Vec::new(),
            slots: BTreeMap::new(),
            mailbox: VecDeque::new(),
            now_ns: 0,
            applied: BTreeMap::new(),
            out: String::new(),
        }
    }

    /// Runs one command line and returns its output (`ok` if it printed nothing). An `Err` is
    /// a mistake in the test script, not a finding about the node.
    pub fn run(&mut self, line: &str) -> Result<String, String> {
        let mut cmd = Command::parse(line)?;
        self.out.clear();
        match cmd.name.as_str() {
            "add-nodes" => self.add_nodes(&mut cmd)?,
            "restore" => self.restore(&mut cmd)?,
            "campaign" => {
                let id = cmd.pos_u64()?;
                let node = self.node(id)?;
                if node.role() == Role::Leader {
                    return Err(format!("campaign: {id} is the leader"));
                }
                self.now_ns = self.now_ns.max(node.next_deadline_ns());
                self.input(id, |node, now| node.tick(now))?;
            }
            "tick" => {
                let id = cmd.pos_u64()?;
                let advance = match cmd.opt("advance") {
                    Some(d) => format::parse_duration(&d)?,
                    None => 0,
                };
                self.node(id)?;
                self.now_ns += advance;
                self.input(id, |node, now| node.tick(now))?;
            }
            "tick-heartbeat" => {
                let id = cmd.pos_u64()?;
                let node = self.node(id)?;
                if node.role() != Role::Leader {
                    return Err(format!("tick-heartbeat: {id} is not the leader"));
                }
                self.now_ns = self.now_ns.max(node.next_deadline_ns());
                self.input(id, |node, now| node.tick(now))?;
            }
            "propose" => {
                let id = cmd.pos_u64()?;
                let data = cmd.pos().ok_or("propose: missing data")?;
                let before = self.view(id)?;
                let result = self.node_mut(id)?.propose(data.into_bytes());
                match result {
                    Ok(index) => self.line(format!("{id} proposed at index {index}")),
                    Err(e) => self.line(format!("{id} refused: {e}")),
                }
                self.react(id, &before, "");
            }
            "stabilize" => self.stabilize()?,
            "deliver-msgs" => self.deliver_msgs(&mut cmd)?,
            "drop-msgs" => self.drop_msgs(&mut cmd)?,
            "send" => self.send(&mut cmd)?,
            "crash" => {
                let id = cmd.pos_u64()?;
                self.node(id)?;
                let slot = self.slots.get_mut(&id).expect("checked");
                slot.node = None;
                let disk = slot.disk.clone();
                self.line(format!("{id} crashed; disk keeps {}", fmt_disk(&disk)));
            }
            "restart" => {
                let id = cmd.pos_u64()?;
                let slot = self.slot(id)?;
                if slot.node.is_some() {
                    return Err(format!("restart: {id} is running"));
                }
                let (config, disk) = (slot.config.clone(), slot.disk.clone());
                self.start(id, config, disk, true)?;
            }
            "compact" => {
                let id = cmd.pos_u64()?;
                let applied = self.slot(id)?.applied;
                let index = cmd.opt_u64("index")?.unwrap_or(applied);
                let data = state_through(&self.applied, index.min(applied));
                let before = self.view(id)?;
                match self.node_mut(id)?.compact(index, data) {
                    Ok(()) => self.line(format!("{id} compacted through {index}")),
                    Err(e) => self.line(format!("{id} refused: {e}")),
                }
                self.react(id, &before, "");
            }
            "raft-state" => {
                for id in self.ids.clone() {
                    let line = self.state_line(id);
                    self.line(line);
                }
            }
            "join-node" => {
                let id = cmd.pos_u64()?;
                if self.slots.contains_key(&id) {
                    return Err(format!("join-node: node {id} exists"));
                }
                let template = self.slots.values().next().ok_or("join-node: no cluster")?;
                let voters = cmd.opt_ids("voters")?.unwrap_or_default();
                let config = Config {
                    id,
                    voters,
                    ..template.config.clone()
                };
                self.ids.push(id);
                self.slots.insert(
                    id,
                    Slot {
                        node: None,
                        disk: Disk::default(),
                        config: config.clone(),
                        incarnation: 0,
                        applied: 0,
                    },
                );
                self.start(id, config, Disk::default(), true)?;
            }
            "change-membership" => {
                let id = cmd.pos_u64()?;
                let add = cmd.opt_ids("add")?.unwrap_or_default();
                let remove = cmd.opt_ids("remove")?.unwrap_or_default();
                let before = self.view(id)?;
                match self.node_mut(id)?.change_membership(&add, &remove) {
                    Ok(()) => self.line(format!("{id} accepted the change")),
                    Err(e) => self.line(format!("{id} refused the change: {e}")),
                }
                self.react(id, &before, "");
            }
            "membership" => {
                for id in self.ids.clone() {
                    let text = match self.node(id) {
                        Ok(node) => {
                            let pending = if node.membership_change_pending() {
                                " (change pending)"
                            } else {
                                ""
                            };
                            format!("{}{pending}", format::membership(node.membership()))
                        }
                        Err(_) => "down".to_string(),
                    };
                    self.line(format!("{id}: {text}"));
                }
            }
            "counters" => {
                let id = cmd.pos_u64()?;
                let c = self.node(id)?.counters();
                let named = [
                    ("elections-started", c.elections_started),
                    ("elections-restarted", c.elections_restarted),
                    ("votes-refused-log-behind", c.votes_refused_log_behind),
                    ("leader-stepped-down", c.leader_stepped_down),
                    ("appends-rejected-stale-term", c.appends_rejected_stale_term),
                    ("uncommitted-truncations", c.uncommitted_truncations),
                    (
                        "uncommitted-entries-truncated",
                        c.uncommitted_entries_truncated,
                    ),
                    ("follower-repairs-over-10", c.follower_repairs_over_10),
                    (
                        "commits-waited-for-current-term",
                        c.commits_waited_for_current_term,
                    ),
                    ("votes-ignored-non-member", c.votes_ignored_non_member),
                    ("configurations-rolled-back", c.configurations_rolled_back),
                    ("leader-removed", c.leader_removed),
                    ("snapshots-sent", c.snapshots_sent),
                    ("snapshot-chunks-resent", c.snapshot_chunks_resent),
                    (
                        "snapshot-transfers-restarted",
                        c.snapshot_transfers_restarted,
                    ),
                    ("snapshots-installed", c.snapshots_installed),
                ];
                let shown: Vec<String> = named
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(name, n)| format!("{name}={n}"))
                    .collect();
                let text = if shown.is_empty() {
                    "none".to_string()
                } else {
                    shown.join(" ")
                };
                self.line(format!("{id}: {text}"));
            }
            "raft-log" => {
                let ids = match cmd.pos() {
                    Some(id) => vec![format::parse_u64(&id)?],
                    None => self.ids.clone(),
                };
                for id in ids {
                    let slot = self.slot(id)?;
                    let text = match &slot.node {
                        Some(node) => {
                            let log = node.log();
                            let entries = format::entries(log.slice(1, log.last_index()));
                            match log.compacted_index() {
                                0 => entries,
                                i => format!("compacted={i}/{} {entries}", log.compacted_term()),
                            }
                        }
                        None => "down".to_string(),
                    };
                    self.line(format!("{id}: {text}"));
                }
            }
            other => return Err(format!("unknown command {other:?}")),
        }
        cmd.done()?;
        let out = std::mem::take(&mut self.out);
        Ok(if out.is_empty() { "ok\n".into() } else { out })
    }

    // ---- Commands ------------------------------------------------------------------------

    fn add_nodes(&mut self, cmd: &mut Command) -> Result<(), String> {
        let ids = match cmd.opt_ids("ids")? {
            Some(ids) => ids,
            None => {
                let n = cmd.pos_u64()?;
                (1..=n).collect()
            }
        };
        let mut config = Config::new(0, ids.clone());
        if let Some(d) = cmd.opt("election-min") {
            config.election_timeout_min_ns = format::parse_duration(&d)?;
        }
        if let Some(d) = cmd.opt("election-max") {
            config.election_timeout_max_ns = format::parse_duration(&d)?;
        }
        if let Some(d) = cmd.opt("heartbeat") {
            config.heartbeat_interval_ns = format::parse_duration(&d)?;
        }
        if let Some(n) = cmd.opt_u64("entries-max")? {
            config.msg_entries_max = n;
        }
        if let Some(n) = cmd.opt_u64("inflight-max")? {
            config.inflight_msgs_max = n;
        }
        if let Some(n) = cmd.opt_u64("uncommitted-max")? {
            config.uncommitted_entries_max = n;
        }
        if let Some(n) = cmd.opt_u64("chunk-bytes")? {
            config.snapshot_chunk_bytes_max = n;
        }
        if let Some(n) = cmd.opt_u64("catch-up")? {
            config.snapshot_catch_up_entries = n;
        }
        config.mutation = parse_mutation(cmd)?;
        *self = Cluster::new();
        self.ids = ids.clone();
        for id in ids {
            let config = Config {
                id,
                ..config.clone()
            };
            self.slots.insert(
                id,
                Slot {
                    node: None,
                    disk: Disk::default(),
                    config: config.clone(),
                    incarnation: 0,
                    applied: 0,
                },
            );
            self.start(id, config, Disk::default(), false)?;
        }
        // Fresh nodes have nothing to say.
        Ok(())
    }

    fn restore(&mut self, cmd: &mut Command) -> Result<(), String> {
        let id = cmd.req_u64("id")?;
        let mut config = self.slot(id)?.config.clone();
        if let Some(m) = parse_mutation(cmd)? {
            config.mutation = Some(m);
        }
        let hard_state = HardState {
            term: cmd.req_u64("term")?,
            vote: cmd.opt_u64("vote")?,
            commit: cmd.opt_u64("commit")?.unwrap_or(0),
        };
        let entries = match cmd.opt("log") {
            Some(list) => format::parse_list(&list)
                .iter()
                .map(|e| format::parse_entry(e))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        self.start(
            id,
            config,
            Disk {
                hard_state,
                snapshot: None,
                entries,
            },
            true,
        )
    }

    fn stabilize(&mut self) -> Result<(), String> {
        let mut deliveries = 0;
        while let Some(msg) = self.mailbox.pop_front() {
            deliveries += 1;
            if deliveries > DELIVERIES_MAX {
                return Err(format!(
                    "stabilize: still not quiet after {DELIVERIES_MAX} deliveries"
                ));
            }
            self.deliver(msg);
        }
        Ok(())
    }

    fn deliver_msgs(&mut self, cmd: &mut Command) -> Result<(), String> {
        let to = cmd.pos_u64()?;
        self.slot(to)?;
        let drop = cmd.opt_ids("drop")?.unwrap_or_default();
        let kind = cmd.opt("type");
        let (chosen, rest): (Vec<Message>, Vec<Message>) = self
            .mailbox
            .drain(..)
            .partition(|m| m.to == to && passes(&kind, m.body.kind()));
        self.mailbox = rest.into();
        if chosen.is_empty() {
            self.line(format!("no messages for {to}"));
        }
        for msg in chosen {
            if drop.contains(&msg.from) {
                self.line(format!("dropped {}", format::message(&msg)));
            } else {
                self.deliver(msg);
            }
        }
        Ok(())
    }

    fn drop_msgs(&mut self, cmd: &mut Command) -> Result<(), String> {
        let from = cmd.opt_ids("from")?;
        let to = cmd.opt_ids("to")?;
        let kind = cmd.opt("type");
        let (dropped, rest): (Vec<Message>, Vec<Message>) = self.mailbox.drain(..).partition(|m| {
            passes_any(&from, m.from) && passes_any(&to, m.to) && passes(&kind, m.body.kind())
        });
        self.mailbox = rest.into();
        if dropped.is_empty() {
            self.line("no messages dropped".to_string());
        }
        for msg in dropped {
            self.line(format!("dropped {}", format::message(&msg)));
        }
        Ok(())
    }

    fn send(&mut self, cmd: &mut Command) -> Result<(), String> {
        let id = cmd.req_u64("id")?;
        let from = cmd.req_u64("from")?;
        let term = cmd.req_u64("term")?;
        let to = cmd.opt_u64("to")?.unwrap_or(id);
        let kind = cmd.pos().ok_or("send: missing the message type")?;
        let body = match kind.as_str() {
            "RequestVote" => {
                let (last_log_index, last_log_term) = format::parse_index_term(&cmd.req("last")?)?;
                Body::RequestVote {
                    last_log_index,
                    last_log_term,
                }
            }
            "RequestVoteResponse" => {
                let granted = match cmd.pos().as_deref() {
                    Some("granted") => true,
                    Some("rejected") => false,
                    other => return Err(format!("send: granted or rejected, not {other:?}")),
                };
                Body::RequestVoteResponse { granted }
            }
            "AppendEntries" => {
                let (prev_log_index, prev_log_term) = format::parse_index_term(&cmd.req("prev")?)?;
                let entries = match cmd.opt("entries") {
                    Some(list) => format::parse_list(&list)
                        .iter()
                        .map(|e| format::parse_entry(e))
                        .collect::<Result<Vec<_>, _>>()?,
                    None => Vec::new(),
                };
                Body::AppendEntries {
                    prev_log_index,
                    prev_log_term,
                    entries,
                    leader_commit: cmd.opt_u64("commit")?.unwrap_or(0),
                }
            }
            "InstallSnapshot" => {
                let (last_included_index, last_included_term) =
                    format::parse_index_term(&cmd.req("last")?)?;
                Body::InstallSnapshot {
                    last_included_index,
                    last_included_term,
                    membership: Box::new(Membership::simple(&self.ids)),
                    size_bytes: cmd.req_u64("size")?,
                    offset: cmd.req_u64("offset")?,
                    data: cmd.opt("data").unwrap_or_default().into_bytes(),
                }
            }
            "InstallSnapshotResponse" => Body::InstallSnapshotResponse {
                last_included_index: cmd.req_u64("last")?,
                offset_next: cmd.req_u64("offset")?,
            },
            "AppendEntriesResponse" => match cmd.pos().as_deref() {
                Some("success") => Body::AppendEntriesResponse {
                    success: true,
                    match_index: cmd.req_u64("match")?,
                    conflict_index: 0,
                    conflict_term: None,
                },
                Some("reject") => {
                    let hint = cmd.req("hint")?;
                    let (conflict_index, conflict_term) = match hint.split_once('/') {
                        Some(_) => {
                            let (i, t) = format::parse_index_term(&hint)?;
                            (i, Some(t))
                        }
                        None => (format::parse_u64(&hint)?, None),
                    };
                    Body::AppendEntriesResponse {
                        success: false,
                        match_index: cmd.req_u64("index")?,
                        conflict_index,
                        conflict_term,
                    }
                }
                other => return Err(format!("send: success or reject, not {other:?}")),
            },
            other => return Err(format!("send: unknown message type {other:?}")),
        };
        self.node(id)?;
        self.step(
            id,
            Message {
                from,
                to,
                term,
                body,
            },
            "",
        );
        Ok(())
    }

    // ---- Driving nodes -------------------------------------------------------------------

    /// (Re)starts node `id` from `disk`, which becomes its disk; `announce` prints its state.
    fn start(
        &mut self,
        id: NodeId,
        config: Config,
        disk: Disk,
        announce: bool,
    ) -> Result<(), String> {
        let now_ns = self.now_ns;
        let slot = self
            .slots
            .get_mut(&id)
            .ok_or_else(|| format!("no node {id}"))?;
        slot.incarnation += 1;
        let rng = ChaCha8Rng::seed_from_u64(id * 1_000_003 + slot.incarnation);
        let restored = Node::restore(
            config.clone(),
            disk.hard_state,
            disk.snapshot.clone(),
            disk.entries.clone(),
            Box::new(rng),
            now_ns,
        );
        match restored {
            Ok(node) => {
                slot.node = Some(node);
                slot.disk = disk;
                slot.config = config;
                // The state machine starts from the snapshot.
                slot.applied = slot.disk.snapshot.as_ref().map_or(0, |s| s.index);
                if announce {
                    let line = self.state_line(id);
                    self.line(format!("started {line}"));
                }
                let before = self.view(id).expect("just started");
                self.react(id, &before, "");
            }
            Err(e) => {
                // The previous incarnation, if any, keeps running.
                self.line(format!("{id} restore failed: {e}"));
            }
        }
        Ok(())
    }

    /// Delivers one message, printing it and the recipient's reaction.
    fn deliver(&mut self, msg: Message) {
        let text = format::message(&msg);
        match self.slots.get(&msg.to) {
            Some(Slot { node: Some(_), .. }) => {
                self.line(text);
                self.step(msg.to, msg, "  ");
            }
            Some(_) => self.line(format!("{text} (dropped: {} is down)", msg.to)),
            None => self.line(format!("{text} (dropped: no node {})", msg.to)),
        }
    }

    /// Steps node `id` with `msg`; an error must leave the node as it was.
    fn step(&mut self, id: NodeId, msg: Message, indent: &str) {
        let before = self.view(id).expect("checked running");
        let now_ns = self.now_ns;
        let result = self.node_mut(id).expect("checked").step(now_ns, msg);
        if let Err(e) = result {
            self.line(format!("{indent}{id} rejected: {e}"));
            let after = self.view(id).expect("running");
            if after != before {
                self.line(format!(
                    "{indent}!! a rejected message changed the node: {before:?} -> {after:?}"
                ));
            }
        }
        self.react(id, &before, indent);
    }

    /// Runs an input on a running node at the current time and handles its reaction.
    fn input(&mut self, id: NodeId, f: impl FnOnce(&mut Node, u64)) -> Result<(), String> {
        let before = self.view(id)?;
        let now_ns = self.now_ns;
        f(self.node_mut(id)?, now_ns);
        self.react(id, &before, "");
        Ok(())
    }

    /// Prints a change of role, term or leader, then handles every `Ready` until there is none.
    fn react(&mut self, id: NodeId, before: &View, indent: &str) {
        let after = self.view(id).expect("running");
        if (after.role, after.term, after.leader) != (before.role, before.term, before.leader) {
            let mut line = format!("{indent}{id} became {:?} term={}", after.role, after.term);
            if after.role == Role::Follower {
                line.push_str(&format!(" leader={}", fmt_opt(after.leader)));
            }
            self.line(line);
        }
        loop {
            let ready = self.node_mut(id).expect("running").take_ready();
            if ready.is_empty() {
                if ready.must_sync {
                    self.line(format!("{indent}!! an empty Ready asks for a sync"));
                }
                break;
            }
            self.handle_ready(id, ready, indent);
        }
    }

    fn handle_ready(&mut self, id: NodeId, ready: Ready, indent: &str) {
        let mut lines = vec![format!(
            "{indent}{id} ready{}",
            if ready.must_sync { " must-sync" } else { "" }
        )];
        let slot = self.slots.get_mut(&id).expect("running");
        let hs_before = slot.disk.hard_state;
        if let Some(hs) = ready.hard_state {
            lines.push(format!(
                "{indent}  hard-state term={} vote={} commit={}",
                hs.term,
                fmt_opt(hs.vote),
                hs.commit
            ));
            slot.disk.hard_state = hs;
        }
        if let Some(snapshot) = &ready.snapshot {
            lines.push(format!(
                "{indent}  snapshot last={}/{} conf={} bytes={}{}",
                snapshot.index,
                snapshot.term,
                format::membership(&snapshot.membership),
                snapshot.data.len(),
                if ready.snapshot_from_leader {
                    " from-leader"
                } else {
                    ""
                }
            ));
            slot.disk.install(snapshot);
        }
        if let Some(write) = &ready.log_write {
            lines.push(format!(
                "{indent}  log-write from={} {}",
                write.from_index,
                format::entries(&write.entries)
            ));
            if let Err(e) = slot.disk.write(write.from_index, &write.entries) {
                lines.push(format!("{indent}  !! {e}"));
            }
        }
        for msg in &ready.messages {
            lines.push(format!("{indent}  send {}", format::message(msg)));
        }
        if !ready.committed.is_empty() {
            lines.push(format!(
                "{indent}  apply {}",
                format::entries(&ready.committed)
            ));
        }
        match &ready.membership_change {
            Some(raft::ChangeOutcome::Committed(m)) => {
                lines.push(format!(
                    "{indent}  membership change committed: {}",
                    format::membership(m)
                ));
            }
            Some(raft::ChangeOutcome::Abandoned) => {
                lines.push(format!("{indent}  membership change abandoned"));
            }
            None => {}
        }
        // The disk now holds what the Ready asked for; it must be what the node holds.
        let node = slot.node.as_ref().expect("running");
        let log = node.log();
        // The node may keep entries its snapshot covers (`snapshot_catch_up_entries`); the
        // disk holds those after it.
        let disk_snapshot = slot.disk.snapshot.as_ref().map(|s| (s.index, s.term));
        let node_snapshot = node.snapshot().map(|s| (s.index, s.term));
        if disk_snapshot != node_snapshot {
            lines.push(format!(
                "{indent}  !! disk snapshot {disk_snapshot:?} differs from the node's {node_snapshot:?}"
            ));
        }
        let after_snapshot = disk_snapshot.map_or(1, |(index, _)| index + 1);
        let held = log.slice(after_snapshot, log.last_index());
        if slot.disk.entries.as_slice() != held {
            lines.push(format!(
                "{indent}  !! disk log {} differs from the node's {}",
                format::entries(&slot.disk.entries),
                format::entries(held)
            ));
        }
        let hs = slot.disk.hard_state;
        if (hs.term, hs.vote, hs.commit) != (node.term(), node.vote(), node.commit_index()) {
            lines.push(format!(
                "{indent}  !! disk hard state {hs:?} differs from the node's term={} vote={:?} commit={}",
                node.term(),
                node.vote(),
                node.commit_index()
            ));
        }
        if ready.log_write.is_some() && !ready.must_sync {
            lines.push(format!("{indent}  !! a log write without must_sync"));
        }
        if (hs.term, hs.vote) != (hs_before.term, hs_before.vote) && !ready.must_sync {
            lines.push(format!("{indent}  !! a new term or vote without must_sync"));
        }
        if ready.snapshot_from_leader && !ready.must_sync {
            lines.push(format!(
                "{indent}  !! an installed snapshot without must_sync"
            ));
        }
        // Synchronous disk: durable at once.
        if let Some((index, term)) = slot.disk.last() {
            if ready.log_write.is_some() || ready.snapshot.is_some() {
                slot.node.as_mut().expect("running").log_synced(index, term);
            }
        }
        if let Some(snapshot) = ready
            .snapshot
            .as_ref()
            .filter(|_| ready.snapshot_from_leader)
        {
            // The state machine is replaced by the leader's: it must be what the cluster
            // applied through the snapshot's index.
            if snapshot.data != state_through(&self.applied, snapshot.index) {
                lines.push(format!(
                    "{indent}  !! installed snapshot {} differs from the entries applied through {}",
                    String::from_utf8_lossy(&snapshot.data),
                    snapshot.index
                ));
            }
            slot.applied = snapshot.index;
        }
        for entry in &ready.committed {
            if entry.index != slot.applied + 1 {
                lines.push(format!(
                    "{indent}  !! applied {} after index {}",
                    format::entry(entry),
                    slot.applied
                ));
            }
            slot.applied = entry.index;
            match self.applied.get(&entry.index) {
                Some((other, e)) if e != entry => lines.push(format!(
                    "{indent}  !! SAFETY VIOLATION: {id} applied {} but {other} applied {}",
                    format::entry(entry),
                    format::entry(e)
                )),
                Some(_) => {}
                None => {
                    self.applied.insert(entry.index, (id, entry.clone()));
                }
            }
        }
        self.mailbox.extend(ready.messages);
        for line in lines {
            self.line(line);
        }
    }

    // ---- Helpers -------------------------------------------------------------------------

    fn line(&mut self, line: String) {
        self.out.push_str(&line);
        self.out.push('\n');
    }

    fn slot(&self, id: NodeId) -> Result<&Slot, String> {
        self.slots.get(&id).ok_or_else(|| format!("no node {id}"))
    }

    fn node(&self, id: NodeId) -> Result<&Node, String> {
        self.slot(id)?
            .node
            .as_ref()
            .ok_or_else(|| format!("node {id} is down"))
    }

    fn node_mut(&mut self, id: NodeId) -> Result<&mut Node, String> {
        self.slots
            .get_mut(&id)
            .and_then(|s| s.node.as_mut())
            .ok_or_else(|| format!("node {id} is not running"))
    }

    fn view(&self, id: NodeId) -> Result<View, String> {
        let node = self.node(id)?;
        let log = node.log();
        Ok(View {
            role: node.role(),
            term: node.term(),
            vote: node.vote(),
            leader: node.leader(),
            commit: node.commit_index(),
            log: log.slice(1, log.last_index()).to_vec(),
            deadline_ns: node.next_deadline_ns(),
            matches: self.ids.iter().map(|&p| node.match_index(p)).collect(),
        })
    }

    fn state_line(&self, id: NodeId) -> String {
        let Ok(node) = self.node(id) else {
            return format!("{id}: down");
        };
        let log = node.log();
        let mut s = format!(
            "{id}: {:?} term={} vote={}",
            node.role(),
            node.term(),
            fmt_opt(node.vote())
        );
        if node.role() == Role::Follower {
            let _ = write!(s, " leader={}", fmt_opt(node.leader()));
        }
        let _ = write!(
            s,
            " commit={} last={}/{}",
            node.commit_index(),
            log.last_index(),
            log.last_term()
        );
        if node.role() == Role::Leader {
            let matches: Vec<String> = self
                .ids
                .iter()
                .filter(|&&p| p != id)
                .map(|&p| format!("{p}:{}", node.match_index(p).unwrap_or(0)))
                .collect();
            let _ = write!(s, " match=({})", matches.join(" "));
        }
        s
    }
}

/// True if there is no filter or `value` is what it asks for.
fn passes(filter: &Option<String>, value: &str) -> bool {
    match filter {
        Some(f) => f == value,
        None => true,
    }
}

/// True if there is no filter or `value` is among those it lists.
fn passes_any(filter: &Option<Vec<NodeId>>, value: NodeId) -> bool {
    match filter {
        Some(f) => f.contains(&value),
        None => true,
    }
}

fn parse_mutation(cmd: &mut Command) -> Result<Option<Mutation>, String> {
    cmd.opt("mutation")
        .map(|name| Mutation::from_name(&name).ok_or_else(|| format!("unknown mutation {name:?}")))
        .transpose()
}

fn fmt_opt(v: Option<u64>) -> String {
    v.map_or("none".to_string(), |v| v.to_string())
}

fn fmt_disk(disk: &Disk) -> String {
    let snapshot = match &disk.snapshot {
        Some(s) => format!(" snapshot={}/{}", s.index, s.term),
        None => String::new(),
    };
    format!(
        "term={} vote={} commit={}{snapshot} log={}",
        disk.hard_state.term,
        fmt_opt(disk.hard_state.vote),
        disk.hard_state.commit,
        format::entries(&disk.entries)
    )
}
