//! Variants of a scenario: the file's own settings changed by one draw, written out as a
//! scenario file so that a finding replays with `raftsim run FILE --seed N`.
//!
//! A variant is the swarm draw over the file's own fault kinds (a random half of them, each at
//! a random intensity), plus protocol-timed faults the file may not name (faults armed on a
//! clock that fire at a protocol moment: right after a leader appends, on the acknowledgement
//! that completes a quorum, between a write and its sync, ...), plus sometimes the generic
//! node and network faults and log compaction. The draw depends only on the hunt's seed base,
//! the scenario's position and the variant's number.

use crate::scenario::{self, FaultSettings, Scenario};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A fault knob: its name in a scenario file's `[faults]` table and where it lives.
type Knob = (&'static str, fn(&mut FaultSettings) -> &mut Option<u64>);

/// Faults timed by the protocol rather than the clock: each is armed at random times and fires
/// at its moment. A variant adds each with probability `TIMED_P`.
const TIMED: &[Knob] = &[
    ("partition_after_append_every", |f| {
        &mut f.partition_after_append_every_ns
    }),
    ("drop_quorum_ack_every", |f| &mut f.drop_quorum_ack_every_ns),
    ("crash_before_sync_every", |f| {
        &mut f.crash_before_sync_every_ns
    }),
    ("crash_leader_every", |f| &mut f.crash_leader_every_ns),
    ("isolate_leader_every", |f| &mut f.isolate_leader_every_ns),
    ("crash_after_send_every", |f| {
        &mut f.crash_after_send_every_ns
    }),
    ("hold_stale_every", |f| &mut f.hold_stale_every_ns),
    ("replay_old_every", |f| &mut f.replay_old_every_ns),
    ("crash_during_snapshot_every", |f| {
        &mut f.crash_during_snapshot_every_ns
    }),
    ("change_while_down_every", |f| {
        &mut f.change_while_down_every_ns
    }),
    ("crash_at_io_every", |f| &mut f.crash_at_io_every_ns),
];

/// Clock-timed faults a variant may add to a file that lacks them, each with `GENERIC_P`.
const GENERIC: &[Knob] = &[
    ("crash_every", |f| &mut f.crash_every_ns),
    ("partition_every", |f| &mut f.partition_every_ns),
    ("pause_every", |f| &mut f.pause_every_ns),
    ("clog_every", |f| &mut f.clog_every_ns),
    ("one_way_every", |f| &mut f.one_way_every_ns),
];

const TIMED_P: f64 = 0.3;
const GENERIC_P: f64 = 0.15;
/// Probability that a variant of a file without compaction compacts its logs.
const COMPACTION_P: f64 = 0.3;
/// Probability that a variant of a file without membership churn changes its voters at
/// random, and the shortest mean interval between changes.
const CHURN_P: f64 = 0.35;
const CHURN_EVERY_NS_MIN: u64 = 500_000_000;
/// How much longer than the file's a variant's liveness bounds are.
const LIVENESS_SLACK: u64 = 4;
/// Probability that a variant's crashed nodes restart within milliseconds.
const QUICK_RESTART_P: f64 = 0.3;
/// Probability that a variant's disk syncs slowly.
const SLOW_DISK_P: f64 = 0.25;
/// Probability that a variant checkpoints its state machines every few entries, so that its
/// restarts start from a checkpoint rather than replay the log.
const CHECKPOINT_P: f64 = 0.3;
/// Mean intervals of added faults, log-uniform between these bounds.
const EVERY_NS_MIN: u64 = 300_000_000;
const EVERY_NS_MAX: u64 = 5_000_000_000;

/// One variant of one scenario.
#[derive(Clone, Debug)]
pub struct Variant {
    /// 0 is the file as written; others are draws.
    pub number: u32,
    /// The scenario the variant runs: for a draw, parsed back from `text`, so the file
    /// written for a finding is exactly what ran.
    pub scenario: Scenario,
    /// For a draw, the scenario file's text (without the finding's header).
    pub text: Option<String>,
    /// What the draw changed, for people.
    pub description: String,
}

/// The generator of variant `number` of scenario `index` in a hunt with `seed_base`.
fn variant_rng(seed_base: u64, index: usize, number: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed_base);
    // One stream per (scenario, variant): adding scenarios never moves another's draws.
    rng.set_stream(((index as u64) << 32) | u64::from(number));
    rng
}

