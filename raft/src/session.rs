//! Client sessions (Raft dissertation, section 6.3): exactly-once execution of client commands.
//!
//! A client registers once and gets an id (the log index of its registration); it then tags
//! every command with that id and a sequence number. The session table is part of the
//! replicated state: each server builds it from the log alone, so a retried command that was
//! already executed gets the cached reply on whichever server applies it, after any crash or
//! leader change. Sessions expire by log time (the leader's clock, stamped in each entry and
//! never allowed to go backwards), never by a server's own clock, so every server expires the
//! same sessions at the same entry.

use crate::kv::{decode_exact, Application};
use crate::Index;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// The replicated state as a snapshot holds it: borrowed from the state machine to encode,
/// owned once decoded. Everything a restored table needs to behave as the original is here;
/// the limits are configuration and are not.
#[derive(Serialize, Deserialize)]
struct Image<'a, Output: Clone> {
    /// The application's own snapshot.
    app: Vec<u8>,
    sessions: Cow<'a, BTreeMap<SessionId, Session<Output>>>,
    by_activity: Cow<'a, BTreeSet<(u64, SessionId)>>,
    log_time_ns: u64,
    applied_index: Index,
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

    /// The whole replicated state as bytes (Raft paper, section 7): the application's
    /// snapshot, and the session table with each session's last sequence number, cached
    /// reply and last activity, the log time and the applied index. Deterministic like the
    /// application's: the same entries give the same bytes on every server.
    pub fn snapshot(&self) -> Vec<u8> {
        let image = Image {
            app: self.app.snapshot(),
            sessions: Cow::Borrowed(&self.sessions),
            by_activity: Cow::Borrowed(&self.by_activity),
            log_time_ns: self.log_time_ns,
            applied_index: self.applied_index,
        };
        postcard::to_stdvec(&image).expect("a state machine always encodes")
    }

    /// The inverse of [`Replicated::snapshot`], under `limits` (configuration, the same on
    /// every server, checked as by [`Replicated::new`]). Bytes that are not a snapshot, and a session table that breaks its own
    /// invariants, give an error here rather than a panic at a later entry.
    pub fn restore(bytes: &[u8], limits: SessionLimits) -> Result<Replicated<A>, String> {
        let image: Image<A::Output> = decode_exact(bytes, "state machine snapshot")?;
        let app = A::restore(&image.app)?;
        let mut restored = Replicated::new(app, limits);
        restored.sessions = image.sessions.into_owned();
        restored.by_activity = image.by_activity.into_owned();
        restored.log_time_ns = image.log_time_ns;
        restored.applied_index = image.applied_index;
        restored.check_table()?;
        Ok(restored)
    }

    /// The invariants that `register`, `request` and `expire` keep: the table is within its
    /// limit, `by_activity` lists each session once with its last activity, no session was
    /// active after the log time, and every session id is an applied registration's index.
    fn check_table(&self) -> Result<(), String> {
        if self.sessions.len() > self.limits.sessions_max {
            return Err(format!(
                "the snapshot holds {} sessions, over the limit of {}",
                self.sessions.len(),
                self.limits.sessions_max
            ));
        }
        if self.by_activity.len() != self.sessions.len() {
            return Err(format!(
                "the snapshot's activity index lists {} sessions, its table {}",
                self.by_activity.len(),
                self.sessions.len()
            ));
        }
        for &(active_ns, id) in &self.by_activity {
            self.check_session(active_ns, id)?;
        }
        Ok(())
    }

    /// One entry of `by_activity` against the table. With as many entries as sessions, this
    /// holding for each makes the two agree one to one.
    fn check_session(&self, active_ns: u64, id: SessionId) -> Result<(), String> {
        let Some(session) = self.sessions.get(&id) else {
            return Err(format!(
                "the snapshot's activity index lists session {id}, absent from its table"
            ));
        };
        if session.last_active_ns != active_ns {
            return Err(format!(
                "session {id} was last active at {} ns, its activity index says {active_ns} ns",
                session.last_active_ns
            ));
        }
        if active_ns > self.log_time_ns {
            return Err(format!(
                "session {id} was active at {active_ns} ns, after the log time {} ns",
                self.log_time_ns
            ));
        }
        if !(1..=self.applied_index).contains(&id) {
            return Err(format!(
                "session {id} is not the index of an applied entry (applied through {})",
                self.applied_index
            ));
        }
        Ok(())
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

    /// What the log holds at one index.
    enum Step {
        Command(u64, SessionCommand<KvOp>),
        NoOp,
        Garbage,
    }

    fn registration(time_ns: u64) -> Step {
        Step::Command(time_ns, SessionCommand::Register { nonce: time_ns })
    }

    fn request(time_ns: u64, session: SessionId, seq: u64, op: KvOp) -> Step {
        Step::Command(time_ns, SessionCommand::Request { session, seq, op })
    }

    fn put(key: &str, value: &str) -> KvOp {
        KvOp::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    fn add(key: &str, value: &str) -> KvOp {
        KvOp::Append {
            key: key.into(),
            value: value.into(),
        }
    }

    fn cas(key: &str, expected: &str, new: &str) -> KvOp {
        KvOp::Cas {
            key: key.into(),
            expected: expected.into(),
            new: new.into(),
        }
    }

    /// Applies `steps` at the indexes after the last applied one.
    fn run(sm: &mut Replicated<KvStore>, steps: &[Step]) -> Vec<Option<SessionOutput<KvOutput>>> {
        let mut outputs = Vec::new();
        for step in steps {
            let index = sm.applied_index() + 1;
            outputs.push(match step {
                Step::Command(time_ns, command) => {
                    Some(sm.apply(index, &entry(*time_ns, command.clone())))
                }
                Step::NoOp => {
                    sm.skip(index);
                    None
                }
                Step::Garbage => Some(sm.apply(index, b"\x07 not a command")),
            });
        }
        outputs
    }

    /// Entries 1..=14, before the snapshot point (sessions 1, 2, 9, 11 are registered; 2
    /// expires), and 15..=24 after it, whose outputs depend on every part of the table.
    fn history() -> (Vec<Step>, Vec<Step>) {
        let before = vec![
            registration(0),
            registration(10),
            request(20, 1, 1, put("k", "v")),
            request(30, 2, 1, add("x", "1")),
            request(40, 2, 1, add("x", "1")), // a duplicate: the cached reply
            request(50, 1, 2, cas("k", "v", "w")),
            request(60, 1, 3, cas("k", "zz", "q")), // fails: its reply is cached
            Step::NoOp,
            registration(70),
            request(80, 9, 1, put("big", &"b".repeat(65))), // too large
            registration(1_050), // session 2, last active at 40, expires first
            request(1_055, 2, 2, add("x", "2")),
            Step::Garbage,
            request(1_060, 1, 2, add("k", "!")), // stale
        ];
        let after = vec![
            // A clock behind the log time; the cached reply of the failed cas.
            request(5, 1, 3, cas("k", "zz", "q")),
            request(1_065, 9, 2, add("x", "9")),
            // A full table: session 11 (1_050) goes, not 1 (1_060, the log time at entry 15).
            registration(1_070),
            request(1_075, 11, 1, put("k", "lost")),
            // Session 1 expires; 9 (1_065) and 17 (1_070) do not.
            request(2_062, 1, 4, add("k", "late")),
            request(2_063, 9, 3, KvOp::Get { key: "x".into() }),
            request(2_064, 17, 1, add("x", "c")),
            request(2_064, 17, 1, add("x", "c")),
            Step::NoOp,
            registration(5_000),
        ];
        (before, after)
    }

    fn after_history_before_snapshot() -> Replicated<KvStore> {
        let mut sm = sm(LIMITS);
        run(&mut sm, &history().0);
        sm
    }

    #[test]
    fn a_restored_state_machine_behaves_as_the_original() {
        // Section 7: a server that restores a snapshot and applies the entries after it ends
        // in the state of one that applied the whole log, giving the same replies.
        let mut original = after_history_before_snapshot();
        let bytes = original.snapshot();
        let mut restored = Replicated::<KvStore>::restore(&bytes, LIMITS).expect("it restores");
        assert_eq!(
            restored.snapshot(),
            bytes,
            "restore is the inverse of snapshot"
        );
        assert_eq!(restored.app(), original.app());
        assert_eq!(restored.applied_index(), 14);
        assert_eq!(restored.sessions(), 3);
        let after = history().1;
        let expected = run(&mut original, &after);
        assert_eq!(run(&mut restored, &after), expected);
        assert_eq!(restored.snapshot(), original.snapshot());
        // The history does what its comments say.
        let cached = SessionOutput::Reply {
            session: 1,
            seq: 3,
            output: KvOutput::CasFailed {
                current: "w".into(),
            },
            executed: false,
        };
        assert_eq!(expected[0], Some(cached));
        let evicted = SessionOutput::SessionExpired {
            session: 11,
            seq: 1,
        };
        assert_eq!(expected[3], Some(evicted));
        let expired = SessionOutput::SessionExpired { session: 1, seq: 4 };
        assert_eq!(expected[4], Some(expired));
        assert!(matches!(
            expected[7],
            Some(SessionOutput::Reply {
                executed: false,
                ..
            })
        ));
        assert_eq!(original.app().get("x"), Some("19c"));
    }

    #[test]
    fn the_same_entries_give_the_same_snapshot_bytes() {
        let a = after_history_before_snapshot();
        let b = after_history_before_snapshot();
        assert_eq!(a.snapshot(), b.snapshot());
        let mut c = after_history_before_snapshot();
        c.skip(15);
        assert_ne!(
            a.snapshot(),
            c.snapshot(),
            "the applied index is in the bytes"
        );
    }

    #[test]
    fn restore_rejects_bytes_that_are_not_a_snapshot() {
        use rand::{Rng, SeedableRng};
        let bytes = after_history_before_snapshot().snapshot();
        for len in 0..bytes.len() {
            assert!(
                Replicated::<KvStore>::restore(&bytes[..len], LIMITS).is_err(),
                "the first {len} of {} bytes",
                bytes.len()
            );
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        let error = Replicated::<KvStore>::restore(&trailing, LIMITS).unwrap_err();
        assert!(error.contains("1 bytes after"), "{error}");
        // A flipped byte or random bytes may happen to decode; whatever they give, it is not a
        // panic, and a table that decodes has passed its checks.
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xff;
            let _ = Replicated::<KvStore>::restore(&flipped, LIMITS);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2_000 {
            let len = rng.gen_range(0..=bytes.len());
            let garbage: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let _ = Replicated::<KvStore>::restore(&garbage, LIMITS);
        }
    }

    #[test]
    fn restore_rejects_a_session_table_that_breaks_its_invariants() {
        let corrupt = |change: fn(&mut Replicated<KvStore>)| {
            let mut sm = after_history_before_snapshot();
            change(&mut sm);
            Replicated::<KvStore>::restore(&sm.snapshot(), LIMITS).unwrap_err()
        };
        let error = corrupt(|sm| {
            let first = sm.by_activity.pop_first().expect("sessions are open");
            sm.by_activity.insert((first.0 + 1, first.1));
        });
        assert!(error.contains("its activity index says"), "{error}");
        let error = corrupt(|sm| {
            sm.by_activity.insert((0, 2));
            sm.by_activity.pop_last();
        });
        assert!(error.contains("absent from its table"), "{error}");
        let error = corrupt(|sm| {
            sm.by_activity.insert((0, 2));
        });
        assert!(error.contains("activity index lists 4 sessions"), "{error}");
        let error = corrupt(|sm| sm.log_time_ns = 0);
        assert!(error.contains("after the log time"), "{error}");
        let error = corrupt(|sm| sm.applied_index = 10);
        assert!(error.contains("session 11 is not the index"), "{error}");
        let two = SessionLimits {
            sessions_max: 2,
            ..LIMITS
        };
        let bytes = after_history_before_snapshot().snapshot();
        let error = Replicated::<KvStore>::restore(&bytes, two).unwrap_err();
        assert!(error.contains("over the limit of 2"), "{error}");
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
