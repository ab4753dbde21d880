//! Fuzz inputs: a scenario drawn from arbitrary bytes, for coverage-guided fuzzing.
//!
//! libFuzzer hands a fuzz target bytes. [`from_bytes`] reads them into a [`FuzzInput`] the way
//! `libfuzzer-sys` decodes the argument of `fuzz_target!(|input: FuzzInput| ...)`: inputs
//! shorter than the type's minimum size are skipped, the rest go through
//! `arbitrary::Unstructured::new` and `FuzzInput::arbitrary_take_rest`. [`FuzzInput::to_toml`]
//! writes the input as a scenario file, and [`FuzzInput::scenario`] is that very file parsed,
//! so the scenario a fuzz target runs (with its own `seed` and [`crate::RunOptions::default`])
//! is exactly the one `raftsim from-fuzz ARTIFACT -o FILE` writes and `raftsim run FILE`
//! replays.
//!
//! Every raw field is mapped into a valid range, written beside the field, so every input of
//! at least the minimum size gives a valid scenario. Membership requests that make no sense
//! when they are tried (adding a server that is already a voter, removing one that is not)
//! are refused by the leader and abandoned by the simulator, as in any scenario file.
//!
//! The file has no `[liveness]` section: a fuzzing run is 2 to 8 simulated seconds, too short
//! for a fault window followed by the quiet period and generous deadlines (a leader within
//! 5 s, clients within 10 s) that a liveness check needs. A fuzz finding is a safety
//! violation; liveness is the business of the long scenarios with a quiet period.

use arbitrary::{Arbitrary, Unstructured};
use std::fmt::Write as _;

use crate::scenario::{format_duration, Scenario, ScenarioError};

/// Most `[[schedule]]` actions a fuzz input gives; the actions after these are ignored.
pub const SCHEDULE_LEN_MAX: usize = 16;

/// The file name [`FuzzInput::scenario`] parses under (and so the name in its messages).
pub const FILE_NAME: &str = "fuzz-input.toml";

const NS_PER_MS: u64 = 1_000_000;

/// A scenario as raw numbers. Each field says how it becomes a value of the scenario file.
#[derive(Arbitrary, Debug, Clone)]
pub struct FuzzInput {
    /// `seed`: its low 63 bits (a TOML integer is signed).
    pub seed: u64,
    /// `nodes = 3 + nodes % 3`: 3..=5.
    pub nodes: u8,
    /// `[membership] initial = nodes - spares % (nodes - 2)`: 3..=nodes. The other nodes are
    /// spares, down and empty until an `add-server` brings them in.
    pub spares: u8,
    /// `duration = 2 + duration % 7` seconds: 2..=8 s.
    pub duration: u8,
    /// `[raft] snapshot_entries`: 0 (no compaction), 20 or 50, chosen by the value modulo 3.
    pub snapshot_entries: u8,
    /// `[raft] snapshot_chunk_bytes`: 64, 256 or 65536.
    pub snapshot_chunk_bytes: u8,
    /// `[raft] snapshot_catch_up_entries`: 0, 8 or 64 (low values send snapshots sooner).
    pub snapshot_catch_up_entries: u8,
    /// `[network] loss = (loss % 21) / 100`: 0.0..=0.2.
    pub loss: u8,
    /// `[network] duplicate`, as `loss`: 0.0..=0.2.
    pub duplicate: u8,
    /// `[network] reorder`, as `loss`: 0.0..=0.2.
    pub reorder: u8,
    /// `[disk] torn_writes`: 0.0, 0.5 or 1.0.
    pub torn_writes: u8,
    /// `[clients] count = 1 + clients % 4`: 1..=4.
    pub clients: u8,
    /// `[clients] operations = 20 + operations % 181`: 20..=200 (short runs: many runs a
    /// second matter more to a fuzzer than long ones).
    pub operations: u16,
    /// `[clients] keys = 1 + keys % 4`: 1..=4.
    pub keys: u8,
    /// `[clients] timeout = 100 + timeout % 301` ms: 100..=400 ms.
    pub timeout: u16,
    /// `[clients] attempts_max = 20 + attempts_max % 21`: 20..=40. Clients start at 300 ms.
    pub attempts_max: u8,
    /// The `[[schedule]]`: the first [`SCHEDULE_LEN_MAX`] actions.
    pub schedule: Vec<FuzzAction>,
}

