//! The C ABI (`libmfplat`) against the Rust API (`mfwq`), on the same
//! workloads: what the translation layer costs.
//!
//! `cargo bench -p mfwq-bench --bench c_abi [-- --rounds N --scale X --filter NAME]`
//! `cargo test -p mfwq-bench --benches` runs it once at 1% size as a smoke test.
//!
//! The bench
//! 1. builds `libmfplat` with `cargo build -p mfwq-ffi` in the profile this
//!    binary was built in (`--release` under `cargo bench`) into the same
//!    target directory, and compiles `c/mfbench.c` against it with `cc -O2`
//!    (`$CC` if set) into `target/<profile>/mfbench`;
//! 2. starts that program in its line-protocol mode (`mfbench --serve`): it
//!    calls `MFStartup` and then runs one round of a workload per `run NAME
//!    ITEMS` command, timing it itself;
//! 3. starts the Rust platform in this process and, workload by workload,
//!    runs rounds in which each side runs once, the first of a round
//!    rotating (C then Rust, Rust then C, ...; after one unmeasured warm-up
//!    round each), so that both share the machine's noise and neither always
//!    goes first;
//! 4. prints per workload the median, minimum, maximum and spread of each, and
//!    for the C row the ratio of medians C/Rust, PASS when C <= 1.10 x Rust.
//!
//! The workload sizes come from the C program (`mfbench --list`), so both
//! sides always run the same number of items. Every Rust workload below does
//! the work its C twin in `c/mfbench.c` does, with the core API a Rust user
//! would call for it (see the comments there and here).
//!
//! `--diag` (or `MFWQ_C_ABI_DIAG=1`) adds three diagnostic contestants that
//! split a gap into its causes: the same C program linked with `libmfplat.a`
//! (no PLT, thread-locals without `__tls_get_addr`), Rust making the core
//! calls in the order the C ABI layer makes them ([`Style::LikeCAbi`]), and
//! the C program with each callback's reference count on a cache line of its
//! own ([`Build::CountApart`]).
//!
//! Environment: `CC` (the C compiler), `MFWQ_C_ABI_REQUIRED=1` (a smoke test
//! that cannot build the C side fails instead of skipping), and the
//! `MFWQ_BENCH_*` variables of the peer bench (rounds, warm-up, scale,
//! filter; not the output path, which only `--out` changes here).
//!
//! Besides the table, a note gives the median of the per-round C/Rust ratios
//! (the two runs of a round are back to back, so they share most noise).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mfwq::{AsyncResult, QueueId, QueueType};
use mfwq_bench::{fmt_num, Config, Goal, Latch, Noise, Report, Row, Summary};

const MT: QueueId = QueueId::MULTITHREADED;

/// The C program's throughput must be within this factor of Rust's.
const TARGET: f64 = 1.10;

/// How long any wait for a round to finish may take.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Pause before each measured run, so that the other side's threads park.
const SETTLE: Duration = Duration::from_millis(20);

const C_NAME: &str = "C libmfplat.so";
const RUST_NAME: &str = "Rust mfwq";
const C_STATIC_NAME: &str = "C libmfplat.a (diag)";
const DIAG_NAME: &str = "Rust like C ABI (diag)";
const C_APART_NAME: &str = "C, count on its own line (diag)";

// ---------------------------------------------------------------------------
// Building and driving the C program
// ---------------------------------------------------------------------------

/// Where this binary runs from: `<target>/<profile>/deps/c_abi-<hash>`.
struct Paths {
    root: PathBuf,
    target: PathBuf,
    profile: String,
}

impl Paths {
    fn locate() -> Paths {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = root.canonicalize().unwrap_or(root);
        let exe = std::env::current_exe().expect("the bench binary's path");
        let mut dir = exe
            .parent()
            .expect("the binary is in a directory")
            .to_path_buf();
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.pop();
        }
        let profile = dir
            .file_name()
            .map_or("release".to_owned(), |n| n.to_string_lossy().into_owned());
        let target = dir
            .parent()
            .map_or_else(|| root.join("target"), Path::to_path_buf);
        Paths {
            root,
            target,
            profile,
        }
    }

    /// `target/<profile>`: where cargo puts `libmfplat.so`.
    fn lib_dir(&self) -> PathBuf {
        self.target.join(&self.profile)
    }
}

