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
            let elapsed = (c.run)();
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
