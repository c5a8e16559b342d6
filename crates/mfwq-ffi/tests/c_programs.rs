//! The C and C++ conformance programs (`tests/c/*.c`, `tests/c/*.cpp`), built
//! against `libmfplat.so` and run, one `#[test]` per program.
//!
//! Each program is compiled with the system compiler — C with
//! `cc -std=c11 -Wall -Wextra -Werror`, C++ with `c++ -std=c++17 -Wall -Wextra
//! -Werror`, or the compilers `CC` and `CXX` name — against the public
//! headers in `include/`, linked with
//! `-L <dir> -lmfplat -Wl,-rpath,<dir>` where `<dir>` is the cargo output
//! directory of this test (`target/debug` for `target/debug/deps/c_programs-…`),
//! and run with a time limit. A program reports its own failed checks and
//! exits non-zero; the test then fails with the program's output.
//!
//! `cargo test` builds `libmfplat.so` itself: the library target of
//! `mfwq-ffi` has the crate types `cdylib`, `staticlib` and `rlib`, which one
//! rustc invocation emits together, and cargo copies them to the output
//! directory before any test runs. If the `.so` is missing anyway (a build
//! that only made the rlib), the harness runs `cargo build -p mfwq-ffi` in a
//! target directory of its own: building into the running `cargo test`'s
//! directory could wait for ever on the build-directory lock that command holds.
//!
//! Environment (the sanitizer CI job, `ci/c-abi.sh`, uses these):
//! - `CC`, `CXX`: the C and C++ compilers (default `cc` and `c++`), split on
//!   white space, so that a wrapper works (`CC="ccache gcc"`). A compiler
//!   that cannot be started fails the test with a message naming it and the
//!   variable to set.
//! - `MFWQ_C_SANITIZE=address`: compile and link with `-fsanitize=address
//!   -fno-omit-frame-pointer` (binaries get a `-asan` suffix).
//! - `MFWQ_C_RUNNER="valgrind …"`: run each program under that command prefix
//!   (split on white space).
//! - `MFWQ_C_TIMEOUT_S`: the time limit per program (default 120 s, 600 s
//!   under a runner).
//! - `MFWQ_C_ONLY=name,name`: run only these programs (file stems, e.g.
//!   `lifecycle`); the others pass without running.
//!
//! Under a sanitizer or a runner the programs get `MFWQ_C_SLOW=1`: they
//! stretch their time limits and shrink their loops (`mfwq_test.h`).

mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{include_dir, library_dir, library_path, manifest_dir, Compiler, Language};

/// One test per program; `every_program_has_a_test` keeps this list complete.
macro_rules! c_programs {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                run_program($file);
            }
        )*
        const PROGRAMS: &[&str] = &[$($file),*];
    };
}

c_programs! {
    layout_c => "layout.c",
    layout_cpp => "layout.cpp",
    lifecycle => "lifecycle.c",
    results => "results.c",
    queues => "queues.c",
    put_invoke => "put_invoke.c",
    priorities => "priorities.c",
    timers => "timers.c",
    waits => "waits.c",
    periodic => "periodic.c",
    serial => "serial.c",
    shared => "shared.c",
    shutdown_drain => "shutdown_drain.c",
    shutdown_timer_leak => "shutdown_timer_leak.c",
    custom_result => "custom_result.c",
    bad_input => "bad_input.c",
    events => "events.c",
    begin_end_c => "begin_end.c",
    begin_end_cpp => "begin_end.cpp",
    rtwq => "rtwq.c",
    reentrancy => "reentrancy.c",
    mmcss => "mmcss.c",
    stress => "stress.c",
    reliability => "reliability.c",
    checked => "checked.c",
    synch => "synch.c",
    apartments => "apartments.c",
    porting_sample_c => "porting_sample.c",
    porting_sample_cpp => "porting_sample.cpp",
    queue_ids => "queue_ids.c",
    qisearch_c => "qisearch.c",
    qisearch_cpp => "qisearch.cpp",
    no_win32_base => "no_win32_base.c",
    trace => "trace.c",
}

