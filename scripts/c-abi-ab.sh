#!/usr/bin/env bash
# One C program against two builds of libmfplat: the working tree's and a
# git revision's. It answers "did this change make the C ABI faster?" more
# steadily than comparing two runs of `cargo bench --bench c_abi`, whose
# C/Rust ratios move with the machine's noise from run to run.
#
#   scripts/c-abi-ab.sh [--rounds N] REV [WORKLOAD...]
#
# REV: the baseline (a commit, a tag, HEAD~1, ...). WORKLOAD: names that
# `mfbench --list` prints (default: every workload).
#
# How: REV is built in a temporary git worktree (`cargo build --release -p
# mfwq-ffi`), the working tree likewise; each library is copied under its
# soname into a directory of its own, and `crates/mfwq-bench/c/mfbench.c`
# is compiled once against the working tree's header. Then, workload by
# workload, N rounds (default 15) alternate between the builds (old, new,
# new, old, ...), each one process running one measured round after one
# warm-up round, chosen through LD_LIBRARY_PATH (mfbench's RUNPATH gives
# way to it). Printed per workload: each build's median (min-max) in the
# workload's unit, and the median (min-max) over rounds of new/old, the two
# runs of a round being back to back: below 1.00 the working tree is faster.
#
# Two identical builds read from 0.99 to 1.14 as paired medians with 15
# rounds on 2 busy CPUs: differences smaller than that need more rounds.
# Needs git, cargo and cc; about 40 s to build and 5 s per round on 2 CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=15
if [[ "${1:-}" == --rounds ]]; then
    rounds=$2
    shift 2
fi
if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
rev=$1
shift
work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --quiet --detach "$work/tree" "$rev"
(cd "$work/tree" && cargo build --quiet --release -p mfwq-ffi)
cargo build --quiet --release -p mfwq-ffi
soname=$(objdump -p target/release/libmfplat.so | awk '/SONAME/ {print $2}')
mkdir -p "$work/old" "$work/new"
cp "$work/tree/target/release/libmfplat.so" "$work/old/$soname"
cp target/release/libmfplat.so "$work/new/$soname"
"${CC:-cc}" -std=c11 -O2 -I include crates/mfwq-bench/c/mfbench.c -o "$work/mfbench" \
    -L "$work/new" -l:"$soname" -lpthread

if [[ $# -eq 0 ]]; then
    mapfile -t workloads < <("$work/mfbench" --list | sed -n 's/^workload=\([^ ]*\).*/\1/p')
else
    workloads=("$@")
fi
echo "c-abi-ab: $rounds rounds per workload, baseline $(git rev-parse --short "$rev"), new: the working tree"
for workload in "${workloads[@]}"; do
    : >"$work/$workload.old"
    : >"$work/$workload.new"
    for round in $(seq 1 "$rounds"); do
        order="old new"
        ((round % 2)) || order="new old"
        for build in $order; do
            LD_LIBRARY_PATH="$work/$build" "$work/mfbench" --rounds 1 --warmup 1 --filter "$workload" |
                sed -n 's/.* round=1 .*ns_per_item=\([0-9.]*\).*/\1/p' >>"$work/$workload.$build"
        done
    done
    python3 - "$workload" "$work/$workload.old" "$work/$workload.new" <<'EOF'
import statistics, sys
name, old, new = sys.argv[1], *(list(map(float, open(p))) for p in sys.argv[2:])
if not old or len(old) != len(new):
    sys.exit(f"c-abi-ab: {name}: the runs gave no figures")
ratios = sorted(b / a for a, b in zip(old, new))
span = lambda xs: f"{statistics.median(xs):.1f} ({min(xs):.1f}-{max(xs):.1f})"
print(f"{name:<15} old {span(old):<22} new {span(new):<22} "
      f"new/old {statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})")
EOF
done
