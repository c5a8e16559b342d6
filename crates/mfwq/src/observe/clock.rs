//! The recorder's clock: raw ticks on the hot path, nanoseconds later.
//!
//! Three timestamps per item (put, start, end) at ~20 ns each through
//! `clock_gettime` would spend most of the per-item budget on the clock, so
//! events carry raw ticks from `quanta` (the CPU's invariant TSC where it has
//! one, calibrated against the monotonic clock; the monotonic clock itself
//! elsewhere), and the writer and the statistics turn ticks into nanoseconds
//! off the hot path. Under Miri, which runs no `rdtsc`, ticks are
//! nanoseconds of `std::time::Instant`.

use std::sync::OnceLock;
use std::time::Instant;

#[cfg(not(miri))]
fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Calibrates the clock now, so that the first recorded event does not.
pub(crate) fn init() {
    let _ = origin();
    let _ = raw();
}

/// The current time in raw ticks.
#[inline]
pub(crate) fn raw() -> u64 {
    #[cfg(not(miri))]
    {
        clock().raw()
    }
    #[cfg(miri)]
    {
        origin().elapsed().as_nanos() as u64
    }
}

/// Nanoseconds from `start` to `end` (0 if `end` is earlier: ticks read on
/// two cores may disagree by a few).
#[inline]
pub(crate) fn nanos_between(start: u64, end: u64) -> u64 {
    if end <= start {
        return 0;
    }
    #[cfg(not(miri))]
    {
        clock().delta_as_nanos(start, end)
    }
    #[cfg(miri)]
    {
        end - start
    }
}

/// A fixed point to convert ticks into absolute times: a tick count and the
/// monotonic time (nanoseconds since an arbitrary origin of this process) it
/// stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anchor {
    ticks: u64,
    nanos: u64,
}

impl Anchor {
    /// The anchor for now.
    pub(crate) fn now() -> Anchor {
        let nanos = origin().elapsed().as_nanos() as u64;
        Anchor {
            ticks: raw(),
            nanos,
        }
    }

    /// `ticks` as nanoseconds since the process's clock origin.
    pub(crate) fn nanos(&self, ticks: u64) -> u64 {
        if ticks >= self.ticks {
            self.nanos + nanos_between(self.ticks, ticks)
        } else {
            self.nanos.saturating_sub(nanos_between(ticks, self.ticks))
        }
    }
}
