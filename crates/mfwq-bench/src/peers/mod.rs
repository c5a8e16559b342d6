//! The peer benchmark's workloads: mfwq against tokio, rayon and
//! crossbeam-channel, in one process and one run (see the crate's
//! `README.md` for what each workload does and the target it holds mfwq to).
//!
//! [`WORKLOADS`] lists them in run order and [`run`] runs a selection of
//! them into a [`Report`]. Two programs drive this module: the bench
//! (`benches/peers/main.rs`, `cargo bench -p mfwq-bench --bench peers`) and
//! `mfwq bench` (crates/mfwq-cli). What they differ in, how progress shows
//! and where the running commentary goes, goes through [`Progress`].
//!
//! One run at a time per process ([`run`] waits for the one in progress):
//! the workloads share the process-wide mfwq platform, and they reach the
//! run's [`Progress`] and counting allocator through this module rather than
//! through an argument, which keeps every workload a plain
//! `fn(&Config, &mut Report)`.

mod chain;
mod checked;
mod churn;
mod fanout;
mod futures;
mod harness;
mod idle;
mod memory;
mod observe;
mod pingpong;
mod pools;
mod serialq;
mod submit;
mod timers;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::{Config, CountingAlloc, Noise, Report};

/// One workload: its name (what filters match), a one-line description, and
/// the function that runs it and adds its rows (and notes) to the report.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// The name, e.g. `fanout-mt`.
    pub name: &'static str,
    /// What it measures, in one line.
    pub about: &'static str,
    /// Runs every contestant of the workload and pushes their rows.
    pub run: fn(&Config, &mut Report),
}

/// In run order; `idle` stays last so that every peer pool made by the
/// others has been dropped before the idle process is watched.
pub const WORKLOADS: [Workload; 19] = [
    Workload {
        name: "fanout-mt",
        about: "1M empty items from one thread onto MULTITHREADED vs rayon / tokio / crossbeam pools",
        run: fanout::mt,
    },
    Workload {
        name: "fanout-serial",
        about: "1M empty items onto a private standard queue vs one crossbeam-channel thread",
        run: fanout::serial,
    },
    Workload {
        name: "chain",
        about: "each item puts the next on MULTITHREADED, 100k hops, vs tokio / rayon / crossbeam",
        run: chain::run,
    },
    Workload {
        name: "pingpong",
        about: "A puts to B puts to A on two private standard queues, 100k round trips, vs crossbeam",
        run: pingpong::run,
    },
    Workload {
        name: "serial",
        about: "1M items through one serial queue over MULTITHREADED vs a private standard queue; 16 serial queues at once",
        run: serialq::run,
    },
    Workload {
        name: "submit",
        about: "diagnostic: the submitting thread's cost per put, with the consumer blocked",
        run: submit::run,
    },
    Workload {
        name: "checked-mode",
        about: "diagnostic: put_work_item fan-out onto MULTITHREADED with checked mode off vs on",
        run: checked::run,
    },
    Workload {
        name: "churn",
        about: "allocate_work_queue(Standard) + unlock_work_queue, 10k pairs",
        run: churn::run,
    },
    Workload {
        name: "memory",
        about: "bytes per queued item, 100k items behind a blocked worker",
        run: memory::run,
    },
    Workload {
        name: "timers",
        about: "schedule 100k items with delays of 1-50 ms: ns per schedule call vs tokio spawn+sleep",
        run: timers::schedule,
    },
    Workload {
        name: "timer-lateness",
        about: "2k timers of 1-50 ms, 20 pending at a time: how late they fire, vs tokio sleep_until",
        run: timers::lateness,
    },
    Workload {
        name: "cancel",
        about: "100k schedule-then-cancel pairs (none may run) vs tokio spawn+abort",
        run: timers::cancel,
    },
    Workload {
        name: "event-wake",
        about: "Event::set to the waiting item's invoke, 5k samples, vs a Mutex+Condvar hand-off",
        run: timers::event_wake,
    },
    Workload {
        name: "future-chain",
        about: "a future waking itself 1M times on a private standard queue / MULTITHREADED vs tokio",
        run: futures::chain,
    },
    Workload {
        name: "future-pingpong",
        about: "two futures on two private standard queues hand a value back and forth, 100k round trips, vs tokio",
        run: futures::pingpong,
    },
    Workload {
        name: "future-sleep",
        about: "the first poll of 100k sleeps of 1-50 ms (registers the timer) vs tokio::time::sleep",
        run: futures::sleep,
    },
    Workload {
        name: "future-sleep-lateness",
        about: "2k tasks awaiting sleep_until 1-50 ms ahead, 20 at a time: how late they resume, vs tokio",
        run: futures::lateness,
    },
    Workload {
        name: "idle",
        about: "process CPU while mfwq workers exist but have nothing to do",
        run: idle::run,
    },
    Workload {
        name: "observe",
        about: "1M put_work_items onto MULTITHREADED with observation off, statistics on, tracing on",
        run: observe::run,
    },
];

