//! How a thread waits for another thread to finish a step that takes a few
//! instructions: a band's pusher between claiming a slot and writing it, a
//! worker between finishing an item and saying so.
//!
//! It spins first (the other thread is usually running and done within
//! nanoseconds), then gives the processor away. Giving it away with
//! `sched_yield` is what lets the other thread run soonest, except under a
//! real-time policy: a `SCHED_FIFO`/`SCHED_RR` thread that yields hands the
//! processor only to threads of its own priority, so a lower-priority thread
//! it waits for (one it preempted, say) would never run on that processor,
//! and when every processor holds such a waiter nothing moves until the
//! kernel's real-time throttling steps in. So a waiter under a real-time
//! policy yields only briefly and then sleeps between looks, which does let
//! the lower-priority thread run. The policy is asked once per wait, after the
//! spinning: one system call on a path that is about to give the processor
//! away anyway.
//!
//! Under loom every look yields to the model's scheduler (a spin loop that
//! does not would never let the thread it waits for take a step).

use std::time::{Duration, Instant};

/// Spins before the first yield.
#[cfg_attr(mfwq_loom, allow(dead_code))]
const SPINS: u32 = 64;
/// How long a real-time waiter yields before it sleeps between looks.
#[cfg_attr(mfwq_loom, allow(dead_code))]
const REALTIME_YIELDING: Duration = Duration::from_micros(20);
/// A real-time waiter's sleep between looks.
#[cfg_attr(mfwq_loom, allow(dead_code))]
const REALTIME_NAP: Duration = Duration::from_micros(10);

/// One wait for another thread's step; see the module docs.
pub(crate) struct Patience {
    looks: u32,
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    /// When the spinning ended, and whether this thread runs under a
    /// real-time policy: asked once, when the spinning ends.
    yielding_since: Option<(Instant, bool)>,
}

impl Patience {
    #[inline]
    pub(crate) fn new() -> Patience {
        Patience {
            looks: 0,
            yielding_since: None,
        }
    }

    /// A pause after losing a race (a failed compare-and-swap): the winner
    /// has already moved on, so a short spin is enough.
    #[inline]
    pub(crate) fn after_contention(&mut self) {
        #[cfg(mfwq_loom)]
        crate::sync::thread::yield_now();
        #[cfg(not(mfwq_loom))]
        for _ in 0..1u32 << self.looks.min(6) {
            std::hint::spin_loop();
        }
        self.looks = self.looks.saturating_add(1);
    }

    /// One pause while waiting for another thread's step: spin, then yield,
    /// then (a real-time thread) sleep. Returns how long this wait has given
    /// the processor away so far (zero while it spins).
    pub(crate) fn wait(&mut self) -> Duration {
        #[cfg(mfwq_loom)]
        {
            crate::sync::thread::yield_now();
            Duration::ZERO
        }
        #[cfg(not(mfwq_loom))]
        {
            if self.looks < SPINS {
                self.looks += 1;
                std::hint::spin_loop();
                return Duration::ZERO;
            }
            let (since, realtime) = *self
                .yielding_since
                .get_or_insert_with(|| (Instant::now(), runs_realtime()));
            let waited = since.elapsed();
            if realtime && waited >= REALTIME_YIELDING {
                std::thread::sleep(REALTIME_NAP);
            } else {
                std::thread::yield_now();
            }
            waited
        }
    }
}

/// Whether the calling thread runs under a real-time policy
/// (`SCHED_FIFO`, `SCHED_RR` or `SCHED_DEADLINE`).
#[cfg_attr(mfwq_loom, allow(dead_code))]
pub(crate) fn runs_realtime() -> bool {
    // (Miri cannot make the system call; its threads have no policy anyway.)
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        const SCHED_DEADLINE: i32 = 6;
        // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
        let policy = unsafe { libc::sched_getscheduler(0) } & !libc::SCHED_RESET_ON_FORK;
        matches!(policy, libc::SCHED_FIFO | libc::SCHED_RR | SCHED_DEADLINE)
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    {
        false
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn spins_first_then_gives_the_processor_away() {
        let mut patience = Patience::new();
        for _ in 0..SPINS {
            assert_eq!(patience.wait(), Duration::ZERO);
        }
        assert!(patience.yielding_since.is_none());
        patience.wait();
        assert!(patience.yielding_since.is_some());
        std::thread::sleep(Duration::from_millis(1));
        assert!(patience.wait() >= Duration::from_millis(1));
    }
}
