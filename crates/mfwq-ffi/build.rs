//! Link settings of `libmfplat.so`, and `mfplat.pc` for the build tree.
//!
//! - The shared library gets the SONAME `libmfplat.so.<SOVERSION>` (a link
//!   argument for the cdylib only; the staticlib and rlib are untouched). The
//!   install command (`scripts/install-mfplat.sh`) and the Debian packages
//!   read the SONAME back from the built file, so [`SOVERSION`] is the one
//!   place the ABI number lives. When to bump it: `docs/packaging.md`.
//! - Programs linked against a library with a SONAME ask the loader for that
//!   name, so the build tree gets the runtime link `libmfplat.so.0 ->
//!   libmfplat.so` next to the library (`target/<profile>/` and `deps/`, where
//!   the test harnesses link from): programs built against the build tree
//!   with an rpath (the C tests, the examples, the benchmark) keep running.
//! - `libmfplat.map`, the list of exported symbols, is given to the linker as
//!   a second version script when the linker accepts one (see
//!   [`version_script_supported`]). rustc already exports exactly the
//!   `#[no_mangle]` items and hides everything else; with the script a
//!   symbol that is listed but no longer defined fails the link
//!   (`--no-undefined-version`), and `tests/exports.rs` checks the other
//!   direction.
//! - `target/<profile>/pkgconfig/mfplat.pc` lets a C build use the library
//!   straight from the build tree:
//!   `PKG_CONFIG_PATH=target/release/pkgconfig pkg-config --cflags --libs mfplat`.
//!   The install command writes the installed variant.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The ABI number: the `0` of `libmfplat.so.0`. Bump it for every ABI break
/// (docs/packaging.md, "Versioning").
const SOVERSION: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=libmfplat.map");
    println!("cargo:rerun-if-env-changed=MFPLAT_VERSION_SCRIPT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from);
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();

    if target_os == "linux" {
        let soname = format!("libmfplat.so.{SOVERSION}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        let map = manifest_dir.join("libmfplat.map");
        if let Some(out_dir) = &out_dir {
            if version_script_supported(out_dir) {
                println!(
                    "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
                    map.display()
                );
            }
        }
    }

    let Some(out_dir) = out_dir else {
        return;
    };
    // OUT_DIR is target/<profile>/build/<crate>-<hash>/out.
    let Some(profile_dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    if target_os == "linux" {
        // Best effort, like the .pc below: a read-only target dir must not
        // fail the build. A dangling link (before the first link) is fine.
        for dir in [profile_dir.to_path_buf(), profile_dir.join("deps")] {
            runtime_link(&dir, &format!("libmfplat.so.{SOVERSION}"));
        }
    }
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
    if std::fs::create_dir_all(&pkgconfig).is_ok() {
        let _ = std::fs::write(pkgconfig.join("mfplat.pc"), pc);
    }
}

/// `dir/<name> -> libmfplat.so`, unless `dir/<name>` already exists (as a
/// link or a file).
fn runtime_link(dir: &Path, name: &str) {
    let link = dir.join(name);
    if link.symlink_metadata().is_ok() || std::fs::create_dir_all(dir).is_err() {
        return;
    }
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink("libmfplat.so", &link);
}

/// Whether the linker rustc uses for this build takes a version script of
/// ours next to the one rustc writes for every cdylib. LLVM's lld (rustc's
/// default linker on x86_64 Linux since 1.90) merges them; GNU ld refuses
/// ("anonymous version tag cannot be combined with other version tags"), and
/// older toolchains link with it by default. So: link an empty cdylib with a
/// one-symbol script, with this build's target, flags and linker, and use
/// the script only if that works. `MFPLAT_VERSION_SCRIPT=0` / `=1` skips the
/// probe (off / on).
fn version_script_supported(out_dir: &Path) -> bool {
    match std::env::var("MFPLAT_VERSION_SCRIPT").as_deref() {
        Ok("0") => return false,
        Ok("1") => return true,
        _ => {}
    }
    let probe = out_dir.join("version-script-probe");
    if std::fs::create_dir_all(&probe).is_err() {
        return false;
    }
    let source = probe.join("probe.rs");
    let map = probe.join("probe.map");
    if std::fs::write(
        &source,
        "#[no_mangle]\npub extern \"C\" fn mfplat_probe() {}\n",
    )
    .is_err()
        || std::fs::write(
            &map,
            "{\n  global:\n    mfplat_probe;\n  local:\n    *;\n};\n",
        )
        .is_err()
    {
        return false;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = Command::new(rustc);
    command
        .args([
            "--crate-type",
            "cdylib",
            "--crate-name",
            "mfplat_probe",
            "--edition",
            "2021",
        ])
        .arg("-o")
        .arg(probe.join("libmfplat_probe.so"))
        .arg(format!("-Clink-arg=-Wl,--version-script={}", map.display()));
    if let Ok(target) = std::env::var("TARGET") {
        command.args(["--target", &target]);
    }
    if let Some(linker) = std::env::var_os("RUSTC_LINKER") {
        let mut arg = std::ffi::OsString::from("-Clinker=");
        arg.push(linker);
        command.arg(arg);
    }
    if let Ok(flags) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        command.args(flags.split('\u{1f}').filter(|flag| !flag.is_empty()));
    }
    command
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let supported = command.status().is_ok_and(|status| status.success());
    if !supported {
        println!(
            "cargo:warning=libmfplat: the linker takes no second version script (GNU ld?); \
             exports are still limited to the #[no_mangle] items by rustc"
        );
    }
    supported
}
