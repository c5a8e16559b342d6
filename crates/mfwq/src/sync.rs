//! The loom facade: the scheduler's synchronisation types come from here, so the
//! same code runs on `std` normally and under `loom` model checking
//! (`RUSTFLAGS="--cfg loom" cargo test -p mfwq --lib --release loom`).

#[cfg(loom)]
pub(crate) use loom::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Condvar, Mutex, MutexGuard,
    },
    thread,
};

#[cfg(not(loom))]
pub(crate) use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Condvar, Mutex, MutexGuard,
    },
    thread,
};

/// Locks, ignoring poisoning: no platform lock is ever held while user code runs,
/// so a poisoned lock only means a panic inside our own short critical section,
/// whose data is still consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
