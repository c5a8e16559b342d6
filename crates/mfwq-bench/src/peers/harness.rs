//! Running contestants: warm-up, then rounds interleaved across contestants
//! (the order rotates every round, so that no contestant always runs first or
//! right after the same neighbour), with a short pause before each run so that
//! the previous contestant's threads have gone back to sleep.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{fmt_num, Config, Latch, Summary};

/// How long any single wait for completion may take before the bench gives up.
pub const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Pause before each measured run.
const SETTLE: Duration = Duration::from_millis(20);

/// One contestant of a workload: a name, how many operations one run does,
/// and the run itself, which returns the time the operations took.
pub struct Contestant<'a> {
    pub name: &'static str,
    pub ops: usize,
    run: Box<dyn FnMut() -> Duration + 'a>,
}

/// A contestant doing `ops` operations per run.
pub fn contestant<'a>(
    name: &'static str,
    ops: usize,
    run: impl FnMut() -> Duration + 'a,
) -> Contestant<'a> {
    Contestant {
        name,
        ops,
        run: Box::new(run),
    }
}

/// Drops the contestants `--only` leaves out, then runs `cfg.warmup`
/// unmeasured and `cfg.rounds` measured rounds of every remaining one;
/// returns each one's nanoseconds per operation, in order.
pub fn measure(
    cfg: &Config,
    workload: &str,
    contestants: &mut Vec<Contestant<'_>>,
) -> Vec<Summary> {
    contestants.retain(|c| cfg.runs_contestant(c.name));
    let k = contestants.len();
    // The size of each contestant's run, for readers of the commentary that
    // need the count (`scripts/bench-instructions.sh` divides by it).
    let mut sizes = format!("[{workload}] ops per run:");
    for c in contestants.iter() {
        sizes.push_str(&format!("  {} {} ops", c.name, c.ops));
    }
    super::log(&sizes);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); k];
    let total = cfg.warmup + cfg.rounds;
    for round in 0..total {
        let warm = round < cfg.warmup;
        let mut line = if warm {
            format!("[{workload}] warm-up {}/{}:", round + 1, cfg.warmup)
        } else {
            format!(
                "[{workload}] round {}/{}:",
                round - cfg.warmup + 1,
                cfg.rounds
            )
        };
        for j in 0..k {
            let i = (round + j) % k;
            let c = &mut contestants[i];
            std::thread::sleep(SETTLE);
            let elapsed = run_once(&mut c.run);
            let per_op = elapsed.as_nanos() as f64 / c.ops as f64;
            line.push_str(&format!("  {} {} ns/op", c.name, fmt_num(per_op)));
            if !warm {
                samples[i].push(per_op);
            }
        }
        super::log(&line);
        super::round_done(round + 1, total);
    }
    samples
        .iter()
        .map(|s| Summary::of(s).expect("at least one round"))
        .collect()
}

/// One run of one contestant, in a function of its own so that callgrind can
/// dump its counters on the way in and on the way out (`--dump-before` and
/// `--dump-after` naming this function, as `scripts/bench-instructions.sh`
/// does): each run's instructions, all threads together, then come out in a
/// file of their own, apart from the process's start and the work between
/// runs. Never inlined, and the `black_box` keeps its body unlike any other
/// function's, so that the optimizer has no identical function to fold it
/// into (which would take its name away). Nothing changes outside callgrind.
#[inline(never)]
fn run_once(run: &mut dyn FnMut() -> Duration) -> Duration {
    std::hint::black_box(run())
}

/// Waits for `latch` or panics after [`WAIT_LIMIT`], naming what hung.
pub fn wait(latch: &Latch, what: &str) {
    assert!(
        latch.wait(WAIT_LIMIT),
        "{what}: still {} of the items missing after {WAIT_LIMIT:?}",
        latch.remaining()
    );
}

/// Runs `submit` with a fresh latch of `n` and times it until the latch opens.
pub fn timed(n: usize, what: &str, submit: impl FnOnce(&Arc<Latch>)) -> Duration {
    let latch = Arc::new(Latch::new(n));
    let start = Instant::now();
    submit(&latch);
    wait(&latch, what);
    start.elapsed()
}

/// `n` empty `put_work_item`s onto MULTITHREADED from this thread, timed until
/// all have run: the fan-out the checked-mode and observe workloads compare
/// under their switches.
pub fn put_fan_out(n: usize, what: &str) -> Duration {
    timed(n, what, |latch| {
        let latch = latch.clone();
        let callback = mfwq::callback(move |_| latch.count_down());
        for _ in 0..n {
            mfwq::put_work_item(mfwq::QueueId::MULTITHREADED, callback.clone(), None)
                .expect("put_work_item");
        }
    })
}
