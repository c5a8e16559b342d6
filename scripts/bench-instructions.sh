#!/usr/bin/env bash
# Instructions per item for every contestant of the peer bench's workloads
# (crates/mfwq-bench, `--bench peers`), counted by valgrind's callgrind: a
# figure that a busy machine does not scatter the way it scatters
# nanoseconds, to judge a change by alongside the bench's timings.
#
#   scripts/bench-instructions.sh [OPTIONS] [WORKLOAD...]
#
# WORKLOAD: filters as the bench takes them (a workload runs when its name
# contains one); default: the workloads listed in DEFAULT_WORKLOADS below.
#
# Options:
#   --scale-a X    the smaller size (default 0.05: 5% of the bench's counts)
#   --scale-b X    the larger size (default 0.15)
#   --rounds N     measured runs per contestant and size; the median count is
#                  used (default 3)
#   --warmup N     unmeasured runs per contestant before them (default 1)
#   --out FILE     also write the table (and its notes) to FILE
#   --keep DIR     keep callgrind's files and the bench's output in DIR
#   --valgrind-arg ARG
#                  one more valgrind option (repeatable), e.g. --fair-sched=no
#   -h, --help     this text
#
# How: the bench is built (`cargo bench --no-run`, CARGO_TARGET_DIR
# respected; the binary is copied away, so a build running meanwhile cannot
# swap it) and run twice under callgrind (`--fair-sched=try`: threads take
# turns in order, which steadies the counts), once per size, every selected
# workload in the one process. Callgrind dumps its counters when the
# harness's `run_once` (crates/mfwq-bench/src/peers/harness.rs) is entered
# and when it returns, so each contestant's run, all threads together, comes
# out in a file of its own; the bench's commentary says which contestant ran
# in which order (its round lines) and how many operations a run does (its
# "ops per run" line). Per operation:
#
#   (instructions at scale b - instructions at scale a) / (ops at b - ops at a)
#
# which cancels what a run costs whatever its size (creating a latch, waking a
# pool). A run is counted whole, also where the bench times only part of it
# (submit: the drain after the puts; timers: the firing). The unit is the
# bench's (item, hop, rtt, put, schedule, poll, ...); `spread` is how far the
# figure moves between the extreme runs; the ratio is to the contestant that
# the workload's first target names (a cost ratio: below 1 is fewer
# instructions than the reference).
#
# Callgrind runs one thread at a time: in workloads with more than one thread
# a thread that polls or spins while waiting for another burns its whole
# budget (the other cannot run meanwhile), and that is counted; how much
# depends on when callgrind switches threads. Those counts overstate waiting
# and say nothing about parallel speed. Instructions are not time either:
# cache misses, contention and sleeps cost no instructions.
#
# Fails (exit 1) without valgrind, when the build or a run fails, or when the
# runs and callgrind's dumps do not pair up; exit 2 on a usage error. About
# 3 minutes on 2 CPUs with the defaults, once the bench is built.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=bench-instructions
# shellcheck source=scripts/callgrind-lib.sh
source scripts/callgrind-lib.sh

# Workloads whose contestants all go through the harness and that callgrind
# gets through in seconds. Left out: `future-sleep`, whose sleeps of 1-50 ms
# start to expire during a run that callgrind slows down ~50x, so what a run
# does depends on the clock (its counts do not grow with its size); the
# workloads without contestant runs (timer-lateness, event-wake, memory,
# idle, ...), which yield no counts; churn, checked-mode and observe (ask for
# them by name).
DEFAULT_WORKLOADS=(fanout-mt fanout-serial chain pingpong serial submit timers cancel
    future-chain future-pingpong)
# The function callgrind dumps its counters around (see harness.rs).
RUN_FUNCTION='*peers::harness::run_once'

SCALE_A=0.05
SCALE_B=0.15
ROUNDS=3
WARMUP=1
OUT=
KEEP=
VALGRIND_ARGS=()
FILTERS=()

usage() {
    sed -n '2,/^#   -h/p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "bench-instructions: $*" >&2
    exit 1
}

usage_error() {
    echo "bench-instructions: $*" >&2
    echo "usage: $0 [--scale-a X] [--scale-b X] [--rounds N] [--warmup N] [--out FILE] [--keep DIR] [--valgrind-arg ARG] [WORKLOAD...]" >&2
    exit 2
}

