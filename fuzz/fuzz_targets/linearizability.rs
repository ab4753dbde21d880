//! Differential: `check` (the memoized search with its shortcuts) against `check_brute_force`
//! (the definition, run literally) on small histories: 1 to 8 operations over 1 to 3
//! processes, on one register or two keys, of the register, cas-register or kv model. When
//! `check` decides (linearizable or not), brute force must agree; `Unknown` is no disagreement.
//! The verdict-only check must agree too, and a "not linearizable" key's minimal sub-history
//! must be evidence: not linearizable with every other operation relaxed, linearizable once
//! any one of its own is relaxed too; its longest linearization a legal, real-time ordered run.
//!
//! The history is built by `sim::history::linearizability::generate`, as in the unit tests,
//! with `arbitrary::Unstructured` for their byte tape: each operation takes effect (or not) at
//! an instant of a real register between its invoke and its completion, then some ok reads get
//! another value instead.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use sim::history::linearizability::{
    check, check_brute_force, generate, CheckOptions, Model, Verdict,
};
use sim::history::Value;

const PROCESSES_MAX: usize = 3;
const OPERATIONS_MAX: usize = 8;

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
    let (ops, nil_read_unknown) = generate::random_history(
        &model,
        &mut |n| draw(&mut u, n),
        PROCESSES_MAX,
        OPERATIONS_MAX,
    );
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
            generate::legal_in_order(&key.longest_linearization, &model, nil_read_unknown),
            "not a linearization: {:#?}",
            key.longest_linearization
        );
        if let Err(e) = generate::minimal_is_evidence(&ops, key, &model, nil_read_unknown) {
            panic!("the minimal sub-history: {e}");
        }
    }
});

/// One of `n` choices (the tape's `draw`): 0 once the input is used up.
fn draw(u: &mut Unstructured, n: usize) -> usize {
    u.choose_index(n).unwrap_or(0)
}
