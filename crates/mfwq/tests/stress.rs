//! Stress: many producers, platform and private queues, queues allocated and
//! unlocked under the producers' feet, and the platform shut down while they
//! are still putting — over several startup → work → shutdown cycles.
//!
//! Every item has a unique sequence number. For each one the test records
//! whether its put was accepted or refused (and with which error), and counts
//! how often it ran in a preallocated per-item `AtomicU8`. The contract
//! checked:
//!
//! - an accepted item runs exactly once, and has run by the time the last
//!   `shutdown` returns;
//! - a refused item never runs, and was refused with `Shutdown` or, for a
//!   private queue id only, `InvalidWorkQueue`;
//! - no private queue outlives a shutdown: after the restart the previous
//!   cycle's private ids are `InvalidWorkQueue`;
//! - restart after a full shutdown works, and the platform ends shut down.
//!
//! `MFWQ_STRESS_ITEMS` sets the number of items (default 1,000,000), spread
//! over `CYCLES` cycles and `PRODUCERS` producer threads per cycle.
//!
//! Two narrower tests aim at races the big one hits only by chance: a private
//! queue allocated while the last shutdown runs (its id must die with the
//! platform), and a private queue unlocked while it runs (its backlog must
//! still be drained and its thread joined before `shutdown` returns). Both
//! caught real core bugs, since fixed; `MFWQ_STRESS_RACES` sets their rounds.
//!
//! The platform is a process-wide singleton, so every test here takes
//! `SERIAL` first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mfwq::{Error, QueueId, QueueType};

const DEFAULT_ITEMS: usize = 1_000_000;
const ITEMS_ENV: &str = "MFWQ_STRESS_ITEMS";
/// Rounds of the two race tests.
const RACES_ENV: &str = "MFWQ_STRESS_RACES";
const CYCLES: usize = 6;
const PRODUCERS: usize = 4;
/// Private queues alive at once for the producers to put to.
const PRIVATE_SLOTS: usize = 2;
/// How long the allocator keeps a private queue before replacing and unlocking it.
const PRIVATE_QUEUE_LIFETIME: Duration = Duration::from_millis(1);
/// Progress (attempted / cycle items) at which each cycle shuts down.
const SHUTDOWN_AT: [f64; CYCLES] = [0.90, 0.75, 0.95, 0.60, 0.85, 0.99];
/// Producers report progress in batches of this many items.
const PROGRESS_BATCH: usize = 256;
/// At most this many violations are kept for the failure message.
const MAX_REPORTED: usize = 40;

/// Per-item outcome, low bits.
const UNTRIED: u8 = 0;
const ACCEPTED: u8 = 1;
const REFUSED_SHUTDOWN: u8 = 2;
const REFUSED_INVALID: u8 = 3;
const REFUSED_OTHER: u8 = 4;
/// Per-item outcome flag: the item was put to a private queue id.
const PRIVATE: u8 = 0x80;

struct Shared {
    /// How many times each item ran.
    runs: Vec<AtomicU8>,
    /// `outcome | PRIVATE?` of each item's put.
    outcomes: Vec<AtomicU8>,
    /// The private queues producers put to now (0: none yet).
    private_ids: [AtomicU32; PRIVATE_SLOTS],
    /// Items attempted in the current cycle (in batches).
    attempted: AtomicUsize,
    /// Set by the main thread to stop the allocator at the end of a cycle.
    cycle_over: AtomicBool,
    violations: Mutex<Violations>,
}

#[derive(Default)]
struct Violations {
    count: usize,
    messages: Vec<String>,
}

impl Shared {
    fn violation(&self, message: String) {
        let mut violations = self.violations.lock().unwrap();
        violations.count += 1;
        if violations.messages.len() < MAX_REPORTED {
            violations.messages.push(message);
        }
    }
}

/// Held by each test of this file: the platform is one per process.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Shuts the platform down however the test ends.
struct PlatformDown;

impl Drop for PlatformDown {
    fn drop(&mut self) {
        while mfwq::is_started() {
            let _ = mfwq::shutdown();
        }
    }
}

