#!/usr/bin/env bash
# Fuzzes the platform with cargo-fuzz (libFuzzer) for a bounded time: the
# targets of fuzz/ (see docs/fuzzing.md), each run on a scratch copy of its
# committed seed corpus, so the repository is never modified.
#
#   ci/fuzz.sh                      # both targets, 60 s each (run side by side)
#   FUZZ_SECONDS=300 ci/fuzz.sh     # longer
#   FUZZ_TARGETS=c_api ci/fuzz.sh   # one target
#   ci/fuzz.sh build                # only build the targets (.ci/run does this
#                                   # in the background, earlier)
#   ci/fuzz.sh run                  # build if needed (a no-op after `build`), run
#
# Installs what it needs: the nightly toolchain (rustup) and cargo-fuzz
# (cargo install --locked). Fails (exit 1) when it cannot install, build or
# run a target, when a target finds a crash or an oracle failure (the
# reproducer is kept in fuzz/artifacts/<target>/), or when a run executed
# nothing; it never skips. Both targets are built with AddressSanitizer and
# debug assertions (one build, about two minutes from cold on 2 cores; the
# whole script about four minutes at the default 60 s).
#
# LeakSanitizer is off (-detect_leaks=0): a timer still pending at the last
# shutdown leaks its result by design (as on Windows); the targets' own oracle
# accounts for every reference instead, leaks included.
#
# The environment reaches the targets: MFWQ_FUZZ_RELAX=rule,... turns off an
# oracle rule while a known bug is being fixed (docs/fuzzing.md).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MODE="${1:-all}"
case "$MODE" in
    all | build | run) ;;
    *)
        echo "usage: $0 [all|build|run]" >&2
        exit 2
        ;;
esac
SECONDS_EACH="${FUZZ_SECONDS:-60}"
read -r -a TARGETS <<<"${FUZZ_TARGETS:-c_api rust_api}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-4096}"

die() {
    echo "fuzz: $*" >&2
    exit 1
}

case "$SECONDS_EACH" in
    '' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number of seconds (got '$SECONDS_EACH')" ;;
esac
[[ "$SECONDS_EACH" -gt 0 ]] || die "FUZZ_SECONDS must be at least 1"
[[ ${#TARGETS[@]} -gt 0 ]] || die "no target to fuzz"

start=$SECONDS

# --- tools -------------------------------------------------------------------
command -v rustup >/dev/null 2>&1 || die "rustup is required (to get the nightly toolchain)"
command -v cargo >/dev/null 2>&1 || die "cargo is required"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz: installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal || die "could not install the nightly toolchain"
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked || die "could not install cargo-fuzz"
fi
cargo +nightly fuzz --version >/dev/null 2>&1 || die "cargo-fuzz does not run"
HOST=$(rustup run nightly rustc -vV | sed -n 's/^host: //p')
[[ -n "$HOST" ]] || die "cannot tell the host triple"

# --- build -------------------------------------------------------------------
echo "fuzz: building ${TARGETS[*]} (AddressSanitizer, debug assertions)"
t=$SECONDS
for target in "${TARGETS[@]}"; do
    (cd fuzz && cargo +nightly fuzz build -O -a "$target") || die "building $target failed"
done
echo "fuzz: built in $((SECONDS - t)) s"
# cargo-fuzz has no --locked: a lock file the build had to change means the
# committed one is stale (and a CI run would modify the checkout).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- fuzz/Cargo.lock; then
    git --no-pager diff -- fuzz/Cargo.lock >&2
    die "the build changed fuzz/Cargo.lock: commit the updated lock file"
fi
if [[ "$MODE" == build ]]; then
    echo "fuzz: done in $((SECONDS - start)) s"
    exit 0
fi

# --- run ---------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mfwq-fuzz.XXXXXX") || die "cannot make a scratch directory"
trap 'rm -rf "$WORK"' EXIT

run_target() {
    local target=$1
    local binary="$ROOT/fuzz/target/$HOST/release/$target"
    local corpus="$WORK/corpus/$target"
    local artifacts="$WORK/artifacts/$target/"
    mkdir -p "$corpus" "$artifacts"
    [[ -d "$ROOT/fuzz/corpus/$target" ]] && cp -R "$ROOT/fuzz/corpus/$target/." "$corpus/"
    ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
        "$binary" "$corpus" \
        -max_total_time="$SECONDS_EACH" \
        -rss_limit_mb="$RSS_LIMIT_MB" \
        -timeout=30 \
        -detect_leaks=0 \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts" \
        >"$WORK/$target.log" 2>&1
}

echo "fuzz: running ${TARGETS[*]} for $SECONDS_EACH s each, side by side"
declare -A pids
for target in "${TARGETS[@]}"; do
    [[ -x "$ROOT/fuzz/target/$HOST/release/$target" ]] || die "no binary for $target"
    run_target "$target" &
    pids[$target]=$!
done

failed=()
for target in "${TARGETS[@]}"; do
    wait "${pids[$target]}"
    status=$?
    log="$WORK/$target.log"
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    if [[ $status -ne 0 ]]; then
        echo "== fuzz: $target FAILED (libFuzzer exit $status)" >&2
        grep -E 'oracle failure|panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY' -A4 "$log" | head -n 40 >&2
        saved="$ROOT/fuzz/artifacts/$target"
        mkdir -p "$saved"
        cp "$WORK/artifacts/$target/"* "$saved/" 2>/dev/null
        for file in "$WORK/artifacts/$target/"*; do
            [[ -e "$file" ]] || continue
            echo "fuzz: reproducer: fuzz/artifacts/$target/$(basename "$file")" >&2
            echo "fuzz:   (cd fuzz && cargo +nightly fuzz run $target artifacts/$target/$(basename "$file") -- -detect_leaks=0)" >&2
        done
        failed+=("$target")
    elif [[ -z "$executed" || "$executed" -eq 0 ]]; then
        echo "== fuzz: $target executed nothing" >&2
        tail -n 20 "$log" >&2
        failed+=("$target")
    else
        echo "== fuzz: $target: $executed inputs, no failure; last status: $last"
    fi
done

echo "fuzz: done in $((SECONDS - start)) s"
if [[ ${#failed[@]} -gt 0 ]]; then
    die "failed: ${failed[*]}"
fi
