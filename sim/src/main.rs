//! The `raftsim` command line: parses the arguments and runs the command (`sim::cli`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    sim::cli::execute(sim::cli::Cli::parse())
}
