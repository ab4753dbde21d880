//! Arbitrary text as a history file, read as `raftsim check-history` reads one
//! (`sim/history/src/cli.rs`): `parse_history` (with and without `--independent`), then `pair`,
//! then the linearizability check, here with a small step budget so that one input stays fast.
//! None of them may panic. Beyond that:
//!
//! - every event has a source line, in file order, within the text;
//! - the events written back as raftsim JSON lines, and as Jepsen EDN when that can carry
//!   them (every event keyed, or none), read back to the same events;
//! - the check with evidence and the verdict-only check agree whenever both decide.
//!
//! Input that is not UTF-8 is skipped.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::history::linearizability::{check, CheckOptions, Model, Verdict};
use sim::history::parse::{pair, parse_history, to_edn, to_json_lines, ParseOptions};
use sim::history::{Event, EventKind, Value};

const FILE: &str = "fuzz.history";
/// Search steps per key (and as much again for the minimal failing sub-history).
const STEPS_MAX: u64 = 10_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for independent in [false, true] {
        let options = ParseOptions { independent };
        let Ok(parsed) = parse_history(FILE, text, &options) else {
            continue;
        };
        check_lines(&parsed.lines, parsed.events.len(), text);
        check_written_back(&parsed.events);
        let Ok(ops) = pair(&parsed, FILE) else {
            continue;
        };
        for (model, nil_read_unknown) in models() {
            check_both_ways(&ops, &model, nil_read_unknown);
        }
    }
});

/// The models `check-history` offers, with its default initial value.
fn models() -> [(Model, bool); 3] {
    [
        (
            Model::Register {
                initial: Value::Nil,
            },
            false,
        ),
        (
            Model::CasRegister {
                initial: Value::Nil,
            },
            true,
        ),
        (Model::Kv, false),
    ]
}

fn check_lines(lines: &[usize], events: usize, text: &str) {
    assert_eq!(lines.len(), events, "one line per event");
    let text_lines = text.lines().count().max(1);
    for pair in lines.windows(2) {
        assert!(
            pair[0] <= pair[1],
            "event lines out of file order: {lines:?}"
        );
    }
    for &line in lines {
        assert!(
            line >= 1 && line <= text_lines,
            "line {line} outside a text of {text_lines} lines"
        );
    }
}

/// What the writers write, the parser reads back to the same events.
fn check_written_back(events: &[Event]) {
    let json = to_json_lines(events);
    let no_options = ParseOptions { independent: false };
    match parse_history("written.jsonl", &json, &no_options) {
        Ok(back) => assert_eq!(back.events, events, "JSON lines round trip:\n{json}"),
        Err(e) => panic!("to_json_lines wrote what parse_history refuses: {e}\n{json}"),
    }
    // EDN carries a key as an independent tuple: a history read with --independent keeps no
    // key only on completions without a value.
    let none_keyed = events.iter().all(|e| e.key.is_none());
    let all_keyed = events
        .iter()
        .all(|e| e.key.is_some() || (e.kind != EventKind::Invoke && e.value == Value::Nil));
    if !none_keyed && !all_keyed {
        return;
    }
    let edn = to_edn(events);
    let options = ParseOptions {
        independent: !none_keyed,
    };
    match parse_history("written.edn", &edn, &options) {
        Ok(back) => {
            assert_eq!(back.events, events, "EDN round trip:\n{edn}");
            let one_per_line: Vec<usize> = (1..=events.len()).collect();
            assert_eq!(back.lines, one_per_line, "EDN lines:\n{edn}");
        }
        Err(e) => panic!("to_edn wrote what parse_history refuses: {e}\n{edn}"),
    }
}

/// The check with evidence and the verdict-only check agree when both decide.
fn check_both_ways(ops: &[sim::history::Operation], model: &Model, nil_read_unknown: bool) {
    let options = CheckOptions {
        steps_max: STEPS_MAX,
        nil_read_unknown,
        evidence: true,
        jobs: 1,
        deadline: None,
    };
    let full = check(ops, model, &options);
    let quick = check(
        ops,
        model,
        &CheckOptions {
            evidence: false,
            ..options
        },
    );
    let decided = |v: Verdict| v != Verdict::Unknown;
    if decided(full.verdict) && decided(quick.verdict) {
        assert_eq!(
            full.verdict, quick.verdict,
            "evidence and verdict-only checks disagree on {model:?}"
        );
    }
    for key in &full.keys {
        if key.verdict != Verdict::NotLinearizable {
            assert!(key.minimal.is_empty() && key.longest_linearization.is_empty());
        }
    }
}
