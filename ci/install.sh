#!/usr/bin/env bash
# Tests the installed form of libmfplat (scripts/install-mfplat.sh,
# docs/packaging.md):
#   1. release build, install into a temporary prefix;
#   2. a C program built with `pkg-config --cflags --libs mfplat` and an rpath
#      to pkg-config's libdir, run;
#   3. a C++ program built with CMake (find_package(mfplat CONFIG REQUIRED),
#      mfplat::mfplat), run; the same against a copy of the prefix moved
#      elsewhere (the CMake package is relocatable), and with
#      mfplat::mfplat_static;
#   4. the C program linked statically against libmfplat.a, run;
#   5. examples/c/Makefile with USE_PKG_CONFIG=1 against the installed prefix;
#   6. an install with CARGO_TARGET_DIR pointing outside the checkout;
#   7. an install with DESTDIR + PREFIX=/usr + a multiarch LIBDIR: the exact
#      tree, the symlinks, the SONAME, no DESTDIR leaking into the files.
# Needs cc, c++, pkg-config, cmake, readelf: with CI=true missing ones are
# installed with apt-get (sudo if not root), otherwise the script fails naming
# them. Nothing is skipped. About 30 s once the release build is there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
start=$SECONDS

fail() {
    echo "install: FAILED: $*" >&2
    exit 1
}

# tool:debian-package pairs.
need_tools() {
    local missing=() packages=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || { missing+=("${pair%%:*}"); packages+=("${pair#*:}"); }
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ "${CI:-}" != true ]]; then
        fail "missing tools: ${missing[*]} (install them, e.g. apt-get install ${packages[*]}; with CI=true this script installs them)"
    fi
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    echo "install: installing ${packages[*]} for ${missing[*]}"
    "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null ||
        fail "cannot install ${packages[*]}"
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || fail "${pair%%:*} still missing after apt-get"
    done
}
need_tools cargo:cargo cc:gcc c++:g++ make:make pkg-config:pkg-config cmake:cmake readelf:binutils objcopy:binutils

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

echo "== install: scripts/install-mfplat.sh into $prefix"
PREFIX="$prefix" DESTDIR= bash scripts/install-mfplat.sh >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    fail "install into $prefix"
}
soname=libmfplat.so.0
realname="$(readlink "$prefix/lib/$soname")"
[[ "$realname" == "$soname".*.* ]] || fail "$prefix/lib/$soname -> '$realname', expected $soname.<minor>.<patch>"

echo "== install: C program through pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
libdir="$(pkg-config --variable=libdir mfplat)"
[[ "$libdir" == "$prefix/lib" ]] || fail "pkg-config libdir is '$libdir'"
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is intended
cc -std=c11 -Wall -Wextra -Werror -pedantic tests/install/hello.c -o "$work/hello" \
    $(pkg-config --cflags --libs mfplat) -Wl,-rpath,"$libdir"
(cd / && env -u LD_LIBRARY_PATH "$work/hello") || fail "the pkg-config build did not run"
readelf -d "$work/hello" | grep -q "NEEDED.*\[$soname\]" || fail "hello does not need $soname"

echo "== install: C++ program through CMake (mfplat::mfplat)"
cmake_app() { # <build dir> <prefix> [cmake args...]
    local build="$1" at="$2"
    shift 2
    cmake -S tests/install -B "$build" -DCMAKE_PREFIX_PATH="$at" -DCMAKE_BUILD_TYPE=Release "$@" \
        >"$build.log" 2>&1 && cmake --build "$build" >>"$build.log" 2>&1 || {
        cat "$build.log" >&2
        fail "CMake build in $build"
    }
    (cd / && env -u LD_LIBRARY_PATH "$build/hello_cpp") || fail "$build/hello_cpp did not run"
}
cmake_app "$work/cmake-shared" "$prefix"
readelf -d "$work/cmake-shared/hello_cpp" | grep -q "NEEDED.*\[$soname\]" || fail "hello_cpp does not need $soname"

echo "== install: the CMake package is relocatable (prefix copied elsewhere)"
cp -a "$prefix" "$work/moved"
cmake_app "$work/cmake-moved" "$work/moved"
grep -q "$work/moved/lib" "$work/cmake-moved/CMakeFiles/hello_cpp.dir/link.txt" ||
    fail "the moved package still points at the old prefix"

echo "== install: C++ program through CMake (mfplat::mfplat_static)"
cmake_app "$work/cmake-static" "$prefix" -DMFPLAT_STATIC=ON
if readelf -d "$work/cmake-static/hello_cpp" | grep -q "libmfplat"; then
    fail "the static CMake build still needs libmfplat.so"
