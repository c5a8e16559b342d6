#!/usr/bin/env bash
# Instructions per operation of the C ABI (libmfplat through mfapi.h) against
# the Rust API, workload by workload, counted by valgrind's callgrind: the
# steady second figure beside the timed C/Rust ratios of
# `cargo bench -p mfwq-bench --bench c_abi`, which move by 10% and more from
# run to run on a busy machine.
#
#   scripts/c-abi-instructions.sh [OPTIONS] [WORKLOAD...]
#
# WORKLOAD: names that `mfbench --list` prints (default: all of them).
#
# Options:
#   --scale-a X    the smaller size (default 0.02: 2% of the bench's counts)
#   --scale-b X    the larger size (default 0.06)
#   --runs N       processes per side and size; the median count is used
#                  (default 3)
#   --out FILE     also write the table (and its notes) to FILE
#   --keep DIR     keep callgrind's logs in DIR
#   -h, --help     this text
#
# How: the c_abi bench is built (`cargo bench --no-run`; it builds
# libmfplat and compiles c/mfbench.c against it when it starts). For each
# workload and each size, two processes run under callgrind, all threads
# counted: the C program alone (`mfbench --filter W --rounds 1 --warmup 0`),
# and the bench with the same filter, whose own process runs the Rust side
# (its C rounds run in a child process, which callgrind does not follow).
# Per operation, for each side:
#
#   (instructions at size b - instructions at size a) / (ops at b - ops at a)
#
# which cancels whatever a process costs whatever the size (startup, the
# platform's threads, the bench's build step). Both sides run the same
# count (the bench takes its sizes from the C program).
#
# As in scripts/bench-instructions.sh: callgrind runs one thread at a time,
# so a thread spinning while it waits for another is counted, and
# instructions are not time (cache misses, contention and sleeps cost none).
# Both sides run the same core code, so those effects fall on both alike;
# valgrind's plain thread scheduling (`--fair-sched=no`) keeps them the same
# from run to run, and the median of several runs guards the rest.
#
# Fails (exit 1) without valgrind or when a run fails; exit 2 on a usage
# error. About 4 minutes on 2 CPUs for all workloads.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=c-abi-instructions
# shellcheck source=scripts/callgrind-lib.sh
source scripts/callgrind-lib.sh

SCALE_A=0.02
SCALE_B=0.06
RUNS=3
# Valgrind's own thread scheduling (`--fair-sched=no`): with `try`, the
# chain's items in the C program sometimes alternate between the pool's two
# workers, each spinning while the other runs, and its count triples from
# one process to the next; with `no` both sides' counts repeat to 1%.
FAIR_SCHED=no
OUT=
KEEP=
FILTERS=()


usage_error() {
    echo "c-abi-instructions: $*" >&2
    echo "usage: $0 [--scale-a X] [--scale-b X] [--out FILE] [--keep DIR] [WORKLOAD...]" >&2
    exit 2
}

while (($#)); do
    case $1 in
    --scale-a | --scale-b | --runs | --out | --keep)
        (($# >= 2)) || usage_error "$1 needs a value"
        case $1 in
        --scale-a) SCALE_A=$2 ;;
        --scale-b) SCALE_B=$2 ;;
        --runs) RUNS=$2 ;;
        --out) OUT=$2 ;;
        --keep) KEEP=$2 ;;
        esac
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^#   -h/p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*) usage_error "unknown option $1" ;;
    *)
        FILTERS+=("$1")
        shift
        ;;
    esac
done
awk -v a="$SCALE_A" -v b="$SCALE_B" 'BEGIN { exit !(a + 0 > 0 && b + 0 > a + 0) }' ||
    usage_error "need 0 < --scale-a < --scale-b (got $SCALE_A and $SCALE_B)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || usage_error "--runs: not a positive count: $RUNS"

require_callgrind

START=$SECONDS
make_work_dir "$KEEP"
build_bench c_abi
BENCH=$BENCH_BIN
# One smoke round builds libmfplat and mfbench next to the bench binary.
"$BENCH" --bench --rounds 1 --warmup 0 --scale 0.001 --filter submit --no-write \
    >"$WORK/prepare.log" 2>&1 || {
    tail -n 20 "$WORK/prepare.log" >&2
    callgrind_die "the c_abi bench did not run"
}
TARGET_DIR=$(cd "$(dirname "$BENCH")/.." && pwd)
MFBENCH=$TARGET_DIR/mfbench
[[ -x $MFBENCH ]] || callgrind_die "the bench left no C program at $MFBENCH"

