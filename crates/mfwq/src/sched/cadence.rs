//! Anticipating a periodic feeder: the one worker of a real-time queue learns
//! the period at which its work arrives and, once that period is steady, wakes
//! itself shortly before the next item is due and polls for it, so that the
//! item is picked up without the pusher's futex wake.
//!
//! Why: an audio client puts one block per period (an audio device's callback,
//! a timer). A worker that parks between blocks is woken by the put, which
//! costs a futex wake and a wake-up of the worker on another CPU: tens of
//! microseconds in a virtual machine, most of the gap between a real-time
//! queue and a bare real-time thread that does the work on its own timer. A
//! worker that is already awake when the block comes takes it within a cache
//! miss. Its own wake-up is a timer on its own CPU, as the bare thread's is.
//!
//! The cost is the poll: from [`LEAD`] before the expected arrival until the
//! item comes, at most [`LEAD`] + [`WINDOW`] per period. Nothing is polled
//! until [`STEADY_INTERVALS`] intervals in a row agree; a feeder that stops,
//! or changes its period, is forgotten after [`MAX_MISSES`] periods without
//! an arrival on schedule. Work that arrives off schedule wakes the worker as
//! always (the worker is parked then), so a wrong guess costs only the poll.
//!
//! This type only keeps time: it is pure arithmetic on the instants the
//! worker gives it (unit-tested below with made-up clocks). The worker loop
//! (`QueueCore::wait_for_work`) decides when to use it.

use std::time::{Duration, Instant};

/// How long before the expected arrival the worker wakes. It covers the
/// worker's own timer wake-up lateness (a real-time thread's median is
/// 20–30 µs on the machines we measured, its p99 40–100 µs under load): with
/// 100 µs, 0.6% of the blocks came before the worker was awake for them
/// (and paid the futex wake, which decided the p99); with 150 µs, 0.2%.
pub(crate) const LEAD: Duration = Duration::from_micros(150);
/// How long after the expected arrival the worker keeps polling before it
/// parks (then the put wakes it, as without anticipation).
pub(crate) const WINDOW: Duration = Duration::from_micros(250);
/// Shortest period anticipated: below it the poll would never end.
pub(crate) const MIN_PERIOD: Duration = Duration::from_micros(500);
/// Longest period anticipated (4,096 frames at 48 kHz is 85 ms).
pub(crate) const MAX_PERIOD: Duration = Duration::from_millis(100);
/// Intervals in a row within [`tolerance`] of each other before the period
/// counts as steady.
pub(crate) const STEADY_INTERVALS: u32 = 4;
/// Periods in a row without an arrival on schedule before the period is
/// forgotten.
pub(crate) const MAX_MISSES: u32 = 3;
/// Ticks a late arrival may be behind the expected one and still count.
const MAX_SKIPPED_TICKS: u32 = 8;

/// How far one interval may be from the period and still agree: 6%, at
/// least 50 µs (the arrivals are measured on a woken thread until the
/// anticipation starts, so they carry its wake-up jitter; a wrong guess costs
/// only a few polls).
fn tolerance(period: Duration) -> Duration {
    (period / 16).max(Duration::from_micros(50))
}

/// Whether real-time queues anticipate their feeders: 0 not decided yet,
/// 1 off, 2 on.
static ENABLED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// The variable that turns anticipation off (`0`) or on (`1`) at startup.
pub(crate) const ENV: &str = "MFWQ_RT_ANTICIPATE";

/// Whether real-time queues anticipate their feeders: [`set_enabled`]'s
/// last word, else [`ENV`], else on where there is more than one CPU (on one
/// CPU the poll would hold off the feeder it waits for).
#[inline]
pub(crate) fn enabled() -> bool {
    match ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        0 => decide(),
        state => state == 2,
    }
}

#[cold]
fn decide() -> bool {
    let on = match std::env::var(ENV).ok().as_deref().map(str::trim) {
        Some("0") => false,
        Some("1") => true,
        _ => std::thread::available_parallelism().is_ok_and(|cpus| cpus.get() > 1),
    };
    let _ = ENABLED.compare_exchange(
        0,
        if on { 2 } else { 1 },
        std::sync::atomic::Ordering::Relaxed,
        std::sync::atomic::Ordering::Relaxed,
    );
    ENABLED.load(std::sync::atomic::Ordering::Relaxed) == 2
}

