#!/usr/bin/env bash
# The benchmarks at smoke size: every workload of the benches of
# crates/mfwq-bench (peers: mfwq against tokio, rayon and crossbeam; c_abi:
# libmfplat from C against the Rust API; realtime: a "Pro Audio" queue's
# deadlines under load against a bare SCHED_FIFO thread, an unregistered
# queue and tokio) runs once at smoke size (1%; realtime: a few hundred
# periods), and this script checks from their output that each one ran and
# produced figures.
#
#   ci/bench-smoke.sh
#
# Runs `cargo test -p mfwq-bench --bench <name>` (no `--bench` flag reaches
# the binary, so it runs in smoke mode) for peers, c_abi and realtime, and
# fails (exit 1) when:
# - a bench exits non-zero (a workload panicked, the C program failed its
#   own reference checks, the C side could not be built: MFWQ_C_ABI_REQUIRED=1
#   is set here, so c_abi never skips; MFWQ_C_ABI_DIAG=1 too, so its
#   diagnostic contestants run as well);
# - a workload of the bench's own `--list` has no row in the table, or a row
#   whose median is not a number (a contestant that produced no figure); where
#   `--list` also names contestants (lines indented by four spaces: realtime),
#   a workload without a row for one of them;
# - the table holds a FAIL: in smoke mode a missed target reads "not met
#   (smoke)" (one round at 1% size on a busy machine cannot judge a target;
#   `cargo bench` does), so a FAIL is a target whose peer produced nothing
#   (realtime: without the right to SCHED_FIFO its targets read "not
#   applicable: no real-time privilege", which passes here too);
# - the closing line of a smoke run is missing.
# About 40 s on 2 cores once the benches are built (realtime: about 6 s, two
# of them with both CPUs loaded by the bench itself).
set -uo pipefail
cd "$(dirname "$0")/.."

BENCHES=(peers c_abi realtime)
export MFWQ_C_ABI_REQUIRED=1
# c_abi's diagnostic contestants too (the C program linked statically, Rust
# in the C ABI's call order, the C program with its callbacks' counts on
# lines of their own): each must build and produce figures.
export MFWQ_C_ABI_DIAG=1
unset MFWQ_BENCH_FILTER # every workload

fail() {
    echo "bench-smoke: FAILED: $*" >&2
    exit 1
}

command -v cargo >/dev/null 2>&1 || fail "cargo not found"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mfwq-bench-smoke.XXXXXX") || fail "cannot make a scratch directory"
trap 'rm -rf "$WORK"' EXIT

start=$SECONDS
cargo test --workspace --benches --no-run || fail "the benches do not build"

failed=()
for bench in "${BENCHES[@]}"; do
    echo "== bench-smoke: $bench"
    t=$SECONDS
    if ! cargo test -q --workspace --bench "$bench" -- --list >"$WORK/$bench.list" 2>"$WORK/$bench.list.err"; then
        cat "$WORK/$bench.list.err" >&2
        failed+=("$bench: --list failed")
        continue
    fi
    # `--list` prints one workload per line, indented by two spaces.
    mapfile -t workloads < <(awk '/^  [^ ]/ { print $1 }' "$WORK/$bench.list")
    # Lines indented by four spaces name contestants every workload must have
    # a row for (the name ends at the first run of two spaces).
    contestants=$(sed -nE 's/^    ([^ ].*)$/\1/p' "$WORK/$bench.list" | sed -E 's/  .*$//' | paste -sd '|' -)
    if ((${#workloads[@]} == 0)); then
        failed+=("$bench: --list named no workload")
        continue
    fi

    cargo test --workspace --bench "$bench" >"$WORK/$bench.out" 2>"$WORK/$bench.err"
    status=$?
    cat "$WORK/$bench.out"
    if [[ $status -ne 0 ]]; then
        tail -n 40 "$WORK/$bench.err" >&2
        failed+=("$bench: exit status $status")
        continue
    fi

    # The table's columns are separated by two or more spaces: workload,
    # contestant, unit, median, min, max, spread, ratio, target, result
    # (realtime: workload, contestant, unit, p50 lateness, p99, ...).
    # A target's second line leaves the first columns blank.
    problems=$(awk -v wanted="${workloads[*]}" -v contestants="$contestants" '
        BEGIN {
            FS = "  +"
            n = split(wanted, list, " ")
            for (i = 1; i <= n; i++) want[list[i]] = 1
            m = contestants == "" ? 0 : split(contestants, named, "|")
        }
        $1 in want {
            rows[$1]++
            seen[$1 SUBSEP $2] = 1
            if ($4 !~ /^-?[0-9]+(\.[0-9]+)?$/) bad[$1] = bad[$1] " [" $2 ": median \"" $4 "\"]"
        }
        END {
            for (i = 1; i <= n; i++) {
                w = list[i]
                if (!(w in rows)) { print w ": no row in the table (did not run?)"; continue }
                if (w in bad) print w ": no figure for" bad[w]
                for (j = 1; j <= m; j++)
                    if (!((w SUBSEP named[j]) in seen)) print w ": no row for " named[j]
            }
        }' "$WORK/$bench.out")
    if grep -q 'FAIL' "$WORK/$bench.out"; then
        problems+=$'\n'"a FAIL in the table (a target whose peer produced no figures):"$'\n'"$(grep 'FAIL' "$WORK/$bench.out")"
    fi
    if ! grep -q '^targets (information only' "$WORK/$bench.out"; then
        problems+=$'\n'"no closing line of a smoke run (\"targets (information only ...\")"
    fi
    problems=$(sed '/^$/d' <<<"$problems")
    if [[ -n "$problems" ]]; then
        echo "bench-smoke: $bench:" >&2
        sed 's/^/    /' <<<"$problems" >&2
        failed+=("$bench: its output falls short (see above)")
        continue
    fi
    rows=$(awk -v wanted="${workloads[*]}" 'BEGIN { FS = "  +"; n = split(wanted, l, " "); for (i = 1; i <= n; i++) w[l[i]] = 1 } $1 in w { r++ } END { print r + 0 }' "$WORK/$bench.out")
    echo "bench-smoke: $bench: all ${#workloads[@]} workloads ran and produced figures ($rows rows) in $((SECONDS - t)) s"
done

if ((${#failed[@]})); then
    printf 'bench-smoke: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "bench-smoke: done in $((SECONDS - start)) s"
