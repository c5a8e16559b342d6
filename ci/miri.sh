#!/usr/bin/env bash
# Runs the mfwq unit tests that Miri can run (undefined behaviour, aliasing
# and data-race checks) on nightly.
#
# The scheduler, platform and dispatch tests start worker pools and push
# thousands of items, far too slow under the interpreter, so only the modules
# below run: error codes, queue ids, async results (with the stock COM
# vtable, and the pools and slabs their memory comes from), COM references,
# event handles, events (including a cross-thread wake) and the private-queue
# registry. The registry's
# fill-to-the-limit test (8,192 queues, about 4 minutes under Miri) is skipped
# unless MIRI_SLOW=1. Extra args are passed to the test binary (e.g. more
# filters, or --skip NAME).
#
# MIRIFLAGS defaults to -Zmiri-permissive-provenance: parking_lot's word lock
# turns integers back into pointers, which Miri otherwise warns about.
#
# Fails (exit 1) if nightly or its miri component cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN="${MIRI_TOOLCHAIN:-nightly}"
# Two lanes, one Miri process each, side by side on two cores. The split
# balances wall time measured one module at a time (seconds, nightly of
# 2026-12, 2 vCPUs, about 5 s of each being Miri's start): sched::fifo 60
# (its concurrent pushers and poppers), recycle 30, registry 19,
# sched::bands 19, observe 17, every other module 5-8.
LANE_A=(sched::fifo:: registry:: error:: ids:: sched::slot:: com:: handle:: timer::claim::)
LANE_B=(recycle:: sched::bands:: observe:: work::item:: work::tests:: slab:: checked:: class_name:: timer::alarm:: api::scope:: api::join:: event:: result:: sched::patience::)
MODULES=("${LANE_A[@]}" "${LANE_B[@]}")
SLOW=(registry::tests::limit_gives_e_fail_and_frees_make_room)

# A checker that cannot run fails: CI must never look green without it.
fail() {
    echo "miri: FAILED: cannot run: $*" >&2
    exit 1
}

command -v rustup >/dev/null 2>&1 || fail "rustup not found"
if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    echo "miri: installing the $TOOLCHAIN toolchain"
    rustup toolchain install "$TOOLCHAIN" --profile minimal --component miri,rust-src \
        || fail "cannot install the $TOOLCHAIN toolchain"
fi
if ! rustup "+$TOOLCHAIN" component list --installed 2>/dev/null | grep -q '^miri'; then
    echo "miri: adding the miri component to $TOOLCHAIN"
    rustup "+$TOOLCHAIN" component add miri rust-src \
        || fail "cannot add the miri component to $TOOLCHAIN (not built for this nightly?)"
fi
cargo "+$TOOLCHAIN" miri setup || fail "cargo miri setup failed"

export MIRIFLAGS="${MIRIFLAGS--Zmiri-permissive-provenance}"
skips=()
if [[ "${MIRI_SLOW:-0}" != 1 ]]; then
    for test in "${SLOW[@]}"; do
        skips+=(--skip "$test")
    done
fi
echo "miri: $(rustup run "$TOOLCHAIN" rustc --version); MIRIFLAGS=$MIRIFLAGS; modules: ${MODULES[*]}; ${skips[*]:-no skips}"
start=$SECONDS
if [[ $# -gt 0 ]]; then
    # Filters of the caller's: one run.
    cargo "+$TOOLCHAIN" miri test -p mfwq --lib -- "${MODULES[@]}" "${skips[@]}" "$@"
    echo "miri: done in $((SECONDS - start)) s"
    exit 0
fi
# Miri interprets one thread at a time: the modules run as two processes side
# by side (LANE_A and LANE_B above, about 75 s each).
cargo "+$TOOLCHAIN" miri test -p mfwq --lib --no-run || fail "the Miri build failed"
# shellcheck source=ci/lib.sh
. ci/lib.sh
lane_a() { cargo "+$TOOLCHAIN" miri test -p mfwq --lib -- "${LANE_A[@]}" "${skips[@]}"; }
lane_b() { cargo "+$TOOLCHAIN" miri test -p mfwq --lib -- "${LANE_B[@]}" "${skips[@]}"; }
side_by_side miri "modules ${LANE_A[*]}" lane_a "modules ${LANE_B[*]}" lane_b \
    || fail "cannot make a scratch directory"
[[ "${SIDE_BY_SIDE_STATUS[*]}" == "0 0" ]] || { echo "miri: FAILED (see above)" >&2; exit 1; }
echo "miri: done in $((SECONDS - start)) s"
