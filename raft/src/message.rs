use crate::{Index, Membership, NodeId, Term};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The term of the leader that created it.
    pub term: Term,
    /// Its position in the log.
    pub index: Index,
    /// What it carries.
    pub payload: Payload,
}

/// The contents of a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Payload {
    /// Appended by a new leader at the start of its term so that it can commit (section 5.4.2,
    /// and section 8 for reads).
    Noop,
    /// An application command, opaque to the protocol. Shared, not copied: the log, the
    /// messages that carry it and the host's storage all hold the same bytes.
    Command(#[serde(with = "hex")] Arc<[u8]>),
    /// A configuration (section 6): it takes effect on a server as soon as it is in its log.
    /// Boxed: configurations are rare, and an entry is as large as its largest payload.
    Config(Box<Membership>),
}

/// A snapshot of the state machine (section 7): it stands for every log entry through `index`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last index it covers (Figure 13's lastIncludedIndex).
    pub index: Index,
    /// The term of the entry at `index` (lastIncludedTerm).
    pub term: Term,
    /// The configuration in effect at `index` (section 6): the log entry that set it is gone.
    pub membership: Membership,
    /// The state machine's state, opaque to the protocol.
    #[serde(with = "hex")]
    pub data: Vec<u8>,
}

/// The state a node must persist (section 5, Figure 2), plus the commit index, which a node may
/// persist without a sync to speed up its restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HardState {
    /// The latest term the node has seen.
    pub term: Term,
    /// The candidate it voted for in `term`.
    pub vote: Option<NodeId>,
    /// A lower bound on the commit index.
    pub commit: Index,
}

/// A message between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// The sender.
    pub from: NodeId,
    /// The recipient.
    pub to: NodeId,
    /// The sender's current term.
    pub term: Term,
    /// The request or response.
    pub body: Body,
}

/// The RPCs of Figure 2. Serialized with the RPC's name in `kind` beside its fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Body {
    /// RequestVote (section 5.2).
    RequestVote {
        /// Index of the candidate's last entry.
        last_log_index: Index,
        /// Term of the candidate's last entry.
        last_log_term: Term,
    },
    /// The answer to RequestVote.
    RequestVoteResponse {
        /// True if the vote was granted.
        granted: bool,
    },
    /// AppendEntries (section 5.3); with no entries, a heartbeat.
    AppendEntries {
        /// Index of the entry just before `entries`.
        prev_log_index: Index,
        /// Term of that entry.
        prev_log_term: Term,
        /// The entries to store, consecutive from `prev_log_index + 1`.
        entries: Vec<Entry>,
        /// The leader's commit index.
        leader_commit: Index,
    },
    /// One chunk of InstallSnapshot (section 7, Figure 13), sent to a follower that needs
    /// entries the leader has compacted away. A follower answers a chunk that completes the
    /// snapshot with a successful `AppendEntriesResponse` through `last_included_index`, and
    /// any other with `InstallSnapshotResponse`.
    InstallSnapshot {
        /// The snapshot's last index.
        last_included_index: Index,
        /// The term of the entry at that index.
        last_included_term: Term,
        /// The configuration in effect at that index (boxed: it would make every message
        /// larger, and hosts move messages around a lot).
        membership: Box<Membership>,
        /// The snapshot's whole size in bytes.
        size_bytes: u64,
        /// Where this chunk starts in the snapshot.
        offset: u64,
        /// The chunk, at most `Config::snapshot_chunk_bytes_max` bytes.
        #[serde(with = "hex")]
        data: Vec<u8>,
    },
    /// The answer to a chunk that did not complete the snapshot: the follower holds the
    /// first `offset_next` bytes of the snapshot through `last_included_index` and wants the
    /// bytes from there. After a loss, a duplicate or a crash half-way, it names the offset
    /// it really needs, which may be 0.
    InstallSnapshotResponse {
        /// The snapshot's last index.
        last_included_index: Index,
        /// The offset of the next chunk wanted.
        offset_next: u64,
    },
    /// The answer to AppendEntries.
    AppendEntriesResponse {
        /// True if the follower's log now matches the leader's through `match_index`.
        success: bool,
        /// On success, the last index known to match; on failure, the `prev_log_index` rejected.
        match_index: Index,
        /// On failure, a hint for fast log backtracking: the first index of the follower's entry
        /// at the rejected position's term, or the follower's last index + 1 if it is too short.
        conflict_index: Index,
        /// On failure, the term of the follower's entry at the rejected position, if it has one.
        conflict_term: Option<Term>,
    },
}

impl Body {
    /// A short name of the RPC, for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::RequestVote { .. } => "RequestVote",
            Body::RequestVoteResponse { .. } => "RequestVoteResponse",
            Body::AppendEntries { .. } => "AppendEntries",
            Body::AppendEntriesResponse { .. } => "AppendEntriesResponse",
            Body::InstallSnapshot { .. } => "InstallSnapshot",
            Body::InstallSnapshotResponse { .. } => "InstallSnapshotResponse",
        }
    }
}

/// Opaque bytes (commands, snapshot data) as one lowercase hex string: readable in a trace and
/// half the size of a JSON list of numbers.
mod hex {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::fmt::Write as _;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            let _ = write!(text, "{b:02x}");
        }
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: From<Vec<u8>>,
    {
        let text = String::deserialize(deserializer)?;
        if text.len() % 2 != 0 {
            return Err(D::Error::custom("hex bytes: an odd number of digits"));
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(D::Error::custom(format!(
                "hex bytes: `{}` is not a lowercase hex digit",
                char::from(c)
            ))),
        };
        text.as_bytes()
            .chunks_exact(2)
            .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect::<Result<Vec<u8>, _>>()
            .map(T::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes travel as lowercase hex, and every wire type reads back to itself.
    #[test]
    fn messages_serialize_readably_and_read_back() {
        let message = Message {
            from: 1,
            to: 2,
            term: 3,
            body: Body::AppendEntries {
                prev_log_index: 4,
                prev_log_term: 2,
                entries: vec![
                    Entry {
                        term: 3,
                        index: 5,
                        payload: Payload::Command(vec![0x00, 0xab, 0x10].into()),
                    },
                    Entry {
                        term: 3,
                        index: 6,
                        payload: Payload::Config(Box::new(Membership::simple(&[1, 2, 3]))),
                    },
                    Entry {
                        term: 3,
                        index: 7,
                        payload: Payload::Noop,
                    },
                ],
                leader_commit: 4,
            },
        };
        let text = serde_json::to_string(&message).unwrap();
        assert!(text.contains(r#""kind":"AppendEntries""#), "{text}");
        assert!(text.contains(r#"{"Command":"00ab10"}"#), "{text}");
        assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), message);
        let chunk = Body::InstallSnapshot {
            last_included_index: 9,
            last_included_term: 2,
            membership: Box::new(Membership::simple(&[1, 2])),
            size_bytes: 2,
            offset: 0,
            data: vec![0xff, 0x01],
        };
        let text = serde_json::to_string(&chunk).unwrap();
        assert!(text.contains(r#""data":"ff01""#), "{text}");
        assert_eq!(serde_json::from_str::<Body>(&text).unwrap(), chunk);
        for bad in [
            r#"{"Command":"abc"}"#,
            r#"{"Command":"AB"}"#,
            r#"{"Command":"zz"}"#,
        ] {
            assert!(serde_json::from_str::<Payload>(bad).is_err(), "{bad}");
        }
    }
}
