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
# RAFTSIM_FUZZ_SANITIZER=none runs without AddressSanitizer (default: address), 2 to 4 times
# faster.
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
build_flags=(--debug-assertions --sanitizer "${RAFTSIM_FUZZ_SANITIZER:-address}")
targets=(messages scenario_file history linearizability schedule)
failed=()

cargo fuzz build "${build_flags[@]}"
for target in "${targets[@]}"; do
    corpus="$fuzz_dir/target/corpus/$target"
    artifacts="$fuzz_dir/artifacts/$target"
    log="$fuzz_dir/target/smoke-$target.log"
    mkdir -p "$corpus" "$artifacts"
    echo "== $target: ${seconds}s from fuzz/seeds/$target (log: $log)"
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
