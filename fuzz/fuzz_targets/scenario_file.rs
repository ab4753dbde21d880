//! Arbitrary text as a scenario file: `sim::scenario::parse` answers `Ok` or `Err`, never
//! panics; a scenario it accepts is written back with `Scenario::to_toml`, which `parse` must
//! read to an equal scenario (schedule and expect lines aside: they become the new text's, and
//! must point at its `[[schedule]]` and `[[expect]]` headers). Input that is not UTF-8 is
//! skipped.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::scenario::{parse, Scenario};

const FILE: &str = "fuzz.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = parse(FILE, text) else {
        return;
    };
    let written = scenario.to_toml();
    let back = match parse(FILE, &written) {
        Ok(back) => back,
        Err(e) => panic!("to_toml wrote what parse refuses: {e}\n{written}"),
    };
    check_lines(&back, &written);
    assert_eq!(
        without_lines(back),
        without_lines(scenario),
        "the round trip changed the scenario:\n{written}"
    );
});

/// Every line recorded for a `[[schedule]]` or `[[expect]]` table is its header's in `text`.
fn check_lines(scenario: &Scenario, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let header = |line: usize| line.checked_sub(1).and_then(|i| lines.get(i)).copied();
    for action in &scenario.schedule {
        assert_eq!(
            header(action.line),
            Some("[[schedule]]"),
            "line {}:\n{text}",
            action.line
        );
    }
    for expect in &scenario.expect {
        assert_eq!(
            header(expect.line),
            Some("[[expect]]"),
            "line {}:\n{text}",
            expect.line
        );
    }
}

/// `scenario` with every schedule, expect and operation line set to 0.
fn without_lines(mut scenario: Scenario) -> Scenario {
    for action in &mut scenario.schedule {
        action.line = 0;
    }
    for expect in &mut scenario.expect {
        expect.line = 0;
    }
    for operation in &mut scenario.operations {
        operation.line = 0;
    }
    scenario
}