/// The workloads `cfg`'s filters select, in run order.
pub fn selected(cfg: &Config) -> Vec<&'static Workload> {
    WORKLOADS.iter().filter(|w| cfg.selected(w.name)).collect()
}

/// What a driver hears while a run goes on. Every method has a default:
/// [`Stderr`] keeps them all, which is the bench's own output.
pub trait Progress: Send + Sync {
    /// Workload `index` (of the selected ones, from 0) starts.
    fn workload_started(&self, index: usize, name: &str) {
        let _ = (index, name);
    }

    /// The running workload finished round `done` of `total` (warm-up rounds
    /// included). Workloads without rounds (`memory`) report none; a
    /// workload may report more than one series of rounds.
    fn round_done(&self, done: usize, total: usize) {
        let _ = (done, total);
    }

    /// Workload `index` finished after `wall`.
    fn workload_done(&self, index: usize, name: &str, wall: Duration) {
        let _ = index;
        self.log(&format!("[{name}] done in {:.1} s", wall.as_secs_f64()));
    }

    /// A line of running commentary: each round's figures, sizes, ...
    fn log(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// The bench's progress: every line of commentary on standard error.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

impl Progress for Stderr {}

/// What the workloads of the run in progress reach through this module.
struct Session {
    progress: Arc<dyn Progress>,
    alloc: Option<&'static CountingAlloc>,
}

static SESSION: Mutex<Option<Session>> = Mutex::new(None);

/// Held for the whole of a run: one at a time.
static RUNNING: Mutex<()> = Mutex::new(());

fn session() -> MutexGuard<'static, Option<Session>> {
    // A workload that panicked leaves nothing half-written here.
    SESSION.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The progress of the run in progress ([`Stderr`] outside a run, when a
/// workload function is called directly).
fn progress() -> Arc<dyn Progress> {
    session().as_ref().map_or_else(
        || Arc::new(Stderr) as Arc<dyn Progress>,
        |s| s.progress.clone(),
    )
}

/// A line of commentary, to the run's [`Progress::log`].
fn log(line: &str) {
    progress().log(line);
}

/// A round finished, to the run's [`Progress::round_done`].
fn round_done(done: usize, total: usize) {
    progress().round_done(done, total);
}

/// The run's counting allocator, if it was given one.
fn counting_alloc() -> Option<&'static CountingAlloc> {
    session().as_ref().and_then(|s| s.alloc)
}

/// Takes the session down when the run ends, even by a panic.
struct SessionGuard;

impl Drop for SessionGuard {
    fn drop(&mut self) {
        session().take();
    }
}

/// The run conditions: rounds, scale, machine, pool sizes; one line each
/// (the bench prints them first and puts them above its Markdown table).
pub fn conditions(cfg: &Config) -> Vec<String> {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    vec![
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
    ]
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every row, target and note (the last note: how busy the machine was).
    pub report: Report,
    /// The run's wall time, platform start to shutdown.
    pub wall: Duration,
}

/// Starts the mfwq platform, runs `workloads` in order and shuts the platform
/// down again; `progress` hears how far it got, and the `memory` workload
/// counts bytes with `alloc`, which must be the program's
/// `#[global_allocator]` (without it, or with a counter that sees nothing,
/// `memory` adds a note instead of rows).
///
/// Targets are judged unless `cfg.bench_mode` is false (a smoke run: missed
/// targets read `not met (smoke)`, see [`Report::set_targets_informational`]).
/// A workload that fails panics, as the bench always has: its figures would
/// be meaningless.
pub fn run(
    cfg: &Config,
    workloads: &[&Workload],
    progress: Arc<dyn Progress>,
    alloc: Option<&'static CountingAlloc>,
) -> mfwq::Result<Outcome> {
    let _running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    *session() = Some(Session {
        progress: progress.clone(),
        alloc,
    });
    let _session = SessionGuard;

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut noise = Noise::new();
    let platform = mfwq::Platform::start()?;
    let start = Instant::now();
    let mut report = Report::new();
    // A smoke run proves that every workload runs and yields figures; one
    // round at 1% size cannot judge a target.
    report.set_targets_informational(!cfg.bench_mode);
    for (index, workload) in workloads.iter().enumerate() {
        progress.workload_started(index, workload.name);
        let t0 = Instant::now();
        let mark = Noise::mark();
        (workload.run)(cfg, &mut report);
        let wall = t0.elapsed();
        noise.record(workload.name, &mark, Duration::ZERO);
        progress.workload_done(index, workload.name, wall);
    }
    drop(platform);
    let wall = start.elapsed();
    if let Some(line) = noise.note("workload", cpus) {
        report.note(line);
    }
    Ok(Outcome { report, wall })
}

fn first_line_of(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}
