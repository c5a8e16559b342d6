//! Scheduled items, cancellation and waiting items:
//!
//! - `timers`: the submitting thread's cost of scheduling 100,000 items with
//!   delays spread over 1-50 ms, vs spawning as many tokio tasks that sleep;
//! - `timer-lateness`: how late a timer fires on an otherwise idle platform
//!   (invoke time minus schedule time plus delay), vs `tokio::time::sleep_until`;
//! - `cancel`: schedule-then-cancel pairs, vs spawning and aborting a sleeping
//!   tokio task;
//! - `event-wake`: from `Event::set` to the waiting item's invoke, vs a
//!   Mutex + Condvar hand-off to a waiting thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mfwq::{AsyncResult, Event, QueueId};

use super::harness::{contestant, measure, wait, WAIT_LIMIT};
use super::pools::tokio_timer_runtime as tokio_runtime;
use crate::{fmt_num, Config, Goal, Latch, Report, Row, Summary};

/// xorshift64: delays without a dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    /// A delay uniform in 1..=50 ms, at microsecond resolution.
    pub(crate) fn delay(&mut self) -> Duration {
        Duration::from_micros(1_000 + self.below(49_001))
    }
}

/// The `p` quantile (0..=1) of `sorted`, by nearest rank.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Median, p99 and max of `samples`, for the notes.
fn describe(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    (
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        *sorted.last().expect("samples"),
    )
}

// ---------------------------------------------------------------------------

const TIMERS: usize = 100_000;