fi

echo "== install: C program linked statically against libmfplat.a"
# Libs.private minus -lmfplat: what libmfplat.a needs from the system.
private="$(pkg-config --static --libs-only-l mfplat | sed 's/-lmfplat//')"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Wextra -Werror -pedantic tests/install/hello.c -o "$work/hello-static" \
    $(pkg-config --cflags mfplat) -L"$libdir" -l:libmfplat.a $private
(cd / && env -u LD_LIBRARY_PATH "$work/hello-static") || fail "the static build did not run"
if readelf -d "$work/hello-static" | grep -q "libmfplat"; then
    fail "the static build still needs libmfplat.so"
fi
echo "install: libmfplat.a $(stat -c %s "$prefix/lib/libmfplat.a") bytes, $realname $(stat -c %s "$prefix/lib/$realname") bytes"

echo "== install: examples/c/Makefile with USE_PKG_CONFIG=1 against the prefix"
make -s -C examples/c USE_PKG_CONFIG=1 BUILD="$work/examples" >/dev/null
(cd / && env -u LD_LIBRARY_PATH "$work/examples/square_root" >/dev/null) || fail "examples/c square_root"
(cd / && env -u LD_LIBRARY_PATH "$work/examples/square_root_cpp" >/dev/null) || fail "examples/c square_root_cpp"
unset PKG_CONFIG_PATH

echo "== install: CARGO_TARGET_DIR elsewhere (build and install from there)"
# A target directory outside the checkout (here a link to the one just built,
# so cargo finds everything fresh): the script must build and install from
# it, not from ./target.
ln -s "$(cargo metadata --format-version 1 --no-deps --offline |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')" "$work/elsewhere"
CARGO_TARGET_DIR="$work/elsewhere" PREFIX="$work/prefix-elsewhere" DESTDIR= \
    bash scripts/install-mfplat.sh >"$work/elsewhere.log" 2>&1 || {
    cat "$work/elsewhere.log" >&2
    fail "install with CARGO_TARGET_DIR=$work/elsewhere"
}
grep -qF "installing the build in $work/elsewhere/release" "$work/elsewhere.log" || {
    cat "$work/elsewhere.log" >&2
    fail "the install did not use CARGO_TARGET_DIR"
}
cmp -s "$prefix/lib/$realname" "$work/prefix-elsewhere/lib/$realname" ||
    fail "the install from CARGO_TARGET_DIR differs from the first one"

echo "== install: DESTDIR + PREFIX=/usr + LIBDIR=lib/<multiarch> layout"
arch="$(gcc -print-multiarch 2>/dev/null || true)"
arch="${arch:-x86_64-linux-gnu}"
stage="$work/stage"
DESTDIR="$stage" PREFIX=/usr LIBDIR="lib/$arch" NO_BUILD=0 bash scripts/install-mfplat.sh >"$work/stage.log" 2>&1 || {
    cat "$work/stage.log" >&2
    fail "DESTDIR install"
}
expected="$work/expected.txt"
{
    for header in include/*.h; do echo "usr/include/mfplat/${header#include/}"; done
    printf '%s\n' \
        "usr/lib/$arch/cmake/mfplat/mfplatConfig.cmake" \
        "usr/lib/$arch/cmake/mfplat/mfplatConfigVersion.cmake" \
        "usr/lib/$arch/cmake/mfplat/mfplatTargets.cmake" \
        "usr/lib/$arch/libmfplat.a" \
        "usr/lib/$arch/libmfplat.so -> $realname" \
        "usr/lib/$arch/$soname -> $realname" \
        "usr/lib/$arch/$realname" \
        "usr/lib/$arch/pkgconfig/mfplat.pc"
} | sort >"$expected"
(cd "$stage" && find . \( -type f -printf '%P\n' \) -o \( -type l -printf '%P -> %l\n' \) | sort) >"$work/actual.txt"
diff -u "$expected" "$work/actual.txt" || fail "the DESTDIR tree differs from the expected layout"
readelf -d "$stage/usr/lib/$arch/$realname" | grep -q "Library soname: \[$soname\]" || fail "SONAME of $realname"
grep -qx "prefix=/usr" "$stage/usr/lib/$arch/pkgconfig/mfplat.pc" || fail "mfplat.pc prefix"
grep -qx "libdir=\${prefix}/lib/$arch" "$stage/usr/lib/$arch/pkgconfig/mfplat.pc" || fail "mfplat.pc libdir"
if grep -rqF "$stage" "$stage"; then
    fail "the DESTDIR path leaked into installed files: $(grep -rlF "$stage" "$stage")"
fi
echo "install: all passed in $((SECONDS - start)) s"
