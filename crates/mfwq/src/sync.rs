//! The loom facade: every synchronisation primitive a protocol of this crate
//! uses comes from here, so the code that runs is the code `loom` model-checks
//! (`ci/loom.sh`: `RUSTFLAGS="--cfg mfwq_loom" cargo test -p mfwq --lib --release loom`),
//! as tokio does with its `crate::loom` module. Outside loom every name below is
//! a plain re-export (or a `#[inline]` newtype with no state of its own) of the
//! type the code used before the facade existed, so the normal build compiles
//! to exactly those types: no indirection on any hot path.
//!
//! What it covers, and what each name is outside / under loom:
//!
//! - atomics: `AtomicBool`, `AtomicU8`, `AtomicU32`, `AtomicU64`, `AtomicI64`,
//!   `AtomicUsize`, `AtomicPtr`, `Ordering`, `fence` — `std::sync::atomic` / loom's;
//! - `Mutex`, `MutexGuard`, `Condvar` and [`lock`] — `std::sync` (the
//!   scheduler uses std's, with poisoning ignored by `lock`) /
//!   loom's;
//! - [`pi`]: the same interface as `parking` below — a priority-inheriting
//!   pthread mutex and its condition variable on Linux (the scheduler's
//!   parking lock, the timer's state) / `parking`'s (off Linux, under loom
//!   and under Miri);
//! - [`parking`]: `Mutex`, `MutexGuard` (with `MutexGuard::unlocked`),
//!   `Condvar` (`wait`, `wait_until`) — `parking_lot` (events, the
//!   scheduler's worker-exit signal, a serial queue's state: see
//!   `work/serial.rs`) / a thin adapter over loom's mutex and
//!   condition variable with parking_lot's API (no poisoning, `&mut guard`
//!   waits);
//! - [`thread`]: `spawn`, `Builder`, `JoinHandle`, `Thread`, `current`,
//!   `park`, `park_timeout`, `yield_now`, and the bounded join
//!   [`thread::join_until`] — `std::thread` / `loom::thread`;
//! - [`cell::UnsafeCell`] with loom's closure API (`with_mut`) — a newtype over
//!   `std::cell::UnsafeCell` / loom's, which checks the accesses;
//! - [`thread_locals!`] — `std::thread_local!` (a `const` initialiser kept) /
//!   `loom::thread_local!` (per loom thread: loom runs all its threads on one
//!   OS thread, so std's thread-locals would be shared between them);
//! - [`statics!`] — plain `static`s / `loom::lazy_static!` (fresh for every
//!   execution of a model: a loom atomic cannot be built in a `const`).
//!
//! **Timed waits under loom.** Loom has no clock: a timed wait
//! (`parking::Condvar::wait_until`, std's `Condvar::wait_timeout`,
//! `thread::park_timeout`, `thread::join_until`) is an *untimed* wait there:
//! it never times out and returns only when notified (or joined). That is the
//! conservative reading: a protocol that needs a timeout to make progress —
//! a lost wake-up hidden by a timer — deadlocks in the model, and loom reports
//! it. Models therefore use no timeouts, or deadlines so far away that only a
//! notification can end the wait. `Instant::now()` is the real clock in both
//! builds; deadlines already passed are simply due.
//!
//! **`Arc`** is `std::sync::Arc` in both builds: reference counting is not part
//! of any protocol checked here, and the queues and timers are used as
//! `self: &Arc<Self>` and shared with code outside the models, which loom's
//! `Arc` cannot be.
//!
//! **Documented boundaries** (kept outside loom, each behind one cfg where it
//! starts): in the scheduler's models the bands are a mutex `VecDeque`
//! instead of the lock-free band queue, which has models of its own
//! (`sched/bands.rs` says why); a worker's
//! slot (its thread id, thread policy and what it runs, `sched/mod.rs`:
//! `gettid`, `sched_setattr`, and `Invocation`'s bounded wait on the slot's
//! counts, whose "Invoke returned" mark is only a hint for how long to wait:
//! nothing is read through it, and what the wait promises rests on the
//! release/acquire of the finished count alone) is not made under loom; the result memory recycler and the platform's own
//! locks (`platform/`, `registry`, `recycle`, `realtime/`) use parking_lot
//! directly and are not modelled.
//!
//! The Rust API's own hand-offs use the facade too: a join handle's task
//! (`api/join.rs`: state word, result cell, waker slot, the joining thread's
//! park) and a scope's items (`api/scope.rs`: claim, pending
//! count, the owner's park), each with its models beside it
//! (`api/join_loom_tests.rs`, `api/scope_loom_tests.rs`).

