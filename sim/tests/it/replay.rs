//! `raftsim replay`: a trace replays to itself; a mutation, a hand-edited record or a
//! hand-edited history line is reported where it parts; a changed scenario, a truncated
//! trace, an older format and bad flags are refused with exit 2 and no divergence.

use crate::scenarios_dir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn raftsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `scenario` (a path) with `seed` and writes its trace to `trace`.
fn record(scenario: &Path, seed: u64, trace: &Path, mutation: Option<&str>) {
    let seed = seed.to_string();
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--seed",
        &seed,
        "--trace",
        trace.to_str().unwrap(),
    ];
    args.extend(mutation.iter().flat_map(|m| ["--mutation", m]));
    let out = raftsim(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
}

/// A trace of `scenarios/NAME.toml` with `seed`, under a file name of its own.
fn trace(name: &str, seed: u64, file: &str) -> PathBuf {
    let path = temp(file);
    record(
        &scenarios_dir().join(format!("{name}.toml")),
        seed,
        &path,
        None,
    );
    path
}

fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(str::to_string).collect()
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap()
}

/// `replay --json` of `path` with `extra` flags: its exit status and its object.
fn replay_json(path: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["replay", path.to_str().unwrap(), "--json"];
    args.extend(extra);
    let out = raftsim(&args);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
    (out.status.code(), value)
}

/// Checks a refusal: exit 2, nothing on stdout (no verdict), and `phrase` on stderr.
fn check_refused(args: &[&str], phrase: &str) {
    let out = raftsim(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        stdout(&out).is_empty(),
        "{args:?}: no verdict: {}",
        stdout(&out)
    );
    assert!(err.contains(phrase), "{args:?}: `{phrase}` not in: {err}");
}

