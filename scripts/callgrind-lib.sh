# Shared by the scripts that count instructions with callgrind
# (bench-instructions.sh, c-abi-instructions.sh): sourced, not run. The
# sourcing script sets SCRIPT_NAME (its messages' prefix) first.

# callgrind_die MESSAGE...: prints the message and exits 1.
callgrind_die() {
    echo "$SCRIPT_NAME: $*" >&2
    exit 1
}

# require_callgrind: fails, saying why, unless valgrind's callgrind and
# cargo can run. A checker that cannot run must not look like a pass.
require_callgrind() {
    command -v valgrind >/dev/null 2>&1 ||
        callgrind_die "valgrind is not installed (it provides callgrind, which counts the instructions); install it (e.g. apt-get install valgrind) and run again"
    valgrind --tool=callgrind --version >/dev/null 2>&1 ||
        callgrind_die "valgrind is installed but does not run ($(command -v valgrind))"
    command -v cargo >/dev/null 2>&1 || callgrind_die "cargo is not on PATH"
}

# make_work_dir KEEP: sets WORK to the directory KEEP (created if needed),
# or, with KEEP empty, to a temporary directory removed when the script exits.
make_work_dir() {
    if [[ -n $1 ]]; then
        mkdir -p "$1"
        WORK=$(cd "$1" && pwd)
    else
        WORK=$(mktemp -d "${TMPDIR:-/tmp}/$SCRIPT_NAME.XXXXXX")
        trap 'rm -rf "$WORK"' EXIT
    fi
}

# build_bench NAME: builds the bench NAME of mfwq-bench (`cargo bench
# --no-run`, its output in $WORK/build.log) and sets BENCH_BIN to the
# executable cargo names in its "Executable" line.
build_bench() {
    echo "$SCRIPT_NAME: building the $1 bench" >&2
    if ! cargo bench -p mfwq-bench --bench "$1" --no-run >"$WORK/build.log" 2>&1; then
        cat "$WORK/build.log" >&2
        callgrind_die "cargo bench -p mfwq-bench --bench $1 --no-run failed"
    fi
    # "  Executable benches/NAME... (target/release/deps/NAME-<hash>)"
    BENCH_BIN=$(sed -n "s/^ *Executable .*(\(.*$1-[0-9a-f]*\))\$/\1/p" "$WORK/build.log" | tail -n 1)
    [[ -n $BENCH_BIN && -x $BENCH_BIN ]] || {
        cat "$WORK/build.log" >&2
        callgrind_die "cannot find the bench binary in cargo's output"
    }
}
