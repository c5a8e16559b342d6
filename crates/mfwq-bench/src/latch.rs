//! A count-down latch whose waiter parks: what every contestant uses to say
//! "all N items ran", so that completion detection costs the same for all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Counts down from `n`; the thread that made it parks in [`Latch::wait`] and
/// is unparked by the count-down that reaches zero. One shared atomic
/// decrement per item, no lock, one unpark per latch.
#[derive(Debug)]
pub struct Latch {
    remaining: AtomicUsize,
    waiter: Thread,
}

impl Latch {
    /// A latch for `n` count-downs, waited on by the calling thread.
    pub fn new(n: usize) -> Latch {
        Latch {
            remaining: AtomicUsize::new(n),
            waiter: std::thread::current(),
        }
    }

    /// One item done; the last one wakes the waiter.
    #[inline]
    pub fn count_down(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.waiter.unpark();
        }
    }

    /// How many count-downs are still missing.
    pub fn remaining(&self) -> usize {
        self.remaining.load(Ordering::Acquire)
    }

    /// Parks until the count reaches zero or `timeout` passes; whether it reached zero.
    /// Must be called on the thread that made the latch.
    pub fn wait(&self, timeout: Duration) -> bool {
        debug_assert_eq!(std::thread::current().id(), self.waiter.id());
        let deadline = Instant::now() + timeout;
        while self.remaining() != 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::park_timeout(deadline - now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn wakes_when_all_counted_down() {
        let latch = Arc::new(Latch::new(1000));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let latch = latch.clone();
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        latch.count_down();
                    }
                })
            })
            .collect();
        assert!(latch.wait(Duration::from_secs(30)));
        assert_eq!(latch.remaining(), 0);
        for handle in handles {
            handle.join().unwrap();
        }
    }

    #[test]
    fn times_out() {
        let latch = Latch::new(1);
        assert!(!latch.wait(Duration::from_millis(5)));
        latch.count_down();
        assert!(latch.wait(Duration::ZERO));
    }
}