/// `cargo build -p mfwq-ffi` in this binary's profile and target directory.
fn build_library(paths: &Paths) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(&paths.root)
        .args(["build", "-p", "mfwq-ffi", "--manifest-path"])
        .arg(paths.root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&paths.target);
    match paths.profile.as_str() {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    eprintln!("c_abi: building libmfplat: {command:?}");
    let status = command
        .status()
        .map_err(|error| format!("cannot run {cargo:?}: {error}"))?;
    if !status.success() {
        return Err(format!("{command:?} failed: {status}"));
    }
    let lib_dir = paths.lib_dir();
    if !lib_dir.join("libmfplat.so").exists() {
        return Err(format!("no libmfplat.so in {}", lib_dir.display()));
    }
    Ok(lib_dir)
}

/// How the C program is built: which library it links, and how its
/// callbacks are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Build {
    /// `libmfplat.so`, found through the rpath: what applications do, and
    /// what the target is about. Each callback keeps its reference count
    /// right after its vtable pointer, as C and C++ COM objects do.
    Shared,
    /// `libmfplat.a` linked into the executable (diagnostic, `--diag`).
    Static,
    /// `libmfplat.so`, with each callback's reference count on a cache line
    /// of its own (diagnostic, `--diag`; `MFBENCH_COUNT_APART`): what the
    /// fan-outs lose to the threads that write the count (`AddRef` on the
    /// putting thread, `Release` on the workers) while the others read the
    /// vtable pointer beside it for every call.
    CountApart,
}

impl Build {
    fn library(self) -> &'static str {
        match self {
            Build::Shared | Build::CountApart => "libmfplat.so",
            Build::Static => "libmfplat.a",
        }
    }
}

