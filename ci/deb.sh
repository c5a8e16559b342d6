#!/usr/bin/env bash
# Tests the Debian packages of libmfplat (scripts/build-deb.sh,
# docs/packaging.md): builds libmfplat0 and libmfplat-dev, installs them with
# dpkg -i, builds a C program with `cc prog.c $(pkg-config --cflags --libs
# mfplat)` and a C++ one with CMake (no prefix path: the system's), runs them
# with an empty environment (the library is found through the standard path
# and the ldconfig cache, no rpath, no LD_LIBRARY_PATH), checks dpkg -L and the
# dependency of -dev on the exact runtime version, then removes and purges
# both and checks that every file is gone. The packages are never left
# installed, even when a step fails.
#
# Needs root or sudo (dpkg -i). With CI=true missing tools are installed with
# apt-get; otherwise the script fails naming them. About 20 s once the release
# build is there (it reuses cargo's target directory).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

fail() {
    echo "deb: FAILED: $*" >&2
    exit 1
}

sudo=()
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || fail "dpkg -i needs root: run as root or install sudo"
    sudo=(sudo)
fi

need_tools() { # tool:debian-package ...
    local missing=() packages=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || { missing+=("${pair%%:*}"); packages+=("${pair#*:}"); }
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ "${CI:-}" != true ]]; then
        fail "missing tools: ${missing[*]} (install them, e.g. apt-get install ${packages[*]}; with CI=true this script installs them)"
    fi
    echo "deb: installing ${packages[*]} for ${missing[*]}"
    "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null ||
        fail "cannot install ${packages[*]}"
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || fail "${pair%%:*} still missing after apt-get"
    done
}
need_tools cargo:cargo dpkg-deb:dpkg dpkg-architecture:dpkg-dev cc:gcc c++:g++ pkg-config:pkg-config \
    cmake:cmake readelf:binutils objcopy:binutils ldconfig:libc-bin

work="$(mktemp -d)"
packages=(libmfplat-dev libmfplat0)
cleanup() {
    local status=$?
    for package in "${packages[@]}"; do
        if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "installed\|config-files"; then
            "${sudo[@]}" dpkg --purge "$package" >/dev/null 2>&1 || echo "deb: could not purge $package" >&2
        fi
    done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

for package in "${packages[@]}"; do
    if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "installed"; then
        echo "deb: note: $package was installed before this test; it is replaced, then purged"
    fi
done

echo "== deb: scripts/build-deb.sh"
DEB_OUT="$work/out" bash scripts/build-deb.sh >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2
    fail "scripts/build-deb.sh"
}
runtime_deb="$(ls "$work"/out/libmfplat0_*.deb)"
dev_deb="$(ls "$work"/out/libmfplat-dev_*.deb)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
libdir="/usr/lib/$multiarch"
version="$(dpkg-deb -f "$runtime_deb" Version)"
realname="libmfplat.so.0.$(echo "${version%-*}" | cut -d. -f2-3)"
dpkg-deb -f "$dev_deb" Depends | grep -qF "libmfplat0 (= $version)" ||
    fail "libmfplat-dev does not depend on libmfplat0 (= $version): $(dpkg-deb -f "$dev_deb" Depends)"
echo "deb: $(basename "$runtime_deb") $(stat -c %s "$runtime_deb") bytes, $(basename "$dev_deb") $(stat -c %s "$dev_deb") bytes"

echo "== deb: dpkg -i"
"${sudo[@]}" dpkg -i "$runtime_deb" "$dev_deb" >"$work/dpkg.log" 2>&1 || {
    cat "$work/dpkg.log" >&2
    fail "dpkg -i"
}

echo "== deb: dpkg -L"
dpkg -L libmfplat0 | grep -v '^/\.$' | sort >"$work/runtime.list"
dpkg -L libmfplat-dev | grep -v '^/\.$' | sort >"$work/dev.list"
for file in "$libdir/$realname" "$libdir/libmfplat.so.0" /usr/share/doc/libmfplat0/copyright; do
    grep -qx "$file" "$work/runtime.list" || fail "dpkg -L libmfplat0 lacks $file"
done
for file in "$libdir/libmfplat.so" "$libdir/libmfplat.a" "$libdir/pkgconfig/mfplat.pc" \
    "$libdir/cmake/mfplat/mfplatConfig.cmake" "$libdir/cmake/mfplat/mfplatConfigVersion.cmake" \
    "$libdir/cmake/mfplat/mfplatTargets.cmake" /usr/include/mfplat/mfapi.h /usr/include/mfplat/rtworkq.h; do
    grep -qx "$file" "$work/dev.list" || fail "dpkg -L libmfplat-dev lacks $file"
done
for file in "$libdir/libmfplat.so" "$libdir/libmfplat.a"; do
    if grep -qx "$file" "$work/runtime.list"; then fail "$file belongs in libmfplat-dev, not libmfplat0"; fi
done
[[ "$(readlink "$libdir/libmfplat.so.0")" == "$realname" ]] || fail "$libdir/libmfplat.so.0 does not point at $realname"
ldconfig -p | grep -q "libmfplat.so.0 .*=> \(/usr\)\?/lib/$multiarch/libmfplat.so.0$" || fail "ldconfig's cache does not list libmfplat.so.0 (trigger not run?)"

echo "== deb: C program with cc prog.c \$(pkg-config --cflags --libs mfplat), run with no environment"
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is intended
env -i PATH=/usr/bin:/bin cc -std=c11 -Wall -Wextra -Werror tests/install/hello.c -o "$work/hello" \
    $(env -i PATH=/usr/bin:/bin pkg-config --cflags --libs mfplat)
if readelf -d "$work/hello" | grep -q "RPATH\|RUNPATH"; then
    fail "the program has an rpath; it must find the library through the system path"
fi
(cd / && env -i "$work/hello") || fail "the program linked against the packaged library did not run"

echo "== deb: C++ program through CMake against the system package"
env -i PATH=/usr/bin:/bin HOME="$work" cmake -S tests/install -B "$work/cmake" >"$work/cmake.log" 2>&1 &&
    env -i PATH=/usr/bin:/bin HOME="$work" cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 || {
    cat "$work/cmake.log" >&2
    fail "CMake build against /usr"
}
(cd / && env -i "$work/cmake/hello_cpp") || fail "the CMake program did not run"

echo "== deb: dpkg -r, then --purge"
"${sudo[@]}" dpkg -r libmfplat-dev libmfplat0 >/dev/null
"${sudo[@]}" dpkg --purge libmfplat-dev libmfplat0 >/dev/null 2>&1 || true # -r already removed them fully (no conffiles)
for package in "${packages[@]}"; do
    if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "installed\|config-files"; then
        fail "$package is still known to dpkg after --purge"
    fi
done
left=()
while read -r file; do
    [[ -d "$file" ]] && continue # shared directories (/usr/lib/<multiarch>, ...) stay
    if [[ -e "$file" || -L "$file" ]]; then left+=("$file"); fi
done < <(cat "$work/runtime.list" "$work/dev.list")
[[ ${#left[@]} -eq 0 ]] || fail "files left after purge: ${left[*]}"
[[ ! -e /usr/include/mfplat ]] || fail "/usr/include/mfplat left after purge"
[[ ! -e "$libdir/cmake/mfplat" ]] || fail "$libdir/cmake/mfplat left after purge"
if ldconfig -p | grep -qF "libmfplat.so.0"; then
    fail "ldconfig's cache still lists libmfplat.so.0 after purge"
fi
echo "deb: all passed in $((SECONDS - start)) s"
