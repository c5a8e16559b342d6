//! The exported symbols of `libmfplat.so` are exactly the C API.
//!
//! Four lists must agree:
//! - the `#[no_mangle]` items of `src/*.rs` (what the crate means to export);
//! - the functions and data the public headers (`include/*.h`) declare;
//! - `libmfplat.map`, the version script given to the linker;
//! - `nm -D --defined-only` of the built `libmfplat.so` (what it exports):
//!   nothing else, no Rust symbol, no `rust_eh_personality`, no `__rust_*`.
//!
//! A new export that is missing from the headers or the version script, a
//! declaration without an export, or a leaked symbol fails here. `nm` comes
//! with binutils (which the C compiler needs anyway); a missing `nm` fails
//! the test.
//!
//! The shared library also has to carry the SONAME `libmfplat.so.<N>`
//! (`build.rs`), and the build tree the runtime link of that name.

#[allow(dead_code)] // library_path and workspace_dir serve the other harnesses
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use support::{include_dir, library_dir, manifest_dir};

/// Exported, but declared by no header of ours: the IIDs of interfaces these
/// headers do not declare (on Windows they come from `mfidl.h` and
/// `mfuuid.lib`); code that declares the interface itself links to them.
const EXPORTED_WITHOUT_DECLARATION: &[&str] = &["IID_IMFRealTimeClient", "IID_IMFRealTimeClientEx"];

/// The names after `#[no_mangle]` in `src/*.rs`: the next `fn NAME` or
/// `static NAME`.
fn no_mangle_items() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let src = manifest_dir().join("src");
    for entry in std::fs::read_dir(&src).expect("read src/") {
        let path = entry.expect("src entry").path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let mut pending = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("#[no_mangle]") || line.starts_with("#[unsafe(no_mangle)]") {
                pending = true;
                continue;
            }
            if !pending {
                continue;
            }
            let name = if let Some(at) = line.find("fn ") {
                identifier(&line[at + 3..])
            } else if let Some(at) = line.find("static ") {
                identifier(line[at + 7..].trim_start_matches("mut "))
            } else {
                None
            };
            if let Some(name) = name {
                names.insert(name);
                pending = false;
            }
        }
        assert!(!pending, "{}: #[no_mangle] without an item", path.display());
    }
    names
}

fn identifier(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The library functions and data the headers declare: `MFWQ_STDAPI Name(`,
/// `<type> MFWQ_STDCALL Name(` outside interfaces (not `virtual`, not a
/// vtable slot `(MFWQ_STDCALL *Name)`), and `extern const IID Name;`.
fn header_declarations() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(include_dir()).expect("read include/") {
        let path = entry.expect("include entry").path();
        if path.extension().is_none_or(|ext| ext != "h") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read header");
        for line in text.lines() {
            let code = line.trim();
            if code.starts_with('#')
                || code.starts_with('*')
                || code.starts_with("/*")
                || code.starts_with("//")
            {
                continue;
            }
            if code.contains("virtual") {
                continue;
            }
            for marker in ["MFWQ_STDAPI ", "MFWQ_STDCALL "] {
                if let Some(at) = code.find(marker) {
                    let rest = code[at + marker.len()..].trim_start();
                    if let Some(name) = identifier(rest) {
                        if rest[name.len()..].trim_start().starts_with('(') {
                            names.insert(name);
                        }
                    }
                }
            }
            for marker in ["extern const IID ", "EXTERN_C const IID "] {
                if let Some(rest) = code.strip_prefix(marker) {
                    if let Some(name) = identifier(rest) {
                        names.insert(name);
                    }
                }
            }
        }
    }
    names
}

/// The `global:` names of `libmfplat.map`.
fn version_script() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(manifest_dir().join("libmfplat.map")).expect("read libmfplat.map");
    let body = text
        .split_once("global:")
        .and_then(|(_, rest)| rest.split_once("local:"))
        .map(|(globals, _)| globals)
        .expect("libmfplat.map has a global: and a local: part");
    body.split(';')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `nm -D --defined-only <so>`: name of every defined dynamic symbol.
