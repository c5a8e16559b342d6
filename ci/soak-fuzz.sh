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

# shellcheck source=ci/lib.sh
. ci/lib.sh

soak() { bash ci/soak.sh; }
fuzz() { bash ci/fuzz.sh run; }
start=$SECONDS
side_by_side soak-fuzz "ci/soak.sh" soak "ci/fuzz.sh run" fuzz || exit 1
soak_status=${SIDE_BY_SIDE_STATUS[0]}
fuzz_status=${SIDE_BY_SIDE_STATUS[1]}
failed=()
[[ $soak_status -eq 0 ]] || failed+=(soak)
[[ $fuzz_status -eq 0 ]] || failed+=(fuzz)
if ((${#failed[@]})); then
    echo "soak-fuzz: FAILED: ${failed[*]} ($((SECONDS - start)) s)" >&2
    exit 1
fi
echo "soak-fuzz: done in $((SECONDS - start)) s"
