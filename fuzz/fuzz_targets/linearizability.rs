//! Differential: `check` (the memoized search with its shortcuts) against `check_brute_force`
//! (the definition, run literally) on small histories: 1 to 8 operations over 1 to 3
//! processes, on one register or two keys, of the register, cas-register or kv model. When
//! `check` decides (linearizable or not), brute force must agree; `Unknown` is no disagreement.
//! The verdict-only check must agree too, and a "not linearizable" key's minimal sub-history
//! must be evidence: not linearizable with every other operation relaxed, linearizable once
//! any one of its own is relaxed too; its longest linearization a legal, real-time ordered run.
//!
//! The history is built as `history_sized` builds it in the unit tests of
//! `sim/src/history/linearizability.rs`, with `arbitrary::Unstructured` for their byte tape:
//! each operation takes effect (or not) at an instant of a real register between its invoke
//! and its completion, then some ok reads get another value instead.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use sim::history::linearizability::{
    check, check_brute_force, relaxed, CheckOptions, KeyReport, Model, Verdict,
};
use sim::history::{Call, Completion, Operation, Value};
use std::collections::BTreeMap;

const PROCESSES_MAX: usize = 3;
const OPERATIONS_MAX: usize = 8;
/// Rounds of the generator per operation, as in the unit test.
const ROUNDS_PER_OPERATION: usize = 25;
/// Brute force on a key's operations with the others relaxed: beyond this, too slow.
const MINIMAL_CHECK_OPERATIONS_MAX: usize = 12;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let model = match draw(&mut u, 3) {
        0 => Model::Register {
            initial: Value::Nil,
        },
        1 => Model::CasRegister {
            initial: Value::Int(0),
        },
        _ => Model::Kv,
    };
    let (ops, nil_read_unknown) = history(&model, &mut u);
    let options = CheckOptions {
        nil_read_unknown,
        jobs: 1,
        ..CheckOptions::default()
    };
    let report = check(&ops, &model, &options);
    let brute = check_brute_force(&ops, &model, nil_read_unknown);
    let expected = match brute {
        true => Verdict::Linearizable,
        false => Verdict::NotLinearizable,
    };
    if report.verdict != Verdict::Unknown {
        assert_eq!(report.verdict, expected, "check disagrees with brute force on {model:?}, nil_read_unknown {nil_read_unknown}: {ops:#?}");
    }
    let quick = check(
        &ops,
        &model,
        &CheckOptions {
            evidence: false,
            ..options
        },
    );
    if quick.verdict != Verdict::Unknown {
        assert_eq!(
            quick.verdict, expected,
            "the verdict-only check disagrees with brute force: {ops:#?}"
        );
    }
    for key in &report.keys {
        if key.verdict != Verdict::NotLinearizable {
            assert!(key.minimal.is_empty() && key.longest_linearization.is_empty());
            continue;
        }
        assert!(
            valid_prefix(&key.longest_linearization, &model, nil_read_unknown),
            "not a linearization: {:#?}",
            key.longest_linearization
        );
        check_minimal(&ops, key, &model, nil_read_unknown);
    }
});

/// One of `n` choices (the tape's `draw`): 0 once the input is used up.
fn draw(u: &mut Unstructured, n: usize) -> usize {
    u.choose_index(n).unwrap_or(0)
}

/// An operation that was invoked and has not completed.
struct Pending {
    op: usize,
    /// Not applied yet / applied with this read result / a cas that found another value.
    applied: Option<Option<Value>>,
}

fn history(model: &Model, u: &mut Unstructured) -> (Vec<Operation>, bool) {
    let kv = matches!(model, Model::Kv);
    let nil_read_unknown = draw(u, 4) == 0;
    // Unique append texts, as raftsim's clients write them: unknown appends that no read
    // shows can be dropped, and must be dropped soundly.
    let unique_appends = kv && draw(u, 2) == 0;
    let processes = 1 + draw(u, PROCESSES_MAX);
    let keys: Vec<Option<String>> = match draw(u, 3) {
        0 => vec![Some("a".into()), Some("b".into())],
        _ => vec![None],
    };
    let ops_max = 1 + draw(u, OPERATIONS_MAX);
    let mut state: BTreeMap<Option<String>, Value> =
        keys.iter().map(|k| (k.clone(), initial(model))).collect();
    let mut pending: Vec<Option<Pending>> = (0..processes).map(|_| None).collect();
    let mut ops: Vec<Operation> = Vec::new();
    let mut pos = 0u64;
    for _ in 0..ROUNDS_PER_OPERATION * ops_max {
        let p = draw(u, processes);
        match pending[p].take() {
            None if ops.len() == ops_max => {
                if pending.iter().all(Option::is_none) {
                    break;
                }
            }
            None => {
                let call = match draw(u, if kv { 4 } else { 3 }) {
                    0 => Call::Read,
                    1 => Call::Write(small(u, kv)),
                    2 => Call::Cas(small(u, kv), small(u, kv)),
                    _ if unique_appends => Call::Append(Value::Str(format!("u{};", ops.len()))),
                    _ => Call::Append(small(u, kv)),
                };
                let key = keys[draw(u, keys.len())].clone();
                ops.push(Operation {
                    process: p as u64,
                    key,
                    call,
                    completion: Completion::Info,
                    invoke_pos: pos,
                    return_pos: None,
                    invoke_ns: None,
                    return_ns: None,
                });
                pos += 1;
                pending[p] = Some(Pending {
                    op: ops.len() - 1,
                    applied: None,
                });
            }
            Some(pend) => {
                pending[p] = progress(u, model, pend, &mut ops, &mut state, &mut pos);
            }
        }
    }
    corrupt_reads(u, kv, &mut ops);
    (ops, nil_read_unknown)
}

