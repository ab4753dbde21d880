//! The fuzzer's bytes as a whole scenario (sim::fuzz_input: cluster size, compaction, network
//! faults, clients and a schedule of up to 16 faults, membership changes among them), run by
//! the simulator with every checker on. A violation is a finding: `raftsim from-fuzz ARTIFACT
//! -o finding.toml` turns the crash file into the scenario file that replays it.
//!
//! `RAFTSIM_IMPL=NAME` picks the implementation run (`raftsim implementations`; default
//! raftsim's own), as `--impl NAME` does for the other commands.
//!
//! The protocol situations a run reached (the sweep summary's counters) are made coverage, so
//! that reaching a situation, or reaching it ten or a hundred times more often, counts as
//! progress for the fuzzer even when no new line of code ran.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::implementation::Implementation;
use sim::{fuzz_input, RunOptions, Situations};
use std::sync::OnceLock;

/// The implementation named by `RAFTSIM_IMPL`, read once; an unknown name stops the fuzzer
/// with exit status 2 before any input runs.
fn implementation() -> Implementation {
    static CHOSEN: OnceLock<Implementation> = OnceLock::new();
    *CHOSEN.get_or_init(|| match std::env::var("RAFTSIM_IMPL") {
        Err(_) => Implementation::default(),
        Ok(name) => Implementation::from_name(&name).unwrap_or_else(|| {
            eprintln!(
                "error: RAFTSIM_IMPL: unknown implementation `{name}`; expected one of: {}",
                Implementation::names()
            );
            std::process::exit(2);
        }),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = fuzz_input::from_bytes(data) else {
        return;
    };
    let Ok(mut scenario) = input.scenario() else {
        return;
    };
    scenario.implementation = implementation();
    let outcome = sim::run(&scenario, scenario.seed, RunOptions::default())
        .expect("a fuzz scenario's nodes start");
    reached(&outcome.situations);
    if let Some(v) = outcome.violation {
        panic!(
            "{} at {} ns (nodes {:?}): {}\nreplay: raftsim from-fuzz ARTIFACT -o finding.toml && raftsim run finding.toml{}",
            v.invariant.name(),
            v.time_ns,
            v.nodes,
            v.detail,
            sim::implementation::flag(implementation())
        );
    }
});

/// Count buckets per situation: reached once, ten times, a hundred, a thousand or more.
const BUCKETS: usize = 4;

/// One function per (situation, bucket): calling a function of its own is an edge of its own
/// for libFuzzer's coverage, whatever the count that led there.
macro_rules! points {
    ($($n:literal)*) => {
        const POINTS: &[fn()] = &[$({
            fn point() {
                std::hint::black_box($n);
            }
            point
        }),*];
    };
}

points!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
    32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63
    64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95
    96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119
    120 121 122 123 124 125 126 127
);

#[inline(never)]
fn reached(situations: &Situations) {
    for (i, (_, _, count)) in situations.list().into_iter().enumerate() {
        if count == 0 {
            continue;
        }
        let bucket = (count.ilog10() as usize).min(BUCKETS - 1);
        let point = i * BUCKETS + bucket;
        assert!(point < POINTS.len(), "more situations than coverage points");
        POINTS[point]();
    }
}
