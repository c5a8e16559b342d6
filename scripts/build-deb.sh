#!/usr/bin/env bash
# Builds the Debian packages of libmfplat, split the way Debian splits a
# library (docs/packaging.md, "Debian packages"):
#   libmfplat0     /usr/lib/<multiarch>/libmfplat.so.0.<minor>.<patch> and the
#                  SONAME link libmfplat.so.0 (runtime; shlibs, ldconfig trigger)
#   libmfplat-dev  /usr/include/mfplat/*.h, the libmfplat.so link, libmfplat.a,
#                  pkgconfig/mfplat.pc, cmake/mfplat/ (depends on exactly the
#                  same version of libmfplat0)
#
#   scripts/build-deb.sh        # -> <target dir>/debian/libmfplat{0,-dev}_<version>_<arch>.deb
#
# The files are staged by scripts/install-mfplat.sh (DESTDIR, PREFIX=/usr,
# LIBDIR=lib/<multiarch>) from the release build in cargo's target directory
# (CARGO_TARGET_DIR honoured), then packed with dpkg-deb. Variables:
#   DEB_REVISION  Debian revision, default 1 (version <crate version>-1)
#   DEB_MAINTAINER  the Maintainer field
#   DEB_OUT       output directory, default <target dir>/debian
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

die() {
    echo "build-deb: $*" >&2
    exit 1
}
for tool in cargo dpkg-deb dpkg readelf; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done

arch="$(dpkg --print-architecture)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)"
[[ -n "$multiarch" ]] || die "cannot tell the multiarch triplet (install dpkg-dev)"
target_dir="$(cargo metadata --format-version 1 --no-deps --offline 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[[ -n "$target_dir" ]] || die "cannot find cargo's target directory"
out="${DEB_OUT:-$target_dir/debian}"
maintainer="${DEB_MAINTAINER:-mfwq developers <mfwq@example.invalid>}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/stage"
DESTDIR="$stage" PREFIX=/usr LIBDIR="lib/$multiarch" INCLUDEDIR=include STRIP=1 \
    bash scripts/install-mfplat.sh >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    die "staging with scripts/install-mfplat.sh failed"
}
libdir="usr/lib/$multiarch"
realname="$(readlink "$stage/$libdir/libmfplat.so")" # libmfplat.so.0.<minor>.<patch>
soname="$(readelf -d "$stage/$libdir/$realname" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')"
soversion="${soname#libmfplat.so.}"
[[ -L "$stage/$libdir/$soname" && "$soversion" =~ ^[0-9]+$ ]] || die "unexpected SONAME '$soname' of $realname"
version="$(sed -n 's/^Version: //p' "$stage/$libdir/pkgconfig/mfplat.pc")"
debversion="$version-${DEB_REVISION:-1}"
runtime="libmfplat$soversion"
dev="libmfplat-dev"

# Runtime dependencies from the symbol versions the library needs (what
# dpkg-shlibdeps would find for these two libraries).
max_version() { readelf -V "$stage/$libdir/$realname" | grep -o "$1_[0-9][0-9.]*" | sed "s/^$1_//" | sort -V | tail -n1; }
depends="libc6 (>= $(max_version GLIBC))"
gcc_version="$(max_version GCC)"
[[ -z "$gcc_version" ]] || depends="$depends, libgcc-s1 (>= $gcc_version)"

copyright() { # <package>
    install -d "$1/usr/share/doc/$2"
    cat >"$1/usr/share/doc/$2/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: mfwq
Comment: libmfplat, the Media Foundation work-queue platform for Linux.

Files: *
License: MIT or Apache-2.0
 The crate is dual-licensed under the MIT license and the Apache License,
 Version 2.0; see the source tree.
COPY
}

# --- libmfplat<N>: the runtime -------------------------------------------
rt="$work/$runtime"
install -d "$rt/DEBIAN" "$rt/$libdir"
cp -a "$stage/$libdir/$realname" "$stage/$libdir/$soname" "$rt/$libdir/"
copyright "$rt" "$runtime"
cat >"$rt/DEBIAN/shlibs" <<SHLIBS
libmfplat $soversion $runtime (>= $version)
SHLIBS
cat >"$rt/DEBIAN/triggers" <<TRIGGERS
activate-noawait ldconfig
TRIGGERS

# --- libmfplat-dev: headers, the dev link, the static library, .pc, CMake --
dv="$work/$dev"
install -d "$dv/DEBIAN" "$dv/$libdir"
cp -a "$stage/usr/include" "$dv/usr/"
cp -a "$stage/$libdir/libmfplat.so" "$stage/$libdir/libmfplat.a" "$stage/$libdir/pkgconfig" \
    "$stage/$libdir/cmake" "$dv/$libdir/"
copyright "$dv" "$dev"

# Every staged file must be in exactly one package.
(cd "$stage" && find . ! -type d | sort) >"$work/staged"
(cd "$rt" && find . ! -type d ! -path './DEBIAN/*' ! -path './usr/share/doc/*'
 cd "$dv" && find . ! -type d ! -path './DEBIAN/*' ! -path './usr/share/doc/*') | sort >"$work/packed"
diff -u "$work/staged" "$work/packed" || die "the split does not cover the staged tree exactly"

control() { # <root> <package> <section> <depends> <description...>
    local root="$1" package="$2" section="$3" deps="$4"
    shift 4
    local size
    size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    (cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    {
        echo "Package: $package"
        echo "Source: mfwq"
        echo "Version: $debversion"
        echo "Architecture: $arch"
        echo "Multi-Arch: same"
        echo "Maintainer: $maintainer"
        echo "Installed-Size: $size"
        echo "Depends: $deps"
        echo "Section: $section"
        echo "Priority: optional"
        echo "Homepage: https://example.invalid/mfwq"
        printf '%s\n' "$@"
    } >"$root/DEBIAN/control"
}
control "$rt" "$runtime" libs "$depends" \
    "Description: Media Foundation work-queue platform for Linux (runtime)" \
    " libmfplat implements the asynchronous work-queue platform of Microsoft" \
    " Media Foundation (mfapi.h: MFStartup, MFPutWorkItem, IMFAsyncResult, ...)" \
    " and its RTWorkQ twin (rtworkq.h) as a native Linux shared library." \
    " ." \
    " This package contains the shared library."
control "$dv" "$dev" libdevel "$runtime (= $debversion), libc6-dev | libc-dev" \
    "Description: Media Foundation work-queue platform for Linux (development files)" \
    " libmfplat implements the asynchronous work-queue platform of Microsoft" \
    " Media Foundation (mfapi.h: MFStartup, MFPutWorkItem, IMFAsyncResult, ...)" \
    " and its RTWorkQ twin (rtworkq.h) as a native Linux shared library." \
    " ." \
    " This package contains the headers (under /usr/include/mfplat), the static" \
    " library, the pkg-config file (mfplat) and the CMake package (mfplat::mfplat)."

install -d "$out"
for root in "$rt" "$dv"; do
    chmod -R u+rwX,go+rX,go-w "$root"
    chmod 0755 "$root/DEBIAN"
    chmod 0644 "$root"/DEBIAN/*
    package="$(basename "$root")"
    dpkg-deb --root-owner-group -Zxz --build "$root" "$out/${package}_${debversion}_${arch}.deb" >/dev/null
    echo "$out/${package}_${debversion}_${arch}.deb"
done
