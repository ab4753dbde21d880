//! One `raft::Node`, restored from arbitrary durable state, fed an arbitrary sequence of
//! inputs: messages of any term, index, sender and body, ticks, proposals, syncs, compactions,
//! membership changes and restarts. After every input the harness takes the `Ready`, writes it
//! to a model of the host's disk, and checks what a node keeps whatever it is sent: its term
//! and commit index never go back, the commit index stays within the log, writes that messages
//! depend on ask for a sync, committed entries come once each and in order, a node has one
//! role per term at most once, a rejected input changes nothing, the disk holds what the node
//! holds, and the node restores from the disk it wrote. A node restored with a planted
//! mutation (`Config::mutation`) breaks some of these by design; it is fed the same inputs and
//! held only to never panicking (seed `mutated-vote-not-persisted`).
//!
//! raft's types do not derive `Arbitrary`: the input is made of mirror types below, turned into
//! raft's at the moment they are used. Numbers are mostly drawn relative to the node's state
//! (`Num::Near`), so that a fuzzer finds matching terms and indexes as easily as wild ones.
//!
//! The bugs this target found in raft (overflows near `u64::MAX`, an unchecked configuration
//! on disk, a snapshot that did not restore) are fixed; their reproducers are seeds now
//! (`seeds/messages/near-max-*`, `restored-config-unchecked`, `snapshot-without-voter`).

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use raft::{
    Body, Config, Entry, HardState, Index, Membership, Message, Mutation, Node, NodeId, Payload,
    Ready, Role, Snapshot, Term,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Inputs after the restore.
const INPUTS_MAX: usize = 200;
/// Entries in one AppendEntries, and in the restored log.
const ENTRIES_MAX: usize = 64;
/// Bytes of a command, a snapshot or a snapshot chunk.
const DATA_BYTES_MAX: usize = 256;
/// Ids in one list (voters, learners, a membership change's `add` or `remove`).
const IDS_MAX: usize = 8;
/// One tick moves the clock by less than this (about 18 minutes), so that 200 ticks stay far
/// from `u64::MAX` nanoseconds.
const ADVANCE_NS_MAX: u64 = 1 << 40;

/// With `RAFTSIM_FUZZ_TRACE` set, every input and the node's state after it go to stderr,
/// for reading a crash or a seed (`cargo fuzz run messages FILE`).
fn tracing() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("RAFTSIM_FUZZ_TRACE").is_some())
}

fuzz_target!(|input: FuzzInput| {
    let Some(mut harness) = Harness::restore(&input) else {
        return;
    };
    for step in &input.inputs.0 {
        if harness.halted {
            break;
        }
        harness.apply(step);
    }
});

// ---- The input ---------------------------------------------------------------------------

/// At most `MAX` items. As the last field of the input, it takes items until the bytes run out.
#[derive(Debug)]
struct Bounded<T, const MAX: usize>(Vec<T>);

impl<'a, T: Arbitrary<'a>, const MAX: usize> Arbitrary<'a> for Bounded<T, MAX> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=MAX)?;
        let mut items = Vec::with_capacity(len);
        while items.len() < len && !u.is_empty() {
            items.push(T::arbitrary(u)?);
        }
        Ok(Bounded(items))
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut items = Vec::new();
        while items.len() < MAX && !u.is_empty() {
            items.push(T::arbitrary(&mut u)?);
        }
        Ok(Bounded(items))
    }
}

#[derive(Arbitrary, Debug)]
struct FuzzInput {
    /// Seeds the node's election jitter.
    seed: u64,
    start_ns: u32,
    config: ConfigM,
    durable: DurableM,
    inputs: Bounded<InputM, INPUTS_MAX>,
}

/// A number: near a base taken from the node's state at the time (a term, an index), small,
/// or anything at all.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Near(i8),
    Small(u8),
    Any(u64),
}

impl Num {
    fn at(self, base: u64) -> u64 {
        let n = match self {
            Num::Near(delta) => base.saturating_add_signed(i64::from(delta)),
            Num::Small(n) => u64::from(n),
            Num::Any(n) => n,
        };
        n
    }
}

/// A node id: one of a small cluster's (1 to 7), this node's, the reserved 0, or any.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Peer {
    Small(u8),
    Me,
    Zero,
    Any(u64),
}