while (($#)); do
    case $1 in
    --scale-a | --scale-b | --rounds | --warmup | --out | --keep | --valgrind-arg)
        (($# >= 2)) || usage_error "$1 needs a value"
        case $1 in
        --scale-a) SCALE_A=$2 ;;
        --scale-b) SCALE_B=$2 ;;
        --rounds) ROUNDS=$2 ;;
        --warmup) WARMUP=$2 ;;
        --out) OUT=$2 ;;
        --keep) KEEP=$2 ;;
        --valgrind-arg) VALGRIND_ARGS+=("$2") ;;
        esac
        shift 2
        ;;
    --scale-a=* | --scale-b=* | --rounds=* | --warmup=* | --out=* | --keep=* | --valgrind-arg=*)
        set -- "${1%%=*}" "${1#*=}" "${@:2}"
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*) usage_error "unknown option $1" ;;
    *)
        FILTERS+=("$1")
        shift
        ;;
    esac
done
((${#FILTERS[@]})) || FILTERS=("${DEFAULT_WORKLOADS[@]}")

is_number() { [[ $1 =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]]; }
is_number "$SCALE_A" || usage_error "--scale-a: not a number: $SCALE_A"
is_number "$SCALE_B" || usage_error "--scale-b: not a number: $SCALE_B"
awk -v a="$SCALE_A" -v b="$SCALE_B" 'BEGIN { exit !(a > 0 && b > a) }' ||
    usage_error "need 0 < --scale-a < --scale-b (got $SCALE_A and $SCALE_B)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || usage_error "--rounds: not a positive count: $ROUNDS"
[[ $WARMUP =~ ^[0-9]+$ ]] || usage_error "--warmup: not a count: $WARMUP"

require_callgrind

START=$SECONDS
make_work_dir "$KEEP"

# --- build -----------------------------------------------------------------

build_bench peers
BIN=$BENCH_BIN
# A copy: another build in the same target directory may replace the binary
# while the runs go on.
cp "$BIN" "$WORK/peers"
BIN=$WORK/peers
grep -aq 'harness8run_once' "$BIN" ||
    die "the bench binary has no function peers::harness::run_once, which callgrind dumps its counters around"

# --- runs ------------------------------------------------------------------

# run_scale NAME SCALE: one process under callgrind, every selected workload;
# leaves NAME/{cg.out.N,stderr.txt,stdout.txt,table.md,valgrind.log}.
run_scale() {
    local dir=$WORK/$1 scale=$2 t0=$SECONDS
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "bench-instructions: scale $scale under callgrind: ${FILTERS[*]}" >&2
    if ! env -u MFWQ_BENCH_FILTER -u MFWQ_BENCH_OUT \
        valgrind --tool=callgrind \
        --callgrind-out-file="$dir/cg.out" \
        --dump-before="$RUN_FUNCTION" --dump-after="$RUN_FUNCTION" \
        --fair-sched=try \
        --log-file="$dir/valgrind.log" ${VALGRIND_ARGS[@]+"${VALGRIND_ARGS[@]}"} \
        "$BIN" --bench "${FILTERS[@]}" --scale "$scale" \
        --rounds "$ROUNDS" --warmup "$WARMUP" --out "$dir/table.md" \
        >"$dir/stdout.txt" 2>"$dir/stderr.txt"; then
        tail -n 20 "$dir/stderr.txt" "$dir/valgrind.log" >&2 || true
        die "the bench failed under callgrind at scale $scale (output in $dir; rerun with --keep DIR to keep it)"
    fi
    echo "bench-instructions: scale $scale done in $((SECONDS - t0)) s" >&2
}

# runs NAME: one line per contestant run, in order, joined to callgrind's
# dumps: "workload<TAB>phase<TAB>contestant<TAB>ops<TAB>instructions",
# phase "warm-up" or "round".
runs() {
    local dir=$WORK/$1
    # The runs, in the order the round lines name them.
    awk '
        match($0, /^\[[^]]+\] (warm-up|round) [0-9]+\/[0-9]+:/) {
            head = substr($0, 1, RLENGTH)
            workload = substr(head, 2, index(head, "]") - 2)
            phase = (head ~ /\] warm-up /) ? "warm-up" : "round"
            n = split(substr($0, RLENGTH + 1), entries, "  ")
            for (i = 1; i <= n; i++) {
                if (entries[i] == "") continue
                # "NAME X ns/op"
                name = entries[i]
                sub(/ [^ ]+ ns\/op$/, "", name)
                print workload "\t" phase "\t" name
            }
        }' "$dir/stderr.txt" >"$dir/runs.tsv"
    # Operations per run, from the "ops per run" lines.
    awk '
        match($0, /^\[[^]]+\] ops per run:/) {
            workload = substr($0, 2, index($0, "]") - 2)
            n = split(substr($0, RLENGTH + 1), entries, "  ")
            for (i = 1; i <= n; i++) {
                if (entries[i] == "") continue
                # "NAME N ops"
                m = split(entries[i], words, " ")
                name = entries[i]
                sub(/ [0-9]+ ops$/, "", name)
                print workload "\t" name "\t" words[m - 1]
            }
        }' "$dir/stderr.txt" >"$dir/ops.tsv"
    # The counts of the dumps taken as run_once returned, in order.
    local f
    for f in $(find "$dir" -maxdepth 1 -name 'cg.out.*' -printf '%f\n' | sort -t. -k3,3n); do
        if grep -q '^desc: Trigger: --dump-after' "$dir/$f"; then
            awk '/^(summary|totals):/ { print $2; exit }' "$dir/$f"
        fi
    done >"$dir/counts.txt"
    local nruns ncounts
    nruns=$(wc -l <"$dir/runs.tsv")
    ncounts=$(wc -l <"$dir/counts.txt")
    ((nruns > 0)) || die "no contestant ran in $1 (no round lines in $dir/stderr.txt)"
    ((nruns == ncounts)) ||
        die "$1: $nruns runs in the bench's output but $ncounts callgrind dumps after run_once (is '$RUN_FUNCTION' still the harness's function?)"
    paste "$dir/runs.tsv" "$dir/counts.txt" |
        awk -F'\t' -v OFS='\t' '
            NR == FNR { ops[$1 "\t" $2] = $3; next }
            {
                key = $1 "\t" $3
                if (!(key in ops)) { print "no ops for " key > "/dev/stderr"; exit 1 }
                print $1, $2, $3, ops[key], $4
            }' "$dir/ops.tsv" - >"$dir/joined.tsv" ||
        die "$1: a run without an 'ops per run' entry"
}

