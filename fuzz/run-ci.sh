#!/usr/bin/env bash
# Runs every fuzz target for a bounded time with the shared dictionary; any crash
# fails. Called by .ci/run from the repository root; works from anywhere.
#
#   FUZZ_SECONDS=30  time per target (default 30)
#
# Uses nightly with AddressSanitizer when a nightly toolchain is installed, else the
# stable toolchain without a sanitizer (`-s none`: hooksig forbids unsafe code, so the
# panics and assertion failures the targets look for need no sanitizer). New corpus
# entries go to a scratch directory; the committed seeds in corpus/ are only read.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-30}"
targets=(parse_headers verify roundtrip streaming)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
  sanitizer=address
else
  fuzz=(cargo fuzz)
  sanitizer=none
fi
echo "fuzzing with ${fuzz[*]}, sanitizer $sanitizer, ${seconds}s per target"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

"${fuzz[@]}" build -s "$sanitizer"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  # The binary runs with fuzz/ as its working directory, so the dictionary path is
  # relative to it.
  if "${fuzz[@]}" run -s "$sanitizer" "$t" "$scratch/$t" "corpus/$t" -- \
      -max_total_time="$seconds" -dict=hooksig.dict -print_final_stats=1 >"$scratch/$t.log" 2>&1; then
    echo "fuzz $t: ok, $(grep -E '^stat::number_of_executed_units' "$scratch/$t.log" | awk '{print $2}') executions"
  else
    echo "fuzz $t: FAILED"
    tail -n 60 "$scratch/$t.log"
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "fuzzing found a crash: inputs are in fuzz/artifacts/"
fi
exit "$status"