impl Peer {
    fn id(self, me: NodeId) -> NodeId {
        match self {
            Peer::Small(n) => 1 + u64::from(n % 7),
            Peer::Me => me,
            Peer::Zero => 0,
            Peer::Any(id) => id,
        }
    }
}

fn ids(peers: &[Peer], me: NodeId) -> Vec<NodeId> {
    peers.iter().map(|p| p.id(me)).collect()
}

#[derive(Arbitrary, Debug)]
struct ConfigM {
    id: Peer,
    voters: Bounded<Peer, IDS_MAX>,
    timeouts: Option<TimeoutsM>,
    limits: Option<LimitsM>,
    mutation: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct TimeoutsM {
    election_min_ms: u16,
    election_span_ms: u16,
    heartbeat_ms: u16,
}

#[derive(Arbitrary, Debug)]
struct LimitsM {
    msg_entries_max: u8,
    inflight_msgs_max: u8,
    uncommitted_entries_max: u16,
    learner_lag_entries_max: u8,
    snapshot_chunk_bytes_max: u16,
    snapshot_catch_up_entries: u8,
}

impl ConfigM {
    /// Any configuration, valid or not: `Node::restore` must refuse the invalid ones.
    fn build(&self) -> Config {
        let id = self.id.id(1);
        let mut config = Config::new(id, ids(&self.voters.0, id));
        if let Some(t) = &self.timeouts {
            let ms = |n: u16| u64::from(n) * 1_000_000;
            config.election_timeout_min_ns = ms(t.election_min_ms);
            config.election_timeout_max_ns = ms(t.election_min_ms) + ms(t.election_span_ms);
            config.heartbeat_interval_ns = ms(t.heartbeat_ms);
        }
        if let Some(l) = &self.limits {
            config.msg_entries_max = u64::from(l.msg_entries_max);
            config.inflight_msgs_max = u64::from(l.inflight_msgs_max);
            config.uncommitted_entries_max = u64::from(l.uncommitted_entries_max);
            config.learner_lag_entries_max = u64::from(l.learner_lag_entries_max);
            config.snapshot_chunk_bytes_max = u64::from(l.snapshot_chunk_bytes_max);
            config.snapshot_catch_up_entries = u64::from(l.snapshot_catch_up_entries);
        }
        config.mutation = self
            .mutation
            .map(|m| Mutation::ALL[usize::from(m) % Mutation::ALL.len()]);
        config
    }
}

#[derive(Arbitrary, Debug)]
struct MembershipM {
    voters: Bounded<Peer, IDS_MAX>,
    voters_outgoing: Bounded<Peer, IDS_MAX>,
    learners: Bounded<Peer, IDS_MAX>,
    /// Keep the lists as drawn (usually invalid) instead of sorted, distinct and disjoint.
    raw: bool,
}

impl MembershipM {
    fn build(&self, me: NodeId) -> Membership {
        let mut m = Membership {
            voters: ids(&self.voters.0, me),
            voters_outgoing: ids(&self.voters_outgoing.0, me),
            learners: ids(&self.learners.0, me),
        };
        if !self.raw {
            for list in [&mut m.voters, &mut m.voters_outgoing, &mut m.learners] {
                list.sort_unstable();
                list.dedup();
            }
            let (voters, outgoing) = (&m.voters, &m.voters_outgoing);
            m.learners
                .retain(|l| !voters.contains(l) && !outgoing.contains(l));
        }
        m
    }
}

#[derive(Arbitrary, Debug)]
enum PayloadM {
    Noop,
    Command(Bounded<u8, DATA_BYTES_MAX>),
    Config(MembershipM),
}

/// An entry: its index is drawn near the one after the previous entry's, its term near the
/// previous entry's term.
#[derive(Arbitrary, Debug)]
struct EntryM {
    index: Num,
    term: Num,
    payload: PayloadM,
}

/// Entries after (`prev_index`, `prev_term`); consecutive unless the input says otherwise.
fn entries(drawn: &[EntryM], prev_index: Index, prev_term: Term, me: NodeId) -> Vec<Entry> {
    let (mut index, mut term) = (prev_index, prev_term.max(1));
    let mut out = Vec::with_capacity(drawn.len());
    for e in drawn {
        index = e.index.at(index.saturating_add(1));
        term = e.term.at(term);
        let payload = match &e.payload {
            PayloadM::Noop => Payload::Noop,
            PayloadM::Command(data) => Payload::Command(data.0.clone().into()),
            PayloadM::Config(m) => Payload::Config(Box::new(m.build(me))),
        };
        out.push(Entry {
            term,
            index,
            payload,
        });
    }
    out
}

#[derive(Arbitrary, Debug)]
struct SnapshotM {
    index: Num,
    term: Num,
    membership: MembershipM,
    data: Bounded<u8, DATA_BYTES_MAX>,
}

/// The durable state to restore from: a snapshot, then entries after it, then a hard state
/// drawn near the log's end.
#[derive(Arbitrary, Debug)]
struct DurableM {
    snapshot: Option<SnapshotM>,
    entries: Bounded<EntryM, ENTRIES_MAX>,
    term: Num,
    vote: Option<Peer>,
    commit: Num,
}

#[derive(Arbitrary, Debug)]
enum InputM {
    Step(MessageM),
    Tick(Advance),
    Propose(Bounded<u8, DATA_BYTES_MAX>),
    /// `log_synced` at an index near the last; `term` `None` is the log's term there.
    LogSynced {
        index: Num,
        term: Option<Num>,
    },
    /// `log_synced` through the last entry, as a host does once its write is durable.
    SyncAll,
    Compact {
        index: Num,
        data: Bounded<u8, DATA_BYTES_MAX>,
    },
    ChangeMembership {
        add: Bounded<Peer, IDS_MAX>,
        remove: Bounded<Peer, IDS_MAX>,
    },
    /// Crash and restore from the disk model.
    Restart,
}

#[derive(Arbitrary, Debug)]
enum Advance {
    /// To the node's next deadline (an election or a heartbeat).
    ToDeadline,
    Ns(u32),
    Any(u64),
}

#[derive(Arbitrary, Debug)]
struct MessageM {
    from: Peer,
    /// `None`: this node.
    to: Option<Peer>,
    term: Num,
    body: BodyM,
}

#[derive(Arbitrary, Debug)]
enum BodyM {
    RequestVote {
        last_log_index: Num,
        last_log_term: Num,
    },
    RequestVoteResponse {
        granted: bool,
    },
    AppendEntries {
        prev_log_index: Num,
        prev_log_term: Num,
        entries: Bounded<EntryM, ENTRIES_MAX>,
        leader_commit: Num,
    },
    AppendEntriesResponse {
        success: bool,
        match_index: Num,
        conflict_index: Num,
        conflict_term: Option<Num>,
    },
    InstallSnapshot {
        last_included_index: Num,
        last_included_term: Num,
        membership: MembershipM,
        size_bytes: Num,
        offset: Num,
        data: Bounded<u8, DATA_BYTES_MAX>,
    },
    InstallSnapshotResponse {
        last_included_index: Num,
        offset_next: Num,
    },
}

impl MessageM {
    /// The message, its numbers drawn relative to what `node` holds now.
    fn build(&self, node: &Node) -> Message {
        let me = node.id();
        let term = self.term.at(node.term());
        let log = node.log();
        let last = log.last_index();
        let body = match &self.body {
            BodyM::RequestVote {
                last_log_index,
                last_log_term,
            } => Body::RequestVote {
                last_log_index: last_log_index.at(last),
                last_log_term: last_log_term.at(log.last_term()),
            },
            BodyM::RequestVoteResponse { granted } => {
                Body::RequestVoteResponse { granted: *granted }
            }
            BodyM::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries: drawn,
                leader_commit,
            } => {
                let prev_index = prev_log_index.at(last);
                let prev_term = prev_log_term.at(log.term(prev_index).unwrap_or(term));
                Body::AppendEntries {
                    prev_log_index: prev_index,
                    prev_log_term: prev_term,
                    entries: entries(&drawn.0, prev_index, prev_term, me),
                    leader_commit: leader_commit.at(node.commit_index()),
                }
            }
            BodyM::AppendEntriesResponse {
                success,
                match_index,
                conflict_index,
                conflict_term,
            } => {
                let match_index = match_index.at(last);
                Body::AppendEntriesResponse {
                    success: *success,
                    match_index,
                    conflict_index: conflict_index.at(match_index),
                    conflict_term: conflict_term.map(|t| t.at(term)),
                }
            }
            body => snapshot_body(body, node, term),
        };
        Message {
            from: self.from.id(me),
            to: self.to.map_or(me, |p| p.id(me)),
            term,
            body,
        }
    }
}

