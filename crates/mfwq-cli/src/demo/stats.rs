//! What each stage counts: items in and out, and a latency histogram.
//!
//! The histogram is recorded with relaxed atomics into a fixed array, with no
//! lock and no allocation, because the audio stage records into it from its
//! real-time thread once per block, and the live display reads it from the
//! main thread while the pipeline runs. Its buckets are log-linear (32 per
//! power of two), so a percentile read from it is within about 3% of the
//! recorded value, from nanoseconds to hours, in 15 KiB.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// log2 of the buckets per power of two.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values below `SUB` have a bucket each; each power of two above has `SUB`.
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * SUB) as usize;

/// The bucket of `value` (nanoseconds).
fn bucket(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let exponent = 63 - value.leading_zeros();
    let shift = exponent - SUB_BITS;
    let mantissa = (value >> shift) - SUB;
    (SUB + u64::from(shift) * SUB + mantissa) as usize
}

/// The largest value that falls into bucket `index`.
fn bucket_high(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB {
        return index;
    }
    let shift = (index - SUB) / SUB;
    let mantissa = (index - SUB) % SUB;
    let low = (SUB + mantissa) << shift;
    low.saturating_add((1u64 << shift) - 1)
}

/// A latency histogram that any thread records into without blocking.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Adds one sample.
    pub fn record(&self, value: Duration) {
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket(nanos)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The samples so far: percentiles and maximum.
    pub fn summary(&self) -> Summary {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        let max = self.max.load(Ordering::Relaxed);
        let quantile = |q: f64| -> Option<Duration> {
            if count == 0 {
                return None;
            }
            // The smallest value with at least q of the samples at or below it.
            let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
            let mut seen = 0;
            for (index, &n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Some(Duration::from_nanos(bucket_high(index).min(max)));
                }
            }
            Some(Duration::from_nanos(max))
        };
        Summary {
            p50: quantile(0.50),
            p99: quantile(0.99),
            max: (count > 0).then(|| Duration::from_nanos(max)),
        }
    }
}

/// A histogram's figures at one moment (`None` with no samples).
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    /// Median.
    pub p50: Option<Duration>,
    /// 99th percentile.
    pub p99: Option<Duration>,
    /// Largest sample.
    pub max: Option<Duration>,
}

/// One stage of the pipeline: how many items entered it, how many left it
/// (or were lost in it), and how long each took to get through.
#[derive(Default)]
pub struct Stage {
    inputs: AtomicU64,
    outputs: AtomicU64,
    dropped: AtomicU64,
    /// The stage's latency, as the stage defines it (the summary says how).
    pub latency: Histogram,
}

impl Stage {
    /// An item entered the stage.
    pub fn enter(&self) {
        self.inputs.fetch_add(1, Ordering::Relaxed);
    }

    /// An item left the stage after `latency`.
    pub fn leave(&self, latency: Duration) {
        self.latency.record(latency);
        self.outputs.fetch_add(1, Ordering::Release);
    }

    /// An item that entered the stage will never leave it (an error).
    pub fn drop_item(&self) {
        self.dropped.fetch_add(1, Ordering::Release);
    }

    /// Items that entered so far.
    pub fn inputs(&self) -> u64 {
        self.inputs.load(Ordering::Relaxed)
    }

    /// Items that left so far.
    pub fn outputs(&self) -> u64 {
        self.outputs.load(Ordering::Acquire)
    }

    /// Items lost in the stage so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }

    /// Items inside the stage now (queued or running).
    pub fn in_flight(&self) -> u64 {
        self.inputs()
            .saturating_sub(self.outputs())
            .saturating_sub(self.dropped())
    }
}

/// Everything that went wrong in the pipeline: a call the platform refused,
/// a task that panicked, a frame that arrived corrupt. Any of them fails the
/// run's "no errors" check.
#[derive(Default)]
pub struct Errors {
    count: AtomicU64,
    /// The first few, for the summary.
    first: Mutex<Vec<String>>,
}

impl Errors {
    /// How many to keep the text of.
    const KEEP: usize = 5;

    /// Records one error.
    pub fn record(&self, what: impl std::fmt::Display) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if first.len() < Self::KEEP {
            first.push(what.to_string());
        }
    }

    /// Errors so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The text of the first few.
    pub fn first(&self) -> Vec<String> {
        self.first.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A duration for people: ns, µs, ms or s with three significant digits.
pub fn fmt_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos() as f64;
    let (value, unit) = if nanos < 1e3 {
        (nanos, "ns")
    } else if nanos < 1e6 {
        (nanos / 1e3, "µs")
    } else if nanos < 1e9 {
        (nanos / 1e6, "ms")
    } else {
        (nanos / 1e9, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

/// [`fmt_duration`] of a figure that may be missing ("-").
pub fn fmt_opt(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "-".to_owned(), fmt_duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_hold_their_values() {
        let mut last = 0;
        for value in (0..5000u64).chain([1 << 20, (1 << 40) + 12345, u64::MAX]) {
            let index = bucket(value);
            assert!(index < BUCKETS);
            assert!(index >= last, "{value}");
            assert!(bucket_high(index) >= value, "{value}");
            if index > 0 {
                assert!(bucket_high(index - 1) < value, "{value}");
            }
            last = index;
        }
    }

    #[test]
    fn percentiles_are_within_the_bucket_width() {
        let histogram = Histogram::default();
        for micros in 1..=1000u64 {
            histogram.record(Duration::from_micros(micros));
        }
        let summary = histogram.summary();
        let p50 = summary.p50.unwrap().as_secs_f64() * 1e6;
        let p99 = summary.p99.unwrap().as_secs_f64() * 1e6;
        assert!((500.0..=500.0 * 1.04).contains(&p50), "{p50}");
        assert!((990.0..=1000.0).contains(&p99), "{p99}");
        assert_eq!(summary.max, Some(Duration::from_micros(1000)));
        assert_eq!(Histogram::default().summary().p50, None);
    }

    #[test]
    fn durations_print_with_three_digits() {
        assert_eq!(fmt_duration(Duration::from_nanos(850)), "850 ns");
        assert_eq!(fmt_duration(Duration::from_nanos(41_300)), "41.3 µs");
        assert_eq!(fmt_duration(Duration::from_micros(2_667)), "2.67 ms");
        assert_eq!(fmt_duration(Duration::from_secs(12)), "12.0 s");
        assert_eq!(fmt_opt(None), "-");
    }
}
