#!/usr/bin/env bash
# The core stays portable: `cargo check -p mfwq` for targets other than the
# host, with the standard library of each added by rustup. A check needs no
# linker and no C toolchain for the target.
#
#   ci/cross.sh                                     # the three targets below
#   CROSS_TARGETS="x86_64-apple-darwin" ci/cross.sh
#
# Targets: aarch64-unknown-linux-gnu (Linux on ARM: the same code paths as
# x86-64 Linux), aarch64-apple-darwin and x86_64-pc-windows-gnu (no Linux
# syscalls: the fallbacks behind #[cfg(not(target_os = "linux"))] in
# crates/mfwq/src/realtime/ (os_fallback.rs), sched/mod.rs and timer.rs).
# Only the core is checked; the other crates are Linux programs by design:
# - mfwq-ffi is libmfplat *for Linux*: GetCurrentThreadId is gettid,
#   GetTickCount64 is CLOCK_BOOTTIME, the critical sections and waits use
#   Linux libc calls (crates/mfwq-ffi/src/synch.rs); it checks for
#   aarch64-unknown-linux-gnu but not for macOS or Windows;
# - mfwq-bench measures CPU time with getrusage, sysconf(_SC_CLK_TCK) and
#   /proc, and sets the timer slack with prctl (Linux only);
# - mfwq-cli is a demo of the core (it does check everywhere; not repeated).
#
# Builds in its own target dir (target/cross) so that the host build is not
# disturbed. Fails (exit 1) when a target cannot be added or does not check
# cleanly (warnings are errors). About 25 s from cold on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."

read -r -a TARGETS <<<"${CROSS_TARGETS:-aarch64-unknown-linux-gnu aarch64-apple-darwin x86_64-pc-windows-gnu}"

fail() {
    echo "cross: FAILED: cannot run: $*" >&2
    exit 1
}

command -v rustup >/dev/null 2>&1 || fail "rustup not found (needed to add the targets' standard libraries)"
command -v cargo >/dev/null 2>&1 || fail "cargo not found"
installed=$(rustup target list --installed) || fail "rustup target list failed"
for target in "${TARGETS[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        echo "cross: adding the $target target"
        rustup target add "$target" || fail "cannot add the $target target"
    fi
done

export CARGO_TARGET_DIR="${CROSS_TARGET_DIR:-$PWD/target/cross}"
# Warnings are errors here: dead code or an unused import on one target only
# is the usual sign of a cfg gate that forgot a branch.
export RUSTFLAGS="-D warnings${RUSTFLAGS:+ $RUSTFLAGS}"
start=$SECONDS
# One cargo call for all the targets: cargo checks them side by side.
target_flags=()
for target in "${TARGETS[@]}"; do
    target_flags+=(--target "$target")
done
echo "== cross: cargo check -p mfwq ${target_flags[*]}"
if ! cargo check -p mfwq "${target_flags[@]}"; then
    echo "cross: FAILED: cargo check -p mfwq ${target_flags[*]} ($((SECONDS - start)) s)" >&2
    exit 1
fi
echo "cross: ${TARGETS[*]} passed; done in $((SECONDS - start)) s"
