//! Futures on queues (`mfwq::spawn_future`, `mfwq::sleep`) against tokio's
//! multi-thread runtime:
//!
//! - `future-chain`: one future that wakes itself 1,000,000 times, so each
//!   wake-up is one poll queued and run: on a private standard queue (a
//!   serial executor), on MULTITHREADED, and as a tokio task;
//! - `future-pingpong`: two futures on two queues hand a value back and forth
//!   (each hand-off wakes the other task), vs two tokio tasks;
//! - `future-sleep`: the cost of a sleep's first poll (it registers the timer)
//!   with delays of 1-50 ms, vs `tokio::time::sleep`'s; the sleeps are then
//!   dropped (cancelled), untimed;
//! - `future-sleep-lateness`: how late a task that awaits `sleep_until`
//!   resumes, 20 in flight, vs a tokio task awaiting tokio's `sleep_until`.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mfwq::{QueueId, QueueType};

use super::harness::{contestant, measure, timed, WAIT_LIMIT};
use super::pools::tokio_timer_runtime as tokio_runtime;
use super::timers::{percentile, Rng};
use crate::{Config, Goal, Latch, Report, Row, Summary};

/// Ready after it has woken itself `left` times: one poll per wake-up.
struct Wakes {
    left: usize,
}

impl Future for Wakes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------

const WAKES: usize = 1_000_000;

pub fn chain(cfg: &Config, report: &mut Report) {
    const NAME: &str = "future-chain";
    let n = cfg.scaled(WAKES);
    let tokio = tokio_runtime();
    let serial = mfwq::OwnedQueue::new(QueueType::Standard).expect("a private queue");
    let mut contestants = vec![
        contestant("mfwq serial queue", n, || {
            timed(1, "mfwq future chain (serial)", |latch| {
                let latch = latch.clone();
                serial
                    .spawn_future(async move {
                        Wakes { left: n }.await;
                        latch.count_down();
                    })
                    .expect("spawn_future")
                    .detach();
            })
        }),
        contestant("mfwq MULTITHREADED", n, || {
            timed(1, "mfwq future chain (MULTITHREADED)", |latch| {
                let latch = latch.clone();
                mfwq::spawn_future(QueueId::MULTITHREADED, async move {
                    Wakes { left: n }.await;
                    latch.count_down();
                })
                .expect("spawn_future")
                .detach();
            })
        }),
        contestant("tokio", n, || {
            timed(1, "tokio future chain", |latch| {
                let latch = latch.clone();
                drop(tokio.spawn(async move {
                    Wakes { left: n }.await;
                    latch.count_down();
                }));
            })
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/poll", s);
        if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("tokio", 1.0));
        }
        report.push(row);
    }
}

// ---------------------------------------------------------------------------

/// A one-value hand-off between two tasks: `send` stores and wakes, `recv`
/// waits. The same for both contestants.
#[derive(Default)]
struct Slot {
    value: Option<usize>,
    waker: Option<Waker>,
}

type Shared = Arc<Mutex<Slot>>;

fn send(slot: &Shared, value: usize) {
    let waker = {
        let mut slot = slot.lock().unwrap();
        slot.value = Some(value);
        slot.waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}

fn recv(slot: &Shared) -> impl Future<Output = usize> + '_ {
    std::future::poll_fn(move |context| {
        let mut slot = slot.lock().unwrap();
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(context.waker().clone());
                Poll::Pending
            }
        }
    })
}

/// The two sides of `rounds` round trips.
fn sides(
    rounds: usize,
    latch: Arc<Latch>,
) -> (
    impl Future<Output = ()> + Send + 'static,
    impl Future<Output = ()> + Send + 'static,
) {
    let (ping, pong) = (Shared::default(), Shared::default());
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let left = async move {
        for i in 0..rounds {
            send(&ping, i);
            recv(&pong).await;
        }
        latch.count_down();
    };
    let right = async move {
        for _ in 0..rounds {
            let i = recv(&ping2).await;
            send(&pong2, i);
        }
    };
    (left, right)
}

const ROUND_TRIPS: usize = 100_000;

