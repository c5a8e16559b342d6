//! A real-time pool as wide as the machine, fed by normal-priority threads,
//! must not starve the rest of the machine (docs/realtime.md, "More real-time
//! workers than CPUs").
//!
//! The shape that used to stall everything at normal priority for up to the
//! kernel's real-time throttling period (about a second): every processor
//! runs a `SCHED_FIFO` worker of one pool, and the pool is fed by
//! normal-priority threads. A worker that preempts a feeder in the middle of
//! a push and then waits for that push to finish must let the feeder run; a
//! real-time thread that only yields does not. Meanwhile a normal-priority
//! ticker sleeps 1 ms at a time and records the longest gap between its
//! ticks: with the stall, a gap of hundreds of milliseconds.
//!
//! Its own test binary: it raises threads to `SCHED_FIFO` through a queue's
//! "Pro Audio" registration, which needs `CAP_SYS_NICE` or an
//! `RLIMIT_RTPRIO` (as root, or see docs/realtime.md). Without the right the
//! workers fall back to normal scheduling, the stall cannot happen, and the
//! test says so on stderr and checks only that nothing was lost.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mfwq::{QueueBuilder, QueueKind, SchedPolicy};

/// How long the feeders run.
const RUN: Duration = Duration::from_secs(3);
/// Feeders per processor.
const FEEDERS_PER_CPU: usize = 2;
/// Items a feeder may have put that have not run yet. Without a bound the
/// feeders can queue a backlog that the real-time workers then drain with
/// every CPU for as long as it lasts, which starves normal threads by design
/// (seen under ThreadSanitizer, whose slowed items let a backlog of
/// hundreds of milliseconds build up), not through the fault this test is
/// about.
const BACKLOG_PER_FEEDER: usize = 64;
/// The longest the normal-priority ticker may go without a tick. The stall
/// showed up as about a second; a busy machine's normal scheduling stays far
/// below this. `MFWQ_STARVATION_GAP_MS` overrides it: `ci/tsan.sh` sets 800,
/// since under ThreadSanitizer a thread can stall for hundreds of
/// milliseconds by itself (a gap of 298 ms was seen there once), which still
/// tells the second-long stall apart.
const LONGEST_GAP: Duration = Duration::from_millis(250);

fn longest_gap() -> Duration {
    std::env::var("MFWQ_STARVATION_GAP_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(LONGEST_GAP, Duration::from_millis)
}

#[test]
fn a_realtime_pool_fed_by_normal_threads_leaves_the_machine_running() {
    let _platform = mfwq::Platform::start().expect("startup");
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let queue = QueueBuilder::new()
        .kind(QueueKind::Multithreaded)
        .realtime("Pro Audio")
        .build()
        .expect("a Pro Audio pool");
    let handle = queue.as_queue();

    let stop = Arc::new(AtomicBool::new(false));
    let ran = Arc::new(AtomicUsize::new(0));
    let ticker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut longest = Duration::ZERO;
            let mut last = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                let now = Instant::now();
                longest = longest.max(now - last);
                last = now;
            }
            longest
        })
    };
    let feeders: Vec<_> = (0..cpus * FEEDERS_PER_CPU)
        .map(|_| {
            let (stop, ran, handle) = (Arc::clone(&stop), Arc::clone(&ran), handle);
            std::thread::spawn(move || {
                let mut put = 0usize;
                let mine = Arc::new(AtomicUsize::new(0));
                while !stop.load(Ordering::Relaxed) {
                    if put - mine.load(Ordering::Relaxed) >= BACKLOG_PER_FEEDER {
                        std::thread::yield_now();
                        continue;
                    }
                    let (ran, mine) = (Arc::clone(&ran), Arc::clone(&mine));
                    handle
                        .execute(move || {
                            ran.fetch_add(1, Ordering::Relaxed);
                            mine.fetch_add(1, Ordering::Relaxed);
                        })
                        .expect("execute");
                    put += 1;
                }
                put
            })
        })
        .collect();
    std::thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    let put: usize = feeders.into_iter().map(|f| f.join().expect("feeder")).sum();
    let longest = ticker.join().expect("ticker");
    // Every accepted item runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ran.load(Ordering::Relaxed) < put && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(ran.load(Ordering::Relaxed), put);
    // What the workers ran under (known once they started).
    let applied = handle.applied_scheduling().expect("applied scheduling");
    let realtime = matches!(applied.applied, Some(SchedPolicy::Fifo { .. }));
    if !realtime {
        eprintln!(
            "realtime_starvation: no right to real-time scheduling here ({applied:?}); \
             the workers ran at normal priority and the stall could not occur"
        );
    }
    eprintln!(
        "realtime_starvation: {put} items from {} normal-priority feeders on a {}-worker pool \
         ({}); the normal-priority ticker's longest gap: {:.1} ms",
        cpus * FEEDERS_PER_CPU,
        cpus,
        if realtime {
            "SCHED_FIFO"
        } else {
            "normal scheduling"
        },
        longest.as_secs_f64() * 1e3
    );
    assert!(
        longest < longest_gap(),
        "a normal-priority thread went {longest:?} without running"
    );
}
