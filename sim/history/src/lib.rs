//! Client histories, Jepsen-style: every operation a client invoked, and how it ended.
//!
//! A history is a sequence of [`Event`]s: per process (client), an `invoke` followed by its
//! `ok`, `fail` or `info`. The checkers work on [`Operation`]s: an invocation paired with its
//! completion. Positions in the event sequence, not times, order events, so that histories
//! without timestamps (Jepsen text logs) and events that share a timestamp are judged alike.
//!
//! This crate stands on its own, like Porcupine: it does not know the simulator. Read a history
//! with [`parse::parse_history`] (raftsim JSON lines, Jepsen EDN or a Jepsen log, detected),
//! pair it with [`parse::pair`] or [`operations`], check it with [`linearizability::check`]
//! against a [`linearizability::Model`], and report: [`cli::check_history`] is all of that,
//! as `raftsim check-history` runs it. raftsim re-exports the crate as `sim::history`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
pub mod input;
pub mod linearizability;
pub mod parse;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A value as histories carry it: Jepsen's `nil`, an integer, a string, or a tuple (a cas's
/// `[expected new]`, an independent key's `[key value]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// No value: a register never written, or a read whose result is not known.
    Nil,
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A tuple.
    List(Vec<Value>),
}

/// The operation a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    /// Read a register, or get a key.
    Read,
    /// Write a register, or put a key.
    Write,
    /// Compare-and-set; the value is `[expected new]`.
    Cas,
    /// Append to a key's string value.
    Append,
}

/// The kind of a history event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A client started an operation.
    Invoke,
    /// It took effect.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Its outcome is unknown.
    Info,
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The client (Jepsen's process).
    pub process: u64,
    /// Invoke, ok, fail or info.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The operation.
    pub f: Function,
    /// The key; `None` for a single-register history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The argument (invoke) or result (ok of a read).
    #[serde(default = "nil")]
    pub value: Value,
    /// Simulated or recorded time, if the history has times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<u64>,
}

fn nil() -> Value {
    Value::Nil
}

/// What a client asked for, typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// Read a register, or get a key.
    Read,
    /// Write a register, or put a key.
    Write(Value),
    /// If the value is `.0`, make it `.1`.
    Cas(Value, Value),
    /// Append to a key's string value.
    Append(Value),
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Completion {
    /// It took effect; for a read, with the value it saw.
    Ok(Value),
    /// It certainly did not take effect.
    Fail,
    /// Unknown: it may have taken effect, at any time after its invocation, or never.
    Info,
}

/// One operation: an invocation and its completion, with their positions in the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The client.
    pub process: u64,
    /// The key; `None` for a single-register history.
    pub key: Option<String>,
    /// What was asked.
    pub call: Call,
    /// How it ended. An invocation that never completed is `Info`.
    pub completion: Completion,
    /// Index of the invoke event in the history.
    pub invoke_pos: u64,
    /// Index of the completion event; `None` if the outcome is unknown (`Info`), which places
    /// the operation's end after every other event.
    pub return_pos: Option<u64>,
    /// Times from the history, for reports; `None` when it has none.
    pub invoke_ns: Option<u64>,
    /// See `invoke_ns`.
    pub return_ns: Option<u64>,
}

/// A history that does not make sense, with the index of the offending event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// Index of the event in the history (parsers map it to a line).
    pub event: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event {}: {}", self.event, self.message)
    }
}

impl std::error::Error for HistoryError {}