/// The file as written.
pub fn original(scenario: &Scenario) -> Variant {
    Variant {
        number: 0,
        scenario: scenario.clone(),
        text: None,
        description: "the file as written".to_string(),
    }
}

/// Variant `number` (at least 1) of `base`, the scenario at `index` of the hunt.
pub fn draw(base: &Scenario, seed_base: u64, index: usize, number: u32) -> Variant {
    assert!(number >= 1, "variant 0 is the file itself");
    let mut rng = variant_rng(seed_base, index, number);
    let (mut s, swarm) = crate::swarm::draw(base, rng.gen());
    // The draw is made here once: the file states exactly the faults it runs with.
    s.swarm.enabled = false;
    let mut added = Vec::new();
    add_knobs(&mut s.faults, TIMED, TIMED_P, &mut rng, &mut added);
    add_knobs(&mut s.faults, GENERIC, GENERIC_P, &mut rng, &mut added);
    if s.raft.snapshot_entries == 0 && rng.gen_bool(COMPACTION_P) {
        add_compaction(&mut s, &mut rng, &mut added);
    }
    if rng.gen_bool(SLOW_DISK_P) {
        slow_disk(&mut s, &mut rng, &mut added);
    }
    if rng.gen_bool(QUICK_RESTART_P) {
        quick_restarts(&mut s, &mut rng, &mut added);
    }
    if s.membership.churn_every_ns.is_none() && rng.gen_bool(CHURN_P) {
        add_churn(&mut s, &mut rng, &mut added);
    }
    // The file's `[[expect]]` bounds on stretches of the run (messages, commits, leaders) were
    // set for its faults at their intensities; a redraw changes both.
    s.expect.clear();
    if added.is_empty() {
        loosen_liveness(&mut s);
    } else {
        // Its liveness promise was made for its own faults too. Added ones can leave states the
        // promise never covered: a voter removed while down still running and calling
        // elections, a change still in flight when the window ends. Such a variant checks
        // safety only.
        s.liveness.leader_within_ns = None;
        s.liveness.clients_within_ns = None;
    }
    // Drawn last, and after the liveness choice, which it does not bear on: the draws above,
    // and so every variant's faults, are those of the hunts before checkpoints existed.
    if rng.gen_bool(CHECKPOINT_P) {
        add_checkpoints(&mut s, &mut rng, &mut added);
    }
    s.name = format!("{}-v{number}", base.name);
    let swarm = if base.swarm.enabled {
        format!("swarm {swarm}")
    } else {
        format!("own faults {swarm}")
    };
    let description = match added.is_empty() {
        true => swarm,
        false => format!("{swarm}; added: {}", added.join(" ")),
    };
    let text = s.to_toml();
    let scenario = scenario::parse(&s.name, &text).unwrap_or_else(|e| {
        panic!("a variant's file does not read back: {e}\n{text}");
    });
    Variant {
        number,
        scenario,
        text: Some(text),
        description,
    }
}

/// The file's liveness bounds were set for its own faults; a variant that keeps only those
/// may still run them harder (higher intensities), so its bounds are `LIVENESS_SLACK` times
/// the file's, and the run is made long enough for the checks to happen.
fn loosen_liveness(s: &mut Scenario) {
    let l = &mut s.liveness;
    let mut end = s.faults.until_ns;
    for within in [&mut l.leader_within_ns, &mut l.clients_within_ns]
        .into_iter()
        .flatten()
    {
        *within = within.saturating_mul(LIVENESS_SLACK);
        end = end.max(s.faults.until_ns.saturating_add(*within));
    }
    if end > s.duration_ns {
        // Whole seconds past the last check: a file a person reads.
        s.duration_ns = (end / 1_000_000_000 + 1) * 1_000_000_000;
    }
}

