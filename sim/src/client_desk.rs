//! What every adapter does for clients the same way: the entry a request becomes (tagged,
//! stamped with the leader's clock), who waits for which command, and the answers once the
//! replicated key-value store applies it. `raft_node.rs` and `raft_rs_node.rs` both use it, so
//! the clients, the exactly-once check and the linearizability check see one behaviour.

use crate::node::{Applied, ClientId, ClientOp, ClientReply, ClientRequest, OpResult};
use crate::situations::Situations;
use raft::{KvOp, KvOutput, KvStore, Replicated, SessionCommand, SessionOutput, Stamped};
use std::collections::BTreeMap;

/// The first byte of a command entry: a raw proposal of the load workload.
pub const ENTRY_RAW: u8 = 0;
/// The first byte of a command entry: a session command (`Stamped<SessionCommand>`).
pub const ENTRY_SESSION: u8 = 1;

/// `bytes` behind the tag `tag`.
pub fn tagged(tag: u8, bytes: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(bytes.len() + 1);
    entry.push(tag);
    entry.extend_from_slice(bytes);
    entry
}

/// What a client waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Its session.
    Register,
    /// Command `seq` of `session`.
    Op {
        /// The session.
        session: u64,
        /// The command.
        seq: u64,
    },
}

/// The clients waiting at one node, and the replies and applied commands it has not handed
/// to the simulator yet.
#[derive(Clone, Debug, Default)]
pub struct ClientDesk {
    waiting: BTreeMap<ClientId, Waiting>,
    replies: Vec<(ClientId, ClientReply)>,
    applied: Vec<Applied>,
}

impl ClientDesk {
    /// The entry `request` becomes, stamped with the leader's clock `now_ns` (section 6.3 of
    /// the dissertation: session expiry follows these stamps, never a server's own clock), and
    /// what its client then waits for.
    pub fn entry(now_ns: u64, client: ClientId, request: ClientRequest) -> (Vec<u8>, Waiting) {
        let (command, waiting) = match request {
            ClientRequest::Register => (
                SessionCommand::Register { nonce: client },
                Waiting::Register,
            ),
            ClientRequest::Op { session, seq, op } => (
                SessionCommand::Request {
                    session,
                    seq,
                    op: kv_op(op),
                },
                Waiting::Op { session, seq },
            ),
        };
        let bytes = Stamped {
            time_ns: now_ns,
            command,
        }
        .encode();
        (tagged(ENTRY_SESSION, &bytes), waiting)
    }

    /// `client`'s request was logged: it waits for `waiting`.
    pub fn wait(&mut self, client: ClientId, waiting: Waiting) {
        self.waiting.insert(client, waiting);
    }

    /// Answers `client` at once.
    pub fn reply(&mut self, client: ClientId, reply: ClientReply) {
        self.replies.push((client, reply));
    }

    /// Applies the session command of entry `index` to `state_machine`, answering the client
    /// waiting for it here, if any, and counting the situations it shows.
    pub fn apply(
        &mut self,
        state_machine: &mut Replicated<KvStore>,
        index: u64,
        session_command: &[u8],
        situations: &mut Situations,
    ) {
        match state_machine.apply(index, session_command) {
            SessionOutput::Registered { nonce, session } => {
                if self.waiting.get(&nonce) == Some(&Waiting::Register) {
                    self.waiting.remove(&nonce);
                    self.replies
                        .push((nonce, ClientReply::Registered { session }));
                }
            }
            SessionOutput::Reply {
                session,
                seq,
                output,
                executed,
            } => {
                self.applied.push(Applied {
                    index,
                    session,
                    seq,
                    executed,
                });
                let result = op_result(output);
                let done = ClientReply::Done {
                    session,
                    seq,
                    result,
                };
                if self.answer(session, seq, done) && !executed {
                    situations.retry_answered_from_cache += 1;
                }
            }
            SessionOutput::SessionExpired { session, seq } => {
                if self.answer(session, seq, ClientReply::SessionExpired { session, seq }) {
                    situations.session_expired += 1;
                }
            }
            SessionOutput::Stale { .. } | SessionOutput::Malformed { .. } => {}
        }
    }

    /// Replies to the client waiting for (`session`, `seq`) here, if any; true if one was.
    fn answer(&mut self, session: u64, seq: u64, reply: ClientReply) -> bool {
        let waiting = Waiting::Op { session, seq };
        let client = self
            .waiting
            .iter()
            .find(|(_, w)| **w == waiting)
            .map(|(c, _)| *c);
        if let Some(client) = client {
            self.waiting.remove(&client);
            self.replies.push((client, reply));
        }
        client.is_some()
    }

    /// The replies since the last call.
    pub fn take_replies(&mut self) -> Vec<(ClientId, ClientReply)> {
        std::mem::take(&mut self.replies)
    }

    /// The commands applied since the last call.
    pub fn take_applied(&mut self) -> Vec<Applied> {
        std::mem::take(&mut self.applied)
    }
}

fn op_result(output: KvOutput) -> OpResult {
    match output {
        KvOutput::Value(v) => OpResult::Value(v),
        KvOutput::Done => OpResult::Done,
        KvOutput::CasOk => OpResult::CasOk,
        KvOutput::CasFailed { .. } => OpResult::CasFailed,
        KvOutput::TooLarge => OpResult::TooLarge,
    }
}

fn kv_op(op: ClientOp) -> KvOp {
    match op {
        ClientOp::Get { key } => KvOp::Get { key },
        ClientOp::Put { key, value } => KvOp::Put { key, value },
        ClientOp::Append { key, value } => KvOp::Append { key, value },
        ClientOp::Cas { key, expected, new } => KvOp::Cas { key, expected, new },
    }
}
