//! Parking and waking idle workers. The protocol, and why it never loses a
//! wake-up, is in `README.md` beside this file.

use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::sched::{Bands, Work};
use crate::sync::{fence, lock, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering};

/// The outcome of one [`Sleep::park`].
pub(crate) enum Parked {
    /// Work was found while getting ready to sleep.
    Work(Work),
    /// A pusher handed this worker a wake-up permit: go and look for work.
    Woken,
    /// The queue is closed, no push is in progress and nothing is left: exit.
    Closed,
    /// The park timeout (window-queue pump interval) passed.
    TimedOut,
}

struct SleepState {
    /// Workers inside `park`.
    sleeping: usize,
    /// Wake-ups granted to sleepers that have not consumed them yet.
    permits: usize,
}

pub(crate) struct Sleep {
    /// `sleeping - permits`: sleepers nobody has woken yet. Pushers read it
    /// without the lock on every push; it changes only under the lock. Its own
    /// cache line keeps the parking traffic off the pushers' path.
    idle: CachePadded<AtomicUsize>,
    state: Mutex<SleepState>,
    wakeup: Condvar,
}

impl Sleep {
    pub(crate) fn new() -> Sleep {
        Sleep {
            idle: CachePadded::new(AtomicUsize::new(0)),
            state: Mutex::new(SleepState {
                sleeping: 0,
                permits: 0,
            }),
            wakeup: Condvar::new(),
        }
    }

    /// Called by a pusher after its push: wakes one sleeper if there is one that
    /// nobody has woken yet. The common busy case costs one fence and one load.
    pub(crate) fn notify_one(&self) {
        fence(Ordering::SeqCst);
        if self.idle.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut state = lock(&self.state);
        if state.sleeping > state.permits {
            state.permits += 1;
            self.idle.fetch_sub(1, Ordering::Relaxed);
            drop(state);
            self.wakeup.notify_one();
        }
    }

    /// Wakes every sleeper (the queue is closing).
    pub(crate) fn notify_all(&self) {
        let _state = lock(&self.state);
        self.wakeup.notify_all();
    }

    /// Announces this worker as idle, checks once more for work (and for
    /// closing), and sleeps until woken, closed or timed out.
    /// `drained` says the queue is closed and no push is still in progress.
    pub(crate) fn park(
        &self,
        bands: &Bands,
        drained: impl Fn() -> bool,
        timeout: Option<Duration>,
    ) -> Parked {
        let mut state = lock(&self.state);
        state.sleeping += 1;
        self.idle.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        loop {
            if let Some(work) = bands.pop() {
                self.leave(&mut state);
                return Parked::Work(work);
            }
            if drained() {
                // Once drained, no push can succeed any more, so this pop is the
                // last word; the one above may have raced with a finishing push.
                self.leave(&mut state);
                return match bands.pop() {
                    Some(work) => Parked::Work(work),
                    None => Parked::Closed,
                };
            }
            let timed_out;
            (state, timed_out) = self.wait(state, timeout);
            if state.permits > 0 {
                state.permits -= 1;
                state.sleeping -= 1;
                return Parked::Woken;
            }
            if timed_out {
                self.leave(&mut state);
                return Parked::TimedOut;
            }
        }
    }

    /// Leaves without a permit of its own. If permits now outnumber sleepers, one
    /// was meant for a sleeper that found work by itself: consume it instead.
    fn leave(&self, state: &mut SleepState) {
        state.sleeping -= 1;
        if state.permits > state.sleeping {
            state.permits -= 1;
        } else {
            self.idle.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn wait<'a>(
        &self,
        state: MutexGuard<'a, SleepState>,
        timeout: Option<Duration>,
    ) -> (MutexGuard<'a, SleepState>, bool) {
        match timeout {
            None => (
                self.wakeup
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                false,
            ),
            Some(timeout) => {
                let (state, result) = self
                    .wakeup
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (state, result.timed_out())
            }
        }
    }
}
