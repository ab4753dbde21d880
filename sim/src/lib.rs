//! raftsim: a deterministic discrete-event simulator for Raft.
//!
//! One thread, virtual time, one `u64` seed. A [`Scenario`] file describes the cluster, the
//! network, the faults and the workload; a [`Simulator`] runs it against any implementation of
//! the [`SimNode`] boundary, checking the safety invariants of the Raft paper after every event.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod checker;
pub mod cli;
pub mod client_desk;
pub mod clients;
pub mod disk;
pub mod floor;
pub mod fuzz_input;
pub mod hunt;
pub mod implementation;
pub mod network;
pub mod node;
pub mod pages;
pub mod panic;
pub mod pool;
pub mod raft_node;
pub mod raft_rs_node;
pub mod raft_rs_storage;
pub mod replay;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod situations;
pub mod swarm;
pub mod sweep;
pub mod timeline;
pub mod trace;
pub mod trace_file;
pub mod trace_log;

/// Client histories and the linearizability checker: the `history` crate (`sim/history/`),
/// re-exported so that `sim::history::...` paths keep working.
pub use ::history;

pub use checker::{ConfigRule, Invariant, Violation};
pub use node::{NodeId, NodeView, SimNode};
pub use raft_node::RaftNode;
pub use raft_rs_node::RaftRsNode;
pub use report::Report;
pub use scenario::{Scenario, ScenarioError};
pub use sim::{Explicit, Outcome, RunOptions, Simulator, Stats};
pub use situations::Situations;

/// Runs `scenario` with `seed` against the implementation it names
/// (`Scenario::implementation`, raftsim's own Raft by default).
pub fn run(scenario: &Scenario, seed: u64, options: RunOptions) -> Result<Outcome, String> {
    struct Run<'a>(&'a Scenario, u64, RunOptions);
    impl implementation::WithNode for Run<'_> {
        type Output = Result<Outcome, String>;
        fn call<N: SimNode>(self) -> Self::Output {
            Simulator::<N>::new(self.0.clone(), self.1, self.2).run()
        }
    }
    implementation::dispatch(scenario.implementation, Run(scenario, seed, options))
}

/// [`run`], handing every trace record to `sink` as it happens (see
/// [`trace::Trace::stream_to`]); `Outcome::trace` gives the sink back to finish it.
pub fn run_streaming(
    scenario: &Scenario,
    seed: u64,
    options: RunOptions,
    sink: Box<dyn trace::RecordSink>,
) -> Result<Outcome, String> {
    struct Run<'a>(&'a Scenario, u64, RunOptions, Box<dyn trace::RecordSink>);
    impl implementation::WithNode for Run<'_> {
        type Output = Result<Outcome, String>;
        fn call<N: SimNode>(self) -> Self::Output {
            let mut simulator = Simulator::<N>::new(self.0.clone(), self.1, self.2);
            simulator.stream_trace(self.3);
            simulator.run()
        }
    }
    implementation::dispatch(scenario.implementation, Run(scenario, seed, options, sink))
}
