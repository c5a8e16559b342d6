#!/usr/bin/env bash
# The soak under faults (crates/mfwq/tests/soak.rs, docs/soak.md): startup →
# load → shutdown cycles with injected panics, blocked callbacks, unlocks,
# MMCSS changes and racing shutdowns, ending with an exact account of every
# item and checks for leaked threads, file descriptors and memory.
#
#   ci/soak.sh                          # 60 s (CI)
#   MFWQ_SOAK_SECS=1800 ci/soak.sh      # a long soak
#   MFWQ_SOAK_SEED=123 ci/soak.sh       # the same random choices as an earlier run
#
# Runs the test build `cargo test --workspace` made (debug assertions and
# overflow checks on; `--workspace` so that nothing is rebuilt for another
# feature set): the soak is bounded by time, not by items, and what it proves
# (every item accounted for, no double invocation, no leaked thread, file
# descriptor or memory) does not depend on the optimiser.
#
# Fails if the soak reports any violation.
set -euo pipefail
cd "$(dirname "$0")/.."

export MFWQ_SOAK_SECS="${MFWQ_SOAK_SECS:-60}"
echo "soak: MFWQ_SOAK_SECS=$MFWQ_SOAK_SECS"
start=$SECONDS
cargo test --workspace --test soak -- --nocapture
echo "soak: done in $((SECONDS - start)) s"