fn source_dir() -> PathBuf {
    manifest_dir().join("tests").join("c")
}

fn sanitize() -> Option<String> {
    std::env::var("MFWQ_C_SANITIZE")
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn runner() -> Vec<String> {
    std::env::var("MFWQ_C_RUNNER")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn time_limit(runner: &[String]) -> Duration {
    let default = if runner.is_empty() { 120 } else { 600 };
    let seconds = std::env::var("MFWQ_C_TIMEOUT_S")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default);
    Duration::from_secs(seconds)
}

fn selected(file: &str) -> bool {
    let Ok(only) = std::env::var("MFWQ_C_ONLY") else {
        return true;
    };
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file);
    only.split(',')
        .map(str::trim)
        .any(|name| name == file || name == stem)
}

/// Compiles `file` into the test's temp dir and returns the binary's path.
fn compile(file: &str) -> PathBuf {
    let source = source_dir().join(file);
    assert!(source.is_file(), "{} is missing", source.display());
    let cpp = file.ends_with(".cpp");
    let sanitizer = sanitize();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_programs");
    std::fs::create_dir_all(&out_dir).expect("create the output dir");
    let mut name = file.replace('.', "_");
    if let Some(kind) = &sanitizer {
        name.push('-');
        name.push_str(kind);
    }
    let binary = out_dir.join(name);
    let lib = library_dir();

    let compiler = Compiler::for_language(if cpp { Language::Cxx } else { Language::C });
    let mut cc = compiler.command();
    cc.arg(if cpp { "-std=c++17" } else { "-std=c11" })
        .args(["-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(include_dir());
    if let Some(kind) = &sanitizer {
        cc.arg(format!("-fsanitize={kind}"))
            .arg("-fno-omit-frame-pointer");
    }
    // Link to a name of this process's own and rename it into place: another
    // `cargo test` running at the same time may be executing the old binary
    // (writing it in place would fail with ETXTBSY there or here).
    let partial = out_dir.join(format!(
        "{}.{}.partial",
        binary_name(&binary),
        std::process::id()
    ));
    cc.arg("-o")
        .arg(&partial)
        .arg(&source)
        .arg("-L")
        .arg(lib)
        .arg("-lmfplat")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lpthread", "-lm"]);
    let output = cc
        .output()
        .unwrap_or_else(|error| panic!("cannot compile {file}: {}", compiler.spawn_error(&error)));
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        panic!(
            "compiling {file} failed ({}):\n{:?}\n{}{}",
            output.status,
            cc,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::rename(&partial, &binary)
        .unwrap_or_else(|error| panic!("cannot move {} into place: {error}", partial.display()));
    binary
}

fn binary_name(binary: &Path) -> String {
    binary
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Compiles and runs one program; panics with its output if it fails.
fn run_program(file: &str) {
    if !selected(file) {
        eprintln!("{file}: skipped (MFWQ_C_ONLY)");
        return;
    }
    let binary = compile(file);
    let runner = runner();
    let limit = time_limit(&runner);
    let log_path = binary.with_file_name(format!(
        "{}.{}.log",
        binary_name(&binary),
        std::process::id()
    ));
    let log = File::create(&log_path).expect("create the log file");

    let mut command = match runner.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(&binary);
            command
        }
        None => Command::new(&binary),
    };
    if sanitize().is_some() || !runner.is_empty() {
        command.env("MFWQ_C_SLOW", "1");
    }
    command.env("LD_LIBRARY_PATH", library_path());
    let trace = recorded_trace(file, &binary);
    if let Some(trace) = &trace {
        command.env("MFWQ_TRACE", trace);
    }
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the log handle"))
        .stderr(log);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the program") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    match status {
        Some(status) if status.success() => {
            // Show the program's summary line with --nocapture.
            print!("{output}");
            if let Some(trace) = trace {
                check_c_trace(&trace);
            }
        }
        Some(status) => panic!(
            "{file} failed ({status}) after {:.1} s:\n{output}",
            started.elapsed().as_secs_f64()
        ),
        None => panic!(
            "{file} did not finish within {} s and was killed:\n{output}",
            limit.as_secs()
        ),
    }
}

/// Where a program whose trace the test checks records it (`trace.c`).
fn recorded_trace(file: &str, binary: &Path) -> Option<PathBuf> {
    (file == "trace.c").then(|| {
        binary.with_file_name(format!(
            "{}.{}.pftrace",
            binary_name(binary),
            std::process::id()
        ))
    })
}

/// What `trace.c` did, found in its trace: 50 items put, each with a flow
/// from its put to the start of its Invoke on a worker track named after
/// its queue, every slice closed, the refused put and the NULL callback.
fn check_c_trace(path: &Path) {
    use mfwq::observe::perfetto::{Trace, TYPE_INSTANT, TYPE_SLICE_BEGIN, TYPE_SLICE_END};
    use std::collections::{HashMap, HashSet};

    let bytes = std::fs::read(path).expect("trace.c wrote its trace");
    let _ = std::fs::remove_file(path);
    let trace = Trace::decode_resolved(&bytes).expect("the trace parses");
    let tracks: HashMap<u64, String> = trace
        .packet
        .iter()
        .filter_map(|packet| {
            let track = packet.track_descriptor.as_ref()?;
            Some((track.uuid?, track.thread.as_ref()?.thread_name.clone()?))
        })
        .collect();
    let mut puts = HashMap::new();
    let mut started = HashSet::new();
    let mut open = HashMap::<u64, i32>::new();
    let mut instants = Vec::new();
    for packet in &trace.packet {
        let Some(event) = &packet.track_event else {
            continue;
        };
        let name = event.name.clone().unwrap_or_default();
        let track = event.track_uuid.unwrap_or(0);
        match event.r#type.unwrap_or(0) {
            TYPE_INSTANT if name.starts_with("put ") => {
                puts.insert(event.flow_ids[0], name["put ".len()..].to_owned());
            }
            TYPE_INSTANT => instants.push((name, event.clone())),
            TYPE_SLICE_BEGIN => {
                assert_eq!(name, "Invoke", "a C callback's slice");
                assert!(
                    tracks
                        .get(&track)
                        .is_some_and(|thread| thread.starts_with("mfwq-")),
                    "Invoke on a worker track, not {:?}",
                    tracks.get(&track)
                );
                started.insert(event.terminating_flow_ids[0]);
                *open.entry(track).or_default() += 1;
            }
            TYPE_SLICE_END => *open.entry(track).or_default() -= 1,
            _ => {}
        }
    }
    assert!(
        open.values().all(|&depth| depth == 0),
        "every Invoke slice ends"
    );
    let ran: Vec<&String> = puts
        .iter()
        .filter(|(flow, _)| started.contains(*flow))
        .map(|(_, queue)| queue)
        .collect();
    assert_eq!(ran.len(), 50, "50 items with a flow from put to Invoke");
    assert_eq!(
        ran.iter()
            .filter(|queue| queue.as_str() == "MULTITHREADED")
            .count(),
        40
    );
    let refused: Vec<_> = instants
        .iter()
        .filter(|(name, _)| name == "refused put")
        .collect();
    assert_eq!(refused.len(), 1, "the put to the unlocked queue");
    assert!(instants
        .iter()
        .any(|(name, _)| name == "misuse: MFPutWorkItem2"));
}

/// Every `*.c` / `*.cpp` file in `tests/c/` is listed above, and every listed
/// file exists.
#[test]
fn every_program_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(source_dir())
        .expect("read tests/c")
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".c") || name.ends_with(".cpp"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = PROGRAMS.iter().map(|name| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/c/*.c and *.cpp must match the list in tests/c_programs.rs"
    );
}