fn snapshot_body(body: &BodyM, node: &Node, term: Term) -> Body {
    let snapshot_index = node.snapshot().map_or(0, |s| s.index);
    match body {
        BodyM::InstallSnapshot {
            last_included_index,
            last_included_term,
            membership,
            size_bytes,
            offset,
            data,
        } => Body::InstallSnapshot {
            last_included_index: last_included_index.at(node.commit_index().saturating_add(1)),
            last_included_term: last_included_term.at(term),
            membership: Box::new(membership.build(node.id())),
            size_bytes: size_bytes.at(data.0.len() as u64),
            offset: offset.at(0),
            data: data.0.clone(),
        },
        BodyM::InstallSnapshotResponse {
            last_included_index,
            offset_next,
        } => Body::InstallSnapshotResponse {
            last_included_index: last_included_index.at(snapshot_index),
            offset_next: offset_next.at(0),
        },
        _ => unreachable!("the other bodies are built in MessageM::build"),
    }
}

// ---- The host ------------------------------------------------------------------------------

/// What the host has made durable, written from each `Ready` as its documentation says.
struct Disk {
    hard_state: HardState,
    snapshot: Option<Snapshot>,
    entries: BTreeMap<Index, Entry>,
}

impl Disk {
    fn snapshot_index(&self) -> Index {
        self.snapshot.as_ref().map_or(0, |s| s.index)
    }

