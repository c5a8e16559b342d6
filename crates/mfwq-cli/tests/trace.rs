//! `mfwq trace -- PROGRAM`: runs a program with tracing on (here the `mfwq`
//! binary's own demo, which is linked to the platform like any client), and
//! prints a summary of the trace it wrote; `--summary` reads it back later.
//! A C program linked to libmfplat is traced the same way (its trace is also
//! decoded event by event in `crates/mfwq-ffi/tests/c_programs.rs`).

use std::process::Command;

use mfwq::observe::perfetto::{Trace, TYPE_SLICE_BEGIN};

#[test]
fn trace_runs_a_program_writes_a_trace_and_summarizes_it() {
    let mfwq = env!("CARGO_BIN_EXE_mfwq");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("cli-trace-{}.pftrace", std::process::id()));
    let output = Command::new(mfwq)
        .args(["trace", "--longest", "3", "-o"])
        .arg(&path)
        .args(["--", mfwq, "demo", "--duration", "1"])
        .output()
        .expect("mfwq trace runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("demo: PASS"),
        "the program's own output: {stdout}"
    );
    // The summary: the pool's items with their times, the longest callbacks,
    // the real-time registration the demo's audio queue made.
    let summary = &stdout[stdout.find("events,").expect("a summary")..];
    let pool = summary
        .lines()
        .find(|line| line.starts_with("MULTITHREADED"))
        .expect("a line for the pool");
    let items: u64 = pool.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(items > 0, "{pool}");
    assert!(summary.contains("longest callbacks:"));
    assert_eq!(
        summary
            .lines()
            .skip_while(|line| !line.starts_with("longest callbacks:"))
            .skip(1)
            .take_while(|line| line.starts_with("  "))
            .count(),
        3
    );
    assert!(summary.contains("refused puts: none"), "{summary}");
    assert!(summary.contains("requested \"Pro Audio\""), "{summary}");

    // The file is a Perfetto trace with the items' slices.
    let bytes = std::fs::read(&path).unwrap();
    let trace = Trace::decode_resolved(&bytes).expect("a Perfetto trace");
    let slices = trace
        .packet
        .iter()
        .filter(|packet| {
            packet
                .track_event
                .as_ref()
                .is_some_and(|event| event.r#type == Some(TYPE_SLICE_BEGIN))
        })
        .count();
    assert!(slices as u64 >= items);

    // Read back without running anything.
    let again = Command::new(mfwq)
        .args(["trace", "--summary", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(pool.split_whitespace().next().unwrap())
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn trace_says_so_when_the_program_never_starts_the_platform() {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-trace-none-{}.pftrace", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_mfwq"))
        .args(["trace", "-o"])
        .arg(&path)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("never started the platform"));
}

// The C test harness's helpers: where libmfplat.so is (built if missing), the
// headers, the compilers named by CC/CXX.
#[path = "../../mfwq-ffi/tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

// `mfwq trace` on a C program linked to libmfplat (the C suite's trace.c: 40
// items on the pool, 10 on a private queue, a refused put and a put with no
// callback): the summary counts them per queue, names the C callbacks by
// address, and reports the refused put and the misuse.
#[test]
fn trace_runs_a_c_program_and_summarizes_it() {
    use support::{include_dir, library_dir, library_path, Compiler, Language};

    let mfwq = env!("CARGO_BIN_EXE_mfwq");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let program = dir.join(format!("cli-trace-c-{}", std::process::id()));
    let path = dir.join(format!("cli-trace-c-{}.pftrace", std::process::id()));
    let compiler = Compiler::for_language(Language::C);
    let lib = library_dir();
    let output = compiler
        .command()
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(include_dir())
        .arg("-o")
        .arg(&program)
        .arg(support::workspace_dir().join("crates/mfwq-ffi/tests/c/trace.c"))
        .arg("-L")
        .arg(lib)
        .arg("-lmfplat")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lpthread", "-lm"])
        .output()
        .unwrap_or_else(|error| panic!("{}", compiler.spawn_error(&error)));
    assert!(
        output.status.success(),
        "compiling trace.c: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = Command::new(mfwq)
        .args(["trace", "--longest", "5", "-o"])
        .arg(&path)
        .arg("--")
        .arg(&program)
        .env("LD_LIBRARY_PATH", library_path())
        .env_remove("MFWQ_TRACE")
        .output()
        .expect("mfwq trace runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let summary = &stdout[stdout.find("events,").expect("a summary")..];
    let items_on = |queue: &str| -> u64 {
        let line = summary
            .lines()
            .find(|line| line.starts_with(queue))
            .unwrap_or_else(|| panic!("no line for {queue} in\n{summary}"));
        // The name may have two words ("standard q10001"): the count is the
        // first number.
        line.split_whitespace()
            .find_map(|word| word.parse().ok())
            .unwrap()
    };
    assert_eq!(items_on("MULTITHREADED"), 40, "{summary}");
    assert_eq!(items_on("standard q"), 10, "{summary}");
    let longest: Vec<&str> = summary
        .lines()
        .skip_while(|line| !line.starts_with("longest callbacks:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .collect();
    assert_eq!(longest.len(), 5, "{summary}");
    assert!(
        longest.iter().all(|line| line.contains("Invoke 0x")),
        "C callbacks are named by address: {longest:?}"
    );
    assert!(summary.contains("MF_E_INVALID_WORKQUEUE"), "{summary}");
    assert!(
        summary.contains("MFPutWorkItem2: E_INVALIDARG"),
        "{summary}"
    );
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&program);
}
