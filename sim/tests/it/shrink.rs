//! `raftsim shrink`: a run made explicit replays it, and shrinking keeps the invariant.

use crate::scenarios_dir;
use sim::RunOptions;

fn options(mutation: Option<&str>) -> RunOptions {
    RunOptions {
        keep_trace: false,
        mutation: mutation.map(str::to_string),
    }
}

/// The explicit form of a run (its drawn faults as a schedule, its workload as lists) is a
/// scenario file that replays that run event for event: every library scenario, 3 seeds.
#[test]
fn a_run_made_explicit_replays_it_event_for_event() {
    let mut inexact = Vec::new();
    let mut runs = 0;
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let scenario = sim::scenario::load(&path).unwrap();
        for seed in 1..=3 {
            let outcome = sim::run(&scenario, seed, options(None)).unwrap();
            let mut drawn = match scenario.swarm.enabled {
                true => sim::swarm::draw(&scenario, seed).0,
                false => scenario.clone(),
            };
            drawn.swarm.enabled = false;
            let explicit = sim::shrink::make_explicit(&drawn, outcome.explicit.as_ref().unwrap());
            let text = explicit.to_toml();
            let back = sim::scenario::parse("explicit", &text).unwrap();
            let again = sim::run(&back, seed, options(None)).unwrap();
            let name = format!("{} seed {seed}", scenario.name);
            runs += 1;
            if again.trace.hash() != outcome.trace.hash() {
                inexact.push((name, outcome.trace.len(), again.trace.len()));
            }
        }
    }
    assert!(runs >= 90, "the library has {runs} runs");
    assert!(
        inexact.is_empty(),
        "(run, events, explicit events): {inexact:?}"
    );
}
