//! [`sleep`] and [`sleep_until`]: futures on the platform's timer.
//!
//! A [`Sleep`] arms an alarm (`timer/alarm.rs`) on its first poll: a push
//! into the timer's lock-free inbox, and an allocation unless the thread
//! has a spare alarm; no result object and no queue. At the deadline the
//! timekeeper wakes the task itself, on its own thread (which follows the
//! TIMER queue's real-time registration: `timer/keeper_policy.rs`), so a
//! wake-up never waits behind other work.
//! Dropping a sleep that has not fired withdraws the alarm, without taking
//! the timer's lock.
//!
//! Scheduled items pending at the last shutdown never run (as on Windows),
//! but a sleep must not leave its task waiting for ever: when the last
//! shutdown starts, while the queues still run, every armed alarm ends and
//! its task is woken; the sleep resolves to `Err(Error::Shutdown)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::sync::Arc;
use crate::timer::Alarm;

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
    /// Armed by the first poll.
    alarm: Option<Arc<Alarm>>,
    /// The output was returned.
    done: bool,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.alarm.is_some())
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
        alarm: None,
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
                .alarm
                .as_ref()
                .is_some_and(|alarm| alarm.outcome().is_some())
    }

    /// The first poll: arms the alarm.
    fn register(&mut self, waker: &Waker) -> Poll<Result<()>> {
        if self.deadline <= Instant::now() {
            return Poll::Ready(Ok(()));
        }
        match Alarm::start(self.deadline, waker) {
            Ok(alarm) => {
                self.alarm = Some(alarm);
                Poll::Pending
            }
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

impl Future for Sleep {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Result<()>> {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        let outcome = match &self.alarm {
            None => self.register(context.waker()),
            Some(alarm) => alarm.poll(context.waker()),
        };
        if outcome.is_ready() {
            self.done = true;
        }
        outcome
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(alarm) = self.alarm.take() {
            Alarm::retire(alarm);
        }
    }
}
