//! Shared helpers of the behaviour suite.
//!
//! The platform is a process-wide singleton, so every test takes [`serial`]
//! first: it serialises the tests of one binary (under `cargo test` they run on
//! parallel threads; under `cargo nextest` each runs in its own process, where
//! the lock is simply uncontended) and hands each test a platform that is fully
//! shut down, with the explicit platform-lock count balanced and no panic hook.

#![allow(dead_code)]

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mfwq::{Error, PanicReport, QueueId, QueueType};

/// The six platform queues.
pub const PLATFORM_QUEUES: [QueueId; 6] = [
    QueueId::STANDARD,
    QueueId::RT,
    QueueId::IO,
    QueueId::TIMER,
    QueueId::MULTITHREADED,
    QueueId::LONG_FUNCTION,
];

/// How long any single wait in the suite may take before the test fails.
/// Generous: nothing should come close to it; it only stops a broken core from hanging.
pub const WAIT: Duration = Duration::from_secs(5);

/// The shutdown timeout every test starts with (docs/behaviour.md#d1: small in tests).
pub const TEST_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(200);

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the suite-wide lock and resets the platform to "never started":
/// shuts it down completely, sets a small shutdown timeout, clears the panic
/// hook and undoes any explicit platform lock a previous test left behind.
pub fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    mfwq::clear_panic_hook();
    mfwq::set_shutdown_timeout(TEST_SHUTDOWN_TIMEOUT);
    let mut rounds = 0;
    while mfwq::is_started() {
        mfwq::shutdown().expect("shutdown is always Ok");
        rounds += 1;
        assert!(rounds < 1000, "the platform does not shut down");
    }
    // With the platform shut down, the lock count is the explicit locks plus
    // the results still alive. A straggler (a result a worker that called
    // shutdown on itself is still dropping) may need a moment; anything left
    // after that is an explicit imbalance: undo it.
    wait_until(Duration::from_millis(200), || {
        mfwq::platform_lock_count() == 0
    });
    let left = mfwq::platform_lock_count();
    for _ in 0..left.max(0) {
        mfwq::unlock_platform();
    }
    for _ in 0..(-left).max(0) {
        mfwq::lock_platform();
    }
    assert_eq!(mfwq::platform_lock_count(), 0, "lock balance restored");
    guard
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
/// Only for things the API offers no signal for (reference counts dropping
/// right after `invoke` returns, which even Windows races on).
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return condition();
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Receives one value, failing the test after [`WAIT`].
pub fn recv<T>(receiver: &Receiver<T>) -> T {
    match receiver.recv_timeout(WAIT) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("timed out after {WAIT:?} waiting for a callback"),
        Err(RecvTimeoutError::Disconnected) => panic!("the sender went away without sending"),
    }
}

/// Receives `n` values, failing the test after [`WAIT`] for any one of them.
pub fn recv_n<T>(receiver: &Receiver<T>, n: usize) -> Vec<T> {
    (0..n).map(|_| recv(receiver)).collect()
}

/// Asserts that nothing more arrives within `quiet`.
pub fn assert_nothing_more<T: std::fmt::Debug>(receiver: &Receiver<T>, quiet: Duration) {
    if let Ok(value) = receiver.recv_timeout(quiet) {
        panic!("unexpected extra message {value:?}");
    }
}

/// Installs a panic hook that forwards every report.
pub fn capture_panics() -> Receiver<PanicReport> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let sender = Mutex::new(sender);
    mfwq::set_panic_hook(move |report| {
        let _ = sender.lock().unwrap().send(report.clone());
    });
    receiver
}

/// Puts one item on `queue` and waits for it to run.
pub fn assert_put_runs(queue: QueueId) {
    let (sender, receiver) = std::sync::mpsc::channel();
    mfwq::put_work_item(
        queue,
        mfwq::callback(move |_| sender.send(()).unwrap()),
        None,
    )
    .unwrap();
    recv(&receiver);
}

/// Waits for an event, failing the test after [`WAIT`].
pub fn wait_event(event: &mfwq::Event, what: &str) {
    assert!(event.wait(Some(WAIT)), "timed out waiting for {what}");
}

/// Windows' own measurement of the platform lock count (docs/behaviour.md#lock-count):
/// unlock the platform and try to allocate a queue (unlocking it at once)
/// until allocation fails with `MF_E_SHUTDOWN`; the number of unlocks is the
/// count. Then lock the same number of times. Meaningful while started.
pub fn probe_lock_count() -> i64 {
    let mut unlocks = 0i64;
    loop {
        mfwq::unlock_platform();
        unlocks += 1;
        match mfwq::allocate_work_queue(QueueType::Standard) {
            Ok(queue) => mfwq::unlock_work_queue(queue).expect("unlock a fresh queue"),
            Err(Error::Shutdown) => break,
            Err(other) => panic!("probe: unexpected allocation error {other:?}"),
        }
        assert!(unlocks < 100_000, "probe does not terminate");
    }
    for _ in 0..unlocks {
        mfwq::lock_platform();
    }
    unlocks
}

/// Sends `()` when dropped: tells a test that a value (a state, an object) was released.
pub struct DropSignal(pub std::sync::mpsc::Sender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// Tracks how many closures run at once, and the most ever seen.
#[derive(Default)]
pub struct Concurrency {
    now: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

impl Concurrency {
    /// Marks entry; the returned guard marks exit.
    pub fn enter(&self) -> ConcurrencyGuard<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        ConcurrencyGuard(self)
    }

    /// The most closures ever seen running at once.
    pub fn max(&self) -> usize {
        self.max.load(std::sync::atomic::Ordering::SeqCst)
    }
}

pub struct ConcurrencyGuard<'a>(&'a Concurrency);

impl Drop for ConcurrencyGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Stands for a little work inside a callback, so that runs that wrongly
/// overlapped would overlap in time (never used to synchronise).
pub fn busy(duration: Duration) {
    std::thread::sleep(duration);
}

/// A small deterministic generator (xorshift64), so the tests need no crate.
pub struct Rng(pub u64);

impl Rng {
    /// The next value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