pub fn pingpong(cfg: &Config, report: &mut Report) {
    const NAME: &str = "future-pingpong";
    let n = cfg.scaled(ROUND_TRIPS);
    let tokio = tokio_runtime();
    let a = mfwq::OwnedQueue::new(QueueType::Standard).expect("a private queue");
    let b = mfwq::OwnedQueue::new(QueueType::Standard).expect("a private queue");
    let serial_a = mfwq::QueueBuilder::new()
        .kind(mfwq::QueueKind::Serial(mfwq::Queue::MULTITHREADED))
        .build()
        .expect("a serial queue");
    let serial_b = mfwq::QueueBuilder::new()
        .kind(mfwq::QueueKind::Serial(mfwq::Queue::MULTITHREADED))
        .build()
        .expect("a serial queue");
    // Two single-threaded runtimes, each driven by a thread of its own: the
    // shape of two private queues (each side on its own thread).
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    };
    let (tokio_a, tokio_b) = (current_thread(), current_thread());
    let mut contestants = vec![
        contestant("mfwq two private queues", n, || {
            timed(1, "mfwq future ping-pong", |latch| {
                let (left, right) = sides(n, latch.clone());
                b.spawn_future(right).expect("spawn_future").detach();
                a.spawn_future(left).expect("spawn_future").detach();
            })
        }),
        contestant("mfwq two serial queues over MULTITHREADED", n, || {
            timed(1, "mfwq future ping-pong (serial)", |latch| {
                let (left, right) = sides(n, latch.clone());
                serial_b.spawn_future(right).expect("spawn_future").detach();
                serial_a.spawn_future(left).expect("spawn_future").detach();
            })
        }),
        contestant("tokio two current-thread runtimes", n, || {
            let latch = Arc::new(Latch::new(1));
            let (left, right) = sides(n, latch.clone());
            let start = Instant::now();
            std::thread::scope(|scope| {
                scope.spawn(|| tokio_b.block_on(right));
                scope.spawn(|| tokio_a.block_on(left));
            });
            start.elapsed()
        }),
        contestant("tokio", n, || {
            timed(1, "tokio future ping-pong", |latch| {
                let (left, right) = sides(n, latch.clone());
                drop(tokio.spawn(right));
                drop(tokio.spawn(left));
            })
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/rtt", s);
        if c.name == "mfwq two private queues" {
            // Each side on a thread of its own, as with two runtimes.
            row = row.with_goal(Goal::time_vs("tokio two current-thread runtimes", 1.0));
        } else if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("tokio", 1.0));
        }
        report.push(row);
    }
    report.note(format!(
        "future-pingpong: {n} round trips between two tasks through a one-value slot (each \
         hand-off wakes the other task). tokio's multi-thread runtime runs a task woken by a \
         worker next on that worker, so both of its tasks share one thread; two serial queues \
         over MULTITHREADED do the same through the waking worker's own slot. Two private \
         queues keep each task on a thread of its own, so every hand-off crosses threads: \
         their peer is two current-thread tokio runtimes, each driven by its own thread."
    ));
}

// ---------------------------------------------------------------------------

const SLEEPS: usize = 100_000;

/// Polls each future once (it registers its timer) with a waker that does
/// nothing; returns the time that took, and the futures, for dropping later.
fn register_all<F: Future + Unpin>(futures: &mut [F]) -> Duration {
    let waker = Waker::noop();
    let mut context = Context::from_waker(waker);
    let start = Instant::now();
    for future in futures.iter_mut() {
        let _ = Pin::new(future).poll(&mut context);
    }
    start.elapsed()
}

