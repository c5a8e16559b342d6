//! Writes `mfplat.pc` next to the built library (`target/<profile>/pkgconfig/`),
//! so that a C build can use the library straight from the build tree:
//! `PKG_CONFIG_PATH=target/release/pkgconfig pkg-config --cflags --libs mfplat`.
//! `scripts/install-mfplat.sh` writes the installed variant.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    // OUT_DIR is target/<profile>/build/<crate>-<hash>/out.
    let Some(profile_dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let include_dir = manifest_dir.join("../../include");
    let include_dir = include_dir.canonicalize().unwrap_or(include_dir);
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let pc = format!(
        "includedir={include}\n\
         libdir={lib}\n\
         \n\
         Name: mfplat\n\
         Description: mfwq: the Media Foundation work-queue platform (mfapi.h, rtworkq.h) for Linux\n\
         Version: {version}\n\
         Cflags: -I${{includedir}}\n\
         Libs: -L${{libdir}} -lmfplat -Wl,-rpath,${{libdir}}\n\
         Libs.private: -lpthread -ldl -lm -lgcc_s\n",
        include = include_dir.display(),
        lib = profile_dir.display(),
    );
    let pkgconfig = profile_dir.join("pkgconfig");
    // Best effort: a read-only target dir must not fail the build.
    if std::fs::create_dir_all(&pkgconfig).is_ok() {
        let _ = std::fs::write(pkgconfig.join("mfplat.pc"), pc);
    }
}