    /// Persists `hard_state`, then `snapshot`, then `log_write`.
    fn write(&mut self, ready: &Ready) {
        if let Some(hard_state) = ready.hard_state {
            self.hard_state = hard_state;
        }
        if let Some(s) = &ready.snapshot {
            // Figure 13: keep the entries after the snapshot only if the log holds its last
            // entry with the same term.
            let holds_last = self.entries.get(&s.index).is_some_and(|e| e.term == s.term);
            self.entries = match holds_last {
                true => self.entries.split_off(&(s.index + 1)),
                false => BTreeMap::new(),
            };
            self.snapshot = Some(s.clone());
        }
        if let Some(write) = &ready.log_write {
            self.entries.split_off(&write.from_index);
            for (position, entry) in write.entries.iter().enumerate() {
                assert_eq!(
                    entry.index,
                    write.from_index + position as u64,
                    "a log write's entries are consecutive from its from_index"
                );
                self.entries.insert(entry.index, entry.clone());
            }
        }
    }

    /// The entries after the snapshot, as a restarted node is handed them.
    fn entries_after_snapshot(&self) -> Vec<Entry> {
        let from = self.snapshot_index() + 1;
        self.entries.range(from..).map(|(_, e)| e.clone()).collect()
    }
}

/// What a rejected input must leave unchanged.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    term: Term,
    vote: Option<NodeId>,
    role: Role,
    leader: Option<NodeId>,
    commit: Index,
    last_index: Index,
    last_term: Term,
    deadline_ns: u64,
    snapshot_index: Option<Index>,
}

impl Observed {
    fn of(node: &Node) -> Observed {
        Observed {
            term: node.term(),
            vote: node.vote(),
            role: node.role(),
            leader: node.leader(),
            commit: node.commit_index(),
            last_index: node.log().last_index(),
            last_term: node.log().last_term(),
            deadline_ns: node.next_deadline_ns(),
            snapshot_index: node.snapshot().map(|s| s.index),
        }
    }
}

/// Candidate, then leader, then follower: the order in which a node may hold the roles of one
/// term (a term starts with a campaign or with a message from its leader or candidate).
fn role_rank(role: Role) -> u8 {
    match role {
        Role::Candidate => 0,
        Role::Leader => 1,
        Role::Follower => 2,
    }
}

struct Harness {
    config: Config,
    node: Node,
    seed: u64,
    restarts: u64,
    now_ns: u64,
    disk: Disk,
    /// Whether the node's invariants are checked: a node without a planted mutation. A
    /// mutated node breaks some of them by design (`VoteNotPersisted` writes a hard state
    /// without its vote), so it is only held to what `raftsim bugs` needs of it: no input
    /// panics it.
    checked: bool,
    /// Set when a mutated node wrote state it cannot restore from: the run ends there.
    halted: bool,
    /// Entries through here were handed over in `Ready::committed` (or by a snapshot).
    applied: Index,
    term: Term,
    commit: Index,
    rank: u8,
}

