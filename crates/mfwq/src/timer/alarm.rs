//! Alarms: the timer entries behind the futures' [`sleep`](crate::sleep) and
//! [`interval`](crate::interval). An alarm wakes a task at a deadline; it
//! has no result, no callback and no queue, so the timekeeper wakes the
//! task itself instead of dispatching a completion.
//!
//! # Why not a scheduled item
//!
//! A scheduled item (`MFScheduleWorkItem`) owes Windows' contract: a result
//! object holding a platform lock, a key that `cancel_work_item` finds in a
//! map, a callback invoked on a queue. A future needs none of that, and
//! paid for all of it on its first poll (a result allocated, two map
//! inserts, a global list for the shutdown: about 400 ns, where tokio's
//! sleep registers in about 35). An alarm is one allocation (none when the
//! thread has a spare) and a push into the timer's lock-free inbox.
//!
//! # Protocol
//!
//! An alarm is *armed* with an id from the process-wide key counter (so ids
//! never repeat); the timer's heap holds `(deadline, id, alarm)` entries.
//! Exactly one of three parties decides an arming, under the alarm's mutex,
//! by moving `armed` from the id to 0:
//!
//! - the timekeeper at the deadline ([`Alarm::ring`] with `Ok`), which then
//!   wakes the task on its own thread, outside every lock;
//! - the shutdown, as it starts ([`Alarm::ring`] with `Err(Shutdown)`);
//! - the owner, withdrawing (a sleep dropped, an interval re-armed): the
//!   heap entry stays behind, *stale*, and is skipped when it comes up or
//!   swept once stale entries are half the heap (`thread.rs`), so a
//!   withdrawal never takes the timer lock.
//!
//! `armed` is also readable without the lock: the timekeeper skips stale
//! entries by it. It changes only under the mutex, so a reader that sees
//! the id and then rings re-checks it there.

use std::task::{Poll, Waker};
use std::time::Instant;

use super::{next_key, Timers};
use crate::error::Result;
use crate::sync::{lock, Arc, AtomicU64, Mutex, Ordering};

/// High dword of an alarm's id (ids are never given out as keys: only the
/// trace shows them, next to the timer items' keys).
pub(crate) const ALARM_TAG: u32 = 0x8400_0000;

/// A deadline that wakes a task (see the module docs).
pub(crate) struct Alarm {
    /// The arming the timer holds a live entry for; 0 when none is armed.
    /// Written only under `decision`'s lock.
    armed: AtomicU64,
    decision: Mutex<Decision>,
}

struct Decision {
    /// How the last arming ended: `Ok` at its deadline, `Err(Shutdown)` when
    /// the platform shut down. Cleared by the next arming.
    outcome: Option<Result<()>>,
    /// The task to wake.
    waker: Option<Waker>,
}

impl Alarm {
    /// An alarm armed for `deadline` (a sleep's first poll): a push into
    /// the timer's inbox, and an allocation unless this thread has a spare
    /// alarm (see [`retire`](Self::retire)); `Err(Shutdown)` when the
    /// platform is not running.
    pub(crate) fn start(deadline: Instant, waker: &Waker) -> Result<Arc<Alarm>> {
        let id = next_key(ALARM_TAG);
        let alarm = spare::take(id, waker).unwrap_or_else(|| Alarm::armed(id, waker));
        alarm.enter(deadline, id)?;
        Ok(alarm)
    }

    /// Its owner (a sleep) is done with it: withdraws a live arming, and
    /// keeps the allocation for this thread's next sleep if nobody else
    /// holds the alarm any more (the timekeeper lets go of a rung alarm
    /// before it wakes the task, so in a steady state of sleeps that run
    /// their course every alarm comes back: a sleep then allocates nothing).
    pub(crate) fn retire(alarm: Arc<Alarm>) {
        alarm.cancel();
        spare::keep(alarm);
    }

    /// An alarm armed as `id`, not in any timer yet.
    pub(super) fn armed(id: u64, waker: &Waker) -> Arc<Alarm> {
        Alarm::new(id, Some(waker.clone()))
    }

    /// An alarm not armed yet (an interval's, armed once per tick).
    pub(crate) fn idle() -> Arc<Alarm> {
        Alarm::new(0, None)
    }

    fn new(armed: u64, waker: Option<Waker>) -> Arc<Alarm> {
        Arc::new(Alarm {
            armed: AtomicU64::new(armed),
            decision: Mutex::new(Decision {
                outcome: None,
                waker,
            }),
        })
    }

    /// Arms it again for `deadline`, waking `waker`: the last outcome is
    /// forgotten, an arming still live is withdrawn first.
    pub(crate) fn rearm(self: &Arc<Self>, deadline: Instant, waker: &Waker) -> Result<()> {
        let id = next_key(ALARM_TAG);
        let withdrew = {
            let mut decision = lock(&self.decision);
            decision.outcome = None;
            crate::sync::store_waker(&mut decision.waker, waker);
            self.armed.swap(id, Ordering::Release) != 0
        };
        if withdrew {
            stale_entry_left();
        }
        self.enter(deadline, id)
    }