/// One `[[schedule]]` action as raw numbers.
#[derive(Arbitrary, Debug, Clone)]
pub struct FuzzAction {
    /// `at = at % window` ms, where the window is the run less its last second.
    pub at: u16,
    /// What happens.
    pub kind: FuzzActionKind,
}

/// A scheduled action as raw numbers. A `node` field becomes `1 + node % nodes`; a `length`
/// field becomes a duration in the range given on its variant; `from` and `to` become two
/// disjoint non-empty node lists (see [`FuzzActionKind::OneWay`]).
#[derive(Arbitrary, Debug, Clone)]
pub enum FuzzActionKind {
    /// `crash`, with `torn = true` when `torn`.
    Crash {
        /// The node.
        node: u8,
        /// Keep a torn prefix of the unsynced writes.
        torn: bool,
    },
    /// `restart`.
    Restart {
        /// The node.
        node: u8,
    },
    /// `partition`: bits `2i..2i+2` of `groups` put node `i + 1` in one of four groups; the
    /// empty groups are left out, and if one group would hold every node, the last node is
    /// cut off on its own.
    Partition {
        /// Two bits per node.
        groups: u16,
    },
    /// `heal`.
    Heal,
    /// `one-way`: `from` is a non-empty proper subset of the nodes (bit `i` = node `i + 1`),
    /// `to` the nodes of `to`'s bits outside `from`, or all of them if that is empty.
    OneWay {
        /// Senders, as a bitmask.
        from: u8,
        /// Receivers, as a bitmask.
        to: u8,
    },
    /// `bridge`: `node` is the bridge; `sides` splits the other nodes into two non-empty
    /// sides (bit `i` over the others in order: set on the first side).
    Bridge {
        /// The bridge node.
        node: u8,
        /// The sides, as a bitmask.
        sides: u8,
    },
    /// `clog` for 10 ms..=2 s, `from` and `to` as in `one-way`.
    Clog {
        /// Senders, as a bitmask.
        from: u8,
        /// Receivers, as a bitmask.
        to: u8,
        /// How long.
        length: u16,
    },
    /// `pause` for 10 ms..=2 s.
    Pause {
        /// The node.
        node: u8,
        /// How long.
        length: u16,
    },
    /// `clock-jump` by 1 ms..=3 s.
    ClockJump {
        /// The node.
        node: u8,
        /// How far.
        length: u16,
    },
    /// `isolate-leader` for 100 ms..=3 s.
    IsolateLeader {
        /// How long.
        length: u16,
    },
    /// `crash-leader` for 100 ms..=3 s.
    CrashLeader {
        /// How long it stays down.
        length: u16,
    },
    /// `partition-after-append` for 100 ms..=3 s.
    PartitionAfterAppend {
        /// How long the isolation lasts.
        length: u16,
    },
    /// `drop-quorum-ack`.
    DropQuorumAck,
    /// `crash-before-sync` for 100 ms..=3 s, of `node` or of any node.
    CrashBeforeSync {
        /// The node, or any.
        node: Option<u8>,
        /// How long it stays down.
        length: u16,
    },
    /// `network` with `loss` and `duplicate`, each mapped as `[network] loss`: 0.0..=0.2.
    Network {
        /// The new loss probability.
        loss: u8,
        /// The new duplication probability.
        duplicate: u8,
    },
    /// `add-server`.
    AddServer {
        /// The server.
        node: u8,
    },
    /// `remove-server`.
    RemoveServer {
        /// The server.
        node: u8,
    },
    /// `replace-server`, `from` and `to` as in `one-way`.
    ReplaceServer {
        /// Servers removed, as a bitmask.
        from: u8,
        /// Servers added, as a bitmask.
        to: u8,
    },
    /// `replace-leader`.
    ReplaceLeader {
        /// The server added.
        node: u8,
    },
}