pub fn sleep(cfg: &Config, report: &mut Report) {
    const NAME: &str = "future-sleep";
    let n = cfg.scaled(SLEEPS);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let delays: Vec<Duration> = (0..n).map(|_| rng.delay()).collect();
    let tokio = tokio_runtime();
    let mut contestants = vec![
        contestant("mfwq sleep", n, || {
            let mut sleeps: Vec<_> = delays.iter().map(|d| Box::pin(mfwq::sleep(*d))).collect();
            let elapsed = register_all(&mut sleeps);
            drop(sleeps);
            elapsed
        }),
        contestant("tokio sleep", n, || {
            let _runtime = tokio.enter();
            let mut sleeps: Vec<_> = delays
                .iter()
                .map(|d| Box::pin(tokio::time::sleep(*d)))
                .collect();
            let elapsed = register_all(&mut sleeps);
            drop(sleeps);
            elapsed
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/register", s);
        if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("tokio sleep", 1.0));
        }
        report.push(row);
    }
    report.note(format!(
        "future-sleep: the first poll of {n} sleeps of 1-50 ms (the poll that registers the \
         timer), from one thread, with a no-op waker; then they are dropped (cancelled), \
         untimed. Both are boxed before the timing (both Sleeps are !Unpin: each keeps its timer \
         entry inside itself); tokio's sleeps are polled inside its runtime's context."
    ));
}

// ---------------------------------------------------------------------------

const LATENESS_SLEEPS: usize = 2_000;
const IN_FLIGHT: usize = 20;

/// Keeps `IN_FLIGHT` sleeping tasks until `n` have woken; `start(deadline,
/// reply)` spawns one that sends its lateness in ms.
fn lateness_run(
    n: usize,
    rng: &mut Rng,
    mut start: impl FnMut(Instant, mpsc::Sender<f64>),
) -> Vec<f64> {
    let (sender, receiver) = mpsc::channel();
    let mut armed = 0;
    let mut samples = Vec::with_capacity(n);
    while armed < n.min(IN_FLIGHT) {
        start(Instant::now() + rng.delay(), sender.clone());
        armed += 1;
    }
    while samples.len() < n {
        let late = receiver
            .recv_timeout(WAIT_LIMIT)
            .expect("a sleep never woke");
        samples.push(late);
        if armed < n {
            start(Instant::now() + rng.delay(), sender.clone());
            armed += 1;
        }
    }
    samples
}

pub fn lateness(cfg: &Config, report: &mut Report) {
    const NAME: &str = "future-sleep-lateness";
    let n = cfg.scaled(LATENESS_SLEEPS);
    let rounds = cfg.rounds.clamp(1, 4);
    let per_round = n.div_ceil(rounds);
    let tokio = tokio_runtime();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut mfwq_samples = Vec::new();
    let mut tokio_samples = Vec::new();
    let late_ms = |deadline: Instant| {
        Instant::now()
            .saturating_duration_since(deadline)
            .as_secs_f64()
            * 1e3
    };
    for round in 0..rounds {
        let mfwq_run = |rng: &mut Rng| {
            lateness_run(per_round, rng, |deadline, reply| {
                mfwq::spawn_future(QueueId::MULTITHREADED, async move {
                    mfwq::sleep_until(deadline).await.expect("sleep");
                    let _ = reply.send(late_ms(deadline));
                })
                .expect("spawn_future")
                .detach();
            })
        };
        let tokio_run = |rng: &mut Rng| {
            lateness_run(per_round, rng, |deadline, reply| {
                drop(tokio.spawn(async move {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
                    let _ = reply.send(late_ms(deadline));
                }));
            })
        };
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
    for (name, samples) in [("mfwq", &mfwq_samples), ("tokio", &tokio_samples)] {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let summary = Summary::of(samples).expect("samples");
        let mut median_row = Row::new(NAME, &format!("{name} median"), "ms late", summary);
        let mut p99_row = Row::new(
            NAME,
            &format!("{name} p99"),
            "ms late",
            Summary::single(percentile(&sorted, 0.99)),
        );
        if name == "mfwq" {
            median_row = median_row.with_goal(Goal::AtMost(0.2));
            p99_row = p99_row.with_goal(Goal::AtMost(2.0));
        }
        report.push(median_row);
        report.push(p99_row);
    }
    report.note(format!(
        "future-sleep-lateness: {n} tasks on MULTITHREADED (tokio: on its runtime) each awaiting \
         sleep_until a deadline 1-50 ms ahead, {IN_FLIGHT} at a time; lateness = when the task \
         resumed minus the deadline (mfwq: the timekeeper wakes the task, whose poll \
         then runs on MULTITHREADED)."
    ));
}