fn items_from_env() -> usize {
    match std::env::var(ITEMS_ENV) {
        Ok(value) => value
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{ITEMS_ENV}={value:?} is not a number")),
        Err(_) => DEFAULT_ITEMS,
    }
}

fn outcome_of(result: mfwq::Result<()>, private: bool) -> (u8, Option<Error>) {
    let code = match result {
        Ok(()) => ACCEPTED,
        Err(Error::Shutdown) => REFUSED_SHUTDOWN,
        Err(Error::InvalidWorkQueue) => REFUSED_INVALID,
        Err(_) => REFUSED_OTHER,
    };
    let flag = if private { PRIVATE } else { 0 };
    (code | flag, result.err())
}

/// Puts items `range` of the current cycle: spread over MULTITHREADED,
/// STANDARD and the current private queues, some through `put_work_item`
/// (callback + state carrying the sequence number), some through `spawn`.
fn produce(shared: Arc<Shared>, range: std::ops::Range<usize>) {
    let counter = Arc::clone(&shared);
    let callback = mfwq::callback(move |result| {
        let seq = *result
            .state_as::<usize>()
            .expect("every item's state is its sequence number");
        counter.runs[seq].fetch_add(1, Ordering::AcqRel);
    });
    let mut batch = 0;
    for seq in range {
        let (queue, private) = match seq % 10 {
            0..=2 => (QueueId::MULTITHREADED, false),
            3 | 4 => (QueueId::STANDARD, false),
            _ => match shared.private_ids[(seq / 10) % PRIVATE_SLOTS].load(Ordering::Acquire) {
                0 => (QueueId::MULTITHREADED, false),
                id => (QueueId(id), true),
            },
        };
        let result = if seq % 4 == 0 {
            let counter = Arc::clone(&shared);
            mfwq::spawn(queue, move || {
                counter.runs[seq].fetch_add(1, Ordering::AcqRel);
            })
        } else {
            mfwq::put_work_item(queue, callback.clone(), Some(Arc::new(seq)))
        };
        let (outcome, error) = outcome_of(result, private);
        if outcome & !PRIVATE == REFUSED_OTHER {
            shared.violation(format!(
                "item {seq} on {queue}: refused with unexpected {error:?}"
            ));
        }
        shared.outcomes[seq].store(outcome, Ordering::Release);
        batch += 1;
        if batch == PROGRESS_BATCH {
            shared.attempted.fetch_add(batch, Ordering::Relaxed);
            batch = 0;
        }
    }
    shared.attempted.fetch_add(batch, Ordering::Relaxed);
}

/// Allocates private queues (standard and multithreaded in turn), publishes
/// them to the producers and unlocks the one each replaces, until the cycle is
/// over. Returns every id it was given.
fn allocate_and_unlock(shared: Arc<Shared>) -> Vec<QueueId> {
    let mut allocated = Vec::new();
    let mut turn = 0usize;
    let unlock = |id: u32| match mfwq::unlock_work_queue(QueueId(id)) {
        // Shutdown: the platform went down first and took the queue with it.
        Ok(()) | Err(Error::Shutdown) => {}
        Err(error) => shared.violation(format!(
            "unlock_work_queue({}) failed with {error:?}",
            QueueId(id)
        )),
    };
    while !shared.cycle_over.load(Ordering::Acquire) {
        let kind = if turn % 2 == 0 {
            QueueType::Standard
        } else {
            QueueType::Multithreaded
        };
        match mfwq::allocate_work_queue(kind) {
            Ok(id) => {
                allocated.push(id);
                let old = shared.private_ids[turn % PRIVATE_SLOTS].swap(id.0, Ordering::AcqRel);
                if old != 0 {
                    unlock(old);
                }
                turn += 1;
            }
            Err(Error::Shutdown) => {}
            Err(error) => shared.violation(format!("allocate_work_queue failed with {error:?}")),
        }
        thread::sleep(PRIVATE_QUEUE_LIFETIME);
    }
    for slot in &shared.private_ids {
        let old = slot.swap(0, Ordering::AcqRel);
        if old != 0 {
            unlock(old);
        }
    }
    allocated
}