/// A value among 0, 1, 2; in the kv model sometimes as a string.
fn small(u: &mut Unstructured, kv: bool) -> Value {
    let i = draw(u, 3) as i64;
    if kv && draw(u, 2) == 0 {
        Value::Str(i.to_string())
    } else {
        Value::Int(i)
    }
}

/// Moves a pending operation on: it takes effect on the real register, completes (ok with what
/// it saw, or fail), both, or ends with its outcome unknown. Returns it if still pending.
fn progress(
    u: &mut Unstructured,
    model: &Model,
    mut pend: Pending,
    ops: &mut [Operation],
    state: &mut BTreeMap<Option<String>, Value>,
    pos: &mut u64,
) -> Option<Pending> {
    // Unknown outcomes: one in four, as the unit test draws them for short histories.
    const INFO_ONE_IN: usize = 4;
    // 0: take effect, 1: complete, 2: outcome unknown, 3: both 0 and 1.
    let action = match draw(u, INFO_ONE_IN) {
        x if x + 1 == INFO_ONE_IN => 2,
        x => [0, 1, 3][x % 3],
    };
    if pend.applied.is_none() && (action == 0 || action == 3) {
        let o = &ops[pend.op];
        let current = state.get_mut(&o.key).expect("every key has a state");
        pend.applied = Some(match (&o.call, apply(model, current, o, false)) {
            (Call::Read, _) => Some(current.clone()),
            (_, Some(next)) => {
                *current = next;
                Some(Value::Nil)
            }
            (_, None) => None,
        });
    }
    if action == 0 {
        return Some(pend);
    }
    if action != 2 {
        let o = &mut ops[pend.op];
        o.completion = match pend.applied {
            Some(Some(v)) => Completion::Ok(v),
            _ => Completion::Fail,
        };
        o.return_pos = Some(*pos);
    }
    *pos += 1;
    None
}

/// Gives about one ok read in two another value, which may make the history not linearizable.
fn corrupt_reads(u: &mut Unstructured, kv: bool, ops: &mut [Operation]) {
    for o in ops {
        if o.call == Call::Read && matches!(o.completion, Completion::Ok(_)) && draw(u, 2) == 1 {
            let v = match draw(u, 5) {
                0 => Value::Nil,
                i if kv => Value::Str(["", "0", "1", "01", "10"][i].to_owned()),
                i => Value::Int(i as i64 - 1),
            };
            o.completion = Completion::Ok(v);
        }
    }
}

// ---- The models, for the generator and for checking a linearization ------------------------

fn initial(model: &Model) -> Value {
    match model {
        Model::Register { initial } | Model::CasRegister { initial } => initial.clone(),
        Model::Kv => Value::Str(String::new()),
    }
}

/// The string form the kv model takes values by: nil is empty, a tuple `[a b]`.
fn rendered(value: &Value) -> String {
    match value {
        Value::Nil => String::new(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(rendered).collect();
            format!("[{}]", items.join(" "))
        }
    }
}

/// The state after `op` in `state`, if `op` is legal there (the models of
/// `sim::history::linearizability`, written out again).
fn apply(model: &Model, state: &Value, op: &Operation, nil_read_unknown: bool) -> Option<Value> {
    let kv = matches!(model, Model::Kv);
    let norm = |v: &Value| match kv {
        true => Value::Str(rendered(v)),
        false => v.clone(),
    };
    match &op.call {
        Call::Read => match &op.completion {
            Completion::Ok(Value::Nil) if nil_read_unknown => Some(state.clone()),
            Completion::Ok(v) => (norm(v) == *state).then(|| state.clone()),
            Completion::Info | Completion::Fail => Some(state.clone()),
        },
        Call::Write(v) => Some(norm(v)),
        Call::Cas(expected, new) => (norm(expected) == *state).then(|| norm(new)),
        Call::Append(v) => Some(Value::Str(rendered(state) + &rendered(v))),
    }
}

/// The model accepts `ops` in this order, and the order respects real time.
fn valid_prefix(ops: &[Operation], model: &Model, nil_read_unknown: bool) -> bool {
    let mut state = initial(model);
    for (i, o) in ops.iter().enumerate() {
        match apply(model, &state, o, nil_read_unknown) {
            Some(next) => state = next,
            None => return false,
        }
        let later_returned_first = ops[i + 1..]
            .iter()
            .any(|later| later.return_pos.is_some_and(|r| r < o.invoke_pos));
        if later_returned_first {
            return false;
        }
    }
    true
}

/// The minimal sub-history is evidence: not linearizable with every other operation of its key
/// relaxed, and linearizable once any one of its own operations is relaxed too.
fn check_minimal(ops: &[Operation], key: &KeyReport, model: &Model, nil_read_unknown: bool) {
    let of_key: Vec<Operation> = ops
        .iter()
        .filter(|o| o.key == key.key && o.completion != Completion::Fail)
        .cloned()
        .collect();
    if of_key.len() > MINIMAL_CHECK_OPERATIONS_MAX {
        return;
    }
    let context = relaxed(&of_key, &key.minimal);
    assert!(
        !check_brute_force(&context, model, nil_read_unknown),
        "the minimal sub-history is linearizable: {:#?}",
        key.minimal
    );
    for i in 0..key.minimal.len() {
        let mut fewer = key.minimal.clone();
        fewer.remove(i);
        let context = relaxed(&of_key, &fewer);
        assert!(
            check_brute_force(&context, model, nil_read_unknown),
            "the minimal sub-history is not minimal without operation {i}: {:#?}",
            key.minimal
        );
    }
}
