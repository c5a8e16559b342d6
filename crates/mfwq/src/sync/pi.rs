//! A mutex with priority inheritance, and the condition variable that goes
//! with it, for the locks that real-time threads share with normal-priority
//! ones: the scheduler's parking state (`sched/sleep.rs`: a queue's workers
//! and every pusher) and the timer's state (`timer/thread.rs`: every thread
//! that schedules, and the timekeeper).
//!
//! A real-time worker about to park, or a real-time feeder waking a parked
//! worker, can find the parking lock held by a normal-priority thread
//! (another feeder of the same queue); a real-time thread that schedules a
//! timer item can find the timer's lock held by any thread of the process.
//! With an ordinary mutex the real-time thread then waits for as long as the
//! holder is kept off the processor by everything of higher priority: a
//! priority inversion. With priority inheritance (a `PTHREAD_PRIO_INHERIT`
//! mutex: the kernel's `FUTEX_LOCK_PI`) the holder runs at the waiter's
//! priority until it unlocks. The uncontended lock and unlock stay one
//! compare-and-swap in user space; only a contended one enters the kernel.
//!
//! - Linux (outside loom and Miri): a `pthread_mutex_t` with
//!   `PTHREAD_PRIO_INHERIT` and a `pthread_cond_t` on `CLOCK_MONOTONIC`,
//!   each boxed (a pthread object must not move once used).
//! - Elsewhere, under loom and under Miri: [`parking`](super::parking)'s
//!   (parking_lot's, or its loom adapter), which has the same interface.
//!
//! The interface is parking_lot's, the part these locks use: `lock`,
//! `MutexGuard::unlocked`, and waits that take the guard by `&mut`.

#[cfg(all(target_os = "linux", not(mfwq_loom), not(miri)))]
pub(crate) use self::pthread::{Condvar, Mutex, MutexGuard};

#[cfg(not(all(target_os = "linux", not(mfwq_loom), not(miri))))]
pub(crate) use super::parking::{Condvar, Mutex, MutexGuard};

#[cfg(all(target_os = "linux", not(mfwq_loom), not(miri)))]
mod pthread {
    use std::cell::UnsafeCell;
    use std::mem::MaybeUninit;
    use std::ops::{Deref, DerefMut};
    use std::time::{Duration, Instant};

    /// Tries in user space before a contended lock blocks in the kernel,
    /// with 1, 2, 4, ... 32 pauses between them.
    const SPIN_ROUNDS: u32 = 6;

    /// A priority-inheriting mutex (see the module docs).
    pub(crate) struct Mutex<T> {
        raw: Box<UnsafeCell<libc::pthread_mutex_t>>,
        data: UnsafeCell<T>,
    }

    // SAFETY: the pthread mutex serialises every access to `data`.
    unsafe impl<T: Send> Send for Mutex<T> {}
    // SAFETY: as above.
    unsafe impl<T: Send> Sync for Mutex<T> {}