/// Decodes a fuzz input as `libfuzzer-sys` decodes the argument of
/// `fuzz_target!(|input: FuzzInput| ...)`, byte for byte. Bytes fewer than
/// `FuzzInput::size_hint(0).0` are an error: the fuzz target never runs on them.
pub fn from_bytes(bytes: &[u8]) -> Result<FuzzInput, String> {
    let len_min = <FuzzInput as Arbitrary>::size_hint(0).0;
    if bytes.len() < len_min {
        return Err(format!(
            "{} bytes is too short for a fuzz input: it takes at least {len_min} \
             (libFuzzer never runs the fuzz target on fewer)",
            bytes.len()
        ));
    }
    FuzzInput::arbitrary_take_rest(Unstructured::new(bytes))
        .map_err(|e| format!("not a fuzz input: {e}"))
}

impl FuzzInput {
    /// The scenario file this input stands for.
    pub fn to_toml(&self) -> String {
        let nodes = self.node_count();
        let duration_s = 2 + u64::from(self.duration % 7);
        let mut actions: Vec<(u64, String)> = (self.schedule.iter())
            .take(SCHEDULE_LEN_MAX)
            .map(|a| a.to_toml(nodes, duration_s))
            .collect();
        // The file lists the actions in time order, as the simulator takes them.
        actions.sort_by_key(|(at_ns, _)| *at_ns);
        let mut out = String::new();
        out.push_str("# Made by `raftsim from-fuzz` from a fuzz input (sim::fuzz_input).\n");
        out.push_str("# Replay it with `raftsim run FILE`.\n");
        out.push_str("name = \"fuzz-input\"\n");
        let _ = writeln!(out, "seed = {}", self.seed & (i64::MAX as u64));
        let _ = writeln!(out, "nodes = {nodes}");
        let _ = writeln!(out, "duration = \"{duration_s}s\"");
        self.settings_toml(&mut out, nodes);
        for (_, action) in &actions {
            out.push('\n');
            out.push_str(action);
        }
        out
    }

    /// [`FuzzInput::to_toml`] parsed as the file [`FILE_NAME`].
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        crate::scenario::parse(FILE_NAME, &self.to_toml())
    }

    fn node_count(&self) -> u64 {
        3 + u64::from(self.nodes % 3)
    }

    /// The sections before the schedule.
    fn settings_toml(&self, out: &mut String, nodes: u64) {
        let initial = nodes - u64::from(self.spares) % (nodes - 2);
        let _ = write!(
            out,
            "\n[raft]\nsnapshot_entries = {}\nsnapshot_chunk_bytes = {}\n\
             snapshot_catch_up_entries = {}\n",
            pick(self.snapshot_entries, &[0, 20, 50]),
            pick(self.snapshot_chunk_bytes, &[64, 256, 65_536]),
            pick(self.snapshot_catch_up_entries, &[0, 8, 64]),
        );
        let _ = write!(out, "\n[membership]\ninitial = {initial}\n");
        let _ = write!(
            out,
            "\n[network]\nloss = {:?}\nduplicate = {:?}\nreorder = {:?}\n",
            probability(self.loss),
            probability(self.duplicate),
            probability(self.reorder),
        );
        let torn = pick(self.torn_writes, &[0.0, 0.5, 1.0]);
        let _ = write!(out, "\n[disk]\ntorn_writes = {torn:?}\n");
        let _ = write!(
            out,
            "\n[clients]\ncount = {}\noperations = {}\nkeys = {}\ntimeout = \"{}ms\"\n\
             attempts_max = {}\nstart = \"300ms\"\n",
            1 + self.clients % 4,
            20 + self.operations % 181,
            1 + self.keys % 4,
            100 + self.timeout % 301,
            20 + self.attempts_max % 21,
        );
    }
}

impl FuzzAction {
    /// The time of the action and its `[[schedule]]` table.
    fn to_toml(&self, nodes: u64, duration_s: u64) -> (u64, String) {
        let window_ms = (duration_s - 1) * 1000;
        let at_ns = (u64::from(self.at) % window_ms) * NS_PER_MS;
        let (name, fields) = self.kind.fields(nodes);
        let mut out = format!(
            "[[schedule]]\nat = \"{}\"\naction = \"{name}\"\n",
            format_duration(at_ns)
        );
        for (key, value) in fields {
            let _ = writeln!(out, "{key} = {value}");
        }
        (at_ns, out)
    }
}

