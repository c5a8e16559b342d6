#!/usr/bin/env bash
# Model-checks the crate's protocols with loom, on the code that runs (every
# primitive comes from the crate::sync facade): the scheduler's
# push/park/wake/close (sched/loom_tests.rs), the worker loop with its
# accounting hooks (work/loom_tests.rs), serial queues' hand-off
# (work/serial_loom_tests.rs), join handles and scopes
# (api/join_loom_tests.rs, api/scope_loom_tests.rs), the timer thread and waiting items (timer/loom_tests.rs)
# and events (event/loom_tests.rs).
#
#   ci/loom.sh                       # LOOM_MAX_PREEMPTIONS=2
#   LOOM_MAX_PREEMPTIONS=3 ci/loom.sh
#   ci/loom.sh loom_parked_worker    # extra args go to the test binary (filters, --include-ignored)
#
# Builds under `--cfg mfwq_loom` (a cfg of our own, so that dependencies
# with loom support of their own, which key it on `--cfg loom`, are built as
# usual) in its own target dir (target/loom by default) so
# that the normal build's artifacts are not invalidated; `--release` for speed,
# with debug assertions on (`-C debug-assertions`), so the models also check
# the code's own debug_assert!s, and warnings as errors (`-D warnings`): code
# that only the loom build sees stays as clean as the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg mfwq_loom -C debug-assertions -D warnings${RUSTFLAGS:+ $RUSTFLAGS}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-$PWD/target/loom}"

echo "loom: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
start=$SECONDS
# The loom filter selects the models: every one of them is named loom_*.
cargo test -p mfwq --lib --release loom -- "$@"
echo "loom: done in $((SECONDS - start)) s"
