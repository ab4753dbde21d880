//! Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each seed runs with a random
//! subset of the fault kinds its scenario names, each at a random intensity. A run with fewer
//! kinds of faults reaches situations that a run with all of them crowds out (a partition that
//! lasts because no crash ends it, a long quiet stretch for a clog to matter).

use crate::rng::{self, Stream};
use crate::scenario::{format_duration, Scenario};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How much a kind's mean interval may shrink or grow: a factor in `[1/SCALE, SCALE]`.
const SCALE: f64 = 4.0;

/// One fault kind of a scenario: its name and where its knob lives.
enum Knob<'a> {
    /// A mean interval; `None` turns the kind off.
    Every(&'a mut Option<u64>),
    /// A probability; 0 turns the kind off. The flag says whether 1.0 itself is allowed.
    Probability(&'a mut f64, bool),
}

fn knobs(s: &mut Scenario) -> Vec<(&'static str, Knob<'_>)> {
    let f = &mut s.faults;
    let mut knobs = vec![
        ("crash_every", Knob::Every(&mut f.crash_every_ns)),
        ("partition_every", Knob::Every(&mut f.partition_every_ns)),
        ("pause_every", Knob::Every(&mut f.pause_every_ns)),
        ("clog_every", Knob::Every(&mut f.clog_every_ns)),
        ("one_way_every", Knob::Every(&mut f.one_way_every_ns)),
        ("bridge_every", Knob::Every(&mut f.bridge_every_ns)),
        (
            "isolate_leader_every",
            Knob::Every(&mut f.isolate_leader_every_ns),
        ),
        (
            "crash_leader_every",
            Knob::Every(&mut f.crash_leader_every_ns),
        ),
        (
            "partition_after_append_every",
            Knob::Every(&mut f.partition_after_append_every_ns),
        ),
        (
            "drop_quorum_ack_every",
            Knob::Every(&mut f.drop_quorum_ack_every_ns),
        ),
        (
            "crash_before_sync_every",
            Knob::Every(&mut f.crash_before_sync_every_ns),
        ),
        (
            "crash_after_send_every",
            Knob::Every(&mut f.crash_after_send_every_ns),
        ),
        ("hold_stale_every", Knob::Every(&mut f.hold_stale_every_ns)),
        ("replay_old_every", Knob::Every(&mut f.replay_old_every_ns)),
        (
            "crash_during_snapshot_every",
            Knob::Every(&mut f.crash_during_snapshot_every_ns),
        ),
        (
            "change_while_down_every",
            Knob::Every(&mut f.change_while_down_every_ns),
        ),
        (
            "crash_at_io_every",
            Knob::Every(&mut f.crash_at_io_every_ns),
        ),
        ("jump_every", Knob::Every(&mut s.clocks.jump_every_ns)),
        ("loss", Knob::Probability(&mut s.network.loss, false)),
        (
            "duplicate",
            Knob::Probability(&mut s.network.duplicate, false),
        ),
        ("reorder", Knob::Probability(&mut s.network.reorder, false)),
        (
            "torn_writes",
            Knob::Probability(&mut s.disk.torn_writes, true),
        ),
    ];
    knobs.retain(|(_, k)| match k {
        Knob::Every(v) => v.is_some(),
        Knob::Probability(p, _) => **p > 0.0,
    });
    knobs
}

/// The scenario as this seed's swarm draw changes it, and a description of the draw. Each
/// kind the scenario enables is kept with probability 1/2 (at least one is kept), its mean
/// interval scaled by a factor in `[1/4, 4]` or its probability by one in `[1/4, 2]`.
pub fn draw(scenario: &Scenario, seed: u64) -> (Scenario, String) {
    let mut rng = rng::stream(seed, Stream::Swarm);
    let mut s = scenario.clone();
    let mut knobs = knobs(&mut s);
    if knobs.is_empty() {
        return (
            scenario.clone(),
            "no fault kinds to choose from".to_string(),
        );
    }
    let mut keep: Vec<bool> = knobs.iter().map(|_| rng.gen_bool(0.5)).collect();
    if !keep.contains(&true) {
        let i = rng.gen_range(0..keep.len());
        keep[i] = true;
    }
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for ((name, knob), keep) in knobs.iter_mut().zip(keep) {
        if !keep {
            match knob {
                Knob::Every(v) => **v = None,
                Knob::Probability(p, _) => **p = 0.0,
            }
            off.push(*name);
            continue;
        }
        on.push(format!("{name}={}", scale(knob, &mut rng)));
    }
    let description = format!(
        "on: {}; off: {}",
        on.join(" "),
        if off.is_empty() {
            "none".to_string()
        } else {
            off.join(" ")
        }
    );
    (s, description)
}

/// Scales one knob and returns its new value as a file would write it.
fn scale(knob: &mut Knob<'_>, rng: &mut ChaCha8Rng) -> String {
    match knob {
        Knob::Every(v) => {
            let factor = rng.gen_range((1.0 / SCALE).ln()..=SCALE.ln()).exp();
            // Whole milliseconds: a draw a person can read and write back into a file, and
            // no more often than a scenario file allows.
            let floor_ms = (crate::scenario::EVERY_MIN_NS / 1_000_000) as f64;
            let ms = (v.expect("kept knobs are on") as f64 * factor / 1e6)
                .round()
                .max(floor_ms);
            let every = ms as u64 * 1_000_000;
            **v = Some(every);
            format_duration(every)
        }
        Knob::Probability(p, one_allowed) => {
            let factor = rng.gen_range(0.25..=2.0);
            let cap = if *one_allowed { 1.0 } else { 0.99 };
            **p = (**p * factor).min(cap);
            format!("{:.4}", **p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let text = "seed = 1\nnodes = 3\nduration = \"10s\"\n[network]\nloss = 0.1\n\
                    [faults]\ncrash_every = \"2s\"\npartition_every = \"3s\"\npause_every = \"1s\"\n\
                    [disk]\ntorn_writes = 0.6\n";
        crate::scenario::parse("swarm.toml", text).unwrap()
    }

    #[test]
    fn each_seed_draws_its_own_subset_and_intensities() {
        let base = scenario();
        let mut subsets = std::collections::BTreeSet::new();
        for seed in 1..=64 {
            let (s, description) = draw(&base, seed);
            assert_eq!(
                draw(&base, seed).1,
                description,
                "the draw depends on the seed only"
            );
            let on = [
                s.faults.crash_every_ns.is_some(),
                s.faults.partition_every_ns.is_some(),
                s.faults.pause_every_ns.is_some(),
                s.network.loss > 0.0,
                s.disk.torn_writes > 0.0,
            ];
            assert!(
                on.contains(&true),
                "seed {seed}: at least one kind stays on"
            );
            if let Some(every) = s.faults.crash_every_ns {
                assert!((500_000_000..=8_000_000_000).contains(&every), "{every}");
            }
            assert!(s.network.loss < 1.0 && s.disk.torn_writes <= 1.0);
            assert_eq!(
                s.faults.clog_every_ns, None,
                "a kind the scenario lacks stays off"
            );
            subsets.insert(on);
        }
        assert!(
            subsets.len() >= 12,
            "many different subsets: {}",
            subsets.len()
        );
    }

    #[test]
    fn a_scenario_without_faults_is_unchanged() {
        let calm = crate::scenario::parse("calm.toml", "seed = 1\nnodes = 3\nduration = \"1s\"\n")
            .unwrap();
        assert_eq!(draw(&calm, 5).0, calm);
    }
}
