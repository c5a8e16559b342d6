# Shared by the CI scripts (sourced, not run).
#
# side_by_side NAME LABEL1 FUNCTION1 LABEL2 FUNCTION2
#
# Runs two shell functions at once as background jobs, for checkers that
# each keep about one of two cores busy: their output goes to
# $SIDE_BY_SIDE_LOGS/1.log and 2.log (a scratch directory removed when the
# script exits), both are waited for, and each log is then printed whole
# under its label. The exit statuses are left in SIDE_BY_SIDE_STATUS (two
# numbers, in order); the function itself fails only when it cannot make
# its scratch directory. Used by ci/miri.sh (two lanes of modules),
# ci/loom.sh (the longest models beside the rest) and ci/soak-fuzz.sh (the
# soak beside the fuzzers).
side_by_side() {
    local name=$1 label1=$2 function1=$3 label2=$4 function2=$5
    SIDE_BY_SIDE_LOGS=$(mktemp -d "${TMPDIR:-/tmp}/mfwq-$name.XXXXXX") || {
        echo "$name: FAILED: cannot make a scratch directory" >&2
        return 1
    }
    # shellcheck disable=SC2064 # the directory is fixed now, on purpose.
    trap "rm -rf '$SIDE_BY_SIDE_LOGS'" EXIT
    "$function1" >"$SIDE_BY_SIDE_LOGS/1.log" 2>&1 &
    local first=$!
    "$function2" >"$SIDE_BY_SIDE_LOGS/2.log" 2>&1 &
    local second=$!
    local status1=0 status2=0
    wait "$first" || status1=$?
    wait "$second" || status2=$?
    echo "== $name: $label1 (exit $status1)"
    cat "$SIDE_BY_SIDE_LOGS/1.log"
    echo "== $name: $label2 (exit $status2)"
    cat "$SIDE_BY_SIDE_LOGS/2.log"
    SIDE_BY_SIDE_STATUS=("$status1" "$status2")
}
