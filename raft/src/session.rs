//! Client sessions (Raft dissertation, section 6.3): exactly-once execution of client commands.
//!
//! A client registers once and gets an id (the log index of its registration); it then tags
//! every command with that id and a sequence number. The session table is part of the
//! replicated state: each server builds it from the log alone, so a retried command that was
//! already executed gets the cached reply on whichever server applies it, after any crash or
//! leader change. Sessions expire by log time (the leader's clock, stamped in each entry and
//! never allowed to go backwards), never by a server's own clock, so every server expires the
//! same sessions at the same entry.

use crate::kv::Application;
use crate::Index;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A client session's id: the index of the entry that registered it.
pub type SessionId = u64;

/// A log entry's command: what a leader stamps and appends for a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamped<Op> {
    /// The leader's clock when it appended the entry.
    pub time_ns: u64,
    /// The command.
    pub command: SessionCommand<Op>,
}

/// A client's command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SessionCommand<Op> {
    /// Open a session. `nonce` lets the server that proposed it find the waiting client.
    Register {
        /// The client's own tag for this registration.
        nonce: u64,
    },
    /// Execute `op` once for sequence number `seq` of session `session`.
    Request {
        /// The session.
        session: SessionId,
        /// The client's sequence number, from 1, one command at a time.
        seq: u64,
        /// The operation.
        op: Op,
    },
}

