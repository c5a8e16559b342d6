//! [`sleep`] and [`sleep_until`]: futures on the platform's timer.
//!
//! A [`Sleep`] holds its timer entry, an alarm (`timer/alarm.rs`), inside
//! itself: its first poll links the pinned alarm into the timer's lock-free
//! inbox, with no allocation (and the timer's lock only to wake the
//! timekeeper when the deadline is earlier than any it waits for). At the
//! deadline the timekeeper
//! wakes the task itself, on its own thread (which follows the TIMER
//! queue's real-time registration: `timer/keeper_policy.rs`), so a wake-up
//! never waits behind other work. Dropping a sleep that has not fired takes
//! its alarm out of the timer (under the timer's lock, briefly).
//!
//! Scheduled items pending at the last shutdown never run (as on Windows),
//! but a sleep must not leave its task waiting for ever: when the last
//! shutdown starts, while the queues still run, every armed alarm ends and
//! its task is woken; the sleep resolves to `Err(Error::Shutdown)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::timer::Alarm;

pin_project_lite::pin_project! {
    /// A future that completes once a deadline has passed, on the platform's
    /// timer; made by [`sleep`] and [`sleep_until`].
    ///
    /// It resolves to `Ok(())` at (never before) its deadline, and to
    /// `Err(Error::Shutdown)` if the platform is not running when it is first
    /// polled (unless the deadline has passed by then) or shuts down while it
    /// waits. A deadline the timer has already seen pass resolves at the
    /// first poll, without the timer; one that passed since goes through the
    /// timer, which wakes the task at once. Once resolved, it keeps its
    /// output: later polls return it again.
    /// Dropping it before it fires cancels its timer entry. It works under
    /// any executor: a task of [`spawn_future`](crate::spawn_future), tokio,
    /// smol or [`block_on`](crate::block_on).
    ///
    /// Like tokio's `Sleep`, it is `!Unpin`: its timer entry lives inside it,
    /// so that arming it allocates nothing. `.await` pins it for you; to poll
    /// it by hand or keep it across `select!` iterations, pin it first
    /// ([`std::pin::pin!`] or [`Box::pin`]).
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
        // Armed by the first poll (and again after a `reset`).
        armed: bool,
        // The output, once returned.
        outcome: Option<Result<()>>,
        #[pin]
        alarm: Alarm,
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("armed", &self.armed)
            .field("outcome", &self.outcome)
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
        armed: false,
        outcome: None,
        alarm: Alarm::new(),
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
        match self.outcome {
            Some(outcome) => outcome.is_ok(),
            None => self.armed && self.alarm.outcome() == Some(Ok(())),
        }
    }

    /// Moves the deadline to `deadline`, as if made by
    /// [`sleep_until`]`(deadline)`: an armed timer entry is taken out, and
    /// the next poll arms it again (a sleep that has completed waits again).
    /// What a loop that keeps one timeout across iterations uses instead of
    /// making a new sleep each time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let _platform = mfwq::Platform::start()?;
    /// let mut sleep = std::pin::pin!(mfwq::sleep(Duration::from_secs(60)));
    /// let soon = Instant::now() + Duration::from_millis(2);
    /// sleep.as_mut().reset(soon);
    /// mfwq::block_on(sleep.as_mut())?;
    /// assert!(Instant::now() >= soon);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        if std::mem::take(this.armed) {
            this.alarm.withdraw();
        }
        *this.deadline = deadline;
        *this.outcome = None;
    }
}

impl Future for Sleep {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.project();
        if let Some(outcome) = *this.outcome {
            return Poll::Ready(outcome);
        }
        let poll = if *this.armed {
            this.alarm.as_ref().poll(context.waker())
        } else {
            *this.armed = true;
            this.alarm.arm(*this.deadline, context.waker())
        };
        if let Poll::Ready(outcome) = poll {
            *this.outcome = Some(outcome);
        }
        poll
    }
}
