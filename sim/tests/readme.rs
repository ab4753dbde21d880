//! The README's examples and `--help`'s are tests.
//!
//! Every ` ```console ` block of `README.md` runs, command by command, and its output must
//! match what the README shows (trycmd: `[..]` stands for the rest of a line, a `...` line for
//! any lines, a `? N` line after a command for its exit status). A change that alters an
//! example's output fails here until the README shows the new output:
//! `TRYCMD=overwrite cargo test -p sim --test readme` writes it in, for review.
//!
//! Every `Example:` line of a command's `--help` runs too, in order, and must not be refused
//! (exit 0, or 1 where the example is a run that finds a bug).
//!
//! The commands run from the repository root, as a reader would type them, and write only
//! into `out/` (git-ignored), which this test empties first. One test in a binary of its own:
//! the working directory is the process's, and the examples share `out/`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn raftsim() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_raftsim"))
}

/// The subcommands whose `--help` ends with examples.
const WITH_EXAMPLES: [&str; 6] = ["hunt", "shrink", "from-fuzz", "chart", "log", "replay"];

/// The example command lines of `raftsim COMMAND --help`: the indented `raftsim ...` lines
/// after an `Example` heading.
fn help_examples(command: &str) -> Vec<String> {
    let help = Command::new(raftsim())
        .args([command, "--help"])
        .output()
        .expect("raftsim --help runs");
    let text = String::from_utf8(help.stdout).expect("help is UTF-8");
    let after = text
        .split_once("\nExample")
        .unwrap_or_else(|| panic!("`raftsim {command} --help` has no example:\n{text}"))
        .1;
    after
        .lines()
        .filter_map(|line| line.trim().strip_prefix("raftsim "))
        .map(str::to_string)
        .collect()
}

fn run_help_examples(root: &Path) {
    for command in WITH_EXAMPLES {
        let examples = help_examples(command);
        assert!(!examples.is_empty(), "{command}: no example lines");
        for example in examples {
            let out = Command::new(raftsim())
                .args(example.split_whitespace())
                .current_dir(root)
                .output()
                .expect("raftsim runs");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "`raftsim {example}` (from `raftsim {command} --help`): exit {:?}\n{err}",
                out.status.code()
            );
        }
    }
}

#[test]
fn readme_and_help_examples_print_what_they_show() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_current_dir(&root).expect("the repository root");
    let out = root.join("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("out/ can be made");
    trycmd::TestCases::new()
        .register_bin("raftsim", raftsim())
        .register_bin("cat", PathBuf::from("/bin/cat"))
        .case("README.md")
        .run();
    run_help_examples(&root);
}
