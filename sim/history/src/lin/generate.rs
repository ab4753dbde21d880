//! Random small histories with a known construction, and checks of the evidence a "not
//! linearizable" verdict comes with: what the differential tests and the `linearizability`
//! fuzz target share. A history is made on a real register (one per key): each operation
//! takes effect, or not, at an instant between its invocation and its completion; then some ok
//! reads are given another value, which may make it not linearizable. Every choice comes from
//! `draw(n)`, a number below `n` (a byte tape in the tests, the fuzzer's input in the target).

use super::brute;
use super::{check_brute_force, relaxed, KeyReport, Model};
use crate::{Call, Completion, Operation, Value};
use std::collections::BTreeMap;

/// An operation that was invoked and has not completed.
struct Pending {
    op: usize,
    /// Not applied yet / applied with this read result / a cas that found another value.
    applied: Option<Option<Value>>,
}

/// A history of 1 to `ops_max` operations over 1 to `procs_max` processes, on one register or
/// two keys, and whether an ok read of nil is to mean "unknown" (`nil_read_unknown`).
pub fn random_history(
    model: &Model,
    draw: &mut dyn FnMut(usize) -> usize,
    procs_max: usize,
    ops_max: usize,
) -> (Vec<Operation>, bool) {
    let kv = matches!(model, Model::Kv);
    let nil_read_unknown = draw(4) == 0;
    // Unique append texts, as raftsim's clients write them: unknown appends that no read
    // shows can be dropped, and must be dropped soundly.
    let unique_appends = kv && draw(2) == 0;
    let procs = 1 + draw(procs_max);
    let keys: Vec<Option<String>> = if draw(3) == 0 {
        vec![Some("a".into()), Some("b".into())]
    } else {
        vec![None]
    };
    // Unknown outcomes: often in short histories, rarer in long ones (for brute force).
    let info_one_in = if ops_max > 8 { 16 } else { 4 };
    let ops_max = 1 + draw(ops_max);
    let mut state: BTreeMap<Option<String>, Value> = keys
        .iter()
        .map(|k| (k.clone(), brute::initial(model)))
        .collect();
    let mut pending: Vec<Option<Pending>> = (0..procs).map(|_| None).collect();
    let mut ops: Vec<Operation> = Vec::new();
    let mut pos = 0u64;
    let small = |draw: &mut dyn FnMut(usize) -> usize| -> Value {
        let i = draw(3) as i64;
        if kv && draw(2) == 0 {
            Value::Str(i.to_string())
        } else {
            Value::Int(i)
        }
    };
    for _ in 0..25 * ops_max {
        let p = draw(procs);
        match pending[p].take() {
            None => {
                if ops.len() == ops_max {
                    if pending.iter().all(Option::is_none) {
                        break;
                    }
                    continue;
                }
                let call = match draw(if kv { 4 } else { 3 }) {
                    0 => Call::Read,
                    1 => Call::Write(small(draw)),
                    2 => Call::Cas(small(draw), small(draw)),
                    _ if unique_appends => Call::Append(Value::Str(format!("u{};", ops.len()))),
                    _ => Call::Append(small(draw)),
                };
                let key = keys[draw(keys.len())].clone();
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
            Some(mut pend) => {
                // 0: take effect, 1: complete, 2: outcome unknown, 3: both 0 and 1.
                let action = match draw(info_one_in) {
                    x if x + 1 == info_one_in => 2,
                    x => [0, 1, 3][x % 3],
                };
                if pend.applied.is_none() && (action == 0 || action == 3) {
                    let o = &ops[pend.op];
                    let current = state.get_mut(&o.key).expect("every key has a state");
                    let result = brute::apply(model, current, o, false);
                    pend.applied = Some(match (&o.call, result) {
                        (Call::Read, _) => Some(current.clone()),
                        (_, Some(next)) => {
                            *current = next;
                            Some(Value::Nil)
                        }
                        (_, None) => None,
                    });
                }
                let o = &mut ops[pend.op];
                match action {
                    0 => {
                        pending[p] = Some(pend);
                        continue;
                    }
                    2 => {}
                    _ => {
                        o.completion = match pend.applied {
                            Some(Some(v)) => Completion::Ok(v),
                            _ => Completion::Fail,
                        };
                        o.return_pos = Some(pos);
                    }
                }
                pos += 1;
            }
        }
    }
    // Corrupt about one read in two in short histories, fewer in long ones.
    let corrupt = if ops.len() > 8 { 6 } else { 2 };
    for o in &mut ops {
        if o.call == Call::Read && matches!(o.completion, Completion::Ok(_)) && draw(corrupt) == 1 {
            let v = match draw(5) {
                0 => Value::Nil,
                i if kv => Value::Str(["", "0", "1", "01", "10"][i].to_owned()),
                i => Value::Int(i as i64 - 1),
            };
            o.completion = Completion::Ok(v);
        }
    }
    (ops, nil_read_unknown)
}

/// The model accepts `ops` in this order, and the order respects real time: what a longest
/// linearization must be.
pub fn legal_in_order(ops: &[Operation], model: &Model, nil_read_unknown: bool) -> bool {
    let mut state = brute::initial(model);
    for (i, o) in ops.iter().enumerate() {
        match brute::apply(model, &state, o, nil_read_unknown) {
            Some(next) => state = next,
            None => return false,
        }
        if ops[i + 1..]
            .iter()
            .any(|later| later.return_pos.is_some_and(|r| r < o.invoke_pos))
        {
            return false;
        }
    }
    true
}

/// Keys with more operations than this are not checked by [`minimal_is_evidence`]: relaxed
/// operations may take effect anywhere, and brute force cannot afford more.
pub const EVIDENCE_OPERATIONS_MAX: usize = 12;

/// A "not linearizable" key's minimal sub-history is evidence: not linearizable with every
/// other operation of its key relaxed, and linearizable once any one of its own is relaxed
/// too. `Err` says which way it fails.
pub fn minimal_is_evidence(
    ops: &[Operation],
    key: &KeyReport,
    model: &Model,
    nil_read_unknown: bool,
) -> Result<(), String> {
    let of_key: Vec<Operation> = ops
        .iter()
        .filter(|o| o.key == key.key && o.completion != Completion::Fail)
        .cloned()
        .collect();
    if of_key.len() > EVIDENCE_OPERATIONS_MAX {
        return Ok(());
    }
    if check_brute_force(&relaxed(&of_key, &key.minimal), model, nil_read_unknown) {
        return Err(format!("not evidence: {:#?}", key.minimal));
    }
    for i in 0..key.minimal.len() {
        let mut fewer = key.minimal.clone();
        fewer.remove(i);
        if !check_brute_force(&relaxed(&of_key, &fewer), model, nil_read_unknown) {
            return Err(format!("not minimal (without #{i}): {:#?}", key.minimal));
        }
    }
    Ok(())
}
