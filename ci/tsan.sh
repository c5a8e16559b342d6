#!/usr/bin/env bash
# Runs the mfwq library and integration tests under ThreadSanitizer (nightly,
# -Zsanitizer=thread, with std rebuilt instrumented via -Zbuild-std so that
# std's own synchronisation is visible to TSan).
#
# The stress test is scaled down (TSan costs 5-15x): MFWQ_STRESS_ITEMS and
# MFWQ_STRESS_RACES default to 100000 and 100 here, the soak's timer
# grace (MFWQ_SOAK_TIMER_GRACE_MS) to 2 s, the soak's allowance for memory
# growth (MFWQ_SOAK_RSS_TOLERANCE_MIB) to 16 MiB (TSan's allocator keeps what
# is freed and its metadata grows with every address touched), and the longest gap the
# starvation test allows a normal-priority thread (MFWQ_STARVATION_GAP_MS)
# to 800 ms (250 outside TSan; the stall it guards against lasts about a
# second). Extra args go to
# `cargo test` after the package selection (e.g. `--test stress`).
#
# RUST_BACKTRACE is set to 0 (TSAN_RUST_BACKTRACE overrides): symbolising a
# panic's backtrace under TSan takes longer than the tests' 20 s waits, so the
# tests that panic on purpose would time out (and a TSan report raised
# meanwhile can hang the TSan runtime).
#
# object/recycle.rs ends the last reference of a result with an acquire *load* of
# the count rather than an acquire fence (as std's Arc does under sanitizers),
# because TSan does not model fences; with that, the suite is TSan-clean.
#
# Fails (exit 1) if nightly or rust-src cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN="${TSAN_TOOLCHAIN:-nightly}"
TARGET="${TSAN_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"

# A checker that cannot run fails: CI must never look green without it.
fail() {
    echo "tsan: FAILED: cannot run: $*" >&2
    exit 1
}

command -v rustup >/dev/null 2>&1 || fail "rustup not found"
case "$TARGET" in
    x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu) ;;
    *) fail "ThreadSanitizer is not supported on $TARGET" ;;
esac
if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    echo "tsan: installing the $TOOLCHAIN toolchain"
    rustup toolchain install "$TOOLCHAIN" --profile minimal --component rust-src \
        || fail "cannot install the $TOOLCHAIN toolchain"
fi
if ! rustup "+$TOOLCHAIN" component list --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "tsan: adding rust-src to $TOOLCHAIN (needed by -Zbuild-std)"
    rustup "+$TOOLCHAIN" component add rust-src || fail "cannot add rust-src to $TOOLCHAIN"
fi

export RUSTFLAGS="-Zsanitizer=thread${RUSTFLAGS:+ $RUSTFLAGS}"
export RUSTDOCFLAGS="-Zsanitizer=thread${RUSTDOCFLAGS:+ $RUSTDOCFLAGS}"
export CARGO_TARGET_DIR="${TSAN_TARGET_DIR:-$PWD/target/tsan}"
# Abort on the first report with a non-zero status.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}"
if grep -q 'fence(Ordering::Acquire)' crates/mfwq/src/object/recycle.rs 2>/dev/null; then
    echo "tsan: WARNING: recycle.rs still releases with fence(Acquire); expect false" \
        "data-race reports around recycled results (see the header of this script)" >&2
fi
export RUST_BACKTRACE="${TSAN_RUST_BACKTRACE:-0}"
export MFWQ_STRESS_ITEMS="${MFWQ_STRESS_ITEMS:-100000}"
export MFWQ_STRESS_RACES="${MFWQ_STRESS_RACES:-100}"
# The soak counts a timer due this long before a shutdown and never fired as
# lost; under TSan a thread can stall for hundreds of milliseconds.
export MFWQ_SOAK_TIMER_GRACE_MS="${MFWQ_SOAK_TIMER_GRACE_MS:-2000}"
export MFWQ_SOAK_RSS_TOLERANCE_MIB="${MFWQ_SOAK_RSS_TOLERANCE_MIB:-16}"
export MFWQ_STARVATION_GAP_MS="${MFWQ_STARVATION_GAP_MS:-800}"

echo "tsan: $(rustup run "$TOOLCHAIN" rustc --version); target $TARGET; CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
start=$SECONDS
# --lib --tests: unit and integration tests (doctests cannot take -Zbuild-std here).
cargo "+$TOOLCHAIN" test -Zbuild-std --target "$TARGET" -p mfwq --lib --tests "$@"
echo "tsan: done in $((SECONDS - start)) s"