impl<Op: Serialize + for<'de> Deserialize<'de>> Stamped<Op> {
    /// Encodes the command as entry bytes (postcard: compact, and quick to decode on every
    /// server and at every replay).
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("commands always encode")
    }

    /// Decodes entry bytes; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Stamped<Op>, String> {
        match postcard::take_from_bytes(bytes) {
            Ok((stamped, [])) => Ok(stamped),
            Ok((_, rest)) => Err(format!("{} bytes after the command", rest.len())),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What applying one entry gave.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionOutput<Output> {
    /// A session was opened.
    Registered {
        /// The registration's nonce.
        nonce: u64,
        /// The new session's id.
        session: SessionId,
    },
    /// The command's reply: `executed` is false when it is the cached reply of an earlier
    /// execution of the same (session, seq).
    Reply {
        /// The session.
        session: SessionId,
        /// The sequence number.
        seq: u64,
        /// The application's output.
        output: Output,
        /// True if the application ran the operation for this entry.
        executed: bool,
    },
    /// The session does not exist (never registered, or expired): the command was not executed
    /// now; whether an earlier copy of it was is unknown to the client.
    SessionExpired {
        /// The session.
        session: SessionId,
        /// The sequence number.
        seq: u64,
    },
    /// A sequence number below the session's latest: a client retrying a command it already
    /// gave up on. Not executed.
    Stale {
        /// The session.
        session: SessionId,
        /// The sequence number.
        seq: u64,
    },
    /// The entry's bytes are not a command.
    Malformed {
        /// Why.
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
struct Session<Output> {
    last_seq: u64,
    last_output: Option<Output>,
    last_active_ns: u64,
}

/// Limits of the session table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused for this long (in log time) expires.
    pub timeout_ns: u64,
    /// At most this many sessions; registering one more evicts the least recently used.
    pub sessions_max: usize,
    /// Deduplication on (the real rule). `false` only for a mutation that measures whether
    /// the testbed notices duplicate execution.
    pub dedup: bool,
}

/// An application behind a session table: the replicated state machine raftsim runs.
#[derive(Clone, Debug)]
pub struct Replicated<A: Application> {
    app: A,
    limits: SessionLimits,
    sessions: BTreeMap<SessionId, Session<A::Output>>,
    /// (last active, session), to expire and evict the oldest first.
    by_activity: BTreeSet<(u64, SessionId)>,
    log_time_ns: u64,
    applied_index: Index,
}

impl<A: Application> Replicated<A> {
    /// A state machine before any entry.
    pub fn new(app: A, limits: SessionLimits) -> Replicated<A> {
        assert!(
            limits.sessions_max > 0,
            "a session table holds at least one session"
        );
        Replicated {
            app,
            limits,
            sessions: BTreeMap::new(),
            by_activity: BTreeSet::new(),
            log_time_ns: 0,
            applied_index: 0,
        }
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }
    /// The index of the last entry applied.
    pub fn applied_index(&self) -> Index {
        self.applied_index
    }
    /// How many sessions are open.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Applies the command entry at `index`; entries must come in log order, each once.
    pub fn apply(&mut self, index: Index, bytes: &[u8]) -> SessionOutput<A::Output> {
        assert!(
            index > self.applied_index,
            "entry {index} applied after {}",
            self.applied_index
        );
        self.applied_index = index;
        let stamped = match Stamped::<A::Op>::decode(bytes) {
            Ok(s) => s,
            Err(reason) => return SessionOutput::Malformed { reason },
        };
        self.log_time_ns = self.log_time_ns.max(stamped.time_ns);
        self.expire();
        match stamped.command {
            SessionCommand::Register { nonce } => {
                self.register(index);
                SessionOutput::Registered {
                    nonce,
                    session: index,
                }
            }
            SessionCommand::Request { session, seq, op } => self.request(session, seq, &op),
        }
    }

    /// Notes a no-op entry: only the applied index moves.
    pub fn skip(&mut self, index: Index) {
        assert!(
            index > self.applied_index,
            "entry {index} applied after {}",
            self.applied_index
        );
        self.applied_index = index;
    }

    fn expire(&mut self) {
        while let Some(&(active, id)) = self.by_activity.first() {
            if active.saturating_add(self.limits.timeout_ns) >= self.log_time_ns {
                break;
            }
            self.by_activity.remove(&(active, id));
            self.sessions.remove(&id);
        }
    }

    fn register(&mut self, session: SessionId) {
        if self.sessions.len() >= self.limits.sessions_max {
            let oldest = self
                .by_activity
                .pop_first()
                .expect("a full table has an oldest session");
            self.sessions.remove(&oldest.1);
        }
        let fresh = Session {
            last_seq: 0,
            last_output: None,
            last_active_ns: self.log_time_ns,
        };
        self.sessions.insert(session, fresh);
        self.by_activity.insert((self.log_time_ns, session));
    }

    fn request(&mut self, id: SessionId, seq: u64, op: &A::Op) -> SessionOutput<A::Output> {
        let now = self.log_time_ns;
        let Some(session) = self.sessions.get_mut(&id) else {
            return SessionOutput::SessionExpired { session: id, seq };
        };
        self.by_activity.remove(&(session.last_active_ns, id));
        session.last_active_ns = now;
        self.by_activity.insert((now, id));
        if self.limits.dedup {
            if seq == session.last_seq {
                if let Some(output) = &session.last_output {
                    return SessionOutput::Reply {
                        session: id,
                        seq,
                        output: output.clone(),
                        executed: false,
                    };
                }
            }
            if seq < session.last_seq {
                return SessionOutput::Stale { session: id, seq };
            }
        }
        let output = self.app.apply(op);
        session.last_seq = seq;
        session.last_output = Some(output.clone());
        SessionOutput::Reply {
            session: id,
            seq,
            output,
            executed: true,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Dissertation section 6.3: each command executes once, retries get the cached reply,
    //! sessions expire by log time only.
    use super::*;
    use crate::kv::{KvOp, KvOutput, KvStore};
    use proptest::prelude::*;

    const LIMITS: SessionLimits = SessionLimits {
        timeout_ns: 1_000,
        sessions_max: 3,
        dedup: true,
    };

    fn sm(limits: SessionLimits) -> Replicated<KvStore> {
        Replicated::new(KvStore::new(64), limits)
    }

    fn entry(time_ns: u64, command: SessionCommand<KvOp>) -> Vec<u8> {
        Stamped { time_ns, command }.encode()
    }

    fn append(session: SessionId, seq: u64, value: &str) -> SessionCommand<KvOp> {
        SessionCommand::Request {
            session,
            seq,
            op: KvOp::Append {
                key: "k".into(),
                value: value.into(),
            },
        }
    }

    fn register(sm: &mut Replicated<KvStore>, index: Index, time_ns: u64) -> SessionId {
        match sm.apply(
            index,
            &entry(time_ns, SessionCommand::Register { nonce: 7 }),
        ) {
            SessionOutput::Registered { nonce: 7, session } => session,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_retried_command_executes_once() {
        let mut sm = sm(LIMITS);
        let s = register(&mut sm, 1, 0);
        assert_eq!(s, 1, "the session id is the registration's index");
        let first = sm.apply(2, &entry(10, append(s, 1, "a")));
        assert_eq!(
            first,
            SessionOutput::Reply {
                session: s,
                seq: 1,
                output: KvOutput::Done,
                executed: true
            }
        );
        let retry = sm.apply(3, &entry(20, append(s, 1, "a")));
        assert_eq!(
            retry,
            SessionOutput::Reply {
                session: s,
                seq: 1,
                output: KvOutput::Done,
                executed: false
            }
        );
        assert_eq!(sm.app().get("k"), Some("a"));
        sm.apply(4, &entry(30, append(s, 2, "b")));
        assert_eq!(
            sm.apply(5, &entry(40, append(s, 1, "a"))),
            SessionOutput::Stale { session: s, seq: 1 }
        );
        assert_eq!(sm.app().get("k"), Some("ab"));
    }

    #[test]
    fn without_dedup_a_retry_executes_twice() {
        let mut sm = sm(SessionLimits {
            dedup: false,
            ..LIMITS
        });
        let s = register(&mut sm, 1, 0);
        sm.apply(2, &entry(10, append(s, 1, "a")));
        sm.apply(3, &entry(20, append(s, 1, "a")));
        assert_eq!(sm.app().get("k"), Some("aa"));
    }

    #[test]
    fn sessions_expire_by_log_time_only() {
        let mut sm = sm(LIMITS);
        let s = register(&mut sm, 1, 100);
        // Exactly at the timeout the session lives; past it, it is gone.
        assert!(matches!(
            sm.apply(2, &entry(1_100, append(s, 1, "a"))),
            SessionOutput::Reply { .. }
        ));
        let other = register(&mut sm, 3, 2_101);
        assert_eq!(
            sm.apply(4, &entry(2_101, append(s, 2, "b"))),
            SessionOutput::SessionExpired { session: s, seq: 2 }
        );
        // A leader whose clock is behind does not move log time backwards.
        assert!(matches!(
            sm.apply(5, &entry(5, append(other, 1, "c"))),
            SessionOutput::Reply { executed: true, .. }
        ));
        assert_eq!(sm.sessions(), 1);
        assert_eq!(sm.app().get("k"), Some("ac"));
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_used() {
        let mut sm = sm(LIMITS);
        let a = register(&mut sm, 1, 0);
        let b = register(&mut sm, 2, 1);
        let c = register(&mut sm, 3, 2);
        sm.apply(4, &entry(3, append(a, 1, "x"))); // a is now the most recent
        let d = register(&mut sm, 5, 4);
        assert_eq!(sm.sessions(), 3);
        assert!(matches!(
            sm.apply(6, &entry(5, append(b, 1, "y"))),
            SessionOutput::SessionExpired { .. }
        ));
        for s in [a, c, d] {
            assert!(matches!(
                sm.apply(sm.applied_index() + 1, &entry(6, append(s, 9, "z"))),
                SessionOutput::Reply { .. }
            ));
        }
    }

    #[test]
    fn malformed_entries_are_reported_not_applied() {
        let mut sm = sm(LIMITS);
        assert!(matches!(
            sm.apply(1, b"\xff not json"),
            SessionOutput::Malformed { .. }
        ));
        assert_eq!(sm.applied_index(), 1);
        assert!(sm.app().is_empty());
    }

    #[test]
    fn kv_operations() {
        let mut kv = KvStore::new(4);
        assert_eq!(
            kv.apply(&KvOp::Get { key: "a".into() }),
            KvOutput::Value(String::new())
        );
        let cas = |expected: &str, new: &str| KvOp::Cas {
            key: "a".into(),
            expected: expected.into(),
            new: new.into(),
        };
        assert_eq!(kv.apply(&cas("", "1")), KvOutput::CasOk);
        assert_eq!(
            kv.apply(&cas("", "2")),
            KvOutput::CasFailed {
                current: "1".into()
            }
        );
        assert_eq!(
            kv.apply(&KvOp::Append {
                key: "a".into(),
                value: "23".into()
            }),
            KvOutput::Done
        );
        assert_eq!(
            kv.apply(&KvOp::Append {
                key: "a".into(),
                value: "45".into()
            }),
            KvOutput::TooLarge
        );
        assert_eq!(
            kv.apply(&KvOp::Put {
                key: "a".into(),
                value: "x".into()
            }),
            KvOutput::Done
        );
        assert_eq!(
            kv.apply(&KvOp::Get { key: "a".into() }),
            KvOutput::Value("x".into())
        );
    }

    proptest! {
        /// Any interleaving of duplicates and retries of one client's commands appends each
        /// command's value exactly once, in sequence order.
        #[test]
        fn any_interleaving_of_retries_executes_each_command_once(
            copies in proptest::collection::vec(1usize..4, 1..12),
            shuffle_seed in any::<u64>(),
        ) {
            let mut sm = sm(SessionLimits { timeout_ns: u64::MAX / 2, sessions_max: 4, dedup: true });
            let s = register(&mut sm, 1, 0);
            // A client sends seq n only after n - 1 completed, but a copy of n (a retry or a
            // duplicate) may be delayed past later commands: copies land anywhere after the
            // first copy of n.
            let mut entries: Vec<u64> = (1..=copies.len() as u64).collect();
            let mut rng = shuffle_seed;
            for (i, &n) in copies.iter().enumerate() {
                let seq = i as u64 + 1;
                for _ in 1..n {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let first = entries.iter().position(|&e| e == seq).unwrap();
                    let at = first + 1 + (rng >> 33) as usize % (entries.len() - first);
                    entries.insert(at, seq);
                }
            }
            let mut executed = 0;
            for (i, &seq) in entries.iter().enumerate() {
                let out = sm.apply(i as u64 + 2, &entry(i as u64, append(s, seq, &format!("{seq},"))));
                if let SessionOutput::Reply { executed: true, .. } = out {
                    executed += 1;
                }
            }
            let expected: String = (1..=copies.len()).map(|s| format!("{s},")).collect();
            prop_assert_eq!(sm.app().get("k").unwrap_or(""), expected.as_str());
            prop_assert_eq!(executed, copies.len());
        }
    }
}