run_scale a "$SCALE_A"
run_scale b "$SCALE_B"
runs a
runs b

# --- the table ---------------------------------------------------------------

# Units and reference peers from the bench's own Markdown table (scale b):
# "workload<TAB>contestant<TAB>unit<TAB>target".
awk -F' \\| ' -v OFS='\t' '
    /^\| / && NF == 10 {
        sub(/^\| /, "", $1); sub(/ \|$/, "", $10)
        if ($1 == "workload" || $1 ~ /^-+$/) next
        if ($1 != "") { workload = $1; contestant = $2; unit = $3 }
        print workload, contestant, unit, $9
    }' "$WORK/b/table.md" >"$WORK/rows.tsv"

TABLE=$WORK/table.md
awk -F'\t' -v rounds="$ROUNDS" '
    function median(list,    n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function least(list,    n, v, i, m) {
        n = split(list, v, " "); m = v[1] + 0
        for (i = 2; i <= n; i++) if (v[i] + 0 < m) m = v[i] + 0
        return m
    }
    function most(list,    n, v, i, m) {
        n = split(list, v, " "); m = v[1] + 0
        for (i = 2; i <= n; i++) if (v[i] + 0 > m) m = v[i] + 0
        return m
    }
    function fmt(x) {
        return (x >= 100 || x <= -100) ? sprintf("%.0f", x) : sprintf("%.1f", x)
    }
    FILENAME ~ /rows.tsv$/ {
        key = $1 "\t" $2
        # In the order of the bench table: workloads as run, contestants as declared.
        if (!(key in unit)) { unit[key] = $3; order[++n] = key }
        # "thrpt >= 1.00x rayon", "cost <= 1.20x crossbeam": the peer named.
        if (!($1 in ref) && match($4, /^(thrpt|cost) [<>]= [0-9.]+x /))
            ref[$1] = substr($4, RLENGTH + 1)
        next
    }
    $2 == "round" {
        side = FILENAME ~ /\/a\/joined.tsv$/ ? "a" : "b"
        key = $1 "\t" $3
        if (!(key in unit)) {
            print "bench-instructions: " key " ran but has no row in the table" > "/dev/stderr"
            failed = 1
        }
        ops[side, key] = $4
        counts[side, key] = counts[side, key] " " $5
    }
    END {
        for (i = 1; i <= n; i++) {
            key = order[i]
            # Rows of workloads without runs (timer-lateness, ...) have none.
            if (!(("a", key) in ops) && !(("b", key) in ops)) continue
            if (!(("a", key) in ops) || !(("b", key) in ops)) {
                print "bench-instructions: " key " ran at one scale only" > "/dev/stderr"
                failed = 1; continue
            }
            d = ops["b", key] - ops["a", key]
            if (d <= 0) {
                print "bench-instructions: " key ": no more ops at scale b than at a" > "/dev/stderr"
                failed = 1; continue
            }
            per[key] = (median(counts["b", key]) - median(counts["a", key])) / d
            # The figure from the extremes: lowest b against highest a, and
            # the reverse.
            lo = (least(counts["b", key]) - most(counts["a", key])) / d
            hi = (most(counts["b", key]) - least(counts["a", key])) / d
            spread[key] = per[key] > 0 ? sprintf("%.0f%%", 100 * (hi - lo) / per[key]) : "-"
        }
        if (failed) exit 1
        print "| workload | contestant | unit | instructions | spread | vs reference |"
        print "| --- | --- | --- | ---: | ---: | ---: |"
        for (i = 1; i <= n; i++) {
            key = order[i]
            if (!(key in per)) continue
            split(key, k, "\t")
            u = unit[key]; sub(/^[a-z]+\//, "instr/", u)
            if (u == "") u = "instr/op"
            r = "-"
            if (k[1] in ref) {
                rk = k[1] "\t" ref[k[1]]
                if (k[2] == ref[k[1]]) r = "reference"
                else if ((rk in per) && per[rk] > 0) r = sprintf("%.2fx %s", per[key] / per[rk], ref[k[1]])
            }
            print "| " k[1] " | " k[2] " | " u " | " fmt(per[key]) " | " spread[key] " | " r " |"
        }
    }' "$WORK/rows.tsv" "$WORK/a/joined.tsv" "$WORK/b/joined.tsv" >"$TABLE" ||
    die "cannot compute the table (files in $WORK; rerun with --keep DIR to keep them)"

ops_note=$(awk -F'\t' '$2 == "round" && !seen[$1]++ { printf "%s%s %s", sep, $1, $4; sep = ", " }' "$WORK/a/joined.tsv")
ops_note_b=$(awk -F'\t' '$2 == "round" && !seen[$1]++ { printf "%s%s %s", sep, $1, $4; sep = ", " }' "$WORK/b/joined.tsv")
if commit=$(git rev-parse --short HEAD 2>/dev/null); then
    [[ -z $(git status --porcelain --untracked-files=no 2>/dev/null || true) ]] ||
        commit="$commit with local changes"
else
    commit="? (not a git checkout)"
fi
{
    echo "# Instructions per operation (callgrind)"
    echo
    cat "$TABLE"
    echo
    echo "- instructions: all threads' instructions during a contestant's run, counted by callgrind at two sizes a and b, (I(b) - I(a)) / (ops(b) - ops(a)), I the median of $ROUNDS measured run(s) per size after $WARMUP warm-up run(s); a run is counted whole, also where the bench times only part of it (submit: the drain after the puts; timers: the firing after the schedule calls)"
    echo "- sizes: scale $SCALE_A (ops per run: $ops_note) and scale $SCALE_B ($ops_note_b)"
    echo "- spread: the same figure from the extreme runs (lowest at b against highest at a, and the reverse), the distance between the two relative to it; 0% with one run per size"
    echo "- vs reference: instructions relative to the contestant that the workload's first target names (below 1: fewer instructions); '-' where the bench names none"
    echo "- callgrind runs one thread at a time: where a workload has more than one thread, a thread that polls or spins while it waits for another burns its whole budget (the other cannot run meanwhile), and that is counted; how much depends on when callgrind switches threads. Multi-thread counts therefore overstate waiting costs and say nothing about parallel speed; instructions are not time either (cache misses, contention and sleeps cost none)"
    echo "- commit $commit, $(valgrind --version), $(nproc) CPUs, $((SECONDS - START)) s"
} >"$WORK/report.md"

cat "$WORK/report.md"
if [[ -n $OUT ]]; then
    cp "$WORK/report.md" "$OUT"
    echo "bench-instructions: wrote $OUT" >&2
fi