impl FuzzActionKind {
    /// The action's name and its fields as TOML values, for a cluster of `nodes` (3..=5).
    fn fields(&self, nodes: u64) -> (&'static str, Vec<(&'static str, String)>) {
        let node = |raw: u8| (1 + u64::from(raw) % nodes).to_string();
        let ms = |raw: u16, lo: u64, hi: u64| {
            let ms = lo + u64::from(raw) % (hi - lo + 1);
            format!("\"{}\"", format_duration(ms * NS_PER_MS))
        };
        let links = |from: u8, to: u8| {
            let (from, to) = disjoint(from, to, nodes);
            vec![("from", list(&from)), ("to", list(&to))]
        };
        match *self {
            FuzzActionKind::Crash { node: n, torn } => {
                let mut fields = vec![("node", node(n))];
                if torn {
                    fields.push(("torn", "true".to_string()));
                }
                ("crash", fields)
            }
            FuzzActionKind::Restart { node: n } => ("restart", vec![("node", node(n))]),
            FuzzActionKind::Partition { groups } => {
                let groups: Vec<String> =
                    partition(groups, nodes).iter().map(|g| list(g)).collect();
                let groups = format!("[{}]", groups.join(", "));
                ("partition", vec![("groups", groups)])
            }
            FuzzActionKind::Heal => ("heal", Vec::new()),
            FuzzActionKind::OneWay { from, to } => ("one-way", links(from, to)),
            FuzzActionKind::Bridge { node: n, sides } => {
                let bridge = 1 + u64::from(n) % nodes;
                let (a, b) = bridge_sides(bridge, sides, nodes);
                let groups = format!("[{}, {}]", list(&a), list(&b));
                (
                    "bridge",
                    vec![("groups", groups), ("node", bridge.to_string())],
                )
            }
            FuzzActionKind::Clog { from, to, length } => {
                let mut fields = links(from, to);
                fields.push(("for", ms(length, 10, 2000)));
                ("clog", fields)
            }
            FuzzActionKind::Pause { node: n, length } => (
                "pause",
                vec![("node", node(n)), ("for", ms(length, 10, 2000))],
            ),
            FuzzActionKind::ClockJump { node: n, length } => (
                "clock-jump",
                vec![("node", node(n)), ("by", ms(length, 1, 3000))],
            ),
            FuzzActionKind::IsolateLeader { length } => {
                ("isolate-leader", vec![("for", ms(length, 100, 3000))])
            }
            FuzzActionKind::CrashLeader { length } => {
                ("crash-leader", vec![("for", ms(length, 100, 3000))])
            }
            FuzzActionKind::PartitionAfterAppend { length } => (
                "partition-after-append",
                vec![("for", ms(length, 100, 3000))],
            ),
            FuzzActionKind::DropQuorumAck => ("drop-quorum-ack", Vec::new()),
            FuzzActionKind::CrashBeforeSync { node: n, length } => {
                let mut fields = vec![("for", ms(length, 100, 3000))];
                if let Some(n) = n {
                    fields.push(("node", node(n)));
                }
                ("crash-before-sync", fields)
            }
            FuzzActionKind::Network { loss, duplicate } => (
                "network",
                vec![
                    ("loss", format!("{:?}", probability(loss))),
                    ("duplicate", format!("{:?}", probability(duplicate))),
                ],
            ),
            FuzzActionKind::AddServer { node: n } => ("add-server", vec![("node", node(n))]),
            FuzzActionKind::RemoveServer { node: n } => ("remove-server", vec![("node", node(n))]),
            FuzzActionKind::ReplaceServer { from, to } => ("replace-server", links(from, to)),
            FuzzActionKind::ReplaceLeader { node: n } => {
                ("replace-leader", vec![("node", node(n))])
            }
        }
    }
}

/// `choices[raw % len]`.
fn pick<T: Copy>(raw: u8, choices: &[T]) -> T {
    choices[usize::from(raw) % choices.len()]
}

/// A probability in hundredths, 0.0..=0.2.
fn probability(raw: u8) -> f64 {
    f64::from(raw % 21) / 100.0
}

