//! Tests of the Raft paper's sections 5.1-5.4 against `raft::Node`.
//!
//! Most tests are data-driven, in the style of etcd raft's interaction tests: every file in
//! `testdata/` is a script of harness commands, each followed by the output it must produce
//! (see `datadriven.rs` for the format and `harness.rs` for the commands). Run with
//! `UPDATE_EXPECT=1` to rewrite the expected outputs, then read every changed block: the
//! expected output is the specification, not a snapshot.
//!
//! `unit.rs` holds plain tests where a script would be clumsier.

mod datadriven;
mod format;
mod harness;
mod mutations;
mod paper;
mod unit;
