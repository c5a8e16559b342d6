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
MODULES=(error:: ids:: work::item:: sched::slot:: sched::fifo:: sched::bands:: sched::patience:: result:: event:: registry:: recycle:: slab:: com:: handle:: checked:: class_name:: timer::claim:: timer::alarm:: api::scope:: api::join:: observe::)
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
cargo "+$TOOLCHAIN" miri test -p mfwq --lib -- "${MODULES[@]}" "${skips[@]}" "$@"
echo "miri: done in $((SECONDS - start)) s"