// The whole set, whether or not every build uses each name today.
#[allow(unused_imports)]
#[cfg(mfwq_loom)]
pub(crate) use loom::sync::{
    atomic::{
        fence, AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
        Ordering,
    },
    Condvar, Mutex, MutexGuard,
};

#[allow(unused_imports)]
#[cfg(not(mfwq_loom))]
pub(crate) use std::sync::{
    atomic::{
        fence, AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
        Ordering,
    },
    Condvar, Mutex, MutexGuard,
};

/// `std::sync::Arc` in both builds (see the module docs).
pub(crate) use std::sync::Arc;

pub(crate) mod pi;

/// Runs a loom model with `LOOM_MAX_PREEMPTIONS`, or a bound of 2 if unset,
/// so that a bare `cargo test` under `--cfg mfwq_loom` still finishes. Every
/// model file uses this one.
#[cfg(all(test, mfwq_loom))]
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Locks, ignoring poisoning: no platform lock is ever held while user code runs,
/// so a poisoned lock only means a panic inside our own short critical section,
/// whose data is still consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps `current` in `slot` for a later wake-up: a clone, unless the stored
/// waker wakes the same task already (the usual case from the second poll
/// of a future on).
pub(crate) fn store_waker(slot: &mut Option<std::task::Waker>, current: &std::task::Waker) {
    match slot {
        Some(stored) if stored.will_wake(current) => {}
        slot => *slot = Some(current.clone()),
    }
}

/// parking_lot's mutex and condition variable: parking_lot itself outside
/// loom; under loom an adapter with the same API over loom's.
pub(crate) mod parking {
    #[cfg(not(mfwq_loom))]
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};

    #[cfg(mfwq_loom)]
    pub(crate) use self::model::{Condvar, Mutex, MutexGuard};

    #[cfg(mfwq_loom)]
    mod model {
        use std::ops::{Deref, DerefMut};
        use std::sync::PoisonError;
        use std::time::Instant;

        /// parking_lot's `Mutex` API over loom's (no poisoning).
        #[derive(Default)]
        pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

        /// A guard that can be given up and taken back in place (`&mut`
        /// waits, [`MutexGuard::unlocked`]), as parking_lot's can.
        pub(crate) struct MutexGuard<'a, T> {
            mutex: &'a Mutex<T>,
            guard: Option<loom::sync::MutexGuard<'a, T>>,
        }

        impl<T> Mutex<T> {
            pub(crate) fn new(value: T) -> Mutex<T> {
                Mutex(loom::sync::Mutex::new(value))
            }

            pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
                MutexGuard {
                    mutex: self,
                    guard: Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)),
                }
            }
        }

        impl<T> MutexGuard<'_, T> {
            /// Runs `f` with the mutex released, then takes it again.
            pub(crate) fn unlocked<U>(guard: &mut Self, f: impl FnOnce() -> U) -> U {
                drop(guard.guard.take());
                let value = f();
                guard.guard = Some(guard.mutex.0.lock().unwrap_or_else(PoisonError::into_inner));
                value
            }
        }

        impl<T> Deref for MutexGuard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                self.guard.as_deref().expect("the guard holds the lock")
            }
        }

        impl<T> DerefMut for MutexGuard<'_, T> {
            fn deref_mut(&mut self) -> &mut T {
                self.guard.as_deref_mut().expect("the guard holds the lock")
            }
        }

        /// parking_lot's `Condvar` API over loom's.
        #[derive(Default)]
        pub(crate) struct Condvar(loom::sync::Condvar);

        /// What [`Condvar::wait_until`] returns: under loom it never times out.
        pub(crate) struct WaitTimeoutResult;

        impl WaitTimeoutResult {
            pub(crate) fn timed_out(&self) -> bool {
                false
            }
        }

        impl Condvar {
            pub(crate) fn new() -> Condvar {
                Condvar(loom::sync::Condvar::new())
            }

            pub(crate) fn notify_one(&self) {
                self.0.notify_one();
            }

            pub(crate) fn notify_all(&self) {
                self.0.notify_all();
            }

            pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
                let inner = guard.guard.take().expect("the guard holds the lock");
                guard.guard = Some(self.0.wait(inner).unwrap_or_else(PoisonError::into_inner));
            }

            /// An untimed wait: loom has no clock (see the module docs).
            pub(crate) fn wait_until<T>(
                &self,
                guard: &mut MutexGuard<'_, T>,
                _deadline: Instant,
            ) -> WaitTimeoutResult {
                self.wait(guard);
                WaitTimeoutResult
            }
        }
    }
}

/// Threads: `std::thread` outside loom, `loom::thread` under it.
pub(crate) mod thread {
    use std::time::{Duration, Instant};

    #[cfg(mfwq_loom)]
    pub(crate) use self::parker::{current, park, Thread};
    #[allow(unused_imports)]
    #[cfg(mfwq_loom)]
    pub(crate) use loom::thread::{spawn, yield_now, Builder, JoinHandle};

