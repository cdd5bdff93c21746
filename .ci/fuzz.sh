#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time over the corpus
# kept in fuzz/corpus/ (new inputs go to a scratch directory, so the kept
# corpus changes only by hand). A crash, a failed assertion or a leak of a
# target fails the run; libFuzzer writes the input to fuzz/artifacts/.
#   FUZZ_SECONDS   seconds per target (default 20)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-20}"

# libFuzzer needs the nightly toolchain (sanitizer coverage flags); the
# machine's image ships one beside stable.
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "no nightly toolchain: the fuzz targets cannot be built" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
cargo +nightly fuzz --version

# No sanitizer: the code under test is safe Rust (unsafe_code is forbidden
# in every crate of the workspace); what a target looks for is a panic, an
# assertion that fails, or a hang. Debug assertions are on, so an integer
# overflow is a finding too.
flags=(--sanitizer none --debug-assertions)
cargo +nightly fuzz build "${flags[@]}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo +nightly fuzz list); do
  printf -- '--- %s (%ss)\n' "$target" "$seconds"
  mkdir -p "$scratch/$target"
  log="$scratch/$target.log"
  status=0
  cargo +nightly fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target failed (exit $status); the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzzing: every target ran ${seconds}s without a finding"
