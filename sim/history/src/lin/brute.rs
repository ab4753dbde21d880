//! The exhaustive checker: every order consistent with real time, on plain [`Value`]s. It
//! shares nothing with the search engine but the string form of values, so that the two can
//! be checked against each other.

use super::search::rendered;
use super::Model;
use crate::{Call, Completion, Operation, Value};
use std::collections::HashSet;

/// The model's state after `op` in `state`, if `op` is legal there.
pub(crate) fn apply(
    model: &Model,
    state: &Value,
    op: &Operation,
    nil_read_unknown: bool,
) -> Option<Value> {
    let kv = matches!(model, Model::Kv);
    let norm = |v: &Value| {
        if kv {
            Value::Str(rendered(v))
        } else {
            v.clone()
        }
    };
    match &op.call {
        Call::Read => match &op.completion {
            Completion::Ok(Value::Nil) if nil_read_unknown => Some(state.clone()),
            Completion::Ok(v) => (norm(v) == *state).then(|| state.clone()),
            // A read whose result is unknown observes nothing.
            Completion::Info | Completion::Fail => Some(state.clone()),
        },
        Call::Write(v) => Some(norm(v)),
        Call::Cas(expected, new) => (norm(expected) == *state).then(|| norm(new)),
        Call::Append(v) => Some(Value::Str(rendered(state) + &rendered(v))),
    }
}

/// The model's state before any operation.
pub(crate) fn initial(model: &Model) -> Value {
    match model {
        Model::Register { initial } | Model::CasRegister { initial } => initial.clone(),
        Model::Kv => Value::Str(String::new()),
    }
}

/// Whether one key's operations are linearizable, trying every order (remembering the
/// (set of operations done, state) pairs from which none worked).
pub(crate) fn linearizable(ops: &[&Operation], model: &Model, nil_read_unknown: bool) -> bool {
    let ops: Vec<&Operation> = ops
        .iter()
        .copied()
        .filter(|o| o.completion != Completion::Fail)
        .collect();
    let ok: Vec<bool> = ops
        .iter()
        .map(|o| matches!(o.completion, Completion::Ok(_)))
        .collect();
    // An operation may go next once every `Ok` operation that returned before its invocation
    // has gone.
    let before: Vec<Vec<usize>> = ops
        .iter()
        .map(|b| {
            (0..ops.len())
                .filter(|&a| ok[a] && ops[a].return_pos.is_some_and(|r| r < b.invoke_pos))
                .collect()
        })
        .collect();
    let mut cx = Cx {
        ops: &ops,
        ok: &ok,
        before: &before,
        model,
        nil_read_unknown,
        ok_total: ok.iter().filter(|&&k| k).count(),
        failed: HashSet::new(),
    };
    let mut used = vec![false; ops.len()];
    cx.go(&initial(model), &mut used, 0)
}

struct Cx<'a> {
    ops: &'a [&'a Operation],
    ok: &'a [bool],
    before: &'a [Vec<usize>],
    model: &'a Model,
    nil_read_unknown: bool,
    ok_total: usize,
    failed: HashSet<(Vec<bool>, Value)>,
}

impl Cx<'_> {
    fn go(&mut self, state: &Value, used: &mut [bool], ok_done: usize) -> bool {
        if ok_done == self.ok_total {
            return true;
        }
        if self.failed.contains(&(used.to_vec(), state.clone())) {
            return false;
        }
        for i in 0..self.ops.len() {
            if used[i] || self.before[i].iter().any(|&a| !used[a]) {
                continue;
            }
            if let Some(next) = apply(self.model, state, self.ops[i], self.nil_read_unknown) {
                used[i] = true;
                if self.go(&next, used, ok_done + usize::from(self.ok[i])) {
                    return true;
                }
                used[i] = false;
            }
        }
        self.failed.insert((used.to_vec(), state.clone()));
        false
    }
}