    /// Under loom, `park`/`unpark` are a per-thread token under a loom mutex
    /// and condition variable, not loom's own: loom 0.7's `unpark` makes a
    /// thread runnable even while it is blocked on a mutex, which then fails
    /// loom's lock assertion ("expected to be able to acquire lock"). The
    /// semantics are std's: an unpark before the park is kept as a token.
    #[cfg(mfwq_loom)]
    mod parker {
        use loom::sync::{Condvar, Mutex};
        use std::sync::Arc;

        #[derive(Default)]
        struct Token {
            unparked: Mutex<bool>,
            changed: Condvar,
        }

        loom::thread_local! {
            static TOKEN: Arc<Token> = Arc::new(Token::default());
        }

        /// A thread handle: its id and its park token.
        #[derive(Clone)]
        pub(crate) struct Thread {
            inner: loom::thread::Thread,
            token: Arc<Token>,
        }

        impl Thread {
            pub(crate) fn id(&self) -> loom::thread::ThreadId {
                self.inner.id()
            }

            pub(crate) fn unpark(&self) {
                *self.token.unparked.lock().unwrap() = true;
                self.token.changed.notify_one();
            }
        }

        pub(crate) fn current() -> Thread {
            Thread {
                inner: loom::thread::current(),
                token: TOKEN.with(Arc::clone),
            }
        }

        pub(crate) fn park() {
            TOKEN.with(|token| {
                let mut unparked = token.unparked.lock().unwrap();
                while !*unparked {
                    unparked = token.changed.wait(unparked).unwrap();
                }
                *unparked = false;
            });
        }
    }
    #[allow(unused_imports)]
    #[cfg(not(mfwq_loom))]
    pub(crate) use std::thread::{current, park, spawn, yield_now, Builder, JoinHandle, Thread};

    /// `park_timeout`; under loom an untimed `park` (see the module docs).
    #[inline]
    pub(crate) fn park_timeout(timeout: Duration) {
        #[cfg(not(mfwq_loom))]
        std::thread::park_timeout(timeout);
        #[cfg(mfwq_loom)]
        {
            let _ = timeout;
            park();
        }
    }

    /// Joins `handle` if its thread finishes by `deadline`; otherwise hands
    /// the handle back (the thread is left running). Under loom an untimed
    /// join (see the module docs).
    pub(crate) fn join_until<T>(
        handle: JoinHandle<T>,
        deadline: Instant,
    ) -> Result<std::thread::Result<T>, JoinHandle<T>> {
        #[cfg(not(mfwq_loom))]
        {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(200));
            }
            if handle.is_finished() {
                Ok(handle.join())
            } else {
                Err(handle)
            }
        }
        #[cfg(mfwq_loom)]
        {
            let _ = deadline;
            Ok(handle.join())
        }
    }
}

/// `UnsafeCell` with loom's closure API: outside loom a zero-cost newtype over
/// `std::cell::UnsafeCell`; under loom loom's, which checks that no two
/// threads touch the cell without a happens-before edge between them.
pub(crate) mod cell {
    #[cfg(mfwq_loom)]
    pub(crate) use loom::cell::UnsafeCell;

    #[cfg(not(mfwq_loom))]
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    #[cfg(not(mfwq_loom))]
    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a mutable pointer to the contents.
        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// `thread_local!`: std's outside loom (a `const` initialiser kept, so access
/// needs no lazy-init check), loom's under it. A lazy initialiser is made on
/// the thread's first access in both builds.
macro_rules! thread_locals {
    ($(#[$attr:meta])* static $name:ident: $t:ty = const { $init:expr };) => {
        #[cfg(not(mfwq_loom))]
        std::thread_local! { $(#[$attr])* static $name: $t = const { $init }; }
        #[cfg(mfwq_loom)]
        loom::thread_local! { $(#[$attr])* static $name: $t = $init; }
    };
    ($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(mfwq_loom))]
        std::thread_local! { $(#[$attr])* static $name: $t = $init; }
        #[cfg(mfwq_loom)]
        loom::thread_local! { $(#[$attr])* static $name: $t = $init; }
    };
}
pub(crate) use thread_locals;

/// Process-wide statics holding facade types: plain `static`s outside loom;
/// under loom `loom::lazy_static!`, built afresh for each execution of a model.
macro_rules! statics {
    ($($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;)*) => {
        $(
            #[cfg(not(mfwq_loom))]
            $(#[$attr])* static $name: $t = $init;
        )*
        #[cfg(mfwq_loom)]
        loom::lazy_static! { $($(#[$attr])* static ref $name: $t = $init;)* }
    };
}
pub(crate) use statics;
