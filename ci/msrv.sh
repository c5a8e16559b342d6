#!/usr/bin/env bash
# The minimum supported Rust version holds: what a user builds (the
# libraries `mfwq` and `mfwq-ffi`, and the `mfwq` command with the benchmark
# library it runs) builds on the toolchain named by `rust-version` in
# Cargo.toml's [workspace.package], with the committed Cargo.lock. The tests,
# benchmarks and examples are the project's own and build on the stable
# toolchain that the README asks for; checking them too cost the step twice
# as long (91 s against 54 s from cold on 2 cores) for no user's benefit.
#
#   ci/msrv.sh
#
# Installs that toolchain (rustup, minimal profile) when it is missing, then runs
#   cargo +<rust-version> check -p mfwq -p mfwq-ffi -p mfwq-cli --lib --bins --locked
# in its own target dir (target/msrv) so that the main build is not thrashed.
# Fails (exit 1) when the toolchain cannot be installed or the check fails:
# raising a dependency past the MSRV means raising rust-version (and saying
# so), or keeping the older dependency (the workspace's resolver 3 picks
# versions that fit rust-version on `cargo update`).
set -uo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "msrv: FAILED: cannot run: $*" >&2
    exit 1
}

MSRV=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
[[ -n "$MSRV" ]] || fail "no rust-version in Cargo.toml"
command -v rustup >/dev/null 2>&1 || fail "rustup not found (needed to install Rust $MSRV)"
if ! rustup run "$MSRV" rustc --version >/dev/null 2>&1; then
    echo "msrv: installing Rust $MSRV"
    rustup toolchain install "$MSRV" --profile minimal || fail "cannot install Rust $MSRV"
fi

export CARGO_TARGET_DIR="${MSRV_TARGET_DIR:-$PWD/target/msrv}"
echo "msrv: $(rustup run "$MSRV" rustc --version); CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
start=$SECONDS
if ! cargo "+$MSRV" check -p mfwq -p mfwq-ffi -p mfwq-cli --lib --bins --locked; then
    echo "msrv: FAILED: the libraries or the command do not build with Rust $MSRV (rust-version in Cargo.toml)" >&2
    exit 1
fi
echo "msrv: done in $((SECONDS - start)) s"