/// Turns on each knob of `knobs` that is off with probability `p`, at a log-uniform mean
/// interval (whole milliseconds, so the file reads well).
fn add_knobs(
    faults: &mut FaultSettings,
    knobs: &[Knob],
    p: f64,
    rng: &mut ChaCha8Rng,
    added: &mut Vec<String>,
) {
    for (name, field) in knobs {
        let on = rng.gen_bool(p);
        let every = log_uniform(rng, EVERY_NS_MIN, EVERY_NS_MAX);
        let knob = field(faults);
        if on && knob.is_none() {
            *knob = Some(every);
            added.push(format!("{name}={}", scenario::format_duration(every)));
        }
    }
}

fn add_compaction(s: &mut Scenario, rng: &mut ChaCha8Rng, added: &mut Vec<String>) {
    const ENTRIES: [u64; 3] = [8, 32, 128];
    const CHUNK_BYTES: [u64; 3] = [64, 512, 65_536];
    const CATCH_UP: [u64; 3] = [0, 8, 64];
    s.raft.snapshot_entries = ENTRIES[rng.gen_range(0..ENTRIES.len())];
    s.raft.snapshot_chunk_bytes = CHUNK_BYTES[rng.gen_range(0..CHUNK_BYTES.len())];
    s.raft.snapshot_catch_up_entries = CATCH_UP[rng.gen_range(0..CATCH_UP.len())];
    added.push(format!(
        "snapshot_entries={} snapshot_chunk_bytes={} snapshot_catch_up_entries={}",
        s.raft.snapshot_entries, s.raft.snapshot_chunk_bytes, s.raft.snapshot_catch_up_entries
    ));
}

fn add_checkpoints(s: &mut Scenario, rng: &mut ChaCha8Rng, added: &mut Vec<String>) {
    const ENTRIES: [u64; 3] = [4, 16, 64];
    s.raft.checkpoint_entries = ENTRIES[rng.gen_range(0..ENTRIES.len())];
    added.push(format!("checkpoint_entries={}", s.raft.checkpoint_entries));
}

/// A disk whose syncs take as long as a message's round trip or longer: the windows between
/// a write and its sync (a leader counting its own unsynced entry, an acknowledgement sent
/// before the sync) are then wide enough for the other nodes to act in.
///
/// Raft needs its broadcast time (a round trip with a sync at each end) well below the
/// election timeout, or no leader keeps its followers: a sync never takes more than a sixth
/// of the shortest election timeout.
fn slow_disk(s: &mut Scenario, rng: &mut ChaCha8Rng, added: &mut Vec<String>) {
    const SYNC_US: [(u64, u64); 3] = [(1_000, 10_000), (2_000, 30_000), (5_000, 60_000)];
    let (min_us, max_us) = SYNC_US[rng.gen_range(0..SYNC_US.len())];
    let cap_us = s.raft.election_timeout_min_ns / 6 / 1_000;
    let max_us = max_us.min(cap_us).max(s.disk.sync_latency_max_ns / 1_000);
    let min_us = min_us.min(max_us);
    s.disk.sync_latency_min_ns = min_us * 1_000;
    s.disk.sync_latency_max_ns = max_us * 1_000;
    added.push(format!("sync_latency=[{min_us}us,{max_us}us]"));
}

/// Membership changes are an input like faults: a variant of a file without them may change
/// its voters at random (removing one, adding it back, or adding a spare it gains), so that
/// every file's faults also meet configurations in flight.
fn add_churn(s: &mut Scenario, rng: &mut ChaCha8Rng, added: &mut Vec<String>) {
    let every = log_uniform(rng, CHURN_EVERY_NS_MIN, EVERY_NS_MAX);
    s.membership.churn_every_ns = Some(every);
    let spare = s.nodes < scenario::MAX_NODES && rng.gen_bool(0.5);
    if spare && s.membership.initial == s.nodes {
        s.nodes += 1;
    }
    s.membership.voters_min = s
        .membership
        .initial
        .saturating_sub(1)
        .max(2)
        .min(s.membership.initial);
    s.membership.voters_max = s.nodes;
    added.push(format!(
        "churn_every={} voters=[{},{}] nodes={}",
        scenario::format_duration(every),
        s.membership.voters_min,
        s.membership.voters_max,
        s.nodes
    ));
}

