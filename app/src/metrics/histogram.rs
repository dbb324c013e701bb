//! Latencies of one method: a fixed-bucket histogram recorded with relaxed atomics
//! (O(1), no lock, no allocation) and its quantiles.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (inclusive) of the latency buckets, microseconds; one more bucket
/// (`+Inf`) follows. Fine below a millisecond, where the budgets are.
pub const LATENCY_BUCKETS_US: [u64; 20] = [
    25, 50, 100, 200, 400, 750, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000,
];
pub const BUCKETS: usize = LATENCY_BUCKETS_US.len() + 1;

/// Latencies of one method.
pub(super) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    errors: AtomicU64,
    sum_us: AtomicU64,
    min_us: AtomicU64,
    max_us: AtomicU64,
}

impl Histogram {
    pub(super) fn new() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            min_us: AtomicU64::new(u64::MAX),
            max_us: AtomicU64::new(0),
        }
    }

    pub(super) fn record(&self, micros: u64, ok: bool) {
        let at = LATENCY_BUCKETS_US.partition_point(|&upper| upper < micros);
        self.buckets[at].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(micros, Ordering::Relaxed);
        self.min_us.fetch_min(micros, Ordering::Relaxed);
        self.max_us.fetch_max(micros, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> LatencySnapshot {
        let buckets: [u64; BUCKETS] =
            std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed));
        LatencySnapshot {
            // Counted from the buckets so that `count` and the `+Inf` bucket always agree.
            count: buckets.iter().sum(),
            errors: self.errors.load(Ordering::Relaxed),
            sum_us: self.sum_us.load(Ordering::Relaxed),
            min_us: self.min_us.load(Ordering::Relaxed),
            max_us: self.max_us.load(Ordering::Relaxed),
            buckets,
        }
    }
}

/// One method's figures at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// Per bucket (not cumulative); the last is `+Inf`.
    pub buckets: [u64; BUCKETS],
    pub count: u64,
    pub errors: u64,
    pub sum_us: u64,
    /// Smallest and largest latency seen (`u64::MAX` and 0 without samples).
    pub min_us: u64,
    pub max_us: u64,
}

impl LatencySnapshot {
    /// The `q` quantile (0..=1) in milliseconds, interpolated linearly inside its bucket
    /// (as Prometheus' `histogram_quantile` does), with the bucket narrowed to the smallest
    /// and largest latency seen. `None` without samples.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let bucket_lower = if i == 0 { 0 } else { LATENCY_BUCKETS_US[i - 1] };
                let lower = bucket_lower.max(self.min_us).min(self.max_us);
                let upper = LATENCY_BUCKETS_US
                    .get(i)
                    .copied()
                    .unwrap_or(u64::MAX)
                    .min(self.max_us)
                    .max(lower);
                let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
                let micros = lower as f64 + (upper - lower) as f64 * within;
                return Some(micros / 1000.0);
            }
            below += n;
        }
        Some(self.max_us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_samples(micros: impl IntoIterator<Item = u64>) -> LatencySnapshot {
        let h = Histogram::new();
        for us in micros {
            h.record(us, true);
        }
        h.snapshot()
    }

    /// The bucket an exact latency falls in, as (lower, upper] in ms.
    fn bucket_of_ms(us: u64) -> (f64, f64) {
        let i = LATENCY_BUCKETS_US.partition_point(|&u| u < us);
        let lower = if i == 0 { 0 } else { LATENCY_BUCKETS_US[i - 1] };
        (lower as f64 / 1000.0, LATENCY_BUCKETS_US[i] as f64 / 1000.0)
    }

    #[test]
    fn percentiles_fall_in_the_bucket_of_the_exact_percentile() {
        // 1..=1000 µs: exact p50 = 500 µs, p99 = 990 µs.
        let s = with_samples(1..=1000);
        let p50 = s.quantile_ms(0.5).expect("has samples");
        let p99 = s.quantile_ms(0.99).expect("has samples");
        let (lo, hi) = bucket_of_ms(500);
        assert!(lo < p50 && p50 <= hi, "p50 {p50} not in ({lo}, {hi}]");
        let (lo, hi) = bucket_of_ms(990);
        assert!(lo < p99 && p99 <= hi, "p99 {p99} not in ({lo}, {hi}]");
    }

    #[test]
    fn identical_samples_give_that_latency_as_every_percentile() {
        // 300 µs sits in (200, 400]; the estimate cannot exceed the largest sample.
        let s = with_samples(std::iter::repeat_n(300, 100));
        assert_eq!(s.quantile_ms(0.99), Some(0.3));
        assert!(s.quantile_ms(0.5).expect("has samples") <= 0.3);
    }

    #[test]
    fn one_slow_outlier_moves_p99_but_not_p50() {
        // 98 fast (80 µs) and 2 slow (40 ms): p50 stays under 0.1 ms, p99 lands in the slow bucket.
        let s = with_samples(std::iter::repeat_n(80, 98).chain([40_000, 40_000]));
        assert!(s.quantile_ms(0.5).expect("has samples") <= 0.1);
        let p99 = s.quantile_ms(0.99).expect("has samples");
        assert!(p99 > 25.0 && p99 <= 40.0, "p99 = {p99}");
    }

    #[test]
    fn latencies_past_the_last_bucket_report_the_largest_seen() {
        let s = with_samples([45_000_000]);
        assert_eq!(s.buckets[BUCKETS - 1], 1);
        assert_eq!(s.quantile_ms(0.5), Some(45_000.0));
    }

    #[test]
    fn no_samples_no_percentile() {
        assert_eq!(with_samples([]).quantile_ms(0.5), None);
    }
}