mapfile -t LISTED < <("$MFBENCH" --list)
((${#LISTED[@]})) || callgrind_die "mfbench --list printed nothing"
declare -A ITEMS UNIT
NAMES=()
for line in "${LISTED[@]}"; do
    name=$(sed -n 's/^workload=\([^ ]*\) .*/\1/p' <<<"$line")
    ITEMS[$name]=$(sed -n 's/.* items=\([0-9]*\) .*/\1/p' <<<"$line")
    UNIT[$name]=$(sed -n 's/.* unit=\([^ ]*\) .*/\1/p' <<<"$line")
    NAMES+=("$name")
done
((${#FILTERS[@]})) || FILTERS=("${NAMES[@]}")
for name in "${FILTERS[@]}"; do
    [[ -n ${ITEMS[$name]:-} ]] || usage_error "no such workload: $name (mfbench --list names them)"
done

# count LOG: the instructions callgrind collected, from its log.
count() {
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$1" | tail -n 1
}

# measure SIDE NAME SCALE: prints the median instructions of RUNS processes.
measure() {
    local counts=() run
    for ((run = 1; run <= RUNS; run++)); do
        counts+=("$(measure_once "$@" "$run")")
    done
    printf '%s\n' "${counts[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# measure_once SIDE NAME SCALE RUN: prints the instructions of one process.
measure_once() {
    local side=$1 name=$2 scale=$3 log=$WORK/$2.$1.$3.$4
    local cmd
    if [[ $side == c ]]; then
        cmd=("$MFBENCH" --rounds 1 --warmup 0 --scale "$scale" --filter "$name")
    else
        cmd=("$BENCH" --bench --rounds 1 --warmup 0 --scale "$scale" --filter "$name" --no-write)
    fi
    # mfbench finds the library next to it (its RUNPATH); the variable makes
    # sure of it.
    if ! LD_LIBRARY_PATH=$TARGET_DIR valgrind --tool=callgrind --fair-sched="$FAIR_SCHED" --callgrind-out-file=/dev/null \
        --log-file="$log.valgrind" "${cmd[@]}" >"$log.out" 2>&1; then
        tail -n 20 "$log.out" "$log.valgrind" >&2 || true
        callgrind_die "$name ($side, scale $scale) failed under callgrind"
    fi
    local n
    n=$(count "$log.valgrind")
    [[ -n $n ]] || callgrind_die "no instruction count in $log.valgrind"
    echo "$n"
}

ops() { awk -v n="$1" -v s="$2" 'BEGIN { x = int(n * s + 0.5); print (x < 1 ? 1 : x) }'; }

TABLE="| workload | unit | C libmfplat.so, instr/op | Rust mfwq, instr/op | C/Rust |
| --- | --- | ---: | ---: | ---: |"
for name in "${FILTERS[@]}"; do
    echo "c-abi-instructions: $name" >&2
    na=$(ops "${ITEMS[$name]}" "$SCALE_A")
    nb=$(ops "${ITEMS[$name]}" "$SCALE_B")
    ca=$(measure c "$name" "$SCALE_A")
    cb=$(measure c "$name" "$SCALE_B")
    ra=$(measure rust "$name" "$SCALE_A")
    rb=$(measure rust "$name" "$SCALE_B")
    row=$(awk -v ca="$ca" -v cb="$cb" -v ra="$ra" -v rb="$rb" -v na="$na" -v nb="$nb" 'BEGIN {
        c = (cb - ca) / (nb - na); r = (rb - ra) / (nb - na)
        printf "%.0f | %.0f | %.2fx", c, r, (r > 0 ? c / r : 0)
    }')
    TABLE+=$'\n'"| $name | instr/${UNIT[$name]} | $row |"
done

NOTES="- per operation: (I(b) - I(a)) / (ops(b) - ops(a)), each I the median of $RUNS processes under callgrind with all its threads, sizes a = $SCALE_A and b = $SCALE_B of \`mfbench --list\`'s counts; C: \`mfbench\` alone; Rust: the c_abi bench's own process (its C rounds run in a child that callgrind does not follow)
- instructions are not time: contention, cache misses and sleeps cost none, and a thread that spins while another runs is counted
- commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with changes)'), $(valgrind --version), $(nproc) CPUs, $((SECONDS - START)) s"
printf '%s\n\n%s\n' "$TABLE" "$NOTES"
if [[ -n $OUT ]]; then
    printf '# Instructions per operation: C ABI against the Rust API (callgrind)\n\n%s\n\n%s\n' "$TABLE" "$NOTES" >"$OUT"
fi
