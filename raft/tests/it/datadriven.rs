//! The runner for `testdata/*.txt`, in the format of etcd's datadriven package:
//!
//! ```text
//! # Why this test exists, citing the paper's section.
//! command arg key=value key=(list items)
//! ----
//! expected output, one or more lines
//!
//! next-command
//! ----
//! ok
//! ```
//!
//! Lines starting with `#` and blank lines between blocks are comments. The expected output
//! ends at the first blank line; a command that prints nothing expects `ok`. Every block is
//! checked and all differences are reported, each with the file and line of its command; a
//! `!!` line (an invariant the harness found broken) fails outside the mutation scripts. With
//! `UPDATE_EXPECT=1` the file is rewritten with the actual outputs instead.

use crate::harness::Cluster;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The directory of the test scripts.
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/testdata")
}

enum Item {
    /// A comment or blank line, kept verbatim.
    Text(String),
    Case {
        line_number: usize,
        command: String,
        expected: Vec<String>,
    },
}

fn parse(text: &str, file: &str) -> Vec<Item> {
    let lines: Vec<&str> = text.lines().collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || line.starts_with('#') {
            items.push(Item::Text(line.to_string()));
            i += 1;
            continue;
        }
        let line_number = i + 1;
        i += 1;
        assert!(
            lines.get(i) == Some(&"----"),
            "{file}:{line_number}: a command must be followed by a line `----`"
        );
        i += 1;
        let mut expected = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() {
            expected.push(lines[i].to_string());
            i += 1;
        }
        items.push(Item::Case {
            line_number,
            command: line.to_string(),
            expected,
        });
    }
    items
}

/// Runs `testdata/<name>.txt` and panics with every difference found.
pub fn run_file(name: &str) {
    let path = testdata_dir().join(format!("{name}.txt"));
    let file = format!("raft/tests/it/testdata/{name}.txt");
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let failures = run_script(&path, &file, update);
    if update {
        if !failures.is_empty() {
            eprintln!("{file}: rewrote {} block(s)", failures.len());
        }
        return;
    }
    assert!(
        failures.is_empty(),
        "{} block(s) differ; rerun with UPDATE_EXPECT=1 to rewrite them, then review every \
         change against the paper.\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs the script at `path` (named `file` in messages) and returns one message per block
/// whose output differs. With `update`, rewrites those blocks in the file.
fn run_script(path: &Path, file: &str, update: bool) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut items = parse(&text, file);
    let mut cluster = Cluster::new();
    let mut failures = Vec::new();
    let mut cases = 0;
    for item in &mut items {
        let Item::Case {
            line_number,
            command,
            expected,
        } = item
        else {
            continue;
        };
        cases += 1;
        let output = cluster
            .run(command)
            .unwrap_or_else(|e| panic!("{file}:{line_number}: bad command {command:?}: {e}"));
        let actual: Vec<String> = output.lines().map(str::to_string).collect();
        assert!(
            actual.iter().all(|l| !l.trim().is_empty()),
            "{file}:{line_number}: the harness printed a blank line"
        );
        // A `!!` line is the harness reporting a broken invariant: a finding, whatever the
        // expected output says. Only the mutation scripts, which show that the harness
        // catches a deliberately broken rule, may expect one.
        if !file.contains("mutation") {
            if let Some(line) = actual.iter().find(|l| l.contains("!!")) {
                failures.push(format!(
                    "{file}:{line_number}: `{command}` broke an invariant: {}",
                    line.trim()
                ));
            }
        }
        if actual != *expected {
            failures.push(format!(
                "{file}:{line_number}: output of `{command}` differs (- expected, + actual):\n{}",
                diff(expected, &actual)
            ));
            if update {
                *expected = actual;
            }
        }
    }
    assert!(cases > 0, "{file} holds no test case");
    if update && !failures.is_empty() {
        let mut out = String::new();
        for item in &items {
            match item {
                Item::Text(line) => out.push_str(line),
                Item::Case {
                    command, expected, ..
                } => {
                    out.push_str(command);
                    out.push_str("\n----");
                    for line in expected {
                        out.push('\n');
                        out.push_str(line);
                    }
                }
            }
            out.push('\n');
        }
        std::fs::write(path, out).expect("rewrite testdata file");
    }
    failures
}

/// A line diff by longest common subsequence; the blocks are small.
fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            let _ = writeln!(out, "  {}", expected[i]);
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "- {}", expected[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", actual[j]);
            j += 1;
        }
    }
    out
}

#[test]
fn diff_marks_changed_lines() {
    let e: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let a: Vec<String> = ["a", "x", "c", "d"].map(String::from).to_vec();
    assert_eq!(diff(&e, &a), "  a\n- b\n+ x\n  c\n+ d\n");
}

#[test]
fn parse_keeps_comments_and_reads_blocks() {
    let items = parse(
        "# why\n\ncmd 1\n----\nout 1\nout 2\n\ncmd 2\n----\nok\n",
        "t",
    );
    let cases: Vec<(usize, &str, usize)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Case {
                line_number,
                command,
                expected,
            } => Some((*line_number, command.as_str(), expected.len())),
            Item::Text(_) => None,
        })
        .collect();
    assert_eq!(cases, vec![(3, "cmd 1", 2), (8, "cmd 2", 1)]);
    assert_eq!(items.len(), 5);
}

#[test]
fn a_wrong_expectation_fails_and_update_rewrites_it() {
    let path = std::env::temp_dir().join(format!("raft-it-{}.txt", std::process::id()));
    let script =
        "# comment\n\nadd-nodes 1\n----\nok\n\ncampaign 1\n----\nwrong\n\nraft-state\n----\n";
    std::fs::write(&path, script).unwrap();
    let failures = run_script(&path, "t.txt", false);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].starts_with("t.txt:7: "), "{}", failures[0]);
    assert!(
        failures[0].contains("- wrong\n+ 1 became Leader term=1"),
        "{}",
        failures[0]
    );
    assert!(failures[1].starts_with("t.txt:11: "), "{}", failures[1]);
    // Rewriting makes the script pass and keeps its comments.
    assert_eq!(run_script(&path, "t.txt", true).len(), 2);
    assert!(run_script(&path, "t.txt", false).is_empty());
    let rewritten = std::fs::read_to_string(&path).unwrap();
    assert!(rewritten.starts_with("# comment\n\nadd-nodes 1\n----\nok\n\ncampaign 1\n"));
    assert!(rewritten
        .ends_with("raft-state\n----\n1: Leader term=1 vote=1 commit=1 last=1/1 match=()\n"));
    std::fs::remove_file(&path).unwrap();
}
