#!/usr/bin/env bash
# The two checkers that run for a fixed time, side by side: the soak under
# injected faults (ci/soak.sh, 60 s) and the fuzzers (ci/fuzz.sh run, both
# targets 60 s). Each keeps about one of two cores busy — the soak's threads
# wait on each other's items, blocked callbacks and shutdowns; a fuzz target
# spends its time starting and stopping the platform — so together they take
# the minute either takes alone, and each does the same work it does alone
# (measured on 2 vCPUs: about half the CPU idle while either runs by itself).
#
#   ci/soak-fuzz.sh        # what .ci/run runs (the fuzz targets built first if needed)
#
# Prints each log whole, soak first; fails if either fails.
set -uo pipefail
cd "$(dirname "$0")/.."

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/mfwq-soak-fuzz.XXXXXX") || {
    echo "soak-fuzz: cannot make a scratch directory" >&2
    exit 1
}
trap 'rm -rf "$LOGS"' EXIT

start=$SECONDS
bash ci/soak.sh >"$LOGS/soak.log" 2>&1 &
soak=$!
bash ci/fuzz.sh run >"$LOGS/fuzz.log" 2>&1 &
fuzz=$!
wait "$soak"
soak_status=$?
wait "$fuzz"
fuzz_status=$?

echo "== soak-fuzz: ci/soak.sh (exit $soak_status)"
cat "$LOGS/soak.log"
echo "== soak-fuzz: ci/fuzz.sh run (exit $fuzz_status)"
cat "$LOGS/fuzz.log"
failed=()
[[ $soak_status -eq 0 ]] || failed+=(soak)
[[ $fuzz_status -eq 0 ]] || failed+=(fuzz)
if ((${#failed[@]})); then
    echo "soak-fuzz: FAILED: ${failed[*]} ($((SECONDS - start)) s)" >&2
    exit 1
fi
echo "soak-fuzz: done in $((SECONDS - start)) s"