fn exported(so: &Path) -> BTreeSet<String> {
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(so)
        .output()
        .unwrap_or_else(|error| panic!("cannot run nm (install binutils): {error}"));
    assert!(
        output.status.success(),
        "nm -D {} failed: {}",
        so.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        // nm of newer binutils prints NAME@@VERSION for versioned symbols.
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .collect()
}

fn diff(
    what: &str,
    left: &BTreeSet<String>,
    left_name: &str,
    right: &BTreeSet<String>,
    right_name: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let only_left: Vec<_> = left.difference(right).collect();
    if !only_left.is_empty() {
        problems.push(format!(
            "{what}: in {left_name} but not in {right_name}: {only_left:?}"
        ));
    }
    let only_right: Vec<_> = right.difference(left).collect();
    if !only_right.is_empty() {
        problems.push(format!(
            "{what}: in {right_name} but not in {left_name}: {only_right:?}"
        ));
    }
    problems
}

#[test]
fn exports_are_exactly_the_declared_api() {
    let items = no_mangle_items();
    let mut declared = header_declarations();
    declared.extend(
        EXPORTED_WITHOUT_DECLARATION
            .iter()
            .map(|name| (*name).to_owned()),
    );
    let script = version_script();
    let so = library_dir().join("libmfplat.so");
    let symbols = exported(&so);

    assert!(
        items.len() > 100,
        "found only {} #[no_mangle] items",
        items.len()
    );
    let mut problems = Vec::new();
    problems.extend(diff(
        "source vs headers",
        &items,
        "#[no_mangle] items",
        &declared,
        "include/*.h",
    ));
    problems.extend(diff(
        "source vs script",
        &items,
        "#[no_mangle] items",
        &script,
        "libmfplat.map",
    ));
    problems.extend(diff(
        "source vs library",
        &items,
        "#[no_mangle] items",
        &symbols,
        "nm -D libmfplat.so",
    ));
    let allowed_prefixes = ["MF", "Rtwq", "IID_"];
    let unexpected: Vec<_> = symbols
        .iter()
        .filter(|name| {
            name.starts_with("_ZN")
                || name.starts_with("_R")
                || name.starts_with("__rust")
                || name.contains("rust_")
        })
        .collect();
    if !unexpected.is_empty() {
        problems.push(format!("Rust symbols exported: {unexpected:?}"));
    }
    assert!(
        problems.is_empty(),
        "libmfplat's export list is out of step ({} exported, {} #[no_mangle]):\n{}\n\
         Every #[no_mangle] item must be declared in include/*.h and listed in \
         crates/mfwq-ffi/libmfplat.map, and nothing else may be exported.",
        symbols.len(),
        items.len(),
        problems.join("\n")
    );
    let win32 = symbols
        .iter()
        .filter(|name| {
            !allowed_prefixes
                .iter()
                .any(|prefix| name.starts_with(prefix))
        })
        .count();
    eprintln!(
        "libmfplat.so exports {} symbols ({} Win32/COM base)",
        symbols.len(),
        win32
    );
}

#[test]
fn shared_library_has_a_soname_and_the_runtime_link() {
    let so = library_dir().join("libmfplat.so");
    let output = Command::new("readelf")
        .arg("-d")
        .arg(&so)
        .output()
        .unwrap_or_else(|error| panic!("cannot run readelf (install binutils): {error}"));
    let dynamic = String::from_utf8_lossy(&output.stdout);
    let soname = dynamic
        .lines()
        .find(|line| line.contains("(SONAME)"))
        .and_then(|line| line.split('[').nth(1))
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("{} has no SONAME:\n{dynamic}", so.display()));
    assert!(
        soname
            .strip_prefix("libmfplat.so.")
            .is_some_and(|n| n.parse::<u32>().is_ok()),
        "SONAME is {soname}, expected libmfplat.so.<N>"
    );
    let link = library_dir().join(soname);
    assert!(
        link.exists(),
        "{} is missing: programs linked against the build tree cannot start",
        link.display()
    );
}