fn rng(seed: u64) -> Box<ChaCha8Rng> {
    Box::new(ChaCha8Rng::seed_from_u64(seed))
}

impl Harness {
    /// The node restored from the input's durable state; `None` if `restore` refused it.
    fn restore(input: &FuzzInput) -> Option<Harness> {
        let config = input.config.build();
        let me = config.id;
        let d = &input.durable;
        let snapshot = d.snapshot.as_ref().map(|s| Snapshot {
            index: s.index.at(0),
            term: s.term.at(0),
            membership: s.membership.build(me),
            data: s.data.0.clone(),
        });
        let (snapshot_index, snapshot_term) =
            snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
        let entries = entries(&d.entries.0, snapshot_index, snapshot_term, me);
        let (last_index, last_term) = entries
            .last()
            .map_or((snapshot_index, snapshot_term), |e| (e.index, e.term));
        let hard_state = HardState {
            term: d.term.at(last_term),
            vote: d.vote.map(|p| p.id(me)),
            commit: d.commit.at(last_index),
        };
        let now_ns = u64::from(input.start_ns);
        let restored = Node::restore(
            config.clone(),
            hard_state,
            snapshot.clone(),
            entries.clone(),
            rng(input.seed),
            now_ns,
        );
        if tracing() {
            eprintln!(
                "restore {config:?} {hard_state:?} -> {:?}",
                restored.as_ref().err()
            );
        }
        let node = restored.ok()?;
        let checked = config.mutation.is_none();
        let disk = Disk {
            hard_state,
            snapshot,
            entries: entries.into_iter().map(|e| (e.index, e)).collect(),
        };
        let mut harness = Harness {
            applied: disk.snapshot_index(),
            term: node.term(),
            commit: node.commit_index(),
            rank: role_rank(node.role()),
            config,
            node,
            seed: input.seed,
            restarts: 0,
            now_ns,
            disk,
            checked,
            halted: false,
        };
        harness.check_state();
        harness.take_ready(None);
        Some(harness)
    }

    /// Feeds one input to the node, then takes, checks and persists the `Ready`.
    fn apply(&mut self, input: &InputM) {
        let before = Observed::of(&self.node);
        let rejected = match input {
            InputM::Step(m) => {
                let msg = m.build(&self.node);
                self.node
                    .step(self.now_ns, msg)
                    .err()
                    .map(|e| e.to_string())
            }
            InputM::Tick(advance) => {
                self.advance(advance);
                self.node.tick(self.now_ns);
                None
            }
            InputM::Propose(data) => self.propose(data.0.clone()),
            InputM::LogSynced { index, term } => {
                let log = self.node.log();
                let index = index.at(log.last_index());
                let term = term.map_or(log.term(index).unwrap_or(0), |t| t.at(self.node.term()));
                self.node.log_synced(index, term);
                None
            }
            InputM::SyncAll => {
                let log = self.node.log();
                self.node.log_synced(log.last_index(), log.last_term());
                None
            }
            InputM::Compact { index, data } => {
                let index = index.at(self.applied);
                self.node
                    .compact(index, data.0.clone())
                    .err()
                    .map(|e| e.to_string())
            }
            InputM::ChangeMembership { add, remove } => {
                let me = self.node.id();
                let (add, remove) = (ids(&add.0, me), ids(&remove.0, me));
                self.node
                    .change_membership(&add, &remove)
                    .err()
                    .map(|e| e.to_string())
            }
            InputM::Restart => {
                self.restart();
                None
            }
        };
        if tracing() {
            let rejected = rejected.as_deref().unwrap_or("ok");
            eprintln!(
                "{input:?}\n  -> {rejected}; {:?} at {} ns",
                self.node, self.now_ns
            );
        }
        if self.halted {
            return;
        }
        if let Some(why) = rejected.as_ref().filter(|_| self.checked) {
            let after = Observed::of(&self.node);
            assert_eq!(before, after, "a rejected input ({why}) changed the node");
        }
        self.check_state();
        self.take_ready(rejected.as_deref());
    }