/// Items accepted in `range` must all have run once by the time the last
/// shutdown has returned. Items whose outcome is not recorded yet are skipped
/// (their put may still be returning).
fn check_drained_at_shutdown(shared: &Shared, range: std::ops::Range<usize>, cycle: usize) {
    for seq in range {
        let outcome = shared.outcomes[seq].load(Ordering::Acquire);
        if outcome & !PRIVATE == ACCEPTED {
            let runs = shared.runs[seq].load(Ordering::Acquire);
            if runs != 1 {
                shared.violation(format!(
                    "cycle {cycle}: item {seq} (private: {}) accepted but had run {runs} times \
                     when the last shutdown returned",
                    outcome & PRIVATE != 0
                ));
            }
        }
    }
}

/// The full check of one item, once nothing can run any more.
fn check_item(shared: &Shared, seq: usize, tally: &mut HashMap<&'static str, usize>) {
    let outcome = shared.outcomes[seq].load(Ordering::Acquire);
    let runs = shared.runs[seq].load(Ordering::Acquire);
    let private = outcome & PRIVATE != 0;
    let (label, expected_runs) = match (outcome & !PRIVATE, private) {
        (ACCEPTED, false) => ("accepted (platform queue)", 1),
        (ACCEPTED, true) => ("accepted (private queue)", 1),
        (REFUSED_SHUTDOWN, _) => ("refused: Shutdown", 0),
        (REFUSED_INVALID, true) => ("refused: InvalidWorkQueue (private)", 0),
        (REFUSED_INVALID, false) => {
            shared.violation(format!("item {seq}: InvalidWorkQueue for a platform queue"));
            ("refused: InvalidWorkQueue (platform!)", 0)
        }
        (REFUSED_OTHER, _) => ("refused: other error", 0),
        (UNTRIED, _) => {
            shared.violation(format!("item {seq}: never put"));
            ("never put", 0)
        }
        (other, _) => unreachable!("outcome code {other}"),
    };
    *tally.entry(label).or_default() += 1;
    if runs != expected_runs {
        shared.violation(format!(
            "item {seq}: {label} but ran {runs} times (expected {expected_runs})"
        ));
    }
}

