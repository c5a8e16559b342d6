//! mfwq against its peers, in one process, one run: see the crate's
//! `README.md` for the workloads and the targets.
//!
//! `cargo bench -p mfwq-bench [-- FILTER... --rounds N --scale X ...]`;
//! `cargo test -p mfwq-bench --benches` runs every workload once at 1% size as
//! a smoke test.

mod chain;
mod checked;
mod churn;
mod fanout;
mod futures;
mod harness;
mod idle;
mod memory;
mod pingpong;
mod pools;
mod serialq;
mod submit;
mod timers;

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use mfwq_bench::{
    load_average, machine_busy_time, process_cpu_time, Config, CountingAlloc, Report,
};

/// Counts live bytes for the memory workload (off, one relaxed load per call, otherwise).
#[global_allocator]
pub static ALLOC: CountingAlloc = CountingAlloc::new();

type Workload = fn(&Config, &mut Report);

/// In run order; `idle` stays last so that every peer pool made by the
/// others has been dropped before the idle process is watched.
const WORKLOADS: [(&str, &str, Workload); 18] = [
    (
        "fanout-mt",
        "1M empty items from one thread onto MULTITHREADED vs rayon / tokio / crossbeam pools",
        fanout::mt,
    ),
    (
        "fanout-serial",
        "1M empty items onto a private standard queue vs one crossbeam-channel thread",
        fanout::serial,
    ),
    (
        "chain",
        "each item puts the next on MULTITHREADED, 100k hops, vs tokio / rayon / crossbeam",
        chain::run,
    ),
    (
        "pingpong",
        "A puts to B puts to A on two private standard queues, 100k round trips, vs crossbeam",
        pingpong::run,
    ),
    (
        "serial",
        "1M items through one serial queue over MULTITHREADED vs a private standard queue; 16 serial queues at once",
        serialq::run,
    ),
    (
        "submit",
        "diagnostic: the submitting thread's cost per put, with the consumer blocked",
        submit::run,
    ),
    (
        "checked-mode",
        "diagnostic: put_work_item fan-out onto MULTITHREADED with checked mode off vs on",
        checked::run,
    ),
    (
        "churn",
        "allocate_work_queue(Standard) + unlock_work_queue, 10k pairs",
        churn::run,
    ),
    (
        "memory",
        "bytes per queued item, 100k items behind a blocked worker",
        memory::run,
    ),
    (
        "timers",
        "schedule 100k items with delays of 1-50 ms: ns per schedule call vs tokio spawn+sleep",
        timers::schedule,
    ),
    (
        "timer-lateness",
        "2k timers of 1-50 ms, 20 pending at a time: how late they fire, vs tokio sleep_until",
        timers::lateness,
    ),
    (
        "cancel",
        "100k schedule-then-cancel pairs (none may run) vs tokio spawn+abort",
        timers::cancel,
    ),
    (
        "event-wake",
        "Event::set to the waiting item's invoke, 5k samples, vs a Mutex+Condvar hand-off",
        timers::event_wake,
    ),
    (
        "future-chain",
        "a future waking itself 1M times on a private standard queue / MULTITHREADED vs tokio",
        futures::chain,
    ),
    (
        "future-pingpong",
        "two futures on two private standard queues hand a value back and forth, 100k round trips, vs tokio",
        futures::pingpong,
    ),
    (
        "future-sleep",
        "the first poll of 100k sleeps of 1-50 ms (registers the timer) vs tokio::time::sleep",
        futures::sleep,
    ),
    (
        "future-sleep-lateness",
        "2k tasks awaiting sleep_until 1-50 ms ahead, 20 at a time: how late they resume, vs tokio",
        futures::lateness,
    ),
    (
        "idle",
        "process CPU while mfwq workers exist but have nothing to do",
        idle::run,
    ),
];

fn first_line_of(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// `<target>/mfwq-bench.md`: the bench runs from `<target>/<profile>/deps/`.
fn default_out() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then(|| deps.parent()?.parent().map(PathBuf::from))?
    });
    from_exe
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")))
        .join("mfwq-bench.md")
}

fn main() {
    let cfg = match Config::from_process() {
        Ok(cfg) => cfg,
        Err(error) => {
            eprintln!("mfwq-bench: {error}\n{}", Config::usage());
            std::process::exit(2);
        }
    };
    if cfg.help || cfg.list {
        if cfg.help {
            println!("{}\n\nworkloads:", Config::usage());
        }
        for (name, about, _) in WORKLOADS {
            println!("  {name:<14} {about}");
        }
        return;
    }
    let selected: Vec<_> = WORKLOADS
        .iter()
        .filter(|(name, _, _)| cfg.selected(name))
        .collect();
    if selected.is_empty() {
        eprintln!("mfwq-bench: no workload matches {:?}", cfg.filters);
        std::process::exit(2);
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
            "rounds: {} measured after {} warm-up, median/min/max over rounds; order rotates each round",
            cfg.rounds, cfg.warmup
        ),
        format!("scale: {} (1 = the sizes in the workload names)", cfg.scale),
        format!(
            "machine: {cpus} CPUs ({}), kernel {}",
            first_line_of("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into()),
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "?".into())
        ),
        "peer pools: 2 worker threads each (rayon ThreadPool, tokio multi-thread runtime, \
         crossbeam-channel pool); mfwq MULTITHREADED has max(2, CPUs) workers"
            .to_owned(),
    ];
    for line in &preamble {
        eprintln!("mfwq-bench: {line}");
    }

    let load_before = load_average();
    let platform = mfwq::Platform::start().expect("start the mfwq platform");
    let start = Instant::now();
    let mut report = Report::new();
    // A smoke run proves that every workload runs and yields figures; one
    // round at 1% size cannot judge a target.
    report.set_targets_informational(!cfg.bench_mode);
    let mut noise = Vec::new();
    for (name, _, run) in selected {
        let t0 = Instant::now();
        let (busy0, own0) = (machine_busy_time(), process_cpu_time());
        run(&cfg, &mut report);
        let wall = t0.elapsed();
        // What other processes ran meanwhile, in CPUs on average.
        if let (Some(busy0), Some(busy1)) = (busy0, machine_busy_time()) {
            let own = process_cpu_time().saturating_sub(own0);
            let others = busy1.saturating_sub(busy0).saturating_sub(own);
            noise.push(format!(
                "{name} {:.2}",
                others.as_secs_f64() / wall.as_secs_f64()
            ));
        }
        eprintln!("[{name}] done in {:.1} s", wall.as_secs_f64());
    }
    drop(platform);
    let wall = start.elapsed().as_secs_f64();
    if !noise.is_empty() {
        report.note(format!(
            "noise: CPUs used by other processes during each workload (of {cpus}): {}; \
             1-min load average {} before, {} after",
            noise.join(", "),
            load_before.map_or("?".into(), |l| format!("{l:.2}")),
            load_average().map_or("?".into(), |l| format!("{l:.2}")),
        ));
    }

    let summary = report.summary(wall);
    println!();
    print!("{}", report.table());
    println!("{summary}");

    if cfg.write {
        let when = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        preamble.insert(0, format!("unix time: {when}"));
        preamble.push(summary);
        let path = cfg.out.clone().unwrap_or_else(default_out);
        let markdown = report.markdown("mfwq vs peers", &preamble);
        match std::fs::write(&path, markdown) {
            Ok(()) => eprintln!("mfwq-bench: wrote {}", path.display()),
            Err(error) => eprintln!("mfwq-bench: cannot write {}: {error}", path.display()),
        }
    }
}
