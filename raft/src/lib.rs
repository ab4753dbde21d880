//! A sans-IO Raft state machine (Ongaro and Ousterhout, "In Search of an Understandable
//! Consensus Algorithm", sections 5.1-5.4).
//!
//! The crate never touches a socket, a clock, a thread or a file, and draws no randomness of
//! its own. The host drives a [`Node`] through four inputs (`step`, `tick`, `propose`,
//! `log_synced`) and acts on the [`Ready`] it takes after each: make the writes durable (sync
//! if `must_sync`), only then send the messages, then apply the committed entries.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod counters;
mod error;
pub mod kv;
mod log;
mod membership;
mod message;
mod node;
mod progress;
mod ready;
pub mod session;
mod snapshot;

pub use config::{Config, Mutation};
pub use counters::Counters;
pub use error::{ChangeError, CompactError, ProposeError, RestoreError, StepError};
pub use kv::{Application, KvOp, KvOutput, KvStore};
pub use log::Log;
pub use membership::Membership;
pub use message::{Body, Entry, HardState, Message, Payload, Snapshot};
pub use node::{Node, Role};
pub use ready::{ChangeOutcome, LogWrite, Ready};
pub use session::{Replicated, SessionCommand, SessionId, SessionLimits, SessionOutput, Stamped};

/// A server's identity. Ids are non-zero.
pub type NodeId = u64;
/// A Raft term (section 5.1). Term 0 is before any election.
pub type Term = u64;
/// A log index. The first entry has index 1; index 0 stands for the empty prefix.
pub type Index = u64;
