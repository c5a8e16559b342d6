//! Stress: the timer's lock-free inbox from many threads at once, across
//! startup → work → shutdown cycles. Every thread schedules items
//! (`schedule_work_item`, some cancelled at once), awaits `sleep`s, drops
//! sleeps it polled once, and ticks an `interval`, while the timekeeper
//! moves the inbox into its sets and fires.
//!
//! The contract checked, per scheduled item (a unique sequence number, a
//! per-item run counter):
//!
//! - an item whose cancel said `Ok` never runs;
//! - no item runs twice;
//! - in the quiet phase (the producers stopped, nothing shuts down), every
//!   item that was accepted and not cancelled runs, within a few seconds;
//! - while the last shutdown races the producers, a schedule is accepted or
//!   refused with `Shutdown`, and an accepted one runs at most once (one
//!   still pending at the shutdown is leaked, as on Windows).
//!
//! Per sleep: an awaited sleep returns `Ok` no earlier than its deadline
//! while the platform runs, and `Ok` or `Err(Shutdown)` (never a hang) when
//! the shutdown races it; an interval's ticks come in order, never early.
//!
//! A cancel made right after its schedule must find the item (scheduled a
//! second out): with cancel looking only in the timer's map, not in the
//! inbox, this test fails at once.
//!
//! `MFWQ_TIMER_STRESS_ROUNDS` sets the work per thread and cycle (default
//! 300). The platform is a process-wide singleton, so the tests here take
//! `common::serial` first.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};
use std::thread;
use std::time::{Duration, Instant};

use mfwq::Error;

mod common;

use common::{serial, Rng};

const CYCLES: usize = 4;
const THREADS: usize = 4;
const DEFAULT_ROUNDS: usize = 300;
/// How long the quiet phase waits for every accepted item to fire.
const FIRE_LIMIT: Duration = Duration::from_secs(20);

fn rounds() -> usize {
    std::env::var("MFWQ_TIMER_STRESS_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
}

/// What happened to one scheduled item.
#[derive(Default)]
struct Item {
    runs: AtomicU8,
    /// 1: accepted; 2: accepted and cancelled (cancel said `Ok`).
    fate: AtomicU8,
}

const ACCEPTED: u8 = 1;
const CANCELLED: u8 = 2;

struct Shared {
    items: Vec<Item>,
    next: AtomicUsize,
}

impl Shared {
    fn new(capacity: usize) -> Arc<Shared> {
        Arc::new(Shared {
            items: (0..capacity).map(|_| Item::default()).collect(),
            next: AtomicUsize::new(0),
        })
    }
}

/// One producer's work for one phase: schedules (a third cancelled at once),
/// awaited sleeps, sleeps dropped after one poll, and interval ticks.
/// `racing`: the shutdown may come at any moment (refusals and
/// `Err(Shutdown)` are then expected).
fn produce(shared: &Arc<Shared>, seed: u64, rounds: usize, racing: &AtomicBool) {
    let mut rng = Rng(seed | 1);
    let mut ticks = mfwq::interval(Duration::from_micros(300));
    let mut last_tick: Option<Instant> = None;
    for _ in 0..rounds {
        match rng.below(4) {
            0 | 1 => {
                let seq = shared.next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = shared.items.get(seq) else {
                    continue;
                };
                // A third are cancelled right away: scheduled a second
                // out, so the cancel must find them pending (still in the
                // inbox, or moved into the timer's sets).
                let cancel = rng.below(3) == 0;
                let delay = if cancel {
                    Duration::from_secs(1)
                } else {
                    Duration::from_micros(rng.below(2_000))
                };
                let callback = {
                    let shared = Arc::clone(shared);
                    mfwq::callback(move |_| {
                        shared.items[seq].runs.fetch_add(1, Ordering::SeqCst);
                    })
                };
                match mfwq::schedule_work_item(callback, None, delay) {
                    Ok(key) => {
                        item.fate.store(ACCEPTED, Ordering::SeqCst);
                        if cancel {
                            match mfwq::cancel_work_item(key) {
                                Ok(()) => item.fate.store(CANCELLED, Ordering::SeqCst),
                                Err(Error::Shutdown) if racing.load(Ordering::SeqCst) => {}
                                Err(other) => panic!("cancel of a pending item: {other:?}"),
                            }
                        }
                    }
                    Err(Error::Shutdown) if racing.load(Ordering::SeqCst) => {}
                    Err(other) => panic!("schedule_work_item: {other:?}"),
                }
            }
            2 => {
                let duration = Duration::from_micros(rng.below(1_500));
                let start = Instant::now();
                match mfwq::block_on(mfwq::sleep(duration)) {
                    Ok(()) => assert!(start.elapsed() >= duration, "a sleep ended early"),
                    Err(Error::Shutdown) if racing.load(Ordering::SeqCst) => {}
                    Err(other) => panic!("sleep: {other:?}"),
                }
                // A sleep polled once and dropped: its alarm is withdrawn.
                let mut dropped = Box::pin(mfwq::sleep(Duration::from_micros(rng.below(3_000))));
                let _ = dropped
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()));
            }
            _ => match mfwq::block_on(ticks.tick()) {
                Ok(tick) => {
                    assert!(Instant::now() >= tick, "a tick came early");
                    if let Some(last) = last_tick {
                        assert!(tick > last, "ticks in order");
                    }
                    last_tick = Some(tick);
                }
                Err(Error::Shutdown) if racing.load(Ordering::SeqCst) => {}
                Err(other) => panic!("tick: {other:?}"),
            },
        }
    }
}