    fn advance(&mut self, advance: &Advance) {
        self.now_ns = match advance {
            Advance::ToDeadline => self.now_ns.max(self.node.next_deadline_ns()),
            Advance::Ns(ns) => self.now_ns + u64::from(*ns),
            Advance::Any(ns) => self.now_ns + ns % ADVANCE_NS_MAX,
        };
    }

    /// Proposes `data`; an accepted command is the last entry, of the current term.
    fn propose(&mut self, data: Vec<u8>) -> Option<String> {
        let index = match self.node.propose(data.clone()) {
            Ok(index) => index,
            Err(e) => return Some(e.to_string()),
        };
        if !self.checked {
            return None;
        }
        assert_eq!(
            self.node.role(),
            Role::Leader,
            "only a leader accepts a proposal"
        );
        let log = self.node.log();
        assert_eq!(index, log.last_index(), "a proposal is appended at the end");
        let expected = Entry {
            term: self.node.term(),
            index,
            payload: Payload::Command(data.into()),
        };
        assert_eq!(log.entry(index), Some(&expected), "the proposed entry");
        None
    }

    /// A crash: the node is rebuilt from the disk, which must restore.
    fn restart(&mut self) {
        self.restarts += 1;
        let restored = Node::restore(
            self.config.clone(),
            self.disk.hard_state,
            self.disk.snapshot.clone(),
            self.disk.entries_after_snapshot(),
            rng(self.seed ^ self.restarts),
            self.now_ns,
        );
        self.node = match restored {
            Ok(node) => node,
            // A planted bug may persist a log shorter than its commit index, and the node
            // then refuses it, as it should.
            Err(_) if !self.checked => {
                self.halted = true;
                return;
            }
            Err(e) => panic!("a node cannot restore the state it persisted: {e}"),
        };
        // The state machine is rebuilt from the snapshot; committed entries come again.
        self.applied = self.disk.snapshot_index();
    }

    /// Checks the node's state against what the harness saw before.
    fn check_state(&mut self) {
        if !self.checked {
            return;
        }
        let node = &self.node;
        let (term, commit, role) = (node.term(), node.commit_index(), node.role());
        assert!(
            term >= self.term,
            "term went back from {} to {term}",
            self.term
        );
        assert!(
            commit >= self.commit,
            "commit went back from {} to {commit}",
            self.commit
        );
        let last = node.log().last_index();
        assert!(
            commit <= last,
            "commit index {commit} beyond the last index {last}"
        );
        let last_term = node.log().last_term();
        assert!(
            last_term <= term,
            "log term {last_term} above the current term {term}"
        );
        let rank = role_rank(role);
        assert!(
            term > self.term || rank >= self.rank,
            "in term {term} the node went from {:?} back to {role:?}",
            ["candidate", "leader", "follower"][usize::from(self.rank)]
        );
        let me = node.id();
        match role {
            Role::Leader | Role::Candidate => {
                assert_eq!(node.vote(), Some(me), "a {role:?} voted for itself")
            }
            Role::Follower => assert_ne!(node.leader(), Some(me), "a follower is not the leader"),
        }
        assert_eq!(
            role == Role::Leader,
            node.leader() == Some(me),
            "leader() and role()"
        );
        (self.term, self.commit, self.rank) = (term, commit, rank);
    }

    /// Takes the `Ready`, checks it, writes it to the disk and checks the disk.
    fn take_ready(&mut self, rejected: Option<&str>) {
        let ready = self.node.take_ready();
        if !self.checked {
            self.disk.write(&ready);
            return;
        }
        if let Some(why) = rejected {
            assert!(
                ready.is_empty(),
                "a rejected input ({why}) left work: {ready:?}"
            );
        }
        self.check_sync(&ready);
        self.check_committed(&ready);
        self.check_messages(&ready);
        self.disk.write(&ready);
        self.check_disk();
    }