/// Pairs each invocation with its process's next completion. A completion without an
/// invocation, a second invocation before the first completed, or a completion for another
/// function is an error. An invocation never completed becomes `Info`.
pub fn operations(events: &[Event]) -> Result<Vec<Operation>, HistoryError> {
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops: Vec<Operation> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let err = |message: String| HistoryError { event: i, message };
        if event.kind == EventKind::Invoke {
            if let Some(&op) = open.get(&event.process) {
                return Err(err(format!(
                    "process {} invokes again before its invocation at event {} completed",
                    event.process, ops[op].invoke_pos
                )));
            }
            let call = typed_call(event.f, &event.value).map_err(err)?;
            open.insert(event.process, ops.len());
            ops.push(Operation {
                process: event.process,
                key: event.key.clone(),
                call,
                completion: Completion::Info,
                invoke_pos: i as u64,
                return_pos: None,
                invoke_ns: event.time_ns,
                return_ns: None,
            });
            continue;
        }
        let Some(op_index) = open.remove(&event.process) else {
            return Err(err(format!(
                "process {} completes an operation it never invoked",
                event.process
            )));
        };
        let op = &mut ops[op_index];
        if f_of(&op.call) != event.f {
            return Err(err(format!(
                "process {} completes a {:?} but invoked a {:?}",
                event.process,
                event.f,
                f_of(&op.call)
            )));
        }
        if event.key.is_some() && event.key != op.key {
            return Err(err(format!(
                "process {} completes on another key than it invoked",
                event.process
            )));
        }
        match event.kind {
            EventKind::Ok => {
                let value = if op.call == Call::Read {
                    event.value.clone()
                } else {
                    Value::Nil
                };
                op.completion = Completion::Ok(value);
                op.return_pos = Some(i as u64);
                op.return_ns = event.time_ns;
            }
            EventKind::Fail => {
                op.completion = Completion::Fail;
                op.return_pos = Some(i as u64);
                op.return_ns = event.time_ns;
            }
            // Info: the process is done with it, the outcome stays open forever.
            EventKind::Info | EventKind::Invoke => {}
        }
    }
    Ok(ops)
}

fn f_of(call: &Call) -> Function {
    match call {
        Call::Read => Function::Read,
        Call::Write(_) => Function::Write,
        Call::Cas(..) => Function::Cas,
        Call::Append(_) => Function::Append,
    }
}

fn typed_call(f: Function, value: &Value) -> Result<Call, String> {
    Ok(match f {
        Function::Read => Call::Read,
        Function::Write => Call::Write(value.clone()),
        Function::Append => Call::Append(value.clone()),
        Function::Cas => match value {
            Value::List(pair) if pair.len() == 2 => Call::Cas(pair[0].clone(), pair[1].clone()),
            other => return Err(format!("a cas takes [expected new], found {other:?}")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(process: u64, kind: EventKind, f: Function, value: Value) -> Event {
        Event {
            process,
            kind,
            f,
            key: None,
            value,
            time_ns: None,
        }
    }

    #[test]
    fn pairs_invocations_with_completions() {
        use EventKind::*;
        use Function::*;
        let events = vec![
            ev(0, Invoke, Write, Value::Int(1)),
            ev(1, Invoke, Read, Value::Nil),
            ev(0, Ok, Write, Value::Int(1)),
            ev(1, Ok, Read, Value::Int(1)),
            ev(
                2,
                Invoke,
                Cas,
                Value::List(vec![Value::Int(1), Value::Int(2)]),
            ),
            ev(2, Info, Cas, Value::Nil),
            ev(3, Invoke, Write, Value::Int(5)),
        ];
        let ops = operations(&events).unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!((ops[0].invoke_pos, ops[0].return_pos), (0, Some(2)));
        assert_eq!(ops[1].completion, Completion::Ok(Value::Int(1)));
        assert_eq!(ops[2].call, Call::Cas(Value::Int(1), Value::Int(2)));
        assert_eq!(
            (ops[2].completion.clone(), ops[2].return_pos),
            (Completion::Info, None)
        );
        assert_eq!(
            (ops[3].completion.clone(), ops[3].return_pos),
            (Completion::Info, None)
        );
    }

    #[test]
    fn rejects_nonsense() {
        use EventKind::*;
        use Function::*;
        let orphan = operations(&[ev(4, Ok, Read, Value::Int(1))]).unwrap_err();
        assert_eq!(orphan.event, 0);
        assert!(orphan.message.contains("never invoked"), "{orphan}");
        let twice = operations(&[
            ev(1, Invoke, Read, Value::Nil),
            ev(1, Invoke, Read, Value::Nil),
        ])
        .unwrap_err();
        assert_eq!(twice.event, 1);
        let other_f = operations(&[
            ev(1, Invoke, Read, Value::Nil),
            ev(1, Ok, Write, Value::Nil),
        ])
        .unwrap_err();
        assert!(other_f.message.contains("invoked a Read"), "{other_f}");
        let bad_cas = operations(&[ev(1, Invoke, Cas, Value::Int(3))]).unwrap_err();
        assert!(bad_cas.message.contains("[expected new]"), "{bad_cas}");
    }
}
