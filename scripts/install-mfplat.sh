#!/usr/bin/env bash
# Builds libmfplat in release mode and installs it under PREFIX (default
# /usr/local): headers in PREFIX/include/mfwq (so `#include <mfapi.h>` works
# with the pkg-config flags and nothing clashes with other headers), the
# shared and static library in PREFIX/lib, and PREFIX/lib/pkgconfig/mfplat.pc.
#
#   scripts/install-mfplat.sh "$HOME/.local"
#   PKG_CONFIG_PATH="$HOME/.local/lib/pkgconfig" cc app.c $(pkg-config --cflags --libs mfplat)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${1:-/usr/local}"

cargo build --release -p mfwq-ffi
install -d "$PREFIX/include/mfwq" "$PREFIX/lib/pkgconfig"
install -m 644 include/*.h "$PREFIX/include/mfwq/"
install -m 755 target/release/libmfplat.so "$PREFIX/lib/"
install -m 644 target/release/libmfplat.a "$PREFIX/lib/"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
cat > "$PREFIX/lib/pkgconfig/mfplat.pc" <<PC
prefix=$PREFIX
includedir=\${prefix}/include/mfwq
libdir=\${prefix}/lib

Name: mfplat
Description: mfwq: the Media Foundation work-queue platform (mfapi.h, rtworkq.h) for Linux
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lmfplat
Libs.private: -lpthread -ldl -lm -lgcc_s
PC
echo "installed libmfplat $version under $PREFIX"