#[test]
fn stress_put_across_shutdown_and_restart() {
    let _serial = serial();
    let items = items_from_env();
    assert!(items >= CYCLES * PRODUCERS, "{ITEMS_ENV} too small");
    let started_at = Instant::now();
    let _down = PlatformDown;
    mfwq::set_shutdown_timeout(Duration::from_secs(2));
    assert!(!mfwq::is_started(), "another test started the platform");

    let shared = Arc::new(Shared {
        runs: (0..items).map(|_| AtomicU8::new(0)).collect(),
        outcomes: (0..items).map(|_| AtomicU8::new(UNTRIED)).collect(),
        private_ids: std::array::from_fn(|_| AtomicU32::new(0)),
        attempted: AtomicUsize::new(0),
        cycle_over: AtomicBool::new(false),
        violations: Mutex::new(Violations::default()),
    });
    let mut last_ids: Vec<QueueId> = Vec::new();
    let mut allocated_total = 0;
    let per_cycle = items / CYCLES;

    for (cycle, shutdown_at) in SHUTDOWN_AT.iter().enumerate() {
        let start = cycle * per_cycle;
        let end = if cycle + 1 == CYCLES {
            items
        } else {
            start + per_cycle
        };
        let cycle_items = end - start;

        mfwq::startup(mfwq::MF_VERSION).expect("startup (restart after a full shutdown)");
        assert!(mfwq::is_started());

        // Private ids from before the last shutdown must stay dead after the restart.
        for &id in &last_ids {
            let result = mfwq::spawn(id, || {});
            if result != Err(Error::InvalidWorkQueue) {
                shared.violation(format!(
                    "cycle {cycle}: put to {id}, a private id of the previous cycle, gave \
                     {result:?} after the restart (expected InvalidWorkQueue)"
                ));
            }
        }

        shared.attempted.store(0, Ordering::Relaxed);
        shared.cycle_over.store(false, Ordering::Release);
        let allocator = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("stress-allocator".into())
                .spawn(move || allocate_and_unlock(shared))
                .unwrap()
        };
        let chunk = cycle_items.div_ceil(PRODUCERS);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let shared = Arc::clone(&shared);
                let from = (start + p * chunk).min(end);
                let to = (from + chunk).min(end);
                thread::Builder::new()
                    .name(format!("stress-producer-{p}"))
                    .spawn(move || produce(shared, from..to))
                    .unwrap()
            })
            .collect();

        // Shut down while the producers are still putting.
        let threshold = (cycle_items as f64 * shutdown_at) as usize;
        while shared.attempted.load(Ordering::Relaxed) < threshold
            && !producers.iter().all(|p| p.is_finished())
        {
            thread::sleep(Duration::from_micros(200));
        }
        let attempted_before = shared.attempted.load(Ordering::Relaxed);
        let shutdown_started = Instant::now();
        mfwq::shutdown().expect("shutdown");
        let shutdown_took = shutdown_started.elapsed();
        assert!(!mfwq::is_started());
        check_drained_at_shutdown(&shared, start..end, cycle);
        let attempted_at_shutdown = shared.attempted.load(Ordering::Relaxed);

        for producer in producers {
            producer.join().expect("producer panicked");
        }
        shared.cycle_over.store(true, Ordering::Release);
        let allocated = allocator.join().expect("allocator panicked");
        allocated_total += allocated.len();
        if mfwq::private_queue_count() != 0 {
            shared.violation(format!(
                "cycle {cycle}: {} private queues alive after the shutdown",
                mfwq::private_queue_count()
            ));
        }
        eprintln!(
            "stress cycle {cycle}: {cycle_items} items; shutdown began after ~{attempted_before} \
             were put and took {shutdown_took:?} (~{attempted_at_shutdown} put by then); \
             {} private queues allocated",
            allocated.len()
        );
        last_ids = allocated;
    }

    // Nothing may run any more: the platform is down and every thread joined.
    assert!(!mfwq::is_started());
    for &id in &last_ids {
        assert_eq!(mfwq::spawn(id, || {}), Err(Error::Shutdown));
    }
    let mut tally = HashMap::new();
    for seq in 0..items {
        check_item(&shared, seq, &mut tally);
    }
    let mut tally: Vec<_> = tally.into_iter().collect();
    tally.sort();
    eprintln!(
        "stress: {items} items in {:?}, {allocated_total} private queues; {tally:?}",
        started_at.elapsed()
    );
    let accepted: usize = tally
        .iter()
        .filter(|(label, _)| label.starts_with("accepted"))
        .map(|(_, n)| n)
        .sum();
    let violations = shared.violations.lock().unwrap();
    assert!(
        violations.count == 0,
        "{} violations, first {}:\n{}",
        violations.count,
        violations.messages.len(),
        violations.messages.join("\n")
    );
    assert!(accepted > 0, "nothing was accepted");
}

fn races_from_env(default: usize) -> usize {
    match std::env::var(RACES_ENV) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{RACES_ENV}={value:?} is not a number")),
        Err(_) => default,
    }
}

