#!/usr/bin/env bash
# Installs libmfplat for C and C++ projects: headers, the shared library (with
# its SONAME and development links), the static library, mfplat.pc and the
# CMake package. See docs/packaging.md.
#
#   scripts/install-mfplat.sh                              # /usr/local (as root)
#   PREFIX=$HOME/.local scripts/install-mfplat.sh          # a prefix of your own
#   DESTDIR=/tmp/stage PREFIX=/usr LIBDIR=lib/x86_64-linux-gnu scripts/install-mfplat.sh
#   scripts/install-mfplat.sh "$HOME/.local"               # PREFIX as the argument works too
#
# Variables (all optional):
#   PREFIX      install prefix, default /usr/local (or the first argument)
#   DESTDIR     staging root prepended to every path written (packaging);
#               the installed files still name PREFIX, not DESTDIR
#   LIBDIR      default $PREFIX/lib; a relative value is taken under PREFIX
#               (LIBDIR=lib/x86_64-linux-gnu, LIBDIR=lib64)
#   INCLUDEDIR  default $PREFIX/include; relative as LIBDIR. The headers go to
#               $INCLUDEDIR/mfplat/, which mfplat.pc and the CMake target add
#               to the include path, so `#include <mfapi.h>` works
#   CARGO_TARGET_DIR   where cargo builds (default: what cargo metadata says)
#   NO_BUILD=1  do not run cargo; install what is already built (e.g. under
#               sudo, where cargo may be missing): fails if nothing is built
#   STRIP=0     install the libraries as built (default: strip the shared
#               library's symbol table and the static library's debug
#               information and LLVM bitcode, which no C link uses)
#
# As root with no DESTDIR, it runs ldconfig afterwards. For a prefix that is
# not on the loader's path, link with
#   -Wl,-rpath,"$(pkg-config --variable=libdir mfplat)"
# or set LD_LIBRARY_PATH (docs/packaging.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

die() {
    echo "install-mfplat: $*" >&2
    exit 1
}

