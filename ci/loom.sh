#!/usr/bin/env bash
# Model-checks the scheduler's push/park/wake/close protocol with loom
# (crates/mfwq/src/sched/loom_tests.rs).
#
#   ci/loom.sh                       # LOOM_MAX_PREEMPTIONS=2
#   LOOM_MAX_PREEMPTIONS=3 ci/loom.sh
#   ci/loom.sh loom_parked_worker    # extra args go to the test binary (filters, --include-ignored)
#
# Builds under `--cfg loom` in its own target dir (target/loom by default) so
# that the normal build's artifacts are not invalidated.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom${RUSTFLAGS:+ $RUSTFLAGS}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-$PWD/target/loom}"

echo "loom: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
start=$SECONDS
# The loom filter selects sched::loom_tests::*; every model there is named loom_*.
cargo test -p mfwq --lib --release loom -- "$@"
echo "loom: done in $((SECONDS - start)) s"