#[test]
fn a_trace_replays_to_itself() {
    let path = trace("figure8", 3, "identical.jsonl");
    let out = raftsim(&["replay", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let end = json(lines(&path).last().unwrap());
    let expected = format!(
        "identical: {} events, trace hash {}",
        end["events"],
        end["trace_hash"].as_str().unwrap()
    );
    assert!(stdout(&out).starts_with(&expected), "{}", stdout(&out));
    let (code, v) = replay_json(&path, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(v["verdict"], "identical");
    assert_eq!(v["events_recorded"], end["events"]);
    assert_eq!(v["events_replayed"], end["events"]);
    assert!(v["first_difference"].is_null());
}

#[test]
fn deliveries_carry_the_message_as_data() {
    let path = trace("basic-agreement", 4, "structured.jsonl");
    let records: Vec<Value> = lines(&path).iter().map(|l| json(l)).collect();
    let deliver = records
        .iter()
        .find(|r| r["type"] == "deliver" && r["msg"]["kind"] == "AppendEntries")
        .expect("an AppendEntries delivery");
    let body = &deliver["message"]["body"];
    assert_eq!(body["kind"], "AppendEntries");
    for field in ["prev_log_index", "prev_log_term", "leader_commit"] {
        assert!(body[field].is_u64(), "{field} in {deliver}");
    }
    assert_eq!(deliver["message"]["from"], deliver["msg"]["from"]);
    // A command travels as lowercase hex, not as a list of numbers.
    let command = records
        .iter()
        .filter(|r| r["type"] == "deliver")
        .flat_map(|r| r["message"]["body"]["entries"].as_array().cloned())
        .flatten()
        .find_map(|e| e["payload"]["Command"].as_str().map(str::to_string))
        .expect("a command in an AppendEntries");
    assert!(!command.is_empty());
    assert!(command
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    // Clients' requests and replies are data too.
    assert!(records
        .iter()
        .any(|r| r["type"] == "client-reply" && r["message"].is_object()));
}

#[test]
fn a_mutation_that_matters_diverges_at_an_event() {
    let path = trace("figure8", 3, "mutated.jsonl");
    let mutation = "vote-without-log-check";
    let out = raftsim(&["replay", path.to_str().unwrap(), "--mutation", mutation]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("diverged: "), "{text}");
    let (code, v) = replay_json(&path, &["--mutation", mutation]);
    assert_eq!(code, Some(1));
    assert_eq!(v["verdict"], "diverged");
    assert_eq!(v["mutation_replayed"], mutation);
    let d = &v["first_difference"];
    let seq = d["seq"].as_u64().unwrap();
    assert!(
        text.contains(&format!("first difference: event #{seq} at ")),
        "{text}"
    );
    // The events before it are the file's, and the recorded side is the file's record.
    let records: Vec<Value> = lines(&path)[1..].iter().map(|l| json(l)).collect();
    let before = d["before"].as_array().unwrap();
    assert_eq!(before.len(), 10.min(seq as usize));
    assert_eq!(
        before[..],
        records[seq as usize - before.len()..seq as usize]
    );
    assert_eq!(d["recorded"], records[seq as usize]);
    assert_ne!(d["recorded"], d["replayed"]);
    assert_eq!(d["time_ns"], d["recorded"]["time_ns"]);
    // Side by side, then both in full.
    assert!(text.contains("| replayed"), "{text}");
    assert!(text.contains("recorded as JSON:\n  {"), "{text}");
    assert!(text.contains("replayed as JSON:\n  {"), "{text}");
}

#[test]
fn a_hand_edited_record_diverges_at_exactly_its_seq() {
    let path = trace("figure8", 3, "edited-source.jsonl");
    let mut lines = lines(&path);
    let events = lines.iter().filter(|l| l.contains("\"seq\":")).count();
    let (number, seq) = (events / 2..)
        .map(|seq| (seq + 1, seq))
        .find(|&(number, _)| lines[number].contains("\"type\":\"deliver\""))
        .unwrap();
    let mut record = json(&lines[number]);
    assert_eq!(record["seq"], seq as u64);
    // The same value written another way (keys sorted, `seq` no longer first) is no edit.
    let original = lines[number].clone();
    lines[number] = record.to_string();
    assert_ne!(lines[number], original);
    let rewritten = temp("rewritten.jsonl");
    std::fs::write(&rewritten, lines.join("\n") + "\n").unwrap();
    assert_eq!(replay_json(&rewritten, &[]).0, Some(0));
    let term = record["message"]["term"].as_u64().unwrap();
    record["message"]["term"] = (term + 100).into();
    lines[number] = record.to_string();
    let edited = temp("edited.jsonl");
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    let (code, v) = replay_json(&edited, &[]);
    assert_eq!(code, Some(1), "{v}");
    let d = &v["first_difference"];
    assert_eq!(d["seq"], seq as u64);
    assert_eq!(d["fields"], serde_json::json!(["message.term"]));
    assert_eq!(d["replayed"]["message"]["term"], term);
    let out = raftsim(&["replay", edited.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "event #{seq}, side by side (differs in message.term)"
        )),
        "{text}"
    );
}

#[test]
fn a_hand_edited_history_line_is_the_other_difference() {
    let path = trace("basic-agreement", 4, "history-source.jsonl");
    let mut lines = lines(&path);
    let number = lines
        .iter()
        .position(|l| l.contains("\"type\":\"history\"") && l.contains("\"type\":\"ok\""))
        .unwrap();
    let mut line = json(&lines[number]);
    line["event"]["time_ns"] = (line["event"]["time_ns"].as_u64().unwrap() + 1).into();
    lines[number] = line.to_string();
    let edited = temp("history-edited.jsonl");
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    let (code, v) = replay_json(&edited, &[]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["first_difference"].is_null());
    let other = &v["other_difference"];
    assert!(other["line"]
        .as_str()
        .unwrap()
        .starts_with("history event "));
    assert_eq!(other["recorded"], line);
}

/// The trace's lines with its events cut to the first `events` (or, past its count, the last
/// one repeated with the next seqs), and the end line counting them.
fn with_events(lines: &[String], events: usize) -> String {
    let is_event = |l: &String| l.contains("\"seq\":");
    let records: Vec<&String> = lines.iter().filter(|l| is_event(l)).collect();
    let mut out = vec![lines[0].clone()];
    for seq in 0..events {
        let mut record = json(records[seq.min(records.len() - 1)]);
        record["seq"] = seq.into();
        out.push(record.to_string());
    }
    let (end, tail) = lines.split_last().unwrap();
    out.extend(tail[1..].iter().filter(|l| !is_event(l)).cloned());
    let mut end = json(end);
    end["events"] = events.into();
    out.push(end.to_string());
    out.join("\n") + "\n"
}

#[test]
fn a_run_that_ends_earlier_diverges_where_it_ends() {
    let path = trace("basic-election", 1, "ends-earlier-source.jsonl");
    let lines = lines(&path);
    let events = lines.iter().filter(|l| l.contains("\"seq\":")).count();
    // The file has one event more than the run: the replay ends first.
    let longer = temp("longer.jsonl");
    std::fs::write(&longer, with_events(&lines, events + 1)).unwrap();
    let (code, v) = replay_json(&longer, &[]);
    assert_eq!(code, Some(1), "{v}");
    let d = &v["first_difference"];
    assert_eq!(d["seq"], events as u64);
    assert!(d["recorded"].is_object() && d["replayed"].is_null(), "{d}");
    assert_eq!(v["events_recorded"], events as u64 + 1);
    assert_eq!(v["events_replayed"], events as u64);
    let out = raftsim(&["replay", longer.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("(this run ended after {events} events)")),
        "{text}"
    );
    // The file has one event fewer: the recorded run ended first.
    let shorter = temp("shorter.jsonl");
    std::fs::write(&shorter, with_events(&lines, events - 1)).unwrap();
    let (code, v) = replay_json(&shorter, &[]);
    assert_eq!(code, Some(1), "{v}");
    let d = &v["first_difference"];
    assert_eq!(d["seq"], events as u64 - 1);
    assert!(d["recorded"].is_null() && d["replayed"].is_object(), "{d}");
}

#[test]
fn the_header_mutation_replays_and_none_overrides_it() {
    let mutation = "vote-without-log-check";
    let mutated = temp("mutated-header.jsonl");
    let scenario = scenarios_dir().join("figure8.toml");
    record(&scenario, 3, &mutated, Some(mutation));
    let (code, v) = replay_json(&mutated, &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["mutation_recorded"], mutation);
    assert_eq!(v["mutation_replayed"], mutation);
    let (code, v) = replay_json(&mutated, &["--mutation", "none"]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["mutation_replayed"].is_null());
    assert!(v["first_difference"]["seq"].is_u64());
    // Whatever the mutated run broke, the correct rules keep every safety property.
    assert!(v.get("violation_recorded").is_some(), "{v}");
    assert!(v["violation_replayed"].is_null(), "{v}");
}

#[test]
fn a_changed_or_missing_scenario_is_refused() {
    let scenario = temp("changing.toml");
    let source = scenarios_dir().join("basic-election.toml");
    std::fs::copy(&source, &scenario).unwrap();
    let path = temp("changing.jsonl");
    record(&scenario, 1, &path, None);
    let p = path.to_str().unwrap();
    assert_eq!(raftsim(&["replay", p]).status.code(), Some(0));
    let mut text = std::fs::read_to_string(&scenario).unwrap();
    text.push_str("# a comment changes the bytes, and the hash\n");
    std::fs::write(&scenario, text).unwrap();
    check_refused(&["replay", p], "the scenario file changed since the trace");
    check_refused(&["replay", p, "--json"], "would report a false divergence");
    std::fs::remove_file(&scenario).unwrap();
    check_refused(&["replay", p], "the header's scenario file");
}

#[test]
fn malformed_traces_and_flags_are_refused() {
    let path = trace("basic-election", 1, "malformed-source.jsonl");
    let lines = lines(&path);
    let truncated = temp("truncated.jsonl");
    std::fs::write(&truncated, lines[..lines.len() - 3].join("\n")).unwrap();
    check_refused(
        &["replay", truncated.to_str().unwrap()],
        "truncated: no end line",
    );
    let format1 = temp("format1.jsonl");
    let old = lines[0].replace("\"format\":2", "\"format\":1");
    let text = std::iter::once(old.as_str())
        .chain(lines[1..].iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&format1, text).unwrap();
    check_refused(
        &["replay", format1.to_str().unwrap()],
        "format1.jsonl:1: field `format`: the file is trace format 1, this raftsim reads only format 2",
    );
    let miscounted = temp("miscounted.jsonl");
    let mut cut: Vec<&str> = lines.iter().map(String::as_str).collect();
    cut.remove(5);
    std::fs::write(&miscounted, cut.join("\n")).unwrap();
    check_refused(&["replay", miscounted.to_str().unwrap()], "field `seq`");
    check_refused(&["replay", "no-such-trace.jsonl"], "no-such-trace.jsonl");
    let unknown = temp("unknown-mutation.jsonl");
    let header = lines[0].replace("\"mutation\":null", "\"mutation\":\"bogus\"");
    assert_ne!(header, lines[0]);
    let text = std::iter::once(header.as_str())
        .chain(lines[1..].iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&unknown, text).unwrap();
    check_refused(
        &["replay", unknown.to_str().unwrap()],
        "unknown-mutation.jsonl:1: field `mutation`: `bogus` is not a mutation this build knows",
    );
    assert_eq!(
        raftsim(&["replay", unknown.to_str().unwrap(), "--mutation", "none"])
            .status
            .code(),
        Some(0),
        "--mutation none overrides the header's"
    );
    let p = path.to_str().unwrap();
    check_refused(
        &["replay", p, "--mutation", "bogus"],
        "--mutation: unknown mutation `bogus`",
    );
}
