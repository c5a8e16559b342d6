#!/usr/bin/env bash
# Formatting, lints and API docs, all warning-free:
#
#   cargo fmt --all -- --check
#   cargo clippy --workspace --all-targets -- -D warnings
#   cargo clippy -p mfwq --no-default-features -- -D warnings
#   RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
#   cargo package --no-verify -p mfwq -p mfwq-ffi   (what crates.io would get)
#
# and that README.md's table of CI steps ("CI: what .ci/run runs") lists the
# steps of .ci/run (its `cargo ...` and `bash ci/*.sh` lines) in their order.
#
#   ci/lint.sh              # all five
#   ci/lint.sh fmt          # one of fmt, clippy, doc, package, readme
#
# Installs the rustfmt and clippy components of the active toolchain when they
# are missing; fails (exit 1) when it cannot, or when any step reports
# anything. About 20 s on 2 cores once the workspace is built.
set -uo pipefail
cd "$(dirname "$0")/.."

WHICH="${1:-all}"
case "$WHICH" in
    all | fmt | clippy | doc | package | readme) ;;
    *)
        echo "usage: $0 [all|fmt|clippy|doc|package|readme]" >&2
        exit 2
        ;;
esac

# A checker that cannot run fails: CI must never look green without it.
fail() {
    echo "lint: FAILED: cannot run: $*" >&2
    exit 1
}

command -v cargo >/dev/null 2>&1 || fail "cargo not found"
need_component() {
    local component=$1 probe=$2
    if ! cargo "$probe" --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || fail "cargo $probe is missing and rustup is not there to add $component"
        echo "lint: adding the $component component"
        rustup component add "$component" || fail "cannot add the $component component"
        cargo "$probe" --version >/dev/null 2>&1 || fail "cargo $probe does not run"
    fi
}

failed=()
start=$SECONDS

if [[ "$WHICH" == all || "$WHICH" == fmt ]]; then
    need_component rustfmt fmt
    echo "== lint: cargo fmt --all -- --check"
    t=$SECONDS
    if cargo fmt --all -- --check; then
        echo "lint: fmt passed in $((SECONDS - t)) s"
    else
        echo "lint: fmt: run \`cargo fmt --all\`" >&2
        failed+=(fmt)
    fi
fi

if [[ "$WHICH" == all || "$WHICH" == clippy ]]; then
    need_component clippy clippy
    echo "== lint: cargo clippy --workspace --all-targets -- -D warnings"
    t=$SECONDS
    if cargo clippy --workspace --all-targets -- -D warnings; then
        echo "lint: clippy passed in $((SECONDS - t)) s"
    else
        failed+=(clippy)
    fi
    # The core without its `observe` feature (no tracing or statistics code
    # at all, the build the observation benchmark compares against) builds
    # cleanly too.
    echo "== lint: cargo clippy -p mfwq --no-default-features -- -D warnings"
    t=$SECONDS
    if cargo clippy -p mfwq --no-default-features -- -D warnings; then
        echo "lint: clippy (mfwq without default features) passed in $((SECONDS - t)) s"
    else
        failed+=(clippy-no-default-features)
    fi
fi

# Runs a cargo command whose own warnings (which -D warnings does not turn
# into errors) must be absent too: fails as NAME if it fails, as
# NAME-warnings if its log has a warning.
warning_free() { # NAME COMMAND...
    local name=$1 log status t=$SECONDS
    shift
    log=$(mktemp "${TMPDIR:-/tmp}/mfwq-$name.XXXXXX") || fail "cannot make a temporary file"
    "$@" 2>"$log"
    status=$?
    cat "$log" >&2
    if [[ $status -ne 0 ]]; then
        failed+=("$name")
    elif grep -q '^warning' "$log"; then
        echo "lint: $name: cargo warned (see above)" >&2
        failed+=("$name-warnings")
    else
        echo "lint: $name passed in $((SECONDS - t)) s"
    fi
    rm -f "$log"
}

if [[ "$WHICH" == all || "$WHICH" == doc ]]; then
    echo "== lint: RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps"
    # -D warnings makes rustdoc's warnings errors; cargo's own warnings (such
    # as two targets documented into one directory) only print, so its log is
    # searched for them too.
    RUSTDOCFLAGS="-D warnings${RUSTDOCFLAGS:+ $RUSTDOCFLAGS}" warning_free doc cargo doc --workspace --no-deps
fi

if [[ "$WHICH" == all || "$WHICH" == package ]]; then
    # The two publishable crates package cleanly: every file they need is
    # inside them (licences, README, build script inputs), the metadata is
    # complete, and cargo has nothing to warn about. `--no-verify` skips the
    # rebuild from the packaged sources (the tests above build the same code).
    echo "== lint: cargo package --no-verify -p mfwq -p mfwq-ffi"
    warning_free package cargo package --no-verify --allow-dirty -p mfwq -p mfwq-ffi
fi

if [[ "$WHICH" == all || "$WHICH" == readme ]]; then
    echo "== lint: README.md's CI steps against .ci/run"
    in_run=$(sed -n -E 's/^(bash )?((cargo|ci\/)[^#]*[^ #]).*$/\2/p' .ci/run)
    in_readme=$(sed -n '/^## CI: what `.ci\/run` runs/,/^## /p' README.md |
        sed -n -E 's/^\| [0-9]+ \| `([^`]+)` \|.*$/\1/p')
    if [[ -n "$in_run" && "$in_run" == "$in_readme" ]]; then
        echo "lint: readme passed ($(wc -l <<<"$in_run") steps)"
    else
        echo "lint: README.md (CI: what .ci/run runs) does not list the steps of .ci/run in order:" >&2
        diff <(echo "$in_run") <(echo "$in_readme") | sed 's/^/    /' >&2
        echo "    (< .ci/run, > README.md)" >&2
        failed+=(readme)
    fi
fi

if ((${#failed[@]})); then
    echo "lint: FAILED: ${failed[*]} ($((SECONDS - start)) s)" >&2
    exit 1
fi
echo "lint: done in $((SECONDS - start)) s"
