//! The gate word and parking: whether a queue takes pushes, which pushes are in
//! progress, and which idle workers nobody has woken yet, all in one atomic
//! word, plus the mutex and condition variable idle workers sleep on. The
//! protocol, and why it neither loses a wake-up nor loses work at close, is in
//! `README.md` beside this file.

use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::sync::pi::{Condvar, Mutex, MutexGuard};
use crate::sync::{fence, AtomicUsize, Ordering};

/// The gate's closed bit.
const CLOSED: usize = 1;
/// One push in progress.
const PUSH: usize = 2;
/// Pushes in progress (bits 1..32).
const PUSH_MASK: usize = 0xFFFF_FFFE;
/// One idle worker that nobody has woken yet (bits 32..).
const IDLE: usize = 1 << 32;

/// The outcome of one [`Sleep::park`].
pub(crate) enum Parked<J> {
    /// Work was found while getting ready to sleep.
    Work(J),
    /// A pusher handed this worker a wake-up permit: go and look for work.
    Woken,
    /// The queue is closed, no push is in progress and nothing is left: exit.
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
    /// `CLOSED | pushes * PUSH | (sleeping - permits) * IDLE`. A push reads and
    /// writes it once on entry and once on exit; the exit also tells whether
    /// anyone needs waking, so the busy path has no fence, no lock, no system
    /// call. The idle part changes only under the mutex. Its own cache line.
    gate: CachePadded<AtomicUsize>,
    /// Priority-inheriting (`crate::sync::pi`): a normal-priority pusher
    /// that holds it while a real-time worker parks or a real-time pusher
    /// wakes one runs at their priority until it unlocks.
    state: Mutex<SleepState>,
    wakeup: Condvar,
}

#[cfg(target_pointer_width = "32")]
compile_error!("the gate word needs 64-bit atomics");

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

    /// Announces a push. `false`: the queue is closed, do not push.
    /// Every `true` must be followed by one [`end_push`](Self::end_push).
    #[inline]
    pub(crate) fn begin_push(&self) -> bool {
        let before = self.gate.fetch_add(PUSH, Ordering::SeqCst);
        if before & CLOSED != 0 {
            self.end_push();
            return false;
        }
        true
    }

    /// Ends a push (whether or not it queued anything): wakes one sleeper if
    /// one nobody has woken is there, and every sleeper if this was the last
    /// push into a closed queue (a draining worker may wait for it).
    #[inline]
    pub(crate) fn end_push(&self) {
        let before = self.gate.fetch_sub(PUSH, Ordering::SeqCst);
        if before & (CLOSED | PUSH_MASK) == CLOSED | PUSH {
            self.notify_all();
        } else if before >= IDLE {
            self.wake_one();
        }
    }

    /// After a pool worker's push into its own slot, which does not pass the
    /// gate (README.md, "A worker's own slot"): wakes one idle worker if one
    /// nobody has woken is there, as a push's exit does. The fence pairs with
    /// the one a parking worker makes after it counts itself idle.
    #[inline]
    pub(crate) fn after_own_push(&self) {
        fence(Ordering::SeqCst);
        if self.gate.load(Ordering::Relaxed) >= IDLE {
            self.wake_one();
        }
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

    /// Stops taking pushes and wakes every sleeper so that the workers drain.
    pub(crate) fn close(&self) {
        self.gate.fetch_or(CLOSED, Ordering::SeqCst);
        self.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.gate.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// Closed, and no push in progress: no push can ever succeed again.
    pub(crate) fn is_drained(&self) -> bool {
        self.gate.load(Ordering::SeqCst) & (CLOSED | PUSH_MASK) == CLOSED
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
        // An RMW on the word every push ends with: either that push's exit
        // comes later and sees this idle worker, or it came earlier and its
        // work is visible to the pop below (release/acquire on one location).
        self.gate.fetch_add(IDLE, Ordering::SeqCst);
        // And for a pool worker's push into its own slot, which bypasses the
        // gate: this fence and the pusher's (`after_own_push`) order the two
        // sides, so either the pusher reads this idle worker or the look
        // below finds its item (README.md, "A worker's own slot").
        fence(Ordering::SeqCst);
        loop {
            if let Some(work) = find() {
                self.leave(&mut state);
                return Parked::Work(work);
            }
            if self.is_drained() {
                // Once drained, no push can succeed any more, so this pop is the
                // last word; the one above may have raced with a finishing push.
                self.leave(&mut state);
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
