#!/usr/bin/env bash
# Builds every fuzz target and runs each for a bounded time from its seeds. Exits nonzero if
# any target crashed (a panic, a sanitizer report, a slow input or running out of memory),
# naming the artifact that reproduces each crash.
#
#   fuzz/smoke.sh [SECONDS_PER_TARGET]     (default 30)
#
# Works on a stable toolchain: cargo-fuzz needs nightly flags, which RUSTC_BOOTSTRAP=1 allows.
# Installs nothing: cargo-fuzz must already be there (`cargo install cargo-fuzz --locked`).
# Seeds (fuzz/seeds/TARGET) are only read; the inputs libFuzzer finds go to
# fuzz/target/corpus/TARGET (git-ignored), so later runs start from them.
#
# Two builds. The parsers' targets (scenario_file, history, linearizability) run under
# AddressSanitizer with comparison tracing, as cargo-fuzz builds by default: their bytes reach
# the toml and serde_json crates. The simulation targets (messages, schedule) drive only
# raft and sim, which forbid unsafe code, so AddressSanitizer has nothing of theirs to watch;
# they run in a lean build (`-s none --no-trace-compares`, in fuzz/target/lean), which makes
# schedule about 15 times faster and messages about 5 times (README: Fuzzing). Debug
# assertions and overflow checks are on in both.
# RAFTSIM_FUZZ_SANITIZER=none|address puts every target in one build with that sanitizer
# and comparison tracing.
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]  (a positive integer, default 30)" >&2
    exit 2
fi
fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir/.."
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
export RUSTC_BOOTSTRAP=1

# cargo-fuzz 0.13 turns debug assertions and overflow checks on by default; say so anyway.
parser_flags=(--debug-assertions --sanitizer "${RAFTSIM_FUZZ_SANITIZER:-address}")
lean_flags=(--debug-assertions --sanitizer none --no-trace-compares --target-dir "$fuzz_dir/target/lean")
if [[ -n "${RAFTSIM_FUZZ_SANITIZER:-}" ]]; then
    lean_flags=("${parser_flags[@]}")
fi
parser_targets=(scenario_file history linearizability)
lean_targets=(messages schedule)
targets=(messages scenario_file history linearizability schedule)
failed=()

for target in "${parser_targets[@]}"; do
    cargo fuzz build "${parser_flags[@]}" "$target"
done
for target in "${lean_targets[@]}"; do
    cargo fuzz build "${lean_flags[@]}" "$target"
done
for target in "${targets[@]}"; do
    corpus="$fuzz_dir/target/corpus/$target"
    artifacts="$fuzz_dir/artifacts/$target"
    log="$fuzz_dir/target/smoke-$target.log"
    mkdir -p "$corpus" "$artifacts"
    echo "== $target: ${seconds}s from fuzz/seeds/$target (log: $log)"
    case "$target" in
        messages | schedule) build_flags=("${lean_flags[@]}") ;;
        *) build_flags=("${parser_flags[@]}") ;;
    esac
    # The first corpus directory receives new inputs; the seeds directory is only read.
    if cargo fuzz run "${build_flags[@]}" "$target" "$corpus" "$fuzz_dir/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
        grep -E '^#[0-9]+.*DONE' "$log" | tail -n 1 || true
    else
        grep -E -m 1 -A 2 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" >&2 || true
        artifact="$(grep -oE "$artifacts/[^ ]+" "$log" | tail -n 1 || true)"
        echo "CRASH in $target: ${artifact:-no artifact written, see $log}" >&2
        echo "  reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run ${build_flags[*]} $target ${artifact:-ARTIFACT}" >&2
        failed+=("$target")
    fi
done
if ((${#failed[@]} > 0)); then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all ${#targets[@]} targets ran ${seconds}s each without a crash"