/// Compiles `c/mfbench.c` against the library in `lib_dir`.
fn compile_mfbench(paths: &Paths, lib_dir: &Path, build: Build) -> Result<PathBuf, String> {
    // `CC` may carry words of its own (`ccache gcc`, `gcc -m64`), as make and
    // cargo's cc crate allow.
    let cc = std::env::var("CC").unwrap_or_default();
    let mut words = cc.split_whitespace();
    let compiler = words.next().unwrap_or("cc").to_owned();
    let exe = lib_dir.join(match build {
        Build::Shared => "mfbench",
        Build::Static => "mfbench-static",
        Build::CountApart => "mfbench-count-apart",
    });
    let mut command = Command::new(&compiler);
    command.args(words);
    command
        .args([
            "-std=c11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-I",
        ])
        .arg(paths.root.join("include"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("c/mfbench.c"))
        .arg("-o")
        .arg(&exe);
    if build == Build::CountApart {
        command.arg("-DMFBENCH_COUNT_APART");
    }
    match build {
        Build::Shared | Build::CountApart => {
            command
                .arg("-L")
                .arg(lib_dir)
                .arg("-lmfplat")
                .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
                .arg("-lpthread");
        }
        Build::Static => {
            command
                .arg(lib_dir.join("libmfplat.a"))
                .args(["-lpthread", "-ldl", "-lm", "-lgcc_s"]);
        }
    }
    eprintln!("c_abi: compiling the C program: {command:?}");
    let output = command
        .output()
        .map_err(|error| format!("cannot run the C compiler {compiler:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(exe)
}

/// The `key=value` fields of one line of the C program.
fn fields(line: &str) -> Vec<(&str, &str)> {
    // `about=` (in --list lines) takes the rest of the line.
    let (head, about) = match line.find(" about=") {
        Some(at) => (&line[..at], Some(&line[at + " about=".len()..])),
        None => (line, None),
    };
    head.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .chain(about.map(|about| ("about", about)))
        .collect()
}

fn field<'a>(fields: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// One workload as the C program lists it.
#[derive(Clone, Debug)]
struct Listed {
    name: String,
    items: usize,
    unit: String,
    about: String,
}

fn list_workloads(exe: &Path) -> Result<Vec<Listed>, String> {
    let output = Command::new(exe)
        .arg("--list")
        .output()
        .map_err(|error| format!("cannot run {}: {error}", exe.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --list failed: {}",
            exe.display(),
            output.status
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .map(|line| {
            let f = fields(line);
            Ok(Listed {
                name: field(&f, "workload").ok_or("no workload=")?.to_owned(),
                items: field(&f, "items")
                    .and_then(|n| n.parse().ok())
                    .ok_or("no items=")?,
                unit: field(&f, "unit").unwrap_or("item").to_owned(),
                about: field(&f, "about").unwrap_or("").to_owned(),
            })
        })
        .collect::<Result<_, &str>>()
        .map_err(|error| format!("bad --list line: {error}"))
}

/// The C program in `--serve` mode.
struct CProgram {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl CProgram {
    fn start(exe: &Path) -> Result<CProgram, String> {
        let mut child = Command::new(exe)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", exe.display()))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut program = CProgram {
            child,
            stdin,
            stdout,
        };
        let ready = program.read_line()?;
        if ready != "ready" {
            return Err(format!("the C program said {ready:?} instead of ready"));
        }
        Ok(program)
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err("the C program exited (see its message above)".to_owned()),
            Ok(_) => Ok(line.trim_end().to_owned()),
            Err(error) => Err(format!("reading from the C program: {error}")),
        }
    }

    /// One round of `name` with `items` items, timed by the C program.
    fn run(&mut self, name: &str, items: usize) -> Duration {
        let answer = writeln!(self.stdin, "run {name} {items}")
            .and_then(|()| self.stdin.flush())
            .map_err(|error| format!("writing to the C program: {error}"))
            .and_then(|()| self.read_line())
            .unwrap_or_else(|error| panic!("c_abi: {name}: {error}"));
        let f = fields(&answer);
        match (field(&f, "workload"), field(&f, "ns")) {
            (Some(got), Some(ns)) if got == name => {
                Duration::from_nanos(ns.parse().expect("ns= is a number"))
            }
            _ => panic!("c_abi: {name}: unexpected answer from the C program: {answer:?}"),
        }
    }

    /// CPU time the C process has used so far (`/proc/<pid>/stat`).
    fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name "(...)": state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        let ticks = f.get(11)? + f.get(12)?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let hz = if hz > 0 { hz as u64 } else { 100 };
        Some(Duration::from_nanos(
            ticks.saturating_mul(1_000_000_000) / hz,
        ))
    }

    /// `quit`: the program shuts the platform down and checks that every
    /// reference to its callbacks was released (exit code 0).
    fn quit(mut self) -> Result<(), String> {
        let _ = writeln!(self.stdin, "quit").and_then(|()| self.stdin.flush());
        drop(self.stdin);
        let status = self
            .child
            .wait()
            .map_err(|error| format!("waiting for the C program: {error}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the C program ended with {status}"))
        }
    }
}

// ---------------------------------------------------------------------------
// The Rust twins of the C workloads
// ---------------------------------------------------------------------------

fn wait(latch: &Latch, what: &str) {
    assert!(
        latch.wait(WAIT_LIMIT),
        "{what}: still {} of the items missing after {WAIT_LIMIT:?}",
        latch.remaining()
    );
}

/// Private queues, allocated on first use and kept for the whole run, as the
/// C program keeps its own.
#[derive(Default)]
struct RustQueues {
    private: Option<QueueId>,
    a: Option<QueueId>,
    b: Option<QueueId>,
    submit: Option<QueueId>,
}

impl RustQueues {
    fn get(slot: &mut Option<QueueId>) -> QueueId {
        *slot.get_or_insert_with(|| {
            mfwq::allocate_work_queue(QueueType::Standard).expect("allocate a private queue")
        })
    }

    fn release(&mut self) {
        for id in [
            self.private.take(),
            self.a.take(),
            self.b.take(),
            self.submit.take(),
        ]
        .into_iter()
        .flatten()
        {
            mfwq::unlock_work_queue(id).expect("unlock a private queue");
        }
    }
}

/// How the Rust side calls the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// The Rust API as a Rust user calls it (`put_work_item`,
    /// `schedule_work_item`, `invoke_callback`): the reference the target is
    /// measured against.
    Api,
    /// Diagnostic (`--diag`): the core calls in the order the C ABI layer
    /// (`crates/mfwq-ffi/src/work.rs`) makes them. `MFPutWorkItem` and
    /// `MFScheduleWorkItem` make the Rust API's calls (the callback's
    /// parameters, then the stock result, handed over), so this style puts
    /// and schedules as [`Style::Api`] does; for `MFInvokeCallback` it takes
    /// one more handle for the incoming pointer. No COM, no FFI: what is left
    /// of the C/Rust gap after this is the cost of the C side itself (vtable
    /// calls, PLT, TLS in a shared object).
    LikeCAbi,
}

/// `MFPutWorkItem(queue, callback, NULL)`: the same core calls in both styles.
fn put(queue: QueueId, callback: &mfwq::Callback) {
    mfwq::put_work_item(queue, callback.clone(), None).expect("put_work_item");
}

/// `MFScheduleWorkItem(callback, NULL, -ms, &key)`: the same core calls in
/// both styles.
fn schedule(callback: &mfwq::Callback, delay: Duration) -> mfwq::WorkItemKey {
    mfwq::schedule_work_item(callback.clone(), None, delay).expect("schedule")
}

/// (a), (b): `put_work_item` from one thread, a shared callback with the
/// default parameters that counts down (C: `MFPutWorkItem` of a static COM
/// callback whose `GetParameters` is `E_NOTIMPL`).
fn fanout(queue: QueueId, n: usize) -> Duration {
    let latch = Arc::new(Latch::new(n));
    let done = latch.clone();
    let callback = mfwq::callback(move |_| done.count_down());
    let start = Instant::now();
    for _ in 0..n {
        put(queue, &callback);
    }
    wait(&latch, "fanout");
    start.elapsed()
}

/// (c): two threads put half of the items each, released by one barrier.
fn two_producers(n: usize) -> Duration {
    let latch = Arc::new(Latch::new(n));
    let done = latch.clone();
    let callback = mfwq::callback(move |_| done.count_down());
    let barrier = Barrier::new(3);
    std::thread::scope(|scope| {
        for items in [n / 2, n - n / 2] {
            let callback = callback.clone();
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                for _ in 0..items {
                    put(MT, &callback);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        wait(&latch, "two-producers");
        start.elapsed()
    })
}

/// (d): `AsyncResult::new` + `invoke_callback` + drop; the callback names
/// MULTITHREADED (C: `MFCreateAsyncResult` + `MFInvokeCallback` + `Release`).
fn create_invoke(style: Style, n: usize) -> Duration {
    let latch = Arc::new(Latch::new(n));
    let done = latch.clone();
    let callback = mfwq::callback_on(MT, move |_| done.count_down());
    let start = Instant::now();
    for _ in 0..n {
        let result = AsyncResult::new(None, Some(callback.clone()), None);
        match style {
            Style::Api => mfwq::invoke_callback(&result).expect("invoke_callback"),
            Style::LikeCAbi => {
                // MFInvokeCallback takes a handle for the incoming pointer.
                let incoming = result.clone();
                mfwq::invoke_callback(&incoming).expect("invoke_callback");
            }
        }
        drop(result);
    }
    wait(&latch, "create-invoke");
    start.elapsed()
}

/// (e): each invoke puts the callback it was invoked with again, `n` hops.
fn chain(n: usize) -> Duration {
    let latch = Arc::new(Latch::new(1));
    let done = latch.clone();
    let left = AtomicUsize::new(n);
    let callback = mfwq::callback(move |result| {
        if left.fetch_sub(1, Ordering::Relaxed) == 1 {
            done.count_down();
        } else {
            put(MT, result.callback().expect("has a callback"));
        }
    });
    let start = Instant::now();
    put(MT, &callback);
    wait(&latch, "chain");
    start.elapsed()
}

/// (f): odd hops run on A and put to B, even hops on B put back to A.
fn pingpong(a: QueueId, b: QueueId, n: usize) -> Duration {
    let latch = Arc::new(Latch::new(1));
    let done = latch.clone();
    let hops = AtomicUsize::new(0);
    let callback = mfwq::callback(move |result| {
        let hop = hops.fetch_add(1, Ordering::Relaxed) + 1;
        if hop % 2 == 1 {
            put(b, result.callback().expect("has a callback"));
        } else if hop / 2 == n {
            done.count_down();
        } else {
            put(a, result.callback().expect("has a callback"));
        }
    });
    let start = Instant::now();
    put(a, &callback);
    wait(&latch, "pingpong");
    start.elapsed()
}

/// (g): `schedule_work_item` + `cancel_work_item`, 1 in 100 left to fire after
/// 1-5 ms; timed: the calls; then the fired callbacks are awaited and counted.
fn timers(n: usize) -> Duration {
    const FIRE_EVERY: usize = 100; // TIMER_FIRE_EVERY in mfbench.c
    let firing = n / FIRE_EVERY;
    let latch = Arc::new(Latch::new(firing));
    let done = latch.clone();
    let fired = Arc::new(AtomicUsize::new(0));
    let counter = fired.clone();
    let callback = mfwq::callback_on(MT, move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        done.count_down();
    });
    let start = Instant::now();
    for i in 0..n {
        if i % FIRE_EVERY == FIRE_EVERY - 1 {
            let ms = 1 + ((i / FIRE_EVERY) % 5) as u64;
            schedule(&callback, Duration::from_millis(ms));
        } else {
            let key = schedule(&callback, Duration::from_secs(10));
            mfwq::cancel_work_item(key).expect("cancel_work_item");
        }
    }
    let elapsed = start.elapsed();
    wait(&latch, "timers");
    assert_eq!(
        fired.load(Ordering::Relaxed),
        firing,
        "timers: callbacks that ran"
    );
    elapsed
}

/// (h): `allocate_work_queue(Standard)` + `unlock_work_queue`.
fn churn(n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let id = mfwq::allocate_work_queue(QueueType::Standard).expect("allocate_work_queue");
        mfwq::unlock_work_queue(id).expect("unlock_work_queue");
    }
    start.elapsed()
}

/// (i) diagnostic: `n` puts onto a private queue whose thread is held by a
/// blocking item; the time is the puts' only; then the queue drains (untimed).
fn submit(queue: QueueId, n: usize) -> Duration {
    let latch = Arc::new(Latch::new(n + 1));
    let done = latch.clone();
    let callback = mfwq::callback(move |_| done.count_down());
    let blocked = mfwq::Event::auto_reset(false);
    let release = mfwq::Event::auto_reset(false);
    let blocker = {
        let (blocked, release, done) = (blocked.clone(), release.clone(), latch.clone());
        mfwq::callback(move |_| {
            blocked.set();
            assert!(release.wait(Some(WAIT_LIMIT)), "submit: never released");
            done.count_down();
        })
    };
    put(queue, &blocker);
    assert!(
        blocked.wait(Some(WAIT_LIMIT)),
        "submit: the blocking item never started"
    );
    let start = Instant::now();
    for _ in 0..n {
        put(queue, &callback);
    }
    let elapsed = start.elapsed();
    release.set();
    wait(&latch, "submit");
    elapsed
}

/// The Rust twin of the C workload `name`; the names are mfbench.c's.
fn run_rust(name: &str, n: usize, queues: &mut RustQueues, style: Style) -> Duration {
    match name {
        "fanout-mt" => fanout(MT, n),
        "fanout-private" => fanout(RustQueues::get(&mut queues.private), n),
        "two-producers" => two_producers(n),
        "create-invoke" => create_invoke(style, n),
        "chain" => chain(n),
        "pingpong" => {
            let a = RustQueues::get(&mut queues.a);
            let b = RustQueues::get(&mut queues.b);
            pingpong(a, b, n)
        }
        "timers" => timers(n),
        "churn" => churn(n),
        "submit" => submit(RustQueues::get(&mut queues.submit), n),
        other => panic!("c_abi: the C program lists {other:?}, which has no Rust twin here"),
    }
}

const RUST_WORKLOADS: [&str; 9] = [
    "fanout-mt",
    "fanout-private",
    "two-producers",
    "create-invoke",
    "chain",
    "pingpong",
    "timers",
    "churn",
    "submit",
];

// ---------------------------------------------------------------------------

/// `--filter NAME` (and `--filter=NAME`, comma-separated) as plain filters,
/// which is how [`Config`] takes them; `--diag` is taken out (`true` if given).
fn normalized_args() -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut diag = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--diag" {
            diag = true;
        } else if arg == "--filter" {
            if let Some(value) = args.next() {
                out.extend(value.split(',').map(str::to_owned));
            }
        } else if let Some(value) = arg.strip_prefix("--filter=") {
            out.extend(value.split(',').map(str::to_owned));
        } else {
            out.push(arg);
        }
    }
    (out, diag)
}