/// A TOML list of node ids.
fn list(ids: &[u64]) -> String {
    let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!("[{}]", ids.join(", "))
}

/// The nodes whose bits are set in `mask` (bit `i` = node `i + 1`).
fn members(mask: u32, nodes: u64) -> Vec<u64> {
    (1..=nodes).filter(|id| mask >> (id - 1) & 1 == 1).collect()
}

/// Two disjoint non-empty node lists: `from` a proper subset, `to` within the rest.
fn disjoint(from: u8, to: u8, nodes: u64) -> (Vec<u64>, Vec<u64>) {
    let full = (1u32 << nodes) - 1;
    // 1..=full-1: neither empty nor every node, so something is left for `to`.
    let from = u32::from(from) % (full - 1) + 1;
    let rest = full & !from;
    let to = match u32::from(to) & rest {
        0 => rest,
        to => to,
    };
    (members(from, nodes), members(to, nodes))
}

/// The groups of a partition: node `i + 1` in group `(raw >> 2i) & 3`, empty groups left out,
/// and at least two groups.
fn partition(raw: u16, nodes: u64) -> Vec<Vec<u64>> {
    let mut groups: Vec<Vec<u64>> = vec![Vec::new(); 4];
    for id in 1..=nodes {
        groups[usize::from((raw >> (2 * (id - 1))) & 3)].push(id);
    }
    groups.retain(|g| !g.is_empty());
    if groups.len() == 1 {
        let last = groups[0].pop().expect("a cluster has nodes");
        groups.push(vec![last]);
    }
    groups
}

