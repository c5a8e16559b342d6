#!/usr/bin/env bash
# Runs the C and C++ ABI conformance programs (crates/mfwq-ffi/tests/c, driven
# by crates/mfwq-ffi/tests/c_programs.rs) under AddressSanitizer and under
# valgrind memcheck. No memory error and no leak is allowed, with one
# exception, suppressed exactly:
#
#   A timer still pending at the last shutdown never fires, and the platform
#   never gives back its internal result (nor the callback that result holds,
#   nor its platform lock). Windows does the same, so the leak is the
#   specified behaviour, not a bug (docs/reliability.md, section 1: the one
#   exception to "every accepted completion arrives"). Those cases live in their own program,
#   shutdown_timer_leak.c, which makes every such object inside a function
#   named leaky_schedule_*. The suppression files (ci/lsan-c-abi.supp,
#   ci/valgrind-c-abi.supp) match only leaks whose allocation stack holds
#   such a frame. We suppress by stack frame rather than switching leak
#   checking off for that program, so that any other leak in it, or a leak
#   anywhere else, still fails the run.
#
# The AddressSanitizer run is in checked mode (MFWQ_CHECKED=1): only there is
# each result object an allocation of its own, so that LeakSanitizer sees a
# leaked one (by default results are carved from slabs, which stay reachable;
# docs/checked-mode.md). The valgrind run is in the default mode, so that
# memcheck watches the code that carves and recycles them.
#
#   ci/c-abi.sh                 # both runs
#   ci/c-abi.sh asan            # only AddressSanitizer
#   ci/c-abi.sh valgrind        # only valgrind
#   MFWQ_C_ONLY=lifecycle,waits ci/c-abi.sh   # only some programs
#   CC=clang CXX=clang++ ci/c-abi.sh          # other compilers (default cc, c++)
#
# valgrind is installed with apt-get when missing (sudo if not root); if that
# is impossible the run fails: a checker that cannot run is a red CI.
# Under either tool the programs shrink their loops and stretch their time
# limits (MFWQ_C_SLOW, set by the harness). About a minute on 2 cores once
# the crate is built.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WHICH="${1:-all}"
case "$WHICH" in
    all | asan | valgrind) ;;
    *)
        echo "usage: $0 [all|asan|valgrind]" >&2
        exit 2
        ;;
esac

command -v cargo >/dev/null 2>&1 || { echo "c-abi: cargo is required" >&2; exit 1; }
# The compilers the harness uses: $CC and $CXX (split on white space, so
# `CC="ccache gcc"` works), else cc and c++.
need_compiler() {
    local variable=$1 default=$2 language=$3 package=$4 words
    read -r -a words <<<"${!variable:-}"
    if ((${#words[@]} == 0)); then
        command -v "$default" >/dev/null 2>&1 && return 0
        echo "c-abi: the $language compiler \`$default\` was not found: install it (Debian: apt-get install $package) or set $variable" >&2
    else
        command -v "${words[0]}" >/dev/null 2>&1 && return 0
        echo "c-abi: the $language compiler \`${words[*]}\` (from $variable) was not found: install it or set $variable to a $language compiler that is installed" >&2
    fi
    exit 1
}
need_compiler CC cc C gcc
need_compiler CXX c++ C++ g++

failed=()
start=$SECONDS

echo "c-abi: building libmfplat"
cargo build -p mfwq-ffi || exit 1

if [[ "$WHICH" == all || "$WHICH" == asan ]]; then
    echo "== c-abi: AddressSanitizer (+ LeakSanitizer)"
    # fast_unwind_on_malloc=0: libmfplat has no frame pointers, so only the
    # slow unwinder sees the C frames the suppression matches on.
    export ASAN_OPTIONS="fast_unwind_on_malloc=0:malloc_context_size=64:detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export LSAN_OPTIONS="suppressions=$ROOT/ci/lsan-c-abi.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    t=$SECONDS
    if MFWQ_CHECKED=1 MFWQ_C_SANITIZE=address cargo test -p mfwq-ffi --test c_programs; then
        echo "c-abi: AddressSanitizer run passed in $((SECONDS - t)) s"
    else
        failed+=(asan)
    fi
    unset ASAN_OPTIONS LSAN_OPTIONS
fi

install_valgrind() {
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || return 1
        sudo=(sudo -n)
    fi
    echo "c-abi: installing valgrind with apt-get"
    "${sudo[@]}" apt-get install -y valgrind \
        || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y valgrind; }
}

if [[ "$WHICH" == all || "$WHICH" == valgrind ]]; then
    echo "== c-abi: valgrind memcheck"
    if ! command -v valgrind >/dev/null 2>&1; then
        install_valgrind >&2 || true
    fi
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "c-abi: FAILED: valgrind is not installed and could not be installed" >&2
        failed+=(valgrind-missing)
    else
        t=$SECONDS
        if MFWQ_C_RUNNER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=64 --suppressions=$ROOT/ci/valgrind-c-abi.supp -q" \
            cargo test -p mfwq-ffi --test c_programs; then
            echo "c-abi: valgrind run passed in $((SECONDS - t)) s"
        else
            failed+=(valgrind)
        fi
    fi
fi

if ((${#failed[@]})); then
    echo "c-abi: FAILED: ${failed[*]} ($((SECONDS - start)) s)" >&2
    exit 1
fi
echo "c-abi: done in $((SECONDS - start)) s"
