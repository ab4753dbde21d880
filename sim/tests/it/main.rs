//! raftsim's integration tests: whole runs through the library and the `raftsim` binary.

mod bad_inputs;
mod cli;
mod clients;
mod determinism;
mod faults;
mod hunt;
mod log;
mod long;
mod membership;
mod mutations;
mod own_raft;
mod properties;
mod raft_rs;
mod replay;
mod reports;
mod scenarios;
mod shrink;
mod snapshots;
mod sweep;

use std::path::PathBuf;

/// The repository's `scenarios/` folder.
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Loads `scenarios/NAME.toml`.
pub fn scenario(name: &str) -> sim::Scenario {
    let path = scenarios_dir().join(format!("{name}.toml"));
    sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}