fn fail(message: &str) -> ! {
    eprintln!("c_abi: {message}");
    std::process::exit(1);
}

/// One side of the comparison.
enum Side {
    /// The C program (one process per link kind), timing itself.
    C(CProgram),
    /// This process, through the Rust API in a style.
    Rust(Style),
}

struct Contestant {
    name: &'static str,
    side: Side,
    samples: Vec<f64>,
}

impl Contestant {
    fn new(name: &'static str, side: Side) -> Contestant {
        Contestant {
            name,
            side,
            samples: Vec::new(),
        }
    }

    /// One round of `name` with `n` units: nanoseconds per unit.
    fn run(&mut self, name: &str, n: usize, queues: &mut RustQueues) -> f64 {
        let elapsed = match &mut self.side {
            Side::C(program) => program.run(name, n),
            Side::Rust(style) => run_rust(name, n, queues, *style),
        };
        elapsed.as_nanos() as f64 / n as f64
    }
}

fn main() {
    let (args, diag_arg) = normalized_args();
    let diag = diag_arg || std::env::var_os("MFWQ_C_ABI_DIAG").is_some_and(|v| v != "0");
    // MFWQ_BENCH_OUT names the peer bench's report; this one takes only --out.
    let out_given = args.iter().any(|a| a == "--out" || a.starts_with("--out="));
    let cfg = match Config::parse(args, |key| std::env::var(key).ok()) {
        Ok(cfg) => cfg,
        Err(error) => {
            eprintln!(
                "c_abi: {error}\nusage: cargo bench -p mfwq-bench --bench c_abi -- [--rounds N] \
                 [--warmup N] [--scale X] [--filter NAME[,NAME]] [--diag] [--out PATH] [--no-write]"
            );
            std::process::exit(2);
        }
    };
    if cfg.help || cfg.list {
        for name in RUST_WORKLOADS {
            println!("  {name}");
        }
        return;
    }

    let paths = Paths::locate();
    let builds: &[Build] = if diag {
        &[Build::Shared, Build::Static, Build::CountApart]
    } else {
        &[Build::Shared]
    };
    let built = build_library(&paths).and_then(|lib| {
        builds
            .iter()
            .map(|&build| compile_mfbench(&paths, &lib, build))
            .collect::<Result<Vec<_>, _>>()
    });
    let exes = match built {
        Ok(exes) => exes,
        Err(error) if !cfg.bench_mode && std::env::var_os("MFWQ_C_ABI_REQUIRED").is_none() => {
            // The smoke test must not fail on a machine without a C compiler.
            eprintln!("c_abi: smoke test SKIPPED: {error}");
            return;
        }
        Err(error) => fail(&error),
    };
    let listed = list_workloads(&exes[0]).unwrap_or_else(|error| fail(&error));
    let mut names: Vec<&str> = listed.iter().map(|w| w.name.as_str()).collect();
    names.sort_unstable();
    let mut ours = RUST_WORKLOADS.to_vec();
    ours.sort_unstable();
    assert_eq!(names, ours, "the C and Rust workload lists differ");
    let selected: Vec<&Listed> = listed.iter().filter(|w| cfg.selected(&w.name)).collect();
    if selected.is_empty() {
        fail(&format!("no workload matches {:?}", cfg.filters));
    }

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mode = if cfg.bench_mode {
        "bench"
    } else {
        "smoke test (run with `cargo bench` to measure)"
    };
    let mut preamble = vec![
        format!("mode: {mode}"),
        format!(
            "rounds: {} measured after {} warm-up per contestant, each contestant once per \
             round, the first rotating ({}); median/min/max over rounds",
            cfg.rounds,
            cfg.warmup,
            if diag {
                "C, Rust, C static, Rust like C, C count apart; Rust, C static, ...; ..."
            } else {
                "C, Rust; Rust, C; ..."
            }
        ),
        format!("scale: {} (1 = the sizes of `mfbench --list`)", cfg.scale),
        format!(
            "machine: {cpus} CPUs, kernel {}",
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "?".into()),
        ),
    ];
    for (exe, build) in exes.iter().zip(builds) {
        preamble.push(format!(
            "C program: {} linked with {} of {}",
            exe.display(),
            build.library(),
            paths.lib_dir().display()
        ));
    }
    preamble.push(format!(
        "target: {C_NAME} median <= {TARGET:.2} x {RUST_NAME} median (throughput within 10%)"
    ));
    for line in &preamble {
        eprintln!("c_abi: {line}");
    }

    let mut noise = Noise::new();
    let mut contestants = Vec::new();
    for (exe, build) in exes.iter().zip(builds) {
        let program = CProgram::start(exe).unwrap_or_else(|error| fail(&error));
        let (name, rust) = match build {
            Build::Shared => (
                C_NAME,
                Some(Contestant::new(RUST_NAME, Side::Rust(Style::Api))),
            ),
            Build::Static => (
                C_STATIC_NAME,
                Some(Contestant::new(DIAG_NAME, Side::Rust(Style::LikeCAbi))),
            ),
            Build::CountApart => (C_APART_NAME, None),
        };
        contestants.push(Contestant::new(name, Side::C(program)));
        contestants.extend(rust);
    }
    let platform = mfwq::Platform::start().expect("start the mfwq platform");
    let mut queues = RustQueues::default();
    let mut report = Report::new();
    // A smoke run proves that every workload runs on both sides and yields
    // figures; one round at 1% size cannot judge a target.
    report.set_targets_informational(!cfg.bench_mode);
    let mut paired_ratios = Vec::new();
    let start = Instant::now();

    let children_cpu = |contestants: &[Contestant]| -> Option<Duration> {
        contestants
            .iter()
            .filter_map(|c| match &c.side {
                Side::C(program) => Some(program.cpu_time()),
                Side::Rust(_) => None,
            })
            .sum()
    };

    for workload in selected {
        let name = workload.name.as_str();
        let unit = &workload.unit;
        let n = cfg.scaled(workload.items);
        let mark = Noise::mark();
        let child0 = children_cpu(&contestants);
        for contestant in &mut contestants {
            contestant.samples.clear();
        }
        for round in 0..cfg.warmup + cfg.rounds {
            let warm = round < cfg.warmup;
            let mut line = if warm {
                format!("[{name}] warm-up {}/{}:", round + 1, cfg.warmup)
            } else {
                format!("[{name}] round {}/{}:", round - cfg.warmup + 1, cfg.rounds)
            };
            // Each round starts with the next contestant, as the peer bench
            // does: whoever runs first in a round meets the machine after a
            // pause, the others right after a run, and that must not always
            // favour the same side.
            let first = round % contestants.len();
            let (head, tail) = contestants.split_at_mut(first);
            for contestant in tail.iter_mut().chain(head.iter_mut()) {
                std::thread::sleep(SETTLE);
                let per = contestant.run(name, n, &mut queues);
                line.push_str(&format!("  {} {} ns/{unit}", contestant.name, fmt_num(per)));
                if !warm {
                    contestant.samples.push(per);
                }
            }
            eprintln!("{line}");
        }
        // The C programs' CPU time is ours too.
        if let (Some(child0), Some(child1)) = (child0, children_cpu(&contestants)) {
            noise.record(name, &mark, child1.saturating_sub(child0));
        }
        // Rounds run back to back share their noise: the median of the
        // per-round ratios is steadier than the ratio of the medians.
        let of = |wanted: &str| contestants.iter().find(|c| c.name == wanted);
        if let (Some(c), Some(rust)) = (of(C_NAME), of(RUST_NAME)) {
            let ratios: Vec<f64> = c
                .samples
                .iter()
                .zip(&rust.samples)
                .map(|(c, rust)| c / rust)
                .collect();
            if let Some(paired) = Summary::of(&ratios) {
                paired_ratios.push(format!(
                    "{name} {:.2}x ({:.2}-{:.2})",
                    paired.median, paired.min, paired.max
                ));
            }
        }
        let unit = format!("ns/{unit}");
        for contestant in &contestants {
            let summary = Summary::of(&contestant.samples).expect("at least one round");
            let mut row = Row::new(name, contestant.name, &unit, summary);
            if contestant.name == C_NAME {
                row = row.with_goal(Goal::time_vs(RUST_NAME, TARGET));
            }
            report.push(row);
        }
    }

    queues.release();
    drop(platform);
    for contestant in contestants {
        if let Side::C(program) = contestant.side {
            if let Err(error) = program.quit() {
                fail(&error);
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();

    for w in &listed {
        if cfg.selected(&w.name) {
            report.note(format!(
                "{}: {} ({} per round)",
                w.name,
                w.about,
                cfg.scaled(w.items)
            ));
        }
    }
    report.note(format!(
        "ratio = {C_NAME} median / {RUST_NAME} median (ns per unit, lower is faster); PASS when \
         <= {TARGET:.2}. The C program times itself (CLOCK_MONOTONIC), the Rust side with \
         Instant; both time the same span: first call to last count-down (timers and submit: \
         the calls only)."
    ));
    report.note(format!(
        "paired: median (min-max) over rounds of each round's C/Rust ratio, the C and Rust runs \
         of a round being back to back (context; the target is judged on the medians): {}",
        paired_ratios.join(", ")
    ));
    if diag {
        report.note(format!(
            "diagnostics: '{C_STATIC_NAME}' is the same C program with libmfplat.a linked in \
             (no PLT, and thread-locals without __tls_get_addr); '{DIAG_NAME}' is Rust making \
             the core calls the C ABI layer makes (a put and a timer: those of the Rust API, \
             so only create-invoke differs: one more handle for MFInvokeCallback's \
             pointer); '{C_APART_NAME}' is the \
             C program with each callback's reference count moved to a cache line of its own, \
             away from the vtable pointer that every AddRef, GetParameters, Invoke and Release \
             reads while other threads write the count."
        ));
    }
    if let Some(line) = noise.note("workload", cpus) {
        report.note(line);
    }
    let summary = report.summary(wall);
    println!();
    print!("{}", report.table());
    println!("{summary}");

    if cfg.write {
        let path = cfg
            .out
            .clone()
            .filter(|_| out_given)
            .unwrap_or_else(|| paths.target.join("mfwq-bench-c-abi.md"));
        preamble.push(summary);
        let markdown = report.markdown("libmfplat (C ABI) vs mfwq (Rust API)", &preamble);
        match std::fs::write(&path, markdown) {
            Ok(()) => eprintln!("c_abi: wrote {}", path.display()),
            Err(error) => eprintln!("c_abi: cannot write {}: {error}", path.display()),
        }
    }
}
