//! [`sleep`] and [`sleep_until`]: futures on the platform's timer.
//!
//! A [`Sleep`] registers a scheduled item ([`schedule_work_item`]) on its
//! first poll; the item's callback (an internal one) wakes the task. It runs
//! on the TIMER queue: usually idle, so a wake-up does not wait behind the
//! pool's work (a pipeline's decode on MULTITHREADED delayed the ticks of
//! its own source), and it follows the platform's real-time registration
//! together with the timekeeper that fires it (`timer/keeper_policy.rs`). Dropping a sleep that has not fired cancels the item
//! ([`cancel_work_item`]), so no callback is left behind.
//!
//! Scheduled items pending at the last shutdown never run (and leak, as on
//! Windows). A sleep must not leave its task waiting for ever, so pending
//! sleeps are kept in a list that the shutdown walks as it starts (a
//! [`PlatformEvents`] listener): each is cancelled (nothing leaks) and its
//! task woken, and the sleep resolves to `Err(Error::Shutdown)`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::ids::QueueId;
use crate::object::callback::{AsyncCallback, CallbackParams};
use crate::object::result::AsyncResult;
use crate::platform::events::PlatformEvents;
use crate::timer::{cancel_work_item, schedule_work_item, WorkItemKey};

/// A future that completes once a deadline has passed, on the platform's
/// timer; made by [`sleep`] and [`sleep_until`].
///
/// It resolves to `Ok(())` at (never before) its deadline, and to
/// `Err(Error::Shutdown)` if the platform is not running when it is first
/// polled or shuts down while it waits. A deadline already passed at the
/// first poll resolves at once, without the timer. Dropping it before it
/// fires cancels its timer item. It works under any executor: a task of
/// [`spawn_future`](crate::spawn_future), tokio, smol or
/// [`block_on`](crate::block_on).
///
/// ```
/// use std::time::{Duration, Instant};
/// let _platform = mfwq::Platform::start()?;
/// let start = Instant::now();
/// mfwq::block_on(mfwq::sleep(Duration::from_millis(5)))?;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    /// Set from the first poll on.
    shared: Option<Arc<SleepShared>>,
    /// The output was returned.
    done: bool,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.shared.is_some())
            .field("done", &self.done)
            .finish()
    }
}

/// A future that completes `duration` from now (from this call, not from the
/// first poll). See [`Sleep`].
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let task = mfwq::spawn_future(mfwq::QueueId::STANDARD, async {
///     mfwq::sleep(Duration::from_millis(2)).await
/// })?;
/// mfwq::block_on(task)??;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFScheduleWorkItem")]
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(crate::platform::deadline_after(Instant::now(), duration))
}

/// A future that completes at `deadline`. See [`Sleep`].
///
/// ```
/// use std::time::{Duration, Instant};
/// let _platform = mfwq::Platform::start()?;
/// let deadline = Instant::now() + Duration::from_millis(3);
/// mfwq::block_on(mfwq::sleep_until(deadline))?;
/// assert!(Instant::now() >= deadline);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        shared: None,
        done: false,
    }
}

impl Sleep {
    /// When it completes.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(mfwq::sleep_until(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed and the timer said so (the next poll
    /// returns `Ready`).
    ///
    /// ```
    /// let sleep = mfwq::sleep(std::time::Duration::from_secs(60));
    /// assert!(!sleep.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.done
            || self
                .shared
                .as_ref()
                .is_some_and(|shared| shared.state.lock().outcome.is_some())
    }

    /// The first poll: schedules the timer item.
    fn register(&mut self, waker: &Waker) -> Poll<Result<()>> {
        let delay = self.deadline.saturating_duration_since(Instant::now());
        if delay.is_zero() {
            return Poll::Ready(Ok(()));
        }
        let shared = SleepShared::new(false);
        shared.state.lock().waker = Some(waker.clone());
        match shared.schedule(delay) {
            Ok(()) => {
                self.shared = Some(shared);
                Poll::Pending
            }
            Err(error) => {
                pending::remove(&shared);
                Poll::Ready(Err(error))
            }
        }
    }
}

impl Future for Sleep {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Result<()>> {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        let outcome = match &self.shared {
            None => self.register(context.waker()),
            Some(shared) => {
                let mut state = shared.state.lock();
                let state = &mut *state;
                super::poll_decided(state.outcome, &mut state.waker, context.waker())
            }
        };
        if outcome.is_ready() {
            self.done = true;
        }
        outcome
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        if shared.withdraw() {
            pending::remove(&shared);
        }
    }
}

