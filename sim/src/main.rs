//! The `raftsim` command line: parses the arguments and runs the command (`sim::cli`).

#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    sim::cli::execute(sim::cli::Cli::parse())
}