/// Crashed nodes come back within an election or two: a node that forgot what it promised
/// (an unsynced vote, an acknowledged entry) is then back in time to act on the same term.
fn quick_restarts(s: &mut Scenario, rng: &mut ChaCha8Rng, added: &mut Vec<String>) {
    const DOWN_MS: [(u64, u64); 3] = [(1, 50), (5, 200), (20, 500)];
    let (min_ms, max_ms) = DOWN_MS[rng.gen_range(0..DOWN_MS.len())];
    s.faults.down_for_min_ns = min_ms * 1_000_000;
    s.faults.down_for_max_ns = max_ms * 1_000_000;
    added.push(format!("down_for=[{min_ms}ms,{max_ms}ms]"));
}

fn log_uniform(rng: &mut ChaCha8Rng, min: u64, max: u64) -> u64 {
    let (lo, hi) = ((min as f64).ln(), (max as f64).ln());
    let ms = (rng.gen_range(lo..=hi).exp() / 1e6).round().max(1.0);
    ms as u64 * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        let text = "seed = 1\nnodes = 5\nduration = \"10s\"\n[faults]\ncrash_every = \"2s\"\n\
                    partition_every = \"3s\"\nuntil = \"8s\"\n[[expect]]\nfrom = \"0s\"\n\
                    to = \"1s\"\nleader = true\n";
        scenario::parse("base.toml", text).unwrap()
    }

    #[test]
    fn a_variant_is_a_function_of_seed_base_scenario_and_number() {
        let b = base();
        let one = draw(&b, 7, 3, 1);
        assert_eq!(one.text, draw(&b, 7, 3, 1).text);
        assert_eq!(one.description, draw(&b, 7, 3, 1).description);
        let others: Vec<_> = (2..40).map(|n| draw(&b, 7, 3, n).text).collect();
        assert!(others.iter().filter(|t| **t != one.text).count() >= 30);
        assert_ne!(draw(&b, 8, 3, 1).text, draw(&b, 7, 3, 1).text);
    }

    #[test]
    fn variants_read_back_keep_the_window_and_draw_timed_faults() {
        let b = base();
        let mut timed_seen = 0;
        for n in 1..=64 {
            let v = draw(&b, 1, 0, n);
            let text = v.text.as_deref().unwrap();
            assert_eq!(scenario::parse("v.toml", text).unwrap(), v.scenario);
            assert_eq!(v.scenario.faults.until_ns, b.faults.until_ns);
            assert!(!v.scenario.swarm.enabled);
            let f = &v.scenario.faults;
            timed_seen += usize::from(
                f.crash_before_sync_every_ns.is_some() || f.drop_quorum_ack_every_ns.is_some(),
            );
            assert!(
                v.scenario.expect.is_empty(),
                "a redraw drops the stretch bounds"
            );
            if v.description.contains("added") {
                assert_eq!(v.scenario.liveness.leader_within_ns, None);
            }
        }
        assert!(
            timed_seen >= 16,
            "{timed_seen} of 64 variants with timed faults"
        );
    }

    #[test]
    fn a_variant_loosens_the_liveness_bounds_and_makes_room_for_them() {
        let text = "seed = 1\nnodes = 3\nduration = \"10s\"\n[faults]\ncrash_every = \"2s\"\n\
                    until = \"8s\"\n[liveness]\nleader_within = \"1s\"\n";
        let b = scenario::parse("b.toml", text).unwrap();
        let v = (1..200)
            .map(|n| draw(&b, 1, 0, n))
            .find(|v| !v.description.contains("added"))
            .expect("some variant adds nothing");
        assert_eq!(v.scenario.liveness.leader_within_ns, Some(4_000_000_000));
        assert_eq!(
            v.scenario.duration_ns, 13_000_000_000,
            "8 s + 4 s, then a whole second"
        );
        assert_eq!(
            original(&b).scenario.liveness,
            b.liveness,
            "the file itself is kept"
        );
    }
}
