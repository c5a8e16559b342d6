#!/usr/bin/env bash
# The system-call half of the real-time safety check (docs/realtime.md, "What
# the hot path does"; the allocation half is crates/mfwq/tests/realtime_safety.rs,
# run by `cargo test`). It runs that binary's ignored test `strace_window` under
#
#   strace -f -e 'trace=!futex,clock_gettime,clock_nanosleep,sched_yield,sched_getscheduler'
#
# The test feeds a private standard queue registered "Pro Audio" with
# `put_result` of one reused result (4,000 items of warm-up, then a window of
# 20,000), and the feeding thread and the queue's worker each make one marker
# system call (`getppid`) as the window opens and one as it closes. This script
# then requires that neither thread made any other system call between its
# two markers: in steady state the put, the run and the completion are futex
# wait/wake, clock reads and the worker's `sched_yield` polling only. The
# band queue's rare wait for a preempted thread (which strace's slowness makes
# less rare) asks the waiter's policy once (`sched_getscheduler`) and, under
# a real-time policy, sleeps (`clock_nanosleep`): both allowed.
#
# strace is installed with apt-get when missing under CI=true (sudo if not
# root); otherwise, or if that fails, the check fails naming the tool. About
# 5 s once the test binary is built (the build itself is the workspace's).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v strace >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO=sudo
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq strace >/dev/null || true
    fi
    if ! command -v strace >/dev/null 2>&1; then
        echo "ci/rt-safety.sh: strace is required (apt-get install strace)" >&2
        exit 1
    fi
fi

BIN=$(cargo test --workspace --test realtime_safety --no-run 2>&1 |
    sed -n 's/.*(\(target\/[^)]*realtime_safety-[0-9a-f]*\)).*/\1/p' | tail -n 1)
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "ci/rt-safety.sh: cannot find the realtime_safety test binary" >&2
    exit 1
fi

TRACE=$(mktemp)
trap 'rm -f "$TRACE"' EXIT
strace -f -o "$TRACE" -e 'trace=!futex,clock_gettime,clock_nanosleep,sched_yield,sched_getscheduler' \
    "$BIN" --ignored --exact strace_window --test-threads 1

# Lines of each marking thread between its first and second marker.
awk '
    { tid = $1 }
    /getppid\(\)/ { marks[tid]++; next }
    (tid in marks) && marks[tid] == 1 { extra[tid] = extra[tid] "\n    " $0; count[tid]++ }
    END {
        threads = 0; bad = 0
        for (t in marks) {
            threads++
            if (marks[t] != 2) { print "thread " t ": " marks[t] " markers, expected 2"; bad = 1 }
            if (count[t] > 0) {
                print "thread " t ": " count[t] " other system calls in the window:" extra[t]
                bad = 1
            }
        }
        if (threads != 2) { print "expected 2 marking threads (feeder, worker), saw " threads; bad = 1 }
        if (bad) exit 1
        print "rt-safety: feeder and worker made no system call but futex, clock, sched_yield and sched_getscheduler in the window"
    }
' "$TRACE"