/// The two sides of a bridge at `bridge`: the other nodes split by `raw`, both non-empty.
fn bridge_sides(bridge: u64, raw: u8, nodes: u64) -> (Vec<u64>, Vec<u64>) {
    let others: Vec<u64> = (1..=nodes).filter(|&id| id != bridge).collect();
    let splits = (1u32 << others.len()) - 2;
    let mask = u32::from(raw) % splits + 1;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, &id) in others.iter().enumerate() {
        if mask >> i & 1 == 1 {
            a.push(id);
        } else {
            b.push(id);
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse, Action};
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const NS_PER_S: u64 = 1_000_000_000;

    /// `count` pseudo-random byte strings of 0..512 bytes, the same on every run.
    fn byte_strings(seed: u64, count: usize) -> Vec<Vec<u8>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                let mut bytes = vec![0u8; rng.gen_range(0..512)];
                rng.fill_bytes(&mut bytes);
                bytes
            })
            .collect()
    }

    fn len_min() -> usize {
        <FuzzInput as Arbitrary>::size_hint(0).0
    }

    /// The scenario keeps to the ranges the fields promise.
    fn check_ranges(s: &Scenario) {
        assert!((3..=5).contains(&s.nodes), "nodes {}", s.nodes);
        assert!((3..=s.nodes).contains(&s.membership.initial));
        assert!((2 * NS_PER_S..=8 * NS_PER_S).contains(&s.duration_ns));
        assert_eq!(s.duration_ns % NS_PER_S, 0);
        assert!(s.seed <= i64::MAX as u64);
        assert!([0, 20, 50].contains(&s.raft.snapshot_entries));
        assert!([64, 256, 65_536].contains(&s.raft.snapshot_chunk_bytes));
        for p in [s.network.loss, s.network.duplicate, s.network.reorder] {
            assert!((0.0..=0.2).contains(&p), "probability {p}");
        }
        assert!([0.0, 0.5, 1.0].contains(&s.disk.torn_writes));
        let c = &s.clients;
        assert!((1..=4).contains(&c.count) && (1..=4).contains(&c.keys));
        assert!((20..=200).contains(&c.operations));
        assert!((100 * NS_PER_MS..=400 * NS_PER_MS).contains(&c.timeout_ns));
        assert!((20..=40).contains(&c.attempts_max));
        assert_eq!(c.start_ns, 300 * NS_PER_MS);
        assert_eq!(s.liveness.leader_within_ns, None);
        assert!(s.schedule.len() <= SCHEDULE_LEN_MAX);
        for a in &s.schedule {
            assert!(
                a.at_ns < s.duration_ns - NS_PER_S,
                "{a:?} in its last second"
            );
            if let Action::Network {
                loss, duplicate, ..
            } = a.action
            {
                assert!(loss.is_some_and(|p| p <= 0.2) && duplicate.is_some_and(|p| p <= 0.2));
            }
        }
    }

    #[test]
    fn random_bytes_give_valid_scenarios_that_read_back_equal() {
        let (mut decoded, mut valid, mut scheduled, mut longest) = (0, 0, 0, 0);
        for bytes in byte_strings(0xf022, 2000) {
            let Ok(input) = from_bytes(&bytes) else {
                assert!(bytes.len() < len_min(), "{} bytes refused", bytes.len());
                continue;
            };
            decoded += 1;
            let Ok(scenario) = input.scenario() else {
                continue;
            };
            valid += 1;
            let text = input.to_toml();
            assert_eq!(parse(FILE_NAME, &text), Ok(scenario.clone()), "{text}");
            let again = from_bytes(&bytes).expect("decoded once");
            assert_eq!(again.to_toml(), text, "the same bytes, the same file");
            check_ranges(&scenario);
            scheduled += usize::from(!scenario.schedule.is_empty());
            longest = longest.max(scenario.schedule.len());
        }
        // Only the strings shorter than the minimum (about 6 %) are refused.
        assert!(decoded >= 1800, "{decoded} of 2000 decoded");
        // Every mapping is meant to give a valid scenario: the 95 % floor has room to spare.
        assert_eq!(
            valid, decoded,
            "{valid} of {decoded} inputs gave a valid scenario"
        );
        // `arbitrary` reads a flag byte before each action: half the inputs have a schedule.
        assert!(
            scheduled >= decoded / 3,
            "{scheduled} of {decoded} with a schedule"
        );
        assert!(longest >= 8, "the longest schedule has {longest} actions");
    }

    #[test]
    fn inputs_shorter_than_the_minimum_are_refused() {
        assert!(len_min() > 8, "the minimum is {}", len_min());
        let e = from_bytes(&[]).expect_err("no bytes");
        assert!(e.contains("0 bytes is too short"), "{e}");
        assert!(from_bytes(&vec![7; len_min() - 1]).is_err());
        let input = from_bytes(&vec![7; len_min()]).expect("the minimum decodes");
        assert!(input.scenario().is_ok(), "{}", input.to_toml());
    }

    /// Every kind of action, at the extreme raw values, in every cluster size.
    #[test]
    fn extreme_raw_values_give_valid_scenarios() {
        let raw8 = [0u8, 1, 2, 3, 31, 254, 255];
        let raw16 = [0u16, 1, 999, 1000, 65_534, 65_535];
        let mut kinds = vec![
            FuzzActionKind::Heal,
            FuzzActionKind::DropQuorumAck,
            FuzzActionKind::CrashBeforeSync {
                node: None,
                length: 0,
            },
        ];
        for (&a, &b) in raw8.iter().flat_map(|a| raw8.iter().map(move |b| (a, b))) {
            let l = u16::from(a) * 257;
            kinds.extend([
                FuzzActionKind::Crash {
                    node: a,
                    torn: b % 2 == 1,
                },
                FuzzActionKind::Restart { node: a },
                FuzzActionKind::Partition {
                    groups: u16::from_le_bytes([a, b]),
                },
                FuzzActionKind::OneWay { from: a, to: b },
                FuzzActionKind::Bridge { node: a, sides: b },
                FuzzActionKind::Clog {
                    from: a,
                    to: b,
                    length: l,
                },
                FuzzActionKind::Pause { node: a, length: l },
                FuzzActionKind::ClockJump { node: a, length: l },
                FuzzActionKind::IsolateLeader { length: l },
                FuzzActionKind::CrashLeader { length: l },
                FuzzActionKind::PartitionAfterAppend { length: l },
                FuzzActionKind::CrashBeforeSync {
                    node: Some(a),
                    length: l,
                },
                FuzzActionKind::Network {
                    loss: a,
                    duplicate: b,
                },
                FuzzActionKind::AddServer { node: a },
                FuzzActionKind::RemoveServer { node: a },
                FuzzActionKind::ReplaceServer { from: a, to: b },
                FuzzActionKind::ReplaceLeader { node: a },
            ]);
        }
        for (i, &r) in raw8.iter().enumerate() {
            let input = FuzzInput {
                seed: u64::MAX - i as u64,
                nodes: r,
                spares: r,
                duration: r,
                snapshot_entries: r,
                snapshot_chunk_bytes: r,
                snapshot_catch_up_entries: r,
                loss: r,
                duplicate: r,
                reorder: r,
                torn_writes: r,
                clients: r,
                operations: raw16[i % raw16.len()],
                keys: r,
                timeout: raw16[i % raw16.len()],
                attempts_max: r,
                schedule: Vec::new(),
            };
            for chunk in kinds.chunks(SCHEDULE_LEN_MAX) {
                let schedule = chunk.iter().zip(raw16.iter().cycle());
                let schedule = schedule.map(|(kind, &at)| FuzzAction {
                    at,
                    kind: kind.clone(),
                });
                let input = FuzzInput {
                    schedule: schedule.collect(),
                    ..input.clone()
                };
                let scenario = input
                    .scenario()
                    .unwrap_or_else(|e| panic!("{e}\n{input:?}"));
                check_ranges(&scenario);
                assert_eq!(scenario.schedule.len(), chunk.len());
            }
            let schedule = kinds.iter().map(|kind| FuzzAction {
                at: 0,
                kind: kind.clone(),
            });
            let input = FuzzInput {
                schedule: schedule.collect(),
                ..input.clone()
            };
            let scenario = input
                .scenario()
                .expect("a long schedule is cut, not refused");
            assert_eq!(scenario.schedule.len(), SCHEDULE_LEN_MAX);
        }
    }

    #[test]
    fn partitions_and_bridges_split_the_cluster() {
        for nodes in 3..=5 {
            for raw in 0..=u16::MAX {
                let groups = partition(raw, nodes);
                assert!(groups.len() >= 2, "{raw:#x}: {groups:?}");
                let mut all: Vec<u64> = groups.concat();
                all.sort_unstable();
                assert_eq!(all, (1..=nodes).collect::<Vec<_>>());
            }
            for bridge in 1..=nodes {
                for raw in 0..=u8::MAX {
                    let (a, b) = bridge_sides(bridge, raw, nodes);
                    assert!(!a.is_empty() && !b.is_empty(), "{a:?} {b:?}");
                    assert!(!a.contains(&bridge) && !b.contains(&bridge));
                    assert_eq!(a.len() + b.len() + 1, nodes as usize);
                }
            }
            for (from, to) in (0..=u8::MAX).flat_map(|f| [0, 1, 0x55, 0xff].map(|t| (f, t))) {
                let (f, t) = disjoint(from, to, nodes);
                assert!(!f.is_empty() && !t.is_empty(), "{f:?} {t:?}");
                assert!(f.iter().all(|n| !t.contains(n)));
            }
        }
    }

    /// The protocol is believed correct: short fuzz scenarios pass, and they do exercise it.
    #[test]
    fn short_runs_of_fuzz_scenarios_pass() {
        let (mut runs, mut ops, mut crashes, mut compacted) = (0, 0, 0, 0);
        // Random bytes make short schedules (half have none): keep those of 4 actions or more.
        let inputs = byte_strings(0x5eed, 1000).into_iter();
        let scenarios = inputs.filter_map(|b| from_bytes(&b).ok()?.scenario().ok());
        for scenario in scenarios.filter(|s| s.schedule.len() >= 4).take(20) {
            let outcome = crate::run(&scenario, scenario.seed, crate::RunOptions::default())
                .unwrap_or_else(|e| panic!("{e}\n{}", scenario.to_toml()));
            if let Some(v) = &outcome.violation {
                panic!("{v:?}\nreplay:\n{}", scenario.to_toml());
            }
            runs += 1;
            ops += outcome.client_operations;
            crashes += outcome.stats.crashes;
            compacted += u64::from(scenario.raft.snapshot_entries > 0);
        }
        assert_eq!(runs, 20);
        assert!(
            ops > 0 && crashes > 0 && compacted > 0,
            "{ops} {crashes} {compacted}"
        );
    }
}