    /// A new term or vote, log entries, or a snapshot from the leader must be durable before
    /// the messages that depend on them leave.
    fn check_sync(&self, ready: &Ready) {
        let node = &self.node;
        if let Some(hs) = ready.hard_state {
            let current = (node.term(), node.vote(), node.commit_index());
            assert_eq!(
                (hs.term, hs.vote, hs.commit),
                current,
                "the Ready's hard state"
            );
        }
        let persisted = self.disk.hard_state;
        let term_or_vote_changed = ready
            .hard_state
            .is_some_and(|hs| (hs.term, hs.vote) != (persisted.term, persisted.vote));
        let needs_sync =
            term_or_vote_changed || ready.log_write.is_some() || ready.snapshot_from_leader;
        assert!(
            !needs_sync || ready.must_sync,
            "a Ready that needs a sync: {ready:?}"
        );
        assert!(
            !ready.snapshot_from_leader || ready.snapshot.is_some(),
            "snapshot_from_leader without a snapshot"
        );
    }

    /// Committed entries come once each, in index order, after the snapshot they follow.
    fn check_committed(&mut self, ready: &Ready) {
        if let Some(s) = &ready.snapshot {
            if ready.snapshot_from_leader {
                assert!(
                    s.index > self.applied,
                    "a leader's snapshot {} at or below applied {}",
                    s.index,
                    self.applied
                );
                self.applied = s.index;
            } else {
                assert!(
                    s.index <= self.applied,
                    "a compaction at {} beyond applied {}",
                    s.index,
                    self.applied
                );
            }
        }
        for entry in &ready.committed {
            assert_eq!(
                entry.index,
                self.applied + 1,
                "committed entries out of order"
            );
            self.applied = entry.index;
        }
        let commit = self.node.commit_index();
        assert!(
            self.applied <= commit,
            "applied {} beyond commit {commit}",
            self.applied
        );
    }

    /// Every message is from this node, to another, and well formed for its receiver.
    fn check_messages(&self, ready: &Ready) {
        let me = self.node.id();
        for msg in &ready.messages {
            assert_eq!(msg.from, me, "a message from another node: {msg:?}");
            assert!(
                msg.to != me && msg.to != 0,
                "a message to itself or to node 0: {msg:?}"
            );
            let term_ok = msg.term >= 1 && msg.term <= self.node.term();
            assert!(term_ok, "a message of term 0 or of a later term: {msg:?}");
            match &msg.body {
                Body::AppendEntries {
                    prev_log_index,
                    prev_log_term,
                    entries,
                    ..
                } => {
                    let why = "an AppendEntries its receiver refuses as malformed";
                    let count_ok = entries.len() as u64 <= self.config.msg_entries_max;
                    let prev_ok = (*prev_log_index == 0) == (*prev_log_term == 0);
                    assert!(count_ok && prev_ok, "{why}: {msg:?}");
                    let (mut index, mut term) = (*prev_log_index, *prev_log_term);
                    for e in entries {
                        let next = e.index == index + 1 && e.term >= term.max(1);
                        assert!(next && e.term <= msg.term, "{why}: {msg:?}");
                        (index, term) = (e.index, e.term);
                    }
                }
                Body::InstallSnapshot {
                    size_bytes,
                    offset,
                    data,
                    ..
                } => {
                    let chunk_ok = data.len() as u64 <= self.config.snapshot_chunk_bytes_max;
                    let within = offset + data.len() as u64 <= *size_bytes;
                    assert!(chunk_ok && within, "a malformed snapshot chunk: {msg:?}");
                }
                _ => {}
            }
        }
    }

    /// The disk holds what the node holds: its hard state, its snapshot, and its log after
    /// the snapshot.
    fn check_disk(&self) {
        let node = &self.node;
        let disk = &self.disk;
        let hs = disk.hard_state;
        let current = (node.term(), node.vote(), node.commit_index());
        assert_eq!(
            (hs.term, hs.vote, hs.commit),
            current,
            "the persisted hard state"
        );
        let snapshot = node.snapshot().map(|s| (s.index, s.term));
        let persisted = disk.snapshot.as_ref().map(|s| (s.index, s.term));
        assert_eq!(snapshot, persisted, "the persisted snapshot");
        let log = node.log();
        for index in disk.snapshot_index() + 1..=log.last_index() {
            assert_eq!(
                disk.entries.get(&index),
                log.entry(index),
                "the persisted entry {index}"
            );
        }
        let disk_last = disk.entries.keys().next_back().copied().unwrap_or(0);
        assert!(
            disk_last <= log.last_index(),
            "the disk holds entries past the log's end"
        );
    }
}