/// Waits until every accepted, uncancelled item among the first `count` has
/// run, and checks that none ran twice and no cancelled one ran.
fn check_all_fired(shared: &Shared, count: usize, cycle: usize) {
    let deadline = Instant::now() + FIRE_LIMIT;
    loop {
        let missing = shared.items[..count]
            .iter()
            .filter(|item| {
                item.fate.load(Ordering::SeqCst) == ACCEPTED
                    && item.runs.load(Ordering::SeqCst) == 0
            })
            .count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cycle {cycle}: {missing} accepted items never fired"
        );
        thread::sleep(Duration::from_millis(5));
    }
    check_at_most_once(shared, count, cycle);
}

fn check_at_most_once(shared: &Shared, count: usize, cycle: usize) {
    for (seq, item) in shared.items[..count].iter().enumerate() {
        let runs = item.runs.load(Ordering::SeqCst);
        assert!(runs <= 1, "cycle {cycle}: item {seq} ran {runs} times");
        if item.fate.load(Ordering::SeqCst) == CANCELLED {
            assert_eq!(
                runs, 0,
                "cycle {cycle}: item {seq} ran after its cancel said Ok"
            );
        }
        if item.fate.load(Ordering::SeqCst) == 0 {
            assert_eq!(runs, 0, "cycle {cycle}: refused item {seq} ran");
        }
    }
}

#[test]
fn timer_inbox_under_many_threads_across_shutdown_and_restart() {
    let _serial = serial();
    let rounds = rounds();
    for cycle in 0..CYCLES {
        // Enough sequence numbers for both phases' schedules.
        let shared = Shared::new(2 * THREADS * rounds);
        let platform = mfwq::Platform::start().expect("startup");

        // The quiet phase: the producers run, then stop; everything
        // accepted and not cancelled fires.
        let racing = Arc::new(AtomicBool::new(false));
        thread::scope(|scope| {
            for t in 0..THREADS {
                let (shared, racing) = (&shared, &racing);
                let seed = 0x9E37_79B9_7F4A_7C15 ^ ((cycle * THREADS + t) as u64 + 1);
                scope.spawn(move || produce(shared, seed, rounds, racing));
            }
        });
        let quiet = shared.next.load(Ordering::SeqCst).min(shared.items.len());
        check_all_fired(&shared, quiet, cycle);
        // The phase did what it is for: items fired, and cancels won races.
        let fate = |wanted| {
            shared.items[..quiet]
                .iter()
                .filter(|item| item.fate.load(Ordering::SeqCst) == wanted)
                .count()
        };
        assert!(fate(ACCEPTED) > 0 && fate(CANCELLED) > 0, "cycle {cycle}");

        // The racing phase: the last shutdown comes while they produce.
        racing.store(true, Ordering::SeqCst);
        thread::scope(|scope| {
            for t in 0..THREADS {
                let (shared, racing) = (&shared, &racing);
                let seed = 0x2545_F491_4F6C_DD1D ^ ((cycle * THREADS + t) as u64 + 1);
                scope.spawn(move || produce(shared, seed, rounds, racing));
            }
            thread::sleep(Duration::from_millis(20));
            drop(platform);
        });
        assert!(!mfwq::is_started());
        let total = shared.next.load(Ordering::SeqCst).min(shared.items.len());
        // After the shutdown nothing more runs: pending items are leaked.
        thread::sleep(Duration::from_millis(10));
        check_at_most_once(&shared, total, cycle);
    }
    assert_eq!(
        mfwq::schedule_work_item(mfwq::callback(|_| {}), None, Duration::ZERO).err(),
        Some(Error::Shutdown)
    );
}
