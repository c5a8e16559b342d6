//! The loom facade: the scheduler's synchronisation types come from here, so the
//! same code runs on `std` normally and under `loom` model checking
//! (`RUSTFLAGS="--cfg loom" cargo test -p mfwq --lib --release loom`).

#[cfg(loom)]
pub(crate) use loom::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Condvar, Mutex, MutexGuard,
    },
    thread,
};

// Reference counting is not part of any protocol loom checks here, and the
// queues are shared with code outside the facade (platform, registry) and
// used as `self: &Arc<Self>`, which loom's Arc cannot be: std's Arc under loom too.
#[cfg(loom)]
pub(crate) use std::sync::Arc;

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
