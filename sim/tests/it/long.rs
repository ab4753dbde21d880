//! Long runs: the work per simulated second does not grow with the run's length. A cost per
//! event that grew with the log or the history would show here first as more events per
//! second, the way a restart that replayed the whole log once did in wall time. No claim
//! about wall time is made (that is `raftsim bench` and the README's figures).

use crate::scenario;
use sim::RunOptions;

const NS_PER_S: u64 = 1_000_000_000;

/// `churn` stretched to `seconds`: faults until 30 s before the end, proposals and client
/// operations in proportion, no compaction.
fn churn_for(seconds: u64) -> sim::Scenario {
    let mut s = scenario("churn");
    s.duration_ns = seconds * NS_PER_S;
    s.faults.until_ns = (seconds - 30) * NS_PER_S;
    s.workload.count = seconds * 168_000 / 3600;
    s.clients.operations = seconds * 60_000 / 3600;
    s
}

/// Events per simulated second, over seeds 1..=3.
fn events_per_s(seconds: u64) -> f64 {
    let s = churn_for(seconds);
    let events: u64 = (1..=3)
        .map(|seed| {
            let outcome = sim::run(&s, seed, RunOptions::default()).unwrap();
            assert!(
                outcome.violation.is_none(),
                "{seconds} s, seed {seed}: {:?}",
                outcome.violation
            );
            outcome.trace.len()
        })
        .sum();
    events as f64 / (3 * seconds) as f64
}

#[test]
fn a_stretched_run_has_the_same_events_per_simulated_second() {
    let short = events_per_s(120);
    let long = events_per_s(480);
    let ratio = long / short;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "{short:.0} events/s over 120 s, {long:.0} over 480 s: ratio {ratio:.3}"
    );
}