PREFIX="${PREFIX:-${1:-/usr/local}}"
PREFIX="${PREFIX%/}"
[[ -n "$PREFIX" ]] || PREFIX=/
[[ "$PREFIX" == /* ]] || die "PREFIX must be an absolute path (got '$PREFIX')"
DESTDIR="${DESTDIR:-}"
DESTDIR="${DESTDIR%/}"
STRIP="${STRIP:-1}"

# A relative LIBDIR / INCLUDEDIR is under PREFIX.
under_prefix() {
    local value="$1"
    value="${value%/}"
    [[ "$value" == /* ]] || value="$PREFIX/$value"
    realpath -ms "$value" # tidy only (// and ..), no links resolved
}
LIBDIR="$(under_prefix "${LIBDIR:-lib}")"
INCLUDEDIR="$(under_prefix "${INCLUDEDIR:-include}")"
HEADERDIR="$INCLUDEDIR/mfplat"
PKGCONFIGDIR="$LIBDIR/pkgconfig"
CMAKEDIR="$LIBDIR/cmake/mfplat"

for tool in readelf realpath; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (binutils / coreutils)"
done
if [[ "$STRIP" == 1 ]]; then
    for tool in strip objcopy; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is required to strip the libraries (binutils), or set STRIP=0"
    done
fi

# Where cargo puts the release build: CARGO_TARGET_DIR, the build.target-dir
# setting, or ./target; CARGO_BUILD_TARGET adds the triple.
if [[ "${NO_BUILD:-0}" != 1 ]]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is required to build libmfplat (or build it first and set NO_BUILD=1)"
    target_dir="$(cargo metadata --format-version 1 --no-deps --offline 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    [[ -n "$target_dir" ]] || die "cannot find cargo's target directory (cargo metadata failed)"
    echo "install-mfplat: cargo build --release -p mfwq-ffi"
    cargo build --release -p mfwq-ffi
else
    target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
fi
built="$target_dir/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release"
so="$built/libmfplat.so"
archive="$built/libmfplat.a"
[[ -f "$so" && -f "$archive" ]] ||
    die "no libmfplat.so / libmfplat.a in $built (run 'cargo build --release -p mfwq-ffi')"
echo "install-mfplat: installing the build in $built"

# The SONAME (libmfplat.so.<SOVERSION>) comes from the build
# (crates/mfwq-ffi/build.rs); the real file adds the crate's minor.patch.
soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')"
[[ "$soname" == libmfplat.so.* ]] || die "$so has no SONAME (built by an older build.rs?)"
version="$(cargo pkgid -p mfwq-ffi --offline 2>/dev/null | sed 's/.*[#@]//')" || true
if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]; then
    version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
fi
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]] || die "cannot read the crate version"
minor="${BASH_REMATCH[2]}"
patch="${BASH_REMATCH[3]}"
realname="$soname.$minor.$patch"

install -d "$DESTDIR$HEADERDIR" "$DESTDIR$LIBDIR" "$DESTDIR$PKGCONFIGDIR" "$DESTDIR$CMAKEDIR"
install -m 644 include/*.h "$DESTDIR$HEADERDIR/"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [[ "$STRIP" == 1 ]]; then
    strip --strip-unneeded -o "$tmp/$realname" "$so"
    objcopy --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd "$archive" "$tmp/libmfplat.a"
else
    cp "$so" "$tmp/$realname"
    cp "$archive" "$tmp/libmfplat.a"
fi
install -m 755 "$tmp/$realname" "$DESTDIR$LIBDIR/$realname"
install -m 644 "$tmp/libmfplat.a" "$DESTDIR$LIBDIR/libmfplat.a"
ln -sfn "$realname" "$DESTDIR$LIBDIR/$soname"       # runtime: the name programs ask for
ln -sfn "$realname" "$DESTDIR$LIBDIR/libmfplat.so"  # development: what -lmfplat finds

# ${prefix}-relative paths in mfplat.pc where the directory is under PREFIX.
pc_path() {
    local dir="$1"
    if [[ "$PREFIX" != / && "$dir" == "$PREFIX"/* ]]; then
        echo "\${prefix}${dir#"$PREFIX"}"
    else
        echo "$dir"
    fi
}
cat >"$DESTDIR$PKGCONFIGDIR/mfplat.pc" <<PC
prefix=$PREFIX
libdir=$(pc_path "$LIBDIR")
includedir=$(pc_path "$INCLUDEDIR")

Name: mfplat
Description: mfwq: the Media Foundation work-queue platform (mfapi.h, rtworkq.h) for Linux
Version: $version
Cflags: -I\${includedir}/mfplat
Libs: -L\${libdir} -lmfplat
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl
PC

# The CMake package: paths relative to the config file's own (real)
# directory, so the tree can move as a whole (and /lib -> /usr/lib links on
# merged-/usr systems resolve to the real place).
rel_lib="$(realpath -m --relative-to="$CMAKEDIR" "$LIBDIR")"
rel_inc="$(realpath -m --relative-to="$CMAKEDIR" "$HEADERDIR")"
cat >"$DESTDIR$CMAKEDIR/mfplatConfig.cmake" <<CMAKE
# CMake package of libmfplat (mfwq). Generated by scripts/install-mfplat.sh.
#
#   find_package(mfplat CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE mfplat::mfplat)         # libmfplat.so
#   target_link_libraries(app PRIVATE mfplat::mfplat_static)  # libmfplat.a
include(CMakeFindDependencyMacro)
find_dependency(Threads)
include("\${CMAKE_CURRENT_LIST_DIR}/mfplatTargets.cmake")
CMAKE
cat >"$DESTDIR$CMAKEDIR/mfplatTargets.cmake" <<CMAKE
# Imported targets of libmfplat $version. Generated by scripts/install-mfplat.sh.
get_filename_component(_mfplat_dir "\${CMAKE_CURRENT_LIST_DIR}" REALPATH)
get_filename_component(_mfplat_libdir "\${_mfplat_dir}/$rel_lib" ABSOLUTE)
get_filename_component(_mfplat_includedir "\${_mfplat_dir}/$rel_inc" ABSOLUTE)

if(NOT TARGET mfplat::mfplat)
  add_library(mfplat::mfplat SHARED IMPORTED)
  set_target_properties(mfplat::mfplat PROPERTIES
    IMPORTED_LOCATION "\${_mfplat_libdir}/$realname"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "\${_mfplat_includedir}")
endif()

if(NOT TARGET mfplat::mfplat_static AND EXISTS "\${_mfplat_libdir}/libmfplat.a")
  add_library(mfplat::mfplat_static STATIC IMPORTED)
  set_target_properties(mfplat::mfplat_static PROPERTIES
    IMPORTED_LOCATION "\${_mfplat_libdir}/libmfplat.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_mfplat_includedir}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;gcc_s;util;rt;m;\${CMAKE_DL_LIBS}")
endif()

unset(_mfplat_dir)
unset(_mfplat_libdir)
unset(_mfplat_includedir)
CMAKE
cat >"$DESTDIR$CMAKEDIR/mfplatConfigVersion.cmake" <<CMAKE
# find_package(mfplat X.Y) accepts this package ($version) if it is at least
# X.Y and has the same major version. Generated by scripts/install-mfplat.sh.
set(PACKAGE_VERSION "$version")
if(PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL "" AND NOT PACKAGE_FIND_VERSION_MAJOR EQUAL ${version%%.*})
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
# A 64-bit library: no match for a 32-bit project.
if(NOT CMAKE_SIZEOF_VOID_P STREQUAL "" AND NOT CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
CMAKE
chmod 644 "$DESTDIR$PKGCONFIGDIR/mfplat.pc" "$DESTDIR$CMAKEDIR"/*.cmake

echo "install-mfplat: installed libmfplat $version ($realname, SONAME $soname) under ${DESTDIR}$PREFIX"
echo "  headers   $DESTDIR$HEADERDIR"
echo "  libraries $DESTDIR$LIBDIR"
echo "  pkg-config $DESTDIR$PKGCONFIGDIR/mfplat.pc, CMake $DESTDIR$CMAKEDIR"

if [[ -z "$DESTDIR" && "$(id -u)" == 0 ]] && command -v ldconfig >/dev/null 2>&1; then
    ldconfig
    if ! ldconfig -p | grep -qF "$LIBDIR/$soname"; then
        echo "install-mfplat: note: $LIBDIR is not on the loader's path; link with -Wl,-rpath,$LIBDIR or set LD_LIBRARY_PATH"
    fi
elif [[ -z "$DESTDIR" ]]; then
    echo "install-mfplat: not root, ldconfig not run; unless $LIBDIR is on the loader's path, link with"
    echo "  -Wl,-rpath,$LIBDIR (or set LD_LIBRARY_PATH=$LIBDIR)"
fi
