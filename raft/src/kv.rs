//! The key-value store that raftsim's clients use: `get`, `put`, `append` and `cas` on string
//! values. It is an [`Application`]: any deterministic state machine can take its place.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A deterministic state machine replicated by Raft: the same operations in the same order give
/// the same outputs on every server.
pub trait Application {
    /// An operation.
    type Op: Clone + Debug + PartialEq + Serialize + for<'de> Deserialize<'de>;
    /// What an operation returns.
    type Output: Clone + Debug + PartialEq;
    /// Executes one operation.
    fn apply(&mut self, op: &Self::Op) -> Self::Output;
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
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
}
