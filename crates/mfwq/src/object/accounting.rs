//! The platform lock count, in three parts (docs/behaviour.md#w8 to #w15), and the
//! result lock every [`AsyncResult`](crate::AsyncResult) holds.
//!
//! - `explicit`: `lock_platform` minus `unlock_platform`; survives shutdown and
//!   may go negative.
//! - `startup`: 1 while started.
//! - `results`: locks held by result objects. Windows keeps freed result
//!   objects in a cache *with their locks* while started, so this is the most
//!   results ever alive at once since startup; the cached ones are dropped at the
//!   last shutdown, and a result released while stopped unlocks at once.
//!
//! The cache is one word, `STARTED | epoch | cached`. Creating a result takes a
//! cached lock if there is one, else adds one to `results`; releasing one puts
//! its lock back (started) or removes it (stopped). Shutdown clears the word and
//! moves the epoch on.
//!
//! Worker threads release almost every result, and the thread that creates them
//! is usually another one; if both touched the word per item its cache line would
//! cross cores twice per item. So a worker collects its releases in a
//! thread-local batch and hands them over every [`RELEASE_BATCH`] releases, when
//! its queue runs empty, and when it exits. A batch remembers the epoch it
//! started in: if the platform stopped (or restarted) since, its locks are the
//! cached locks shutdown dropped, and they are removed instead of cached. At
//! every quiet point (a worker idle, shutdown returned) the count is exact.

use std::cell::Cell;

use crossbeam_utils::CachePadded;

use crate::error::Error;
use crate::sync::{AtomicI64, AtomicU64, Ordering};

const STARTED: u64 = 1 << 63;
const EPOCH_SHIFT: u32 = 40;
const EPOCH_MASK: u64 = ((1 << 23) - 1) << EPOCH_SHIFT;
const COUNT_MASK: u64 = (1 << EPOCH_SHIFT) - 1;

/// Releases a worker collects before handing them to the shared cache.
pub(crate) const RELEASE_BATCH: u64 = 64;

// Under loom these are built afresh for each execution of a model
// (`crate::sync::statics!`), so the worker hooks and this batching run in the
// scheduler's and serial queues' models (`work/loom_tests.rs`).
crate::sync::statics! {
    static EXPLICIT: CachePadded<AtomicI64> = CachePadded::new(AtomicI64::new(0));
    static STARTUP: AtomicI64 = AtomicI64::new(0);
    static RESULTS: CachePadded<AtomicI64> = CachePadded::new(AtomicI64::new(0));
    static CACHE: CachePadded<AtomicU64> = CachePadded::new(AtomicU64::new(0));
}

/// A worker's releases not yet handed to `CACHE`.
#[derive(Clone, Copy)]
struct Batch {
    /// The cache word's epoch bits when the batch started.
    epoch: u64,
    released: u64,
}

crate::sync::thread_locals! {
    /// `Some` on worker threads only: other threads release straight into `CACHE`.
    static WORKER_BATCH: Cell<Option<Batch>> = const { Cell::new(None) };
}

/// The lock count as Windows' probe measures it.
pub(crate) fn lock_count() -> i64 {
    EXPLICIT.load(Ordering::SeqCst)
        + STARTUP.load(Ordering::SeqCst)
        + RESULTS.load(Ordering::SeqCst)
}

/// Whether a startup is in force (its lock is held); readable under any lock.
#[inline]
pub(crate) fn is_started() -> bool {
    STARTUP.load(Ordering::SeqCst) > 0
}

/// The order of errors (docs/behaviour.md#d34): `error`, unless the platform
/// is not started, in which case [`Error::Shutdown`] wins. The one rule
/// behind `platform::ensure_started` and `platform::shutdown_first` (where
/// the order is written down, `platform/mod.rs`), kept here, on the count it
/// reads, so that the layers below the platform (a future's poll its queue
/// refused, `work/poll.rs`) apply the same rule.
#[inline]
pub(crate) fn shutdown_first(error: Error) -> Error {
    if is_started() {
        error
    } else {
        Error::Shutdown
    }
}

/// The explicit part (what makes the last shutdown wait).
pub(crate) fn explicit_locks() -> i64 {
    EXPLICIT.load(Ordering::SeqCst)
}

pub(crate) fn lock_platform() {
    EXPLICIT.fetch_add(1, Ordering::SeqCst);
}

/// Returns whether this released the last explicit lock.
pub(crate) fn unlock_platform() -> bool {
    EXPLICIT.fetch_sub(1, Ordering::SeqCst) == 1
}

/// The first startup: the startup lock, and results start being cached.
pub(crate) fn on_startup() {
    STARTUP.store(1, Ordering::SeqCst);
    CACHE.fetch_or(STARTED, Ordering::SeqCst);
}

/// The last shutdown: drop the startup lock and every cached result lock.
pub(crate) fn on_shutdown() {
    let mut word = CACHE.load(Ordering::SeqCst);
    loop {
        let next_epoch = (word & EPOCH_MASK).wrapping_add(1 << EPOCH_SHIFT) & EPOCH_MASK;
        match CACHE.compare_exchange_weak(word, next_epoch, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break,
            Err(actual) => word = actual,
        }
    }
    RESULTS.fetch_sub((word & COUNT_MASK) as i64, Ordering::SeqCst);
    STARTUP.store(0, Ordering::SeqCst);
}

