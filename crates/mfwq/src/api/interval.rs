//! [`interval`] and [`interval_at`]: a future-side period on the platform's
//! timer that, unlike a [`sleep`](super::sleep::sleep) per period, keeps its
//! state from tick to tick.
//!
//! An [`Interval`] holds one alarm (`timer/alarm.rs`), boxed at its first
//! arming (so the interval itself can move), for its whole life and re-arms
//! it for each tick, so a tick after the first allocates nothing
//! (`tests/realtime_safety.rs` counts it), and it keeps the cadence's phase
//! where a `sleep` per period drifts by each wake-up's lateness. It is what
//! a task on a real-time queue should await once per period. Like a
//! sleep's, an armed tick ends with `Err(Error::Shutdown)` when the last
//! shutdown starts; dropping the interval withdraws it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::timer::Alarm;

/// Ticks at `start`, `start + period`, `start + 2 × period`, … on the
/// platform's timer; made by [`interval`] and [`interval_at`].
///
/// [`tick`](Interval::tick) completes at (never before) the next tick and
/// returns that tick's instant. A tick that is already past when it is
/// awaited completes at once; when more than a whole period was missed (the
/// task was busy, the machine stalled), the missed ticks are skipped and the
/// cadence continues from the next tick after now, as the platform's
/// periodic callbacks do. An interval works under any executor, as
/// [`Sleep`](crate::Sleep) does.
///
/// Errors: `Err(Error::Shutdown)` when the platform is not running at an
/// arming, or shuts down while a tick is awaited.
///
/// ```
/// use std::time::{Duration, Instant};
/// let _platform = mfwq::Platform::start()?;
/// let task = mfwq::spawn_future(mfwq::QueueId::STANDARD, async {
///     let mut ticks = mfwq::interval(Duration::from_millis(2));
///     let first = ticks.tick().await?; // at once
///     let third = {
///         ticks.tick().await?;
///         ticks.tick().await?
///     };
///     assert!(third >= first + Duration::from_millis(4));
///     Ok::<_, mfwq::Error>(())
/// })?;
/// mfwq::block_on(task)??;
/// # Ok::<(), mfwq::Error>(())
/// ```
pub struct Interval {
    period: Duration,
    next: Instant,
    /// The alarm, made at the first arming and kept.
    alarm: Option<Pin<Box<Alarm>>>,
    /// The alarm is armed for `next` and has not been seen to ring.
    armed: bool,
}

impl std::fmt::Debug for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.next)
            .field("armed", &self.armed)
            .finish()
    }
}

/// An interval whose first tick is now.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// let ticks = mfwq::interval(std::time::Duration::from_millis(10));
/// assert_eq!(ticks.period(), std::time::Duration::from_millis(10));
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An interval whose first tick is `start`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now() + Duration::from_secs(1);
/// let ticks = mfwq::interval_at(start, Duration::from_millis(10));
/// assert_eq!(ticks.next_tick(), start);
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "an interval's period must not be zero");
    Interval {
        period,
        next: start,
        alarm: None,
        armed: false,
    }
}

impl Interval {
    /// The time between ticks.
    ///
    /// ```
    /// let ticks = mfwq::interval(std::time::Duration::from_millis(5));
    /// assert_eq!(ticks.period(), std::time::Duration::from_millis(5));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// When the next tick is due.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let before = Instant::now();
    /// let ticks = mfwq::interval(Duration::from_millis(5));
    /// assert!(ticks.next_tick() >= before);
    /// ```
    pub fn next_tick(&self) -> Instant {
        self.next
    }

    /// Completes at the next tick, with that tick's instant.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let _platform = mfwq::Platform::start()?;
    /// let mut ticks = mfwq::interval(Duration::from_millis(1));
    /// let first = mfwq::block_on(ticks.tick())?;
    /// let second = mfwq::block_on(ticks.tick())?;
    /// assert_eq!(second, first + Duration::from_millis(1));
    /// assert!(Instant::now() >= second);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub async fn tick(&mut self) -> Result<Instant> {
        std::future::poll_fn(|context| self.poll_tick(context)).await
    }

    /// The poll behind [`tick`](Self::tick), for hand-written futures and
    /// streams: `Ready` with the tick's instant once it is due; otherwise
    /// the timer item is armed (once) and `context`'s waker is woken at the
    /// tick.
    ///
    /// ```
    /// use std::task::Poll;
    /// let _platform = mfwq::Platform::start()?;
    /// let mut ticks = mfwq::interval(std::time::Duration::from_secs(60));
    /// let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    /// assert!(matches!(ticks.poll_tick(&mut context), Poll::Ready(Ok(_)))); // the first, now
    /// assert!(ticks.poll_tick(&mut context).is_pending()); // the next, in a minute
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn poll_tick(&mut self, context: &mut Context<'_>) -> Poll<Result<Instant>> {
        loop {
            let now = Instant::now();
            if now >= self.next {
                // The armed item (if any) is due too: it fires or is
                // cancelled; either way the next arming starts afresh.
                self.disarm();
                let tick = self.next;
                self.next = next_tick_after(tick, self.period, now);
                return Poll::Ready(Ok(tick));
            }
            if !self.armed {
                match self.arm(context) {
                    Ok(true) => return Poll::Pending,
                    // Due already (the timer saw the tick pass): the loop's
                    // next look returns it.
                    Ok(false) => continue,
                    Err(error) => return Poll::Ready(Err(error)),
                }
            }
            let alarm = self
                .alarm
                .as_ref()
                .expect("an armed interval has its alarm");
            match alarm.as_ref().poll(context.waker()) {
                // Fired: the deadline has passed, so the loop's next look
                // returns the tick.
                Poll::Ready(Ok(())) => self.armed = false,
                Poll::Ready(Err(error)) => {
                    self.armed = false;
                    return Poll::Ready(Err(error));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Arms the alarm for the next tick: `Ok(false)` if the tick is due
    /// already.
    fn arm(&mut self, context: &mut Context<'_>) -> Result<bool> {
        let alarm = self.alarm.get_or_insert_with(|| Box::pin(Alarm::new()));
        match alarm.as_mut().arm(self.next, context.waker()) {
            Poll::Pending => {
                self.armed = true;
                Ok(true)
            }
            Poll::Ready(Ok(())) => Ok(false),
            Poll::Ready(Err(error)) => Err(error),
        }
    }

    /// Withdraws an armed alarm that has not rung.
    fn disarm(&mut self) {
        if std::mem::take(&mut self.armed) {
            if let Some(alarm) = &mut self.alarm {
                alarm.as_mut().withdraw();
            }
        }
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// The first tick of the cadence `tick + k × period` (k ≥ 1) that is after
/// `now`, or the very next one if that is not yet past.
fn next_tick_after(tick: Instant, period: Duration, now: Instant) -> Instant {
    let next = tick + period;
    if next > now {
        return next;
    }
    // Missed whole periods: skip them, keeping the phase.
    let behind = now.duration_since(tick).as_nanos();
    let periods = behind / period.as_nanos() + 1;
    let step = period.saturating_mul(u32::try_from(periods).unwrap_or(u32::MAX));
    tick.checked_add(step).unwrap_or(now + period)
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn missed_ticks_are_skipped_keeping_the_phase() {
        let start = Instant::now();
        let period = Duration::from_millis(10);
        assert_eq!(next_tick_after(start, period, start), start + period);
        assert_eq!(
            next_tick_after(start, period, start + Duration::from_millis(35)),
            start + Duration::from_millis(40)
        );
        assert_eq!(
            next_tick_after(start, period, start + Duration::from_millis(40)),
            start + Duration::from_millis(50)
        );
    }
}