/// An unlock that closes a private queue while the last shutdown runs: the
/// item already running on that queue must have finished when `shutdown`
/// returns, since the last shutdown runs every accepted item and joins every
/// queue thread first.
///
/// Regression test. `unlock_work_queue` used to take the queue out of the
/// registry under the epoch read lock but close it and hand it to `retire`
/// only after releasing that lock; a shutdown that took the epoch in between
/// found the queue neither in the registry nor in `retired`, and returned
/// while its thread was still running its backlog (about 3% of these rounds
/// on a 2-core machine). Fixed in 11aa066 by retiring under the epoch lock.
///
/// Both sides start together from a spin (a futex barrier's wake-up jitter
/// is far wider than the race window), then wait a swept number of spins, so
/// that the unlock slides across the shutdown.
#[test]
fn unlock_racing_shutdown_runs_queued_items_before_shutdown_returns() {
    let _serial = serial();
    let _down = PlatformDown;
    let rounds = races_from_env(1000);
    let mut escaped = Vec::new();
    let mut unlock_first = 0;
    for round in 0..rounds {
        mfwq::startup(mfwq::MF_VERSION).unwrap();
        let queue = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        mfwq::spawn(queue, move || {
            thread::sleep(Duration::from_millis(1));
            counter.fetch_add(1, Ordering::AcqRel);
        })
        .unwrap();
        let unlock_delay = (round % 31) * 8;
        let shutdown_delay = ((round / 31) % 13) * 20;
        let ready = Arc::new(AtomicBool::new(false));
        let go = Arc::new(AtomicBool::new(false));
        let unlocker = {
            let ready = Arc::clone(&ready);
            let go = Arc::clone(&go);
            thread::spawn(move || {
                ready.store(true, Ordering::Release);
                while !go.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                for _ in 0..unlock_delay {
                    std::hint::spin_loop();
                }
                mfwq::unlock_work_queue(queue)
            })
        };
        while !ready.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        go.store(true, Ordering::Release);
        for _ in 0..shutdown_delay {
            std::hint::spin_loop();
        }
        mfwq::shutdown().unwrap();
        if ran.load(Ordering::Acquire) != 1 {
            escaped.push(round);
        }
        match unlocker.join().unwrap() {
            Ok(()) => unlock_first += 1,
            Err(Error::Shutdown) => {}
            Err(error) => panic!("unlock_work_queue({queue}): {error:?}"),
        }
    }
    eprintln!(
        "unlock vs shutdown: {rounds} rounds, unlock first in {unlock_first}, \
         shutdown returned early in {}",
        escaped.len()
    );
    assert!(
        escaped.is_empty(),
        "in {} of {rounds} rounds (e.g. {:?}) shutdown returned while an item accepted on a \
         queue being unlocked had not run yet",
        escaped.len(),
        &escaped[..escaped.len().min(10)]
    );
}

/// Private queues allocated while the last shutdown runs must die with it:
/// after a restart their ids are `InvalidWorkQueue` and no private queue is
/// left over.
///
/// Regression test. `allocate` used to check that the platform runs and then
/// allocate without the epoch lock, so an allocation could reserve its slot
/// before the last shutdown's `registry.drain()` and install the queue after
/// it: `drain` had put the still-empty slot back on the free list, so the id
/// survived the shutdown, took work again after a restart, and its slot was
/// both live and free (a later allocation would overwrite the entry and drop a
/// queue that was never closed). About a quarter of these rounds hit it.
/// Fixed in 11aa066 (`allocate_if_running` allocates under the epoch lock).
#[test]
fn allocate_racing_shutdown_leaves_no_live_private_queue() {
    let _serial = serial();
    let _down = PlatformDown;
    let rounds = races_from_env(500);
    let mut survivors = Vec::new();
    let mut left_over = Vec::new();
    for round in 0..rounds {
        mfwq::startup(mfwq::MF_VERSION).unwrap();
        let allocator = thread::spawn(|| {
            let mut ids = Vec::new();
            loop {
                match mfwq::allocate_work_queue(QueueType::Standard) {
                    Ok(id) => {
                        ids.push(id);
                        // Ok, or Shutdown if the platform went first.
                        let _ = mfwq::unlock_work_queue(id);
                    }
                    Err(Error::Shutdown) => return ids,
                    Err(error) => panic!("allocate_work_queue: {error:?}"),
                }
            }
        });
        thread::sleep(Duration::from_micros(200));
        mfwq::shutdown().unwrap();
        let ids = allocator.join().unwrap();
        if mfwq::private_queue_count() != 0 {
            left_over.push((round, mfwq::private_queue_count()));
        }
        mfwq::startup(mfwq::MF_VERSION).unwrap();
        for id in ids {
            match mfwq::spawn(id, || {}) {
                Err(Error::InvalidWorkQueue) => {}
                other => survivors.push((round, id, other)),
            }
        }
        mfwq::shutdown().unwrap();
    }
    eprintln!(
        "allocate vs shutdown: {rounds} rounds, {} ids survived the restart, \
         {} rounds left private queues counted",
        survivors.len(),
        left_over.len()
    );
    assert!(
        survivors.is_empty() && left_over.is_empty(),
        "private queues outlived the shutdown: ids that still took work after the restart \
         (round, id, put result): {:?}; rounds with private_queue_count() > 0 after \
         shutdown: {:?}",
        &survivors[..survivors.len().min(10)],
        &left_over[..left_over.len().min(10)]
    );
}
