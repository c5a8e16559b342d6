//! Median, minimum, maximum and spread of a set of samples.

/// The summary of one contestant's samples (all in the same unit, lower is better).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median (the mean of the two middle samples for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// How many samples.
    pub count: usize,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none or one is not finite.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            count: n,
        })
    }

    /// A summary of one value (a single measurement).
    pub fn single(value: f64) -> Summary {
        Summary {
            median: value,
            min: value,
            max: value,
            count: 1,
        }
    }

    /// `(max - min) / median`, in percent; 0 for a zero median.
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median.abs() * 100.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_count_takes_the_middle() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!(s.median, 3.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 5.0);
        assert_eq!(s.count, 3);
    }

    #[test]
    fn even_count_averages_the_two_middles() {
        let s = Summary::of(&[4.0, 1.0, 3.0, 100.0]).unwrap();
        assert_eq!(s.median, 3.5);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 100.0);
    }

    #[test]
    fn one_sample_and_none() {
        assert_eq!(Summary::of(&[2.5]), Some(Summary::single(2.5)));
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn median_is_robust_to_one_outlier() {
        let s = Summary::of(&[10.0, 11.0, 9.0, 10.5, 1000.0]).unwrap();
        assert_eq!(s.median, 10.5);
    }

    #[test]
    fn spread_is_range_over_median() {
        let s = Summary::of(&[90.0, 100.0, 110.0]).unwrap();
        assert!((s.spread_pct() - 20.0).abs() < 1e-9);
        assert_eq!(Summary::single(0.0).spread_pct(), 0.0);
    }
}