/// Turns anticipation on or off for every real-time queue, from their next
/// idle spell on.
pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(if on { 2 } else { 1 }, std::sync::atomic::Ordering::Relaxed);
}

/// When to be awake for the next item: from `wake_at` until `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Watch {
    pub(crate) wake_at: Instant,
    pub(crate) until: Instant,
}

/// What a worker knows about the rhythm of its queue's arrivals.
#[derive(Debug, Default)]
pub(crate) struct Cadence {
    /// The last arrival while learning.
    last: Option<Instant>,
    /// The period learned so far (the mean of the agreeing intervals).
    period: Duration,
    /// Agreeing intervals in a row.
    steady: u32,
    /// Once steady: when the next item is expected.
    expected: Option<Instant>,
    /// Periods in a row without an arrival on schedule.
    misses: u32,
    /// The last watch ended without its item: an item that comes late for
    /// that tick is the same miss, not another one.
    watch_missed: bool,
}

impl Cadence {
    pub(crate) fn new() -> Cadence {
        Cadence::default()
    }

    /// The period, once it is steady.
    #[cfg(test)]
    pub(crate) fn period(&self) -> Option<Duration> {
        self.expected.map(|_| self.period)
    }

    /// Work was found, at `at`, by the worker after it had run out of work.
    pub(crate) fn arrived(&mut self, at: Instant) {
        if let Some(expected) = self.expected {
            self.follow(expected, at);
        } else {
            self.learn(at);
        }
    }

