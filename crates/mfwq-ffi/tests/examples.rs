//! Builds and runs the C and C++ examples of `examples/c/` against the
//! `libmfplat.so` of this very cargo build, so that they keep compiling
//! (warning-free: `-Wall -Wextra -Werror -pedantic`) and keep passing their
//! own checks (right answers, every reference released, exit code 0).
//!
//! The library is the one this cargo build made (`support::library_dir`:
//! `target/<profile>/deps/libmfplat.so`); the programs are linked with an
//! rpath to it, run with it first on `LD_LIBRARY_PATH`, and written to
//! `target/tmp/c-examples/`.
//!
//! The compilers are `cc` and `c++`, or `$CC` and `$CXX` (split on white
//! space: `CC="ccache gcc"` works). A compiler that cannot be started fails
//! the test with a message naming it and the variable to set. Set
//! `MFWQ_SKIP_C_EXAMPLES=1` to skip these tests on a machine without them
//! (refused under `CI=true`: CI never skips).

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{include_dir, library_dir, library_path, workspace_dir, Compiler, Language};

/// How long one example may run before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn skipped() -> bool {
    let skip = std::env::var_os("MFWQ_SKIP_C_EXAMPLES").is_some_and(|v| v != "0" && !v.is_empty());
    // CI proves what it claims: it never skips, whatever its environment says.
    assert!(
        !(skip && std::env::var_os("CI").is_some_and(|v| v == "true")),
        "MFWQ_SKIP_C_EXAMPLES is set under CI=true: CI builds and runs the examples"
    );
    if skip {
        eprintln!("MFWQ_SKIP_C_EXAMPLES is set: the C/C++ examples are not built");
    }
    skip
}

/// Compiles `source` (under `examples/c/`) with the `language` compiler and runs it.
fn build_and_run(language: Language, std: &str, source: &str) {
    if skipped() {
        return;
    }
    let root = workspace_dir();
    let lib_dir = library_dir();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-examples");
    std::fs::create_dir_all(&out_dir).expect("create the output directory");
    let exe = out_dir.join(source.replace('.', "_"));
    let compiler = Compiler::for_language(language);

    let mut build = compiler.command();
    build
        .arg(format!("-std={std}"))
        .args(["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(include_dir())
        .arg(root.join("examples/c").join(source))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(lib_dir)
        .arg("-lmfplat")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lm");
    let output = build.output().unwrap_or_else(|error| {
        panic!(
            "cannot compile {source}: {} (or set MFWQ_SKIP_C_EXAMPLES=1 to skip the examples)",
            compiler.spawn_error(&error)
        )
    });
    assert!(
        output.status.success(),
        "compiling {source} failed: {build:?}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "compiling {source} printed diagnostics:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut child = Command::new(&exe)
        .env("LD_LIBRARY_PATH", library_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", exe.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status;
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} still running after {RUN_LIMIT:?}", exe.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().expect("the example's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        status.success(),
        "{} exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display()
    );
    for expected in [
        "sqrt(16) = 4",
        "sqrt(-1) failed: 0x80070057 (E_INVALIDARG)",
        "live objects after shutdown: 0",
        ": OK",
    ] {
        assert!(
            stdout.contains(expected),
            "{source}: {expected:?} missing from the output:\n{stdout}"
        );
    }
}

#[test]
fn square_root_c() {
    build_and_run(Language::C, "c11", "square_root.c");
}

#[test]
fn square_root_cpp() {
    build_and_run(Language::Cxx, "c++17", "square_root.cpp");
}
