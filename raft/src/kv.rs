//! The key-value store that raftsim's clients use: `get`, `put`, `append` and `cas` on string
//! values. It is an [`Application`]: any deterministic state machine can take its place.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A deterministic state machine replicated by Raft: the same operations in the same order give
/// the same outputs on every server.
pub trait Application {
    /// An operation.
    type Op: Clone + Debug + PartialEq + Serialize + for<'de> Deserialize<'de>;
    /// What an operation returns. It is serializable because a session's cached reply is part
    /// of the replicated state, and so of a snapshot.
    type Output: Clone + Debug + PartialEq + Serialize + for<'de> Deserialize<'de>;
    /// Executes one operation.
    fn apply(&mut self, op: &Self::Op) -> Self::Output;
    /// The whole state as bytes (Raft paper, section 7), to stand for every entry applied so
    /// far. Deterministic: the same state gives the same bytes on every server, so servers
    /// can compare snapshots and a snapshot can be checked against a replay of the log.
    fn snapshot(&self) -> Vec<u8>;
    /// The inverse of [`Application::snapshot`]. Bytes that are not a snapshot (truncated,
    /// corrupt, with trailing bytes, or breaking the application's own invariants) give an
    /// error, never a panic: they come from a disk or from another server.
    fn restore(bytes: &[u8]) -> Result<Self, String>
    where
        Self: Sized;
}

/// Decodes postcard bytes that must hold exactly one `T`, naming `what` in the error.
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} bytes after the {what}", rest.len())),
        Err(e) => Err(format!("the {what} does not decode: {e}")),
    }
}

/// An operation on the key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvOp {
    /// Read a key; a missing key reads as the empty string.
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// Append to a key's value.
    Append {
        /// The key.
        key: String,
        /// The suffix.
        value: String,
    },
    /// Set a key to `new` if its value is `expected`.
    Cas {
        /// The key.
        key: String,
        /// The value expected.
        expected: String,
        /// The value to set.
        new: String,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key }
            | KvOp::Put { key, .. }
            | KvOp::Append { key, .. }
            | KvOp::Cas { key, .. } => key,
        }
    }
}

/// What a key-value operation returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOutput {
    /// A get's value.
    Value(String),
    /// A put or append took effect.
    Done,
    /// A cas found the expected value and set the new one.
    CasOk,
    /// A cas found another value and changed nothing.
    CasFailed {
        /// The value it found.
        current: String,
    },
    /// The value would pass `value_bytes_max`; nothing changed.
    TooLarge,
}

/// A key-value store of strings, with every value bounded in size.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvStore {
    /// Ordered, so that its snapshot lists the keys in the same order on every server.
    map: BTreeMap<String, String>,
    value_bytes_max: usize,
}

impl KvStore {
    /// An empty store whose values hold at most `value_bytes_max` bytes.
    pub fn new(value_bytes_max: usize) -> KvStore {
        KvStore {
            map: BTreeMap::new(),
            value_bytes_max,
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no key is set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn set(&mut self, key: &str, value: String) -> KvOutput {
        if value.len() > self.value_bytes_max {
            return KvOutput::TooLarge;
        }
        self.map.insert(key.to_string(), value);
        KvOutput::Done
    }
}

impl Application for KvStore {
    type Op = KvOp;
    type Output = KvOutput;

    fn apply(&mut self, op: &KvOp) -> KvOutput {
        match op {
            KvOp::Get { key } => KvOutput::Value(self.get(key).unwrap_or("").to_string()),
            KvOp::Put { key, value } => self.set(key, value.clone()),
            KvOp::Append { key, value } => {
                let current = self.get(key).unwrap_or("");
                let appended = format!("{current}{value}");
                self.set(key, appended)
            }
            KvOp::Cas { key, expected, new } => {
                let current = self.get(key).unwrap_or("");
                if current != expected {
                    return KvOutput::CasFailed {
                        current: current.to_string(),
                    };
                }
                match self.set(key, new.clone()) {
                    KvOutput::Done => KvOutput::CasOk,
                    other => other,
                }
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a key-value store always encodes")
    }

    fn restore(bytes: &[u8]) -> Result<KvStore, String> {
        let store: KvStore = decode_exact(bytes, "key-value snapshot")?;
        // `set` never stores a value over the bound; a snapshot that holds one was not made
        // by a store.
        if let Some((key, value)) = store
            .map
            .iter()
            .find(|(_, value)| value.len() > store.value_bytes_max)
        {
            return Err(format!(
                "key-value snapshot: the value of {key:?} has {} bytes, over the {} allowed",
                value.len(),
                store.value_bytes_max
            ));
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> KvStore {
        let mut kv = KvStore::new(8);
        for op in [
            KvOp::Put {
                key: "b".into(),
                value: "2".into(),
            },
            KvOp::Put {
                key: "a".into(),
                value: "1".into(),
            },
            KvOp::Append {
                key: "a".into(),
                value: "11".into(),
            },
        ] {
            kv.apply(&op);
        }
        kv
    }

    #[test]
    fn a_store_restores_from_its_snapshot() {
        let kv = store();
        let bytes = kv.snapshot();
        let restored = KvStore::restore(&bytes).expect("a snapshot restores");
        assert_eq!(restored, kv);
        assert_eq!(
            restored.snapshot(),
            bytes,
            "restore is the inverse of snapshot"
        );
        assert_eq!(
            KvStore::restore(&KvStore::new(3).snapshot()),
            Ok(KvStore::new(3)),
            "an empty store keeps its bound"
        );
    }

    #[test]
    fn the_same_state_gives_the_same_bytes() {
        // Keys inserted in another order: the map, and so the bytes, are the same.
        let mut other = KvStore::new(8);
        other.apply(&KvOp::Put {
            key: "a".into(),
            value: "111".into(),
        });
        other.apply(&KvOp::Put {
            key: "b".into(),
            value: "2".into(),
        });
        assert_eq!(other.snapshot(), store().snapshot());
    }

    #[test]
    fn restore_rejects_what_is_not_a_snapshot() {
        let bytes = store().snapshot();
        for len in 0..bytes.len() {
            assert!(
                KvStore::restore(&bytes[..len]).is_err(),
                "{len} of {} bytes",
                bytes.len()
            );
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(KvStore::restore(&trailing)
            .unwrap_err()
            .contains("1 bytes after"));
        let mut oversized = KvStore::new(8);
        oversized.map.insert("k".into(), "123456789".into());
        assert!(KvStore::restore(&oversized.snapshot())
            .unwrap_err()
            .contains("over the 8 allowed"));
        assert!(KvStore::restore(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
    }
}