    fn learn(&mut self, at: Instant) {
        let Some(last) = self.last.replace(at) else {
            return;
        };
        let interval = at.saturating_duration_since(last);
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&interval) {
            self.steady = 0;
            return;
        }
        if self.steady > 0 && interval.abs_diff(self.period) <= tolerance(self.period) {
            // A running mean of the agreeing intervals.
            self.period = (self.period * self.steady + interval) / (self.steady + 1);
            self.steady += 1;
        } else {
            self.period = interval;
            self.steady = 1;
        }
        if self.steady >= STEADY_INTERVALS {
            self.expected = Some(at + self.period);
            self.misses = 0;
        }
    }

    /// An arrival once the period is steady: on schedule if it is within
    /// [`WINDOW`] of a tick (the expected one, the one before it, or a few
    /// after it that the feeder let pass).
    ///
    /// On schedule, the expected time follows the feeder as a second-order
    /// loop: the phase moves an eighth of the error, the period a
    /// thirty-second of it. (With the phase alone, a period learned a little
    /// off, from arrivals measured on a woken thread, would leave the expected
    /// time off by eight times that for ever, possibly before the watch.)
    fn follow(&mut self, expected: Instant, at: Instant) {
        let period = self.period;
        if at > expected + period * MAX_SKIPPED_TICKS {
            // Long after the rhythm: whatever was learned is stale.
            self.forget();
            self.last = Some(at);
            return;
        }
        let mut tick = expected.checked_sub(period).unwrap_or(expected);
        while at > tick + WINDOW {
            tick += period;
        }
        let on_schedule = at + WINDOW >= tick;
        let watch_missed = std::mem::take(&mut self.watch_missed);
        if on_schedule {
            let (late, error) = if at >= tick {
                (true, at - tick)
            } else {
                (false, tick - at)
            };
            let adjusted = if late {
                period + error / 32
            } else {
                period.saturating_sub(error / 32)
            };
            self.period = adjusted.clamp(MIN_PERIOD, MAX_PERIOD);
            let next = tick + self.period;
            self.expected = Some(if late {
                next + error / 8
            } else {
                next - error / 8
            });
            self.misses = 0;
        } else {
            // Between ticks: the late item of a watch that already counted
            // as missed, or one off the rhythm.
            if !watch_missed {
                self.miss();
            }
            if self.expected.is_some() {
                self.expected = Some(tick);
            } else {
                self.last = Some(at);
            }
        }
    }

    /// When to be awake for the next expected item, seen at `now`; `None`
    /// while the period is not steady. Ticks already past (the worker was
    /// busy through them) are skipped.
    pub(crate) fn watch(&mut self, now: Instant) -> Option<Watch> {
        let period = self.period;
        let expected = self.expected.as_mut()?;
        let mut skipped = 0;
        while *expected + WINDOW < now {
            *expected += period;
            skipped += 1;
            if skipped > MAX_SKIPPED_TICKS {
                self.forget();
                return None;
            }
        }
        let expected = *expected;
        Some(Watch {
            wake_at: expected.checked_sub(LEAD).unwrap_or(expected),
            until: expected + WINDOW,
        })
    }

    /// A watch ended with nothing found: the item of that tick did not come
    /// on time.
    pub(crate) fn missed(&mut self) {
        self.miss();
        if let Some(expected) = self.expected.as_mut() {
            *expected += self.period;
            self.watch_missed = true;
        }
    }

    /// Forgets what was learned, if anything (cheap when nothing was).
    pub(crate) fn forget_if_known(&mut self) {
        if self.last.is_some() || self.expected.is_some() {
            self.forget();
        }
    }

    fn miss(&mut self) {
        self.misses += 1;
        if self.misses >= MAX_MISSES {
            self.forget();
        }
    }

    fn forget(&mut self) {
        *self = Cadence::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_micros(2667);

    fn steady(start: Instant) -> (Cadence, Instant) {
        let mut cadence = Cadence::new();
        let mut at = start;
        for _ in 0..=STEADY_INTERVALS {
            cadence.arrived(at);
            at += PERIOD;
        }
        (cadence, at - PERIOD)
    }

    #[test]
    fn a_steady_feeder_is_anticipated_after_enough_agreeing_intervals() {
        let start = Instant::now();
        let mut cadence = Cadence::new();
        for k in 0..STEADY_INTERVALS {
            cadence.arrived(start + PERIOD * k);
            assert_eq!(cadence.watch(start), None, "not steady after {k} arrivals");
        }
        cadence.arrived(start + PERIOD * STEADY_INTERVALS);
        let next = start + PERIOD * (STEADY_INTERVALS + 1);
        assert_eq!(cadence.period(), Some(PERIOD));
        assert_eq!(
            cadence.watch(start + PERIOD * STEADY_INTERVALS),
            Some(Watch {
                wake_at: next - LEAD,
                until: next + WINDOW
            })
        );
    }

    #[test]
    fn jitter_within_tolerance_still_counts_and_the_period_is_the_mean() {
        let start = Instant::now();
        let mut cadence = Cadence::new();
        let jitter = [0, 40, 0, 30, 10];
        let mut at = start;
        for (k, us) in jitter.iter().enumerate() {
            if k > 0 {
                at += PERIOD;
            }
            cadence.arrived(at + Duration::from_micros(*us));
        }
        let period = cadence.period().expect("steady");
        assert!(
            period.abs_diff(PERIOD) < Duration::from_micros(10),
            "{period:?}"
        );
    }

    #[test]
    fn irregular_or_out_of_range_intervals_are_never_anticipated() {
        let start = Instant::now();
        let mut cadence = Cadence::new();
        let mut at = start;
        for k in 0..50u32 {
            // Alternating 1 ms and 3 ms.
            at += Duration::from_millis(if k % 2 == 0 { 1 } else { 3 });
            cadence.arrived(at);
        }
        assert_eq!(cadence.period(), None);
        let mut cadence = Cadence::new();
        for k in 0..50u32 {
            cadence.arrived(start + Duration::from_micros(100) * k);
        }
        assert_eq!(cadence.period(), None, "faster than MIN_PERIOD");
        for k in 0..50u32 {
            cadence.arrived(start + Duration::from_millis(200) * k);
        }
        assert_eq!(cadence.period(), None, "slower than MAX_PERIOD");
    }

    #[test]
    fn arrivals_on_schedule_keep_the_phase_and_follow_drift_slowly() {
        let start = Instant::now();
        let (mut cadence, last) = steady(start);
        // The feeder comes 80 µs late from now on: the expected tick moves
        // an eighth of the error per arrival, towards it.
        let late = Duration::from_micros(80);
        let mut tick = last + PERIOD;
        let mut previous_error = late;
        for _ in 0..20 {
            let watch = cadence.watch(tick - LEAD).expect("steady");
            let expected = watch.wake_at + LEAD;
            let error = (tick + late).saturating_duration_since(expected);
            assert!(error <= previous_error, "{error:?} > {previous_error:?}");
            previous_error = error;
            cadence.arrived(tick + late);
            tick += PERIOD;
        }
        assert!(
            previous_error < Duration::from_micros(10),
            "{previous_error:?}"
        );
    }

    #[test]
    fn a_feeder_that_stops_is_forgotten_after_max_misses() {
        let start = Instant::now();
        let (mut cadence, last) = steady(start);
        let mut now = last;
        for miss in 0..MAX_MISSES {
            let watch = cadence.watch(now).expect("still anticipated");
            assert!(
                watch.wake_at > now,
                "the next tick is ahead after {miss} misses"
            );
            now = watch.until;
            cadence.missed();
        }
        assert_eq!(cadence.watch(now), None);
        assert_eq!(cadence.period(), None);
    }

    #[test]
    fn a_late_arrival_after_a_miss_keeps_the_period() {
        let start = Instant::now();
        let (mut cadence, last) = steady(start);
        let tick = last + PERIOD;
        let watch = cadence.watch(last).unwrap();
        cadence.missed();
        // The item of that tick comes 1 ms late: off schedule, one miss more,
        // but the period stays while fewer than MAX_MISSES are missed in a row.
        cadence.arrived(tick + Duration::from_millis(1));
        assert_eq!(cadence.period(), Some(PERIOD));
        let next = cadence.watch(tick + Duration::from_millis(1)).unwrap();
        assert_eq!(next.wake_at, watch.wake_at + PERIOD);
        // Back on schedule: the misses are cleared.
        cadence.arrived(tick + PERIOD);
        for _ in 0..MAX_MISSES - 1 {
            cadence.missed();
        }
        assert_eq!(cadence.period(), Some(PERIOD));
    }

    #[test]
    fn a_period_learned_slightly_off_is_corrected_until_the_items_fall_in_the_watch() {
        let start = Instant::now();
        let mut cadence = Cadence::new();
        // Learned 15 µs too long (arrivals measured on a woken thread).
        let learned = PERIOD + Duration::from_micros(15);
        for k in 0..=STEADY_INTERVALS {
            cadence.arrived(start + learned * k);
        }
        let mut put = start + learned * STEADY_INTERVALS + PERIOD;
        let mut error = Duration::MAX;
        for _ in 0..200 {
            let watch = cadence.watch(put - PERIOD / 2).expect("still steady");
            let expected = watch.wake_at + LEAD;
            error = expected
                .checked_duration_since(put)
                .unwrap_or_else(|| put - expected);
            cadence.arrived(put);
            put += PERIOD;
        }
        assert!(
            error < Duration::from_micros(5),
            "expected time {error:?} off"
        );
        let period = cadence.period().unwrap();
        assert!(
            period.abs_diff(PERIOD) < Duration::from_micros(2),
            "{period:?}"
        );
    }

    #[test]
    fn an_arrival_long_after_the_rhythm_forgets_it_at_once() {
        let start = Instant::now();
        let (mut cadence, last) = steady(start);
        // A day later (anticipation was off meanwhile): no walk through the
        // ticks in between, the rhythm is simply gone.
        cadence.arrived(last + Duration::from_secs(86_400));
        assert_eq!(cadence.period(), None);
        let mut cadence = steady(start).0;
        cadence.forget_if_known();
        assert_eq!(cadence.period(), None);
    }

    #[test]
    fn a_late_item_after_its_watch_is_one_miss_not_two() {
        let start = Instant::now();
        let (mut cadence, last) = steady(start);
        let mut tick = last + PERIOD;
        for _ in 0..MAX_MISSES - 1 {
            cadence.watch(tick - LEAD).unwrap();
            cadence.missed();
            cadence.arrived(tick + WINDOW * 3);
            tick += PERIOD;
        }
        assert_eq!(
            cadence.period(),
            Some(PERIOD),
            "two late items: still steady"
        );
        cadence.watch(tick - LEAD).unwrap();
        cadence.missed();
        assert_eq!(cadence.period(), None, "the third late period forgets");
    }

    #[test]
    fn a_busy_worker_skips_the_ticks_it_worked_through() {
        let start = Instant::now();
        let (mut cadence, last) = steady(start);
        // The worker looks again three periods later.
        let now = last + PERIOD * 3 + WINDOW * 2;
        let watch = cadence.watch(now).unwrap();
        assert_eq!(watch.wake_at + LEAD, last + PERIOD * 4);
        // Far later: forgotten.
        let mut cadence = steady(start).0;
        assert_eq!(cadence.watch(last + PERIOD * 20), None);
    }
}