/// Marks the calling thread as a worker: its releases are batched from now on.
pub(crate) fn enter_worker() {
    WORKER_BATCH.with(|batch| {
        batch.set(Some(Batch {
            epoch: 0,
            released: 0,
        }))
    });
}

/// Hands the calling worker's batch to the shared cache (see the module docs).
pub(crate) fn flush_worker_releases() {
    WORKER_BATCH.with(|cell| {
        if let Some(batch) = cell.get() {
            if batch.released > 0 {
                give_back(batch);
                cell.set(Some(Batch {
                    epoch: 0,
                    released: 0,
                }));
            }
        }
    });
}

/// Flushes and stops batching (the worker is exiting).
pub(crate) fn leave_worker() {
    flush_worker_releases();
    WORKER_BATCH.with(|batch| batch.set(None));
}

fn give_back(batch: Batch) {
    let mut word = CACHE.load(Ordering::Relaxed);
    loop {
        if word & STARTED == 0 || word & EPOCH_MASK != batch.epoch {
            RESULTS.fetch_sub(batch.released as i64, Ordering::SeqCst);
            return;
        }
        match CACHE.compare_exchange_weak(
            word,
            word + batch.released,
            Ordering::SeqCst,
            Ordering::Relaxed,
        ) {
            Ok(_) => return,
            Err(actual) => word = actual,
        }
    }
}

/// The platform lock a result object holds while it lives.
pub(crate) struct ResultLock(());

impl ResultLock {
    /// Reuses a cached lock if there is one, else takes a new one.
    pub(crate) fn acquire() -> ResultLock {
        let mut word = CACHE.load(Ordering::Relaxed);
        loop {
            if word & COUNT_MASK == 0 {
                RESULTS.fetch_add(1, Ordering::SeqCst);
                return ResultLock(());
            }
            match CACHE.compare_exchange_weak(word, word - 1, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => return ResultLock(()),
                Err(actual) => word = actual,
            }
        }
    }
}

impl ResultLock {
    /// Hands the lock to a result object that records it without a field
    /// (its kind says whether it holds one: `result/mod.rs`); that object
    /// gives it back with [`release_held`](Self::release_held).
    pub(crate) fn into_held(self) {
        std::mem::forget(self);
    }

    /// Releases a lock handed over with [`into_held`](Self::into_held).
    pub(crate) fn release_held() {
        drop(ResultLock(()));
    }
}

impl Drop for ResultLock {
    fn drop(&mut self) {
        let batched = WORKER_BATCH.with(|cell| {
            let Some(mut batch) = cell.get() else {
                return false;
            };
            if batch.released == 0 {
                batch.epoch = CACHE.load(Ordering::Relaxed) & EPOCH_MASK;
            }
            batch.released += 1;
            if batch.released >= RELEASE_BATCH {
                give_back(batch);
                batch.released = 0;
            }
            cell.set(Some(batch));
            true
        });
        if !batched {
            give_back(Batch {
                epoch: CACHE.load(Ordering::Relaxed) & EPOCH_MASK,
                released: 1,
            });
        }
    }
}

/// Serialises the unit tests that create results: the accounting is process-global.
#[cfg(test)]
pub(crate) fn test_serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    // One test walks through every case, under the unit-test lock.
    #[test]
    fn worker_batches_reach_the_cache_or_are_dropped_after_shutdown() {
        let _serial = test_serial();
        let base = lock_count();
        on_startup();
        let results: Vec<_> = (0..3).map(|_| ResultLock::acquire()).collect();
        assert_eq!(lock_count(), base + 1 + 3);
        let handle = std::thread::spawn(move || {
            enter_worker();
            drop(results);
            // Batched: nothing reached the cache yet, the count is unchanged.
            let cached_before_flush = CACHE.load(Ordering::SeqCst) & COUNT_MASK;
            flush_worker_releases();
            let cached_after_flush = CACHE.load(Ordering::SeqCst) & COUNT_MASK;
            leave_worker();
            (cached_before_flush, cached_after_flush)
        });
        assert_eq!(handle.join().unwrap(), (0, 3));
        assert_eq!(
            lock_count(),
            base + 1 + 3,
            "cached locks stay while started"
        );
        let reused = ResultLock::acquire();
        assert_eq!(lock_count(), base + 1 + 3, "a cached lock was reused");

        // A batch that outlives a shutdown is dropped, not cached.
        let held: Vec<_> = (0..2).map(|_| ResultLock::acquire()).collect();
        let (to_worker, in_worker) = std::sync::mpsc::channel::<Vec<ResultLock>>();
        let (batched, batched_rx) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            enter_worker();
            drop(in_worker.recv().unwrap());
            batched.send(()).unwrap();
            go_rx.recv().unwrap();
            leave_worker();
        });
        to_worker.send(held).unwrap();
        batched_rx.recv().unwrap();
        on_shutdown();
        on_startup();
        go.send(()).unwrap();
        worker.join().unwrap();
        drop(reused);
        on_shutdown();
        assert_eq!(
            lock_count(),
            base,
            "everything cached or batched is gone after shutdown"
        );
    }
}