pub fn schedule(cfg: &Config, report: &mut Report) {
    const NAME: &str = "timers";
    let n = cfg.scaled(TIMERS);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let delays: Vec<Duration> = (0..n).map(|_| rng.delay()).collect();
    let tokio = tokio_runtime();
    let mut end_to_end = Vec::new();

    let mut contestants = vec![
        contestant("mfwq schedule_work_item", n, || {
            let latch = Arc::new(Latch::new(n));
            let done = latch.clone();
            let callback = mfwq::callback_on(QueueId::MULTITHREADED, move |_| done.count_down());
            let start = Instant::now();
            for delay in &delays {
                mfwq::schedule_work_item(callback.clone(), None, *delay).expect("schedule");
            }
            let elapsed = start.elapsed();
            wait(&latch, "mfwq timers");
            end_to_end.push(("mfwq", start.elapsed()));
            elapsed
        }),
        contestant("tokio spawn+sleep", n, || {
            let latch = Arc::new(Latch::new(n));
            let start = Instant::now();
            for delay in &delays {
                let latch = latch.clone();
                let delay = *delay;
                drop(tokio.spawn(async move {
                    tokio::time::sleep(delay).await;
                    latch.count_down();
                }));
            }
            let elapsed = start.elapsed();
            wait(&latch, "tokio timers");
            elapsed
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/schedule", s);
        if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("tokio spawn+sleep", 0.8));
        }
        report.push(row);
    }
    drop(contestants);
    report.note(format!(
        "timers: the submitting thread's time per call while scheduling {n} items with delays \
         uniform in 1-50 ms (callbacks on MULTITHREADED), vs runtime.spawn of as many tokio tasks \
         that sleep (tokio registers the sleep on a worker, outside the timed loop); then \
         everything fires, untimed. mfwq round trips (schedule to last fire): {}.",
        end_to_end
            .iter()
            .map(|(_, d)| format!("{:.1} ms", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

// ---------------------------------------------------------------------------

const LATENESS_TIMERS: usize = 2_000;
const IN_FLIGHT: usize = 20;

/// Keeps `IN_FLIGHT` timers pending until `n` have fired; `start(deadline,
/// delay, reply)` arms one whose callback sends its lateness in ms.
fn lateness_run(
    n: usize,
    rng: &mut Rng,
    mut start: impl FnMut(Instant, Duration, mpsc::Sender<f64>),
) -> Vec<f64> {
    let (sender, receiver) = mpsc::channel();
    let mut armed = 0;
    let mut samples = Vec::with_capacity(n);
    while armed < n.min(IN_FLIGHT) {
        let delay = rng.delay();
        start(Instant::now(), delay, sender.clone());
        armed += 1;
    }
    while samples.len() < n {
        let late = receiver
            .recv_timeout(WAIT_LIMIT)
            .expect("a timer never fired");
        samples.push(late);
        if armed < n {
            let delay = rng.delay();
            start(Instant::now(), delay, sender.clone());
            armed += 1;
        }
    }
    samples
}

/// The lateness of a plain thread's own sleeps (ms): one wake-up, no hand-off.
fn sleep_floor(n: usize, rng: &mut Rng) -> Vec<f64> {
    let delays: Vec<Duration> = (0..n)
        .map(|_| Duration::from_micros(1_000 + rng.below(4_001)))
        .collect();
    std::thread::spawn(move || {
        // SAFETY: affects only this thread's timer slack.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
        delays
            .into_iter()
            .map(|delay| {
                let expected = Instant::now() + delay;
                std::thread::sleep(delay);
                Instant::now()
                    .saturating_duration_since(expected)
                    .as_secs_f64()
                    * 1e3
            })
            .collect()
    })
    .join()
    .expect("floor thread")
}

pub fn lateness(cfg: &Config, report: &mut Report) {
    const NAME: &str = "timer-lateness";
    let n = cfg.scaled(LATENESS_TIMERS);
    let rounds = cfg.rounds.clamp(1, 4);
    let per_round = n.div_ceil(rounds);
    let tokio = tokio_runtime();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut mfwq_samples = Vec::new();
    let mut tokio_samples = Vec::new();
    let mut floor_samples = Vec::new();
    for round in 0..rounds {
        floor_samples.extend(sleep_floor(per_round.div_ceil(4), &mut rng));
        let mfwq_run = |rng: &mut Rng| {
            lateness_run(per_round, rng, |scheduled, delay, reply| {
                let expected = scheduled + delay;
                let reply = Mutex::new(reply);
                let callback = mfwq::callback(move |_| {
                    let late = Instant::now().saturating_duration_since(expected);
                    let _ = reply.lock().unwrap().send(late.as_secs_f64() * 1e3);
                });
                mfwq::schedule_work_item(callback, None, delay).expect("schedule");
            })
        };
        let tokio_run = |rng: &mut Rng| {
            lateness_run(per_round, rng, |scheduled, delay, reply| {
                let expected = scheduled + delay;
                drop(tokio.spawn(async move {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(expected)).await;
                    let late = Instant::now().saturating_duration_since(expected);
                    let _ = reply.send(late.as_secs_f64() * 1e3);
                }));
            })
        };
        // Alternate which goes first.
        if round % 2 == 0 {
            mfwq_samples.extend(mfwq_run(&mut rng));
            tokio_samples.extend(tokio_run(&mut rng));
        } else {
            tokio_samples.extend(tokio_run(&mut rng));
            mfwq_samples.extend(mfwq_run(&mut rng));
        }
        super::log(&format!("[{NAME}] round {}/{rounds} done", round + 1));
        super::round_done(round + 1, rounds);
    }
    let mut details = Vec::new();
    for (name, samples) in [
        ("mfwq", &mfwq_samples),
        ("tokio", &tokio_samples),
        ("thread::sleep floor", &floor_samples),
    ] {
        let (median, p99, max) = describe(samples);
        let summary = Summary::of(samples).expect("samples");
        let mut median_row = Row::new(NAME, &format!("{name} median"), "ms late", summary);
        let mut p99_row = Row::new(
            NAME,
            &format!("{name} p99"),
            "ms late",
            Summary::single(p99),
        );
        if name == "mfwq" {
            median_row = median_row.with_goal(Goal::AtMost(0.2));
            p99_row = p99_row.with_goal(Goal::AtMost(2.0));
        }
        report.push(median_row);
        report.push(p99_row);
        details.push(format!(
            "{name} median {} ms, p99 {} ms, max {} ms",
            fmt_num(median),
            fmt_num(p99),
            fmt_num(max)
        ));
    }
    report.note(format!(
        "timer-lateness: {} timers each ({IN_FLIGHT} pending at a time, delays uniform in 1-50 ms, \
         {rounds} alternating rounds), lateness = invoke time - (schedule time + delay); mfwq \
         callbacks on STANDARD, tokio tasks use sleep_until the same deadline; the median row's \
         min/max are the fastest and slowest single timer. Diagnostic floor ({} samples): one \
         plain thread with 1 ns timer slack sleeping 1-5 ms and measuring its own lateness, i.e. \
         what this machine's scheduler allows right now; {}.",
        mfwq_samples.len(),
        floor_samples.len(),
        details.join("; ")
    ));
}

// ---------------------------------------------------------------------------

const PAIRS: usize = 100_000;

pub fn cancel(cfg: &Config, report: &mut Report) {
    const NAME: &str = "cancel";
    let n = cfg.scaled(PAIRS);
    let tokio = tokio_runtime();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let callback = mfwq::callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let delay = Duration::from_secs(10);

    let mut contestants = vec![
        contestant("mfwq schedule+cancel", n, || {
            let start = Instant::now();
            for _ in 0..n {
                let key =
                    mfwq::schedule_work_item(callback.clone(), None, delay).expect("schedule");
                mfwq::cancel_work_item(key).expect("cancel a pending item");
            }
            start.elapsed()
        }),
        contestant("tokio spawn+abort", n, || {
            let start = Instant::now();
            for _ in 0..n {
                let handle = tokio.spawn(async move { tokio::time::sleep(delay).await });
                handle.abort();
            }
            start.elapsed()
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "a cancelled item's callback ran"
    );
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/pair", s);
        if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::AtMost(1_000.0));
        }
        report.push(row);
    }
    report.note(format!(
        "cancel: {n} schedule-then-cancel pairs (10 s delay) from one thread; target >= \
         1,000,000 pairs/s (<= 1000 ns/pair); asserted afterwards: no callback ran. tokio \
         (context): spawn a sleeping task and abort it."
    ));
}

// ---------------------------------------------------------------------------

const WAKES: usize = 5_000;

/// Lets the woken side park again between samples.
const GAP: Duration = Duration::from_micros(300);

pub fn event_wake(cfg: &Config, report: &mut Report) {
    const NAME: &str = "event-wake";
    let n = cfg.scaled(WAKES);
    let rounds = cfg.rounds.clamp(1, 5);
    let per_round = n.div_ceil(rounds);

    // mfwq: one waiting item at a time on an auto-reset event.
    let event = Event::auto_reset(false);
    let (woke_tx, woke_rx) = mpsc::channel::<Instant>();
    let woke_tx = Mutex::new(woke_tx);
    let callback = mfwq::callback_on(QueueId::MULTITHREADED, move |_| {
        let now = Instant::now();
        let _ = woke_tx.lock().unwrap().send(now);
    });
    let result = AsyncResult::with_callback(callback, None);

    // Peer: a thread waiting on a condition variable.
    let flag = Arc::new((Mutex::new(false), Condvar::new()));
    let (peer_tx, peer_rx) = mpsc::channel::<Instant>();
    let waiter = {
        let flag = flag.clone();
        std::thread::Builder::new()
            .name("condvar-waiter".into())
            .spawn(move || loop {
                let (lock, cond) = &*flag;
                let mut set = lock.lock().unwrap();
                while !*set {
                    set = cond.wait(set).unwrap();
                }
                *set = false;
                drop(set);
                if peer_tx.send(Instant::now()).is_err() {
                    return;
                }
            })
            .expect("spawn the condvar waiter")
    };

    let mut mfwq_samples = Vec::new();
    let mut peer_samples = Vec::new();
    let mfwq_batch = |samples: &mut Vec<f64>| {
        for _ in 0..per_round {
            mfwq::put_waiting_work_item(Some(&event), 0, &result).expect("put waiting item");
            std::thread::sleep(GAP);
            let before = Instant::now();
            event.set();
            let woke = woke_rx.recv_timeout(WAIT_LIMIT).expect("waiting item ran");
            samples.push(woke.saturating_duration_since(before).as_secs_f64() * 1e6);
        }
    };
    let peer_batch = |samples: &mut Vec<f64>| {
        for _ in 0..per_round {
            std::thread::sleep(GAP);
            let before = Instant::now();
            {
                let (lock, cond) = &*flag;
                *lock.lock().unwrap() = true;
                cond.notify_one();
            }
            let woke = peer_rx
                .recv_timeout(WAIT_LIMIT)
                .expect("condvar waiter woke");
            samples.push(woke.saturating_duration_since(before).as_secs_f64() * 1e6);
        }
    };
    for round in 0..rounds {
        if round % 2 == 0 {
            mfwq_batch(&mut mfwq_samples);
            peer_batch(&mut peer_samples);
        } else {
            peer_batch(&mut peer_samples);
            mfwq_batch(&mut mfwq_samples);
        }
        super::log(&format!("[{NAME}] round {}/{rounds} done", round + 1));
        super::round_done(round + 1, rounds);
    }
    drop(peer_rx);
    {
        let (lock, cond) = &*flag;
        *lock.lock().unwrap() = true;
        cond.notify_one();
    }
    let _ = waiter.join();

    let mut details = Vec::new();
    for (name, samples) in [
        ("mfwq put_waiting_work_item", &mfwq_samples),
        ("condvar", &peer_samples),
    ] {
        let mut row = Row::new(NAME, name, "us", Summary::of(samples).expect("samples"));
        if name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("condvar", 2.0));
        }
        report.push(row);
        let (median, p99, max) = describe(samples);
        details.push(format!(
            "{name} median {} us, p99 {} us, max {} us",
            fmt_num(median),
            fmt_num(p99),
            fmt_num(max)
        ));
    }
    report.note(format!(
        "event-wake: {} samples each ({rounds} alternating rounds, {} us idle before each set so \
         the woken side parks): time from just before Event::set to the waiting item's invoke \
         on MULTITHREADED, vs from just before a Mutex+Condvar notify_one to the waiting thread \
         running; min/max are single samples; {}.",
        mfwq_samples.len(),
        GAP.as_micros(),
        details.join("; ")
    ));
}