    pub(crate) struct MutexGuard<'a, T> {
        mutex: &'a Mutex<T>,
    }

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            let raw = Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));
            // SAFETY: initialises a fresh, boxed (so never moved) mutex with
            // an attribute object made and destroyed here.
            unsafe {
                let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
                check(
                    libc::pthread_mutexattr_init(attr.as_mut_ptr()),
                    "mutexattr_init",
                );
                check(
                    libc::pthread_mutexattr_setprotocol(
                        attr.as_mut_ptr(),
                        libc::PTHREAD_PRIO_INHERIT,
                    ),
                    "mutexattr_setprotocol",
                );
                check(
                    libc::pthread_mutex_init(raw.get(), attr.as_ptr()),
                    "mutex_init",
                );
                libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            }
            Mutex {
                raw,
                data: UnsafeCell::new(value),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.raw_lock();
            MutexGuard { mutex: self }
        }

        /// Takes the lock: a few tries in user space first, then the
        /// kernel. A contended PI lock goes straight to `FUTEX_LOCK_PI`
        /// (no spinning there), and these locks are held for a few
        /// instructions, so a short spin usually finds them free (the
        /// timer's lock, which a scheduling thread and the timekeeper take
        /// in turns, made scheduling 20-50% slower without it).
        #[inline]
        fn raw_lock(&self) {
            for round in 0..SPIN_ROUNDS {
                // SAFETY: an initialised mutex, not held by this thread (no
                // code under it locks it again). A failed try leaves it as it
                // was, in user space.
                if unsafe { libc::pthread_mutex_trylock(self.raw.get()) } == 0 {
                    return;
                }
                for _ in 0..1u32 << round {
                    std::hint::spin_loop();
                }
            }
            // SAFETY: as above.
            check(
                unsafe { libc::pthread_mutex_lock(self.raw.get()) },
                "mutex_lock",
            );
        }

        #[inline]
        fn raw_unlock(&self) {
            // SAFETY: this thread holds the lock (through a guard).
            check(
                unsafe { libc::pthread_mutex_unlock(self.raw.get()) },
                "mutex_unlock",
            );
        }
    }

    impl<T> Drop for Mutex<T> {
        fn drop(&mut self) {
            // SAFETY: not locked (a guard borrows the mutex).
            unsafe { libc::pthread_mutex_destroy(self.raw.get()) };
        }
    }

    impl<T> MutexGuard<'_, T> {
        /// Runs `f` with the lock released and takes it back afterwards, also
        /// when `f` unwinds (as parking_lot's `MutexGuard::unlocked`).
        pub(crate) fn unlocked<U>(guard: &mut Self, f: impl FnOnce() -> U) -> U {
            struct Relock<'b, T>(&'b Mutex<T>);
            impl<T> Drop for Relock<'_, T> {
                fn drop(&mut self) {
                    self.0.raw_lock();
                }
            }
            guard.mutex.raw_unlock();
            let _relock = Relock(guard.mutex);
            f()
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: this guard holds the lock.
            unsafe { &*self.mutex.data.get() }
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: this guard holds the lock.
            unsafe { &mut *self.mutex.data.get() }
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.mutex.raw_unlock();
        }
    }

    /// A condition variable for [`Mutex`], timed against `CLOCK_MONOTONIC`.
    pub(crate) struct Condvar {
        raw: Box<UnsafeCell<libc::pthread_cond_t>>,
    }

    // SAFETY: a pthread condition variable is made to be shared by threads.
    unsafe impl Send for Condvar {}
    // SAFETY: as above.
    unsafe impl Sync for Condvar {}

    impl Condvar {
        pub(crate) fn new() -> Condvar {
            let raw = Box::new(UnsafeCell::new(libc::PTHREAD_COND_INITIALIZER));
            // SAFETY: as for the mutex.
            unsafe {
                let mut attr = MaybeUninit::<libc::pthread_condattr_t>::uninit();
                check(
                    libc::pthread_condattr_init(attr.as_mut_ptr()),
                    "condattr_init",
                );
                check(
                    libc::pthread_condattr_setclock(attr.as_mut_ptr(), libc::CLOCK_MONOTONIC),
                    "condattr_setclock",
                );
                check(
                    libc::pthread_cond_init(raw.get(), attr.as_ptr()),
                    "cond_init",
                );
                libc::pthread_condattr_destroy(attr.as_mut_ptr());
            }
            Condvar { raw }
        }

        pub(crate) fn notify_one(&self) {
            // SAFETY: an initialised condition variable.
            unsafe { libc::pthread_cond_signal(self.raw.get()) };
        }

        pub(crate) fn notify_all(&self) {
            // SAFETY: an initialised condition variable.
            unsafe { libc::pthread_cond_broadcast(self.raw.get()) };
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            // SAFETY: the guard holds its mutex, which is always used with
            // this condition variable (one pair per owner).
            check(
                unsafe { libc::pthread_cond_wait(self.raw.get(), guard.mutex.raw.get()) },
                "cond_wait",
            );
        }

        /// Waits until notified or until `deadline` (as parking_lot's).
        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            deadline: Instant,
        ) -> WaitTimeoutResult {
            // `Instant` is CLOCK_MONOTONIC on Linux but gives no timespec:
            // the time left, added to the clock's now.
            let abstime = monotonic_after(deadline.saturating_duration_since(Instant::now()));
            // SAFETY: as for `wait`; `abstime` is a valid timespec.
            let result = unsafe {
                libc::pthread_cond_timedwait(self.raw.get(), guard.mutex.raw.get(), &abstime)
            };
            WaitTimeoutResult(result == libc::ETIMEDOUT)
        }
    }

    impl Drop for Condvar {
        fn drop(&mut self) {
            // SAFETY: nobody waits (a waiter borrows the owner).
            unsafe { libc::pthread_cond_destroy(self.raw.get()) };
        }
    }

    /// Whether a timed wait ended at its deadline (as parking_lot's).
    pub(crate) struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(&self) -> bool {
            self.0
        }
    }

    /// `CLOCK_MONOTONIC` now plus `timeout`, saturating.
    fn monotonic_after(timeout: Duration) -> libc::timespec {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes the current time into `now`.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let nanos = now.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
        let secs = (now.tv_sec as u64)
            .saturating_add(timeout.as_secs())
            .saturating_add(nanos / 1_000_000_000)
            .min(libc::time_t::MAX as u64);
        libc::timespec {
            tv_sec: secs as libc::time_t,
            tv_nsec: (nanos % 1_000_000_000) as _,
        }
    }

    /// A pthread call on our own, correctly made objects cannot fail; if one
    /// does, the state is unknown and going on would risk lost wake-ups.
    #[inline]
    fn check(result: libc::c_int, what: &str) {
        if result != 0 {
            fail(result, what);
        }
    }

    #[cold]
    fn fail(result: libc::c_int, what: &str) -> ! {
        eprintln!("mfwq: pthread_{what} failed with error {result}");
        std::process::abort();
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn lock_unlocked_wait_and_deadline() {
            let mutex = std::sync::Arc::new(Mutex::new(0));
            let condvar = std::sync::Arc::new(Condvar::new());
            let mut guard = mutex.lock();
            let start = Instant::now();
            let waited = condvar.wait_until(&mut guard, start + Duration::from_millis(5));
            assert!(waited.timed_out());
            assert!(start.elapsed() >= Duration::from_millis(5));
            // Released inside `unlocked`, held again after it, also after a
            // panic.
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                MutexGuard::unlocked(&mut guard, || {
                    *mutex.lock() += 1;
                    panic!("inside unlocked");
                })
            }));
            assert!(caught.is_err());
            assert_eq!(*guard, 1);
            *guard = 0;
            drop(guard);
            let setter = {
                let (mutex, condvar) = (mutex.clone(), condvar.clone());
                std::thread::spawn(move || {
                    *mutex.lock() = 1;
                    condvar.notify_all();
                })
            };
            let mut guard = mutex.lock();
            while *guard == 0 {
                condvar.wait(&mut guard);
            }
            drop(guard);
            setter.join().unwrap();
        }

        /// The kernel's priority as `/proc/thread-self/stat` shows it (field
        /// 18: 20 + nice for normal threads, -1 - priority for real-time).
        fn kernel_priority() -> i64 {
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            // Field 3 is the first after the name; field 18 is 15 later.
            after_name.split(' ').nth(15).unwrap().parse().unwrap()
        }

        /// A normal-priority holder runs at the priority of a `SCHED_FIFO`
        /// thread blocked on the lock until it unlocks. Needs the right to
        /// `SCHED_FIFO` (root, `CAP_SYS_NICE` or `RLIMIT_RTPRIO`); without it
        /// there is nothing to inherit and the test says so.
        #[test]
        fn a_normal_holder_inherits_a_realtime_waiters_priority() {
            use std::sync::atomic::{AtomicBool, Ordering};
            use std::sync::Arc;
            let mutex = Arc::new(Mutex::new(()));
            let waiting = Arc::new(AtomicBool::new(false));
            let normal = kernel_priority();
            let guard = mutex.lock();
            let waiter = {
                let (mutex, waiting) = (mutex.clone(), waiting.clone());
                std::thread::spawn(move || {
                    let param = libc::sched_param { sched_priority: 30 };
                    // SAFETY: changes this thread's own policy.
                    let raised =
                        unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0;
                    waiting.store(true, Ordering::SeqCst);
                    if raised {
                        drop(mutex.lock());
                    }
                    raised
                })
            };
            while !waiting.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            // The waiter blocks in the kernel on the PI futex: the holder's
            // priority rises to the waiter's (-1 - 30) within moments.
            let mut boosted = normal;
            for _ in 0..1000 {
                boosted = kernel_priority();
                if boosted == -31 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(guard);
            let raised = waiter.join().unwrap();
            if raised {
                assert_eq!(
                    boosted, -31,
                    "holder's priority while a SCHED_FIFO 30 thread waits"
                );
                assert_eq!(kernel_priority(), normal, "back to its own after unlocking");
            } else {
                eprintln!("pi: no right to SCHED_FIFO here; priority inheritance not observed");
            }
        }

        /// The lock word of a priority-inheriting glibc mutex holds its
        /// owner's thread id (the kernel's PI futex protocol).
        #[test]
        #[cfg(target_env = "gnu")]
        fn the_lock_is_a_priority_inheriting_futex() {
            let mutex = Mutex::new(());
            let guard = mutex.lock();
            // SAFETY: glibc's `pthread_mutex_t` starts with its lock word.
            let word = unsafe { *mutex.raw.get().cast::<libc::c_int>() };
            // SAFETY: gettid has no arguments.
            let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::c_int;
            assert_eq!(word & 0x3FFF_FFFF, tid);
            drop(guard);
        }
    }
}
