#!/usr/bin/env bash
# Deterministic constant-time check: counts the instructions and branches of
# one `Verifier::verify_at` under valgrind (callgrind) for candidates wrong in the first
# byte, the last byte, every byte, or none, for every preset and tag encoding, and fails
# unless the three wrong candidates cost exactly the same. A control (an early-exit
# comparison) must fail the same check. See benches/README.md.
#
#   bash benches/constant_time_valgrind.sh [--jobs N] [--keep DIR] [--control-all]
#
# Needs valgrind: without it the check is skipped, or fails when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

valgrind="${HOOKSIG_VALGRIND:-valgrind}"
if ! command -v "$valgrind" >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: valgrind not found; the constant-time check needs it in CI: apt-get install -y valgrind" >&2
    exit 1
  fi
  echo "skipped: valgrind not found; install it with \`apt-get install -y valgrind\` to run the constant-time check"
  exit 0
fi

# Release code with debug info (the workspace's `bench` profile): what is checked is the
# optimized code, as shipped; the probe is a package of its own with hooksig as its only
# large dependency, so this build is short.
cargo build --profile bench -p hooksig-ct-probe --bin ct_probe
cargo run --quiet --profile bench -p hooksig-ct-probe --bin ct_probe -- check "$@"