/// What a sleep (or an [`Interval`](super::interval::Interval)) and its
/// timer item share: the item's callback.
pub(super) struct SleepShared {
    pub(super) state: Mutex<SleepState>,
    /// An interval's: it stays listed for the shutdown between its items
    /// (the interval removes it when dropped).
    pub(super) repeating: bool,
}

pub(super) struct SleepState {
    /// Set by the timer (`Ok`) or by the shutdown (`Err(Shutdown)`); once
    /// for a sleep, once per item for an interval (which clears it to arm
    /// the next).
    pub(super) outcome: Option<Result<()>>,
    pub(super) waker: Option<Waker>,
    pub(super) key: Option<WorkItemKey>,
}

impl SleepShared {
    pub(super) fn new(repeating: bool) -> Arc<SleepShared> {
        Arc::new(SleepShared {
            state: Mutex::new(SleepState {
                outcome: None,
                waker: None,
                key: None,
            }),
            repeating,
        })
    }

    /// Lists it for the shutdown and schedules its timer item `delay` from
    /// now, recording the key. If the shutdown swept it before the key was
    /// known, the item is cancelled here instead.
    pub(super) fn schedule(self: &Arc<Self>, delay: Duration) -> Result<()> {
        pending::insert(self);
        let key = schedule_work_item(self.clone(), None, delay)?;
        let swept = {
            let mut state = self.state.lock();
            state.key = Some(key);
            state.outcome.is_some()
        };
        if swept {
            let _ = cancel_work_item(key);
        }
        Ok(())
    }

    /// Stops waiting: forgets the waker and, if the item has not fired,
    /// cancels it (a cancel that races the expiry finds nothing, harmlessly;
    /// the callback then wakes no one). Whether it had not fired.
    pub(super) fn withdraw(&self) -> bool {
        let key = {
            let mut state = self.state.lock();
            state.waker = None;
            if state.outcome.is_some() {
                return false;
            }
            state.key
        };
        if let Some(key) = key {
            let _ = cancel_work_item(key);
        }
        true
    }

    /// Decides the outcome (the first call wins) and wakes the task.
    pub(super) fn finish(&self, outcome: Result<()>) -> bool {
        let waker = {
            let mut state = self.state.lock();
            if state.outcome.is_some() {
                return false;
            }
            state.outcome = Some(outcome);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }
}

impl AsyncCallback for SleepShared {
    fn parameters(&self) -> Option<CallbackParams> {
        Some(CallbackParams::on(QueueId::TIMER))
    }

    fn invoke(&self, _result: &AsyncResult) {
        if self.finish(Ok(())) && !self.repeating {
            pending::remove_ptr(self);
        }
    }
}

/// The sleeps whose timer item is pending (and the live intervals), for the
/// shutdown to end them.
pub(super) mod pending {
    use super::*;

    static PENDING: Mutex<Option<HashMap<usize, Arc<SleepShared>>>> = Mutex::new(None);
    static LISTENER: Once = Once::new();

    fn address(shared: &SleepShared) -> usize {
        std::ptr::from_ref(shared) as usize
    }

    pub(in crate::api) fn insert(shared: &Arc<SleepShared>) {
        LISTENER.call_once(|| {
            let listener: Arc<dyn PlatformEvents> = Arc::new(ShutdownSweep);
            let _ = crate::platform::events::register_platform_events(listener);
        });
        PENDING
            .lock()
            .get_or_insert_with(HashMap::new)
            .insert(address(shared), Arc::clone(shared));
    }

    pub(in crate::api) fn remove(shared: &Arc<SleepShared>) {
        remove_ptr(shared);
    }

    pub(super) fn remove_ptr(shared: &SleepShared) {
        let removed = PENDING
            .lock()
            .as_mut()
            .and_then(|map| map.remove(&address(shared)));
        // Dropped with no lock held.
        drop(removed);
    }

    /// Ends every pending sleep as the last shutdown starts: cancels its
    /// item (while the timers still run) and wakes its task with
    /// `Err(Shutdown)`.
    struct ShutdownSweep;

    impl PlatformEvents for ShutdownSweep {
        fn shutdown_start(&self) {
            let swept = PENDING.lock().take().unwrap_or_default();
            for shared in swept.into_values() {
                let key = shared.state.lock().key;
                if let Some(key) = key {
                    let _ = cancel_work_item(key);
                }
                shared.finish(Err(Error::Shutdown));
            }
        }
    }
}
