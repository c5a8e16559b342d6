//! The gate word and parking: whether a queue is closed and how many idle
//! workers nobody has woken yet, in one atomic word, plus the mutex and
//! condition variable idle workers sleep on. Pushes do not write the word:
//! the bands refuse pushes themselves once closed (`fifo.rs`), and a push
//! only reads the word to see whether anyone needs waking. The protocol, and
//! why it neither loses a wake-up nor loses work at close, is in `README.md`
//! beside this file.

use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::sync::pi::{Condvar, Mutex, MutexGuard};
use crate::sync::{fence, AtomicUsize, Ordering};

/// The gate's closed bit.
const CLOSED: usize = 1;
/// One idle worker that nobody has woken yet (bits 1..).
const IDLE: usize = 2;

/// The outcome of one [`Sleep::park`].
pub(crate) enum Parked<J> {
    /// Work was found while getting ready to sleep.
    Work(J),
    /// A pusher handed this worker a wake-up permit: go and look for work.
    Woken,
    /// The queue is closed and nothing is left: exit.
    Closed,
    /// The park deadline passed (a window queue's pump interval, or the
    /// time a real-time worker wakes for an anticipated item).
    TimedOut,
}

struct SleepState {
    /// Workers inside `park`.
    sleeping: usize,
    /// Wake-ups granted to sleepers that have not consumed them yet.
    permits: usize,
}

pub(crate) struct Sleep {
    /// `CLOSED | (sleeping - permits) * IDLE`. A push only reads it, after a
    /// fence, to see whether anyone needs waking; the idle part changes only
    /// under the mutex, so while every worker is busy the word stays in each
    /// pusher's cache, read-only. Its own cache line.
    gate: CachePadded<AtomicUsize>,
    /// Priority-inheriting (`crate::sync::pi`): a normal-priority pusher
    /// that holds it while a real-time worker parks or a real-time pusher
    /// wakes one runs at their priority until it unlocks.
    state: Mutex<SleepState>,
    wakeup: Condvar,
}

impl Sleep {
    pub(crate) fn new() -> Sleep {
        Sleep {
            gate: CachePadded::new(AtomicUsize::new(0)),
            state: Mutex::new(SleepState {
                sleeping: 0,
                permits: 0,
            }),
            wakeup: Condvar::new(),
        }
    }

    /// After a push landed (in a band, or in a pool worker's own slot): wakes
    /// one idle worker if one nobody has woken is there. The fence pairs with
    /// the one a parking worker makes after it counts itself idle, so either
    /// this read sees that worker or the worker's look finds the item
    /// (README.md, "Why no wake-up is lost").
    #[inline]
    pub(crate) fn after_push(&self) {
        self.wake_if_idle();
    }

    /// [`after_push`](Self::after_push) for a pool worker's push into its
    /// own slot, which also tells whether the gate showed the queue closed:
    /// then the close may have raced the push, and the pusher takes its item
    /// back (README.md, "A worker's own slot").
    #[inline]
    pub(crate) fn after_own_push(&self) -> bool {
        self.wake_if_idle() & CLOSED != 0
    }

    /// The fence, the read of the gate and the wake decision; the gate as
    /// read.
    #[inline]
    fn wake_if_idle(&self) -> usize {
        fence(Ordering::SeqCst);
        let gate = self.gate.load(Ordering::Relaxed);
        if gate >= IDLE {
            self.wake_one();
        }
        gate
    }

    #[cold]
    fn wake_one(&self) {
        let mut state = self.state.lock();
        if state.sleeping > state.permits {
            state.permits += 1;
            self.gate.fetch_sub(IDLE, Ordering::SeqCst);
            drop(state);
            self.wakeup.notify_one();
        }
    }

    /// Marks the queue closed and wakes every sleeper so that the workers
    /// drain. The caller has closed the bands first: a worker that sees this
    /// bit sees pushes refused.
    pub(crate) fn close(&self) {
        self.gate.fetch_or(CLOSED, Ordering::SeqCst);
        self.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.gate.load(Ordering::SeqCst) & CLOSED != 0
    }

    #[cold]
    fn notify_all(&self) {
        let _state = self.state.lock();
        self.wakeup.notify_all();
    }

    /// Announces this worker as idle, checks once more for work (and for the
    /// drain's end), and sleeps until woken, drained or timed out.
    /// `find` is the worker's look for work (its bands, and the pool's
    /// slots).
    pub(crate) fn park<J>(
        &self,
        mut find: impl FnMut() -> Option<J>,
        deadline: Option<Instant>,
    ) -> Parked<J> {
        let mut state = self.state.lock();
        state.sleeping += 1;
        self.gate.fetch_add(IDLE, Ordering::SeqCst);
        // This fence and every pusher's (`after_push`) order the two sides:
        // either the pusher reads this idle worker or the look below finds
        // its item (README.md, "Why no wake-up is lost").
        fence(Ordering::SeqCst);
        loop {
            if let Some(work) = find() {
                self.leave(&mut state);
                return Parked::Work(work);
            }
            if self.is_closed() {
                // Closed: the bands refuse pushes (they were closed before
                // the bit was set), so this look is the last word; the one
                // above may have raced with a push that landed before. The
                // fence pairs with a slot pusher's (`after_own_push`): if
                // its read of the gate missed the close, this look finds
                // its item.
                self.leave(&mut state);
                fence(Ordering::SeqCst);
                return match find() {
                    Some(work) => Parked::Work(work),
                    None => Parked::Closed,
                };
            }
            let timed_out = self.wait(&mut state, deadline);
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
            self.gate.fetch_sub(IDLE, Ordering::SeqCst);
        }
    }

    /// Waits on the condition variable (at most until `deadline`); whether it
    /// timed out.
    fn wait(&self, state: &mut MutexGuard<'_, SleepState>, deadline: Option<Instant>) -> bool {
        match deadline {
            None => {
                self.wakeup.wait(state);
                false
            }
            Some(deadline) => self.wakeup.wait_until(state, deadline).timed_out(),
        }
    }
}