    /// Puts the entry of arming `id` into the timer's inbox; on refusal, the
    /// arming ends there (nobody else knows it).
    fn enter(self: &Arc<Self>, deadline: Instant, id: u64) -> Result<()> {
        let entered = crate::platform::route::with_epoch(|epoch| {
            Timers::of(epoch)?
                .shared
                .add_alarm(deadline, id, Arc::clone(self))
        })
        .and_then(|entered| entered);
        if let Err(error) = entered {
            let mut decision = lock(&self.decision);
            if self.armed.load(Ordering::Relaxed) == id {
                self.armed.store(0, Ordering::Release);
            }
            decision.waker = None;
            return Err(error);
        }
        Ok(())
    }

    /// Ready with the outcome once the arming is decided; else pending, with
    /// `waker` kept to be woken.
    pub(crate) fn poll(&self, waker: &Waker) -> Poll<Result<()>> {
        let mut decision = lock(&self.decision);
        let decision = &mut *decision;
        match decision.outcome {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                crate::sync::store_waker(&mut decision.waker, waker);
                Poll::Pending
            }
        }
    }

    /// How the last arming ended, if it has.
    pub(crate) fn outcome(&self) -> Option<Result<()>> {
        lock(&self.decision).outcome
    }

    /// Stops waiting: forgets the waker and withdraws a live arming (its
    /// heap entry goes stale, counted for the sweep).
    pub(crate) fn cancel(&self) {
        if self.withdraw() {
            stale_entry_left();
        }
    }

    /// [`cancel`](Self::cancel) without the count: whether an arming was
    /// live.
    pub(super) fn withdraw(&self) -> bool {
        let mut decision = lock(&self.decision);
        decision.waker = None;
        self.armed.swap(0, Ordering::Release) != 0
    }

    /// Whether arming `id` is still live (its heap entry is not stale).
    pub(super) fn is_armed(&self, id: u64) -> bool {
        self.armed.load(Ordering::Acquire) == id
    }

    /// The timer's decision for arming `id`: ends it with `outcome` and wakes
    /// the task, unless the arming was withdrawn (or re-armed) meanwhile.
    /// Called with no timer lock held; a panicking waker is caught and
    /// reported.
    ///
    /// Takes the timer's reference and lets go of it before the wake-up:
    /// the task's own reference then outlives it, so the alarm is freed on
    /// the task's thread, not on the timekeeper (which may be real-time).
    pub(super) fn ring(self: Arc<Self>, id: u64, outcome: Result<()>) {
        let waker = {
            let mut decision = lock(&self.decision);
            if self.armed.load(Ordering::Relaxed) != id {
                return;
            }
            self.armed.store(0, Ordering::Release);
            decision.outcome = Some(outcome);
            decision.waker.take()
        };
        drop(self);
        if let Some(waker) = waker {
            crate::panic::guard(crate::panic::PanicSite::Invoke, || waker.wake());
        }
    }
}

/// The alarms a thread's sleeps let go of, for its next sleeps: at most
/// [`ROOM`](spare::ROOM) per thread. Not under loom (no thread-locals of
/// loom's kind here; the models make their alarms directly).
mod spare {
    use super::*;

    /// Spare alarms a thread keeps: enough for the sleeps one task, or a
    /// few, have in flight at once.
    pub(super) const ROOM: usize = 16;

    #[cfg(not(mfwq_loom))]
    std::thread_local! {
        static SPARE: std::cell::RefCell<Vec<Arc<Alarm>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }

    /// A spare alarm of this thread, armed as `id` for `waker`.
    #[cfg(not(mfwq_loom))]
    pub(super) fn take(id: u64, waker: &Waker) -> Option<Arc<Alarm>> {
        let mut alarm = SPARE
            .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()?;
        // Kept only while unique, and nothing shares it since.
        let inner = Arc::get_mut(&mut alarm).expect("a spare alarm is not shared");
        *inner.armed.get_mut() = id;
        let decision = inner
            .decision
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        decision.outcome = None;
        decision.waker = Some(waker.clone());
        Some(alarm)
    }

    /// Keeps `alarm` if this thread holds the only reference and has room;
    /// drops it otherwise.
    #[cfg(not(mfwq_loom))]
    pub(super) fn keep(mut alarm: Arc<Alarm>) {
        // Its waker is gone already (withdrawn, or taken by the ring); the
        // rest is reset when it is taken again.
        if Arc::get_mut(&mut alarm).is_none() {
            return;
        }
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                if spare.len() < ROOM {
                    if spare.capacity() == 0 {
                        spare.reserve_exact(ROOM);
                    }
                    spare.push(alarm);
                }
            }
        });
    }

    #[cfg(mfwq_loom)]
    pub(super) fn take(_id: u64, _waker: &Waker) -> Option<Arc<Alarm>> {
        None
    }

    #[cfg(mfwq_loom)]
    pub(super) fn keep(_alarm: Arc<Alarm>) {}
}

/// Counts one stale entry in the running platform's timer heap (a hint for
/// its sweep; an alarm armed under an earlier platform run counts in the
/// current one, which only sweeps a little early).
fn stale_entry_left() {
    let _ = crate::platform::route::with_epoch(|epoch| {
        if let Ok(timers) = Timers::of(epoch) {
            timers.shared.alarm_withdrawn();
        }
    });
}
