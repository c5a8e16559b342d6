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
#
# Dependencies that a model never runs (regex under loom's tracing-subscriber,
# proptest, tokio, syn: most of the build's time) are built at opt-level 0;
# the ones the models spend their time in (loom, generator, scoped-tls) and
# this crate keep the release profile's optimisation. That took the build from
# 142 s to 97 s on 2 cores, and the models ran as fast (105 s against 107 s).
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg mfwq_loom -C debug-assertions -D warnings${RUSTFLAGS:+ $RUSTFLAGS}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-$PWD/target/loom}"
PROFILE=(--release
    --config 'profile.release.package."*".opt-level = 0'
    --config 'profile.release.package.loom.opt-level = 3'
    --config 'profile.release.package.generator.opt-level = 3'
    --config 'profile.release.package.scoped-tls.opt-level = 3')

echo "loom: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
start=$SECONDS
# The loom filter selects the models: every one of them is named loom_*.
if [[ $# -gt 0 ]]; then
    # Filters of the caller's: one run.
    cargo test -p mfwq --lib "${PROFILE[@]}" loom -- "$@"
    echo "loom: done in $((SECONDS - start)) s"
    exit 0
fi
# The two models that take longest (about 35 and 15 s of the minute the
# models take on 2 cores) run in a process of their own beside the others,
# rather than last and alone on one core.
LONG=(sched::loom_tests::loom_two_pushes_wake_two_parked_pool_workers
    work::serial::loom_tests::loom_serial_two_producers)
binary=$(cargo test -p mfwq --lib "${PROFILE[@]}" --no-run --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -n "$binary" && -x "$binary" ]] || {
    cargo test -p mfwq --lib "${PROFILE[@]}" --no-run
    echo "loom: FAILED: the build failed or made no test binary" >&2
    exit 1
}
skips=()
for test in "${LONG[@]}"; do
    skips+=(--skip "$test")
done
# shellcheck source=ci/lib.sh
. ci/lib.sh
long_models() { "$binary" --exact "${LONG[@]}"; }
other_models() { "$binary" loom "${skips[@]}"; }
side_by_side loom "the longest models" long_models "the other models" other_models || exit 1
status=0
[[ "${SIDE_BY_SIDE_STATUS[*]}" == "0 0" ]] || status=1
long_log=$SIDE_BY_SIDE_LOGS/1.log
other_log=$SIDE_BY_SIDE_LOGS/2.log
# Every model ran: the long ones, and all the others.
ran=$(($(grep -c '^test .* ok$' "$long_log") + $(grep -c '^test .* ok$' "$other_log")))
echo "loom: $ran models passed"
[[ "$(grep -c '^test .* ok$' "$long_log")" -eq ${#LONG[@]} ]] || {
    echo "loom: FAILED: the long models did not all run (renamed?)" >&2
    status=1
}
[[ $status -eq 0 ]] || { echo "loom: FAILED (see above)" >&2; exit 1; }
echo "loom: done in $((SECONDS - start)) s"
