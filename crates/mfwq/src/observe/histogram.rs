//! Latency histograms that many threads record into at once.
//!
//! HDR-style log-linear buckets: values below 8 ns have a bucket each; above,
//! every power of two is split into 8 buckets, so a bucket's width is at most
//! 1/8 of its lower bound (12.5 % relative precision) from nanoseconds to
//! hours in 496 counters. Each thread records into histograms of its own
//! (plain stores of atomics, so that a snapshot can read them while they
//! are written) and snapshots add them up. (The `hdrhistogram` crate's
//! histogram would serve per thread too, but its readers need `&` access
//! while the owner writes, which its `&mut self` recording rules out.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets for every `u64`: 8 exact ones, then 8 per power of two from 2^3.
pub(crate) const BUCKETS: usize = ((64 - SUB_BITS as usize) << SUB_BITS) + SUB as usize;

/// The bucket `value` falls in.
#[inline]
fn bucket(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let magnitude = 63 - value.leading_zeros();
    let sub = (value >> (magnitude - SUB_BITS)) & (SUB - 1);
    (((magnitude - SUB_BITS + 1) as usize) << SUB_BITS) | sub as usize
}

/// The largest value in bucket `index`.
fn upper_bound(index: usize) -> u64 {
    if index < SUB as usize {
        return index as u64;
    }
    let magnitude = (index >> SUB_BITS) as u32 + SUB_BITS - 1;
    let sub = (index as u64) & (SUB - 1);
    let lower = (1u64 << magnitude) | (sub << (magnitude - SUB_BITS));
    lower + ((1u64 << (magnitude - SUB_BITS)) - 1)
}

/// A histogram of nanosecond values, recorded concurrently.
pub(crate) struct AtomicHistogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl AtomicHistogram {
    pub(crate) fn new() -> AtomicHistogram {
        AtomicHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// Records a value. Only one thread writes a histogram (its owner: a
    /// per-thread shard, `stats.rs`), so this is plain loads and stores, no
    /// read-modify-write, no cache line shared with another writer.
    #[inline]
    pub(crate) fn record_owned(&self, nanos: u64) {
        let bump = |counter: &AtomicU64, by: u64| {
            counter.store(
                counter.load(Ordering::Relaxed).wrapping_add(by),
                Ordering::Relaxed,
            );
        };
        bump(&self.buckets[bucket(nanos)], 1);
        bump(&self.count, 1);
        bump(&self.sum, nanos);
        if nanos > self.max.load(Ordering::Relaxed) {
            self.max.store(nanos, Ordering::Relaxed);
        }
    }

    /// Adds what `other` holds (a thread's shard folded in when it exits).
    pub(crate) fn absorb(&self, other: &AtomicHistogram) {
        for (mine, theirs) in self.buckets.iter().zip(other.buckets.iter()) {
            let count = theirs.load(Ordering::Relaxed);
            if count > 0 {
                mine.fetch_add(count, Ordering::Relaxed);
            }
        }
        self.count
            .fetch_add(other.count.load(Ordering::Relaxed), Ordering::Relaxed);
        self.sum
            .fetch_add(other.sum.load(Ordering::Relaxed), Ordering::Relaxed);
        self.max
            .fetch_max(other.max.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Empties it (a queue slot reused by a new queue).
    pub(crate) fn clear(&self) {
        for bucket in &*self.buckets {
            bucket.store(0, Ordering::Relaxed);
        }
        self.count.store(0, Ordering::Relaxed);
        self.sum.store(0, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
    }

    /// What it holds now (counts read one by one: a snapshot taken while
    /// threads record may be off by the items recorded meanwhile).
    pub(crate) fn snapshot(&self) -> Histogram {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .filter_map(|(index, count)| {
                let count = count.load(Ordering::Relaxed);
                (count > 0).then(|| (upper_bound(index), count))
            })
            .collect();
        Histogram {
            count: self.count.load(Ordering::Relaxed),
            sum_ns: self.sum.load(Ordering::Relaxed),
            max_ns: self.max.load(Ordering::Relaxed),
            buckets,
        }
    }
}

/// A latency histogram as a snapshot reports it: nanoseconds, in log-linear
/// buckets of at most 12.5 % relative width.
///
/// ```
/// let histogram = mfwq::observe::Histogram::default();
/// assert_eq!(histogram.percentile(0.99), std::time::Duration::ZERO);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Fields missing from a file written by another version read as empty.
#[serde(default)]
pub struct Histogram {
    /// Values recorded.
    pub count: u64,
    /// Their sum, in nanoseconds.
    pub sum_ns: u64,
    /// The largest, in nanoseconds.
    pub max_ns: u64,
    /// `(upper bound in ns, count)` of every non-empty bucket, ascending.
    pub buckets: Vec<(u64, u64)>,
}

impl Histogram {
    /// The value below which a fraction `q` (0.0–1.0) of the values lie, as
    /// the upper bound of its bucket (never above the maximum); zero when empty.
    pub fn percentile(&self, q: f64) -> Duration {
        let total: u64 = self.buckets.iter().map(|&(_, count)| count).sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(bound, count) in &self.buckets {
            seen += count;
            if seen >= rank {
                return Duration::from_nanos(bound.min(self.max_ns));
            }
        }
        Duration::from_nanos(self.max_ns)
    }

    /// The mean, or zero when empty.
    pub fn mean(&self) -> Duration {
        Duration::from_nanos(self.sum_ns.checked_div(self.count).unwrap_or(0))
    }

    /// Adds `other`'s values to these (a retired queue folded into a total).
    pub fn merge(&mut self, other: &Histogram) {
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.max_ns = self.max_ns.max(other.max_ns);
        let mut merged: std::collections::BTreeMap<u64, u64> =
            self.buckets.iter().copied().collect();
        for &(bound, count) in &other.buckets {
            *merged.entry(bound).or_default() += count;
        }
        self.buckets = merged.into_iter().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order_with_bounded_width() {
        let mut last = 0;
        for value in (0..4096u64).chain([u64::MAX / 2, u64::MAX - 1, u64::MAX]) {
            let index = bucket(value);
            assert!(index < BUCKETS, "{value} -> {index}");
            assert!(index >= last, "buckets are monotonic");
            last = index;
            let upper = upper_bound(index);
            assert!(upper >= value, "{value} above its bucket's bound {upper}");
            if index > 0 {
                assert!(upper_bound(index - 1) < value, "{value} belongs lower");
            }
            assert!(upper - value <= value / 8 + 1, "{value}: bucket too wide");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_follow_the_recorded_values() {
        let histogram = AtomicHistogram::new();
        for value in 1..=1000u64 {
            histogram.record_owned(value * 1000);
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 1000);
        assert_eq!(snapshot.max_ns, 1_000_000);
        let p50 = snapshot.percentile(0.5).as_nanos() as f64;
        assert!((500_000.0..=500_000.0 * 1.125).contains(&p50), "{p50}");
        let p99 = snapshot.percentile(0.99).as_nanos() as f64;
        assert!((990_000.0..=1_000_000.0).contains(&p99), "{p99}");
        assert_eq!(snapshot.percentile(1.0), Duration::from_millis(1));
        assert_eq!(snapshot.mean(), Duration::from_nanos(500_500));
        let mut total = snapshot.clone();
        total.merge(&snapshot);
        assert_eq!(total.count, 2000);
        assert_eq!(total.percentile(0.5), snapshot.percentile(0.5));
        histogram.clear();
        assert_eq!(histogram.snapshot(), Histogram::default());
    }
}
