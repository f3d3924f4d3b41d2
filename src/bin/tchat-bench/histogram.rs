//! A fixed-size latency histogram with about 1.5 % precision, so millions of
//! deliveries can be recorded without storing each one.

use std::time::Duration;

const SUB_BUCKETS: u64 = 64;
const BUCKETS: usize = 64 * 44;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_us: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < 2 * SUB_BUCKETS {
        return v as usize;
    }
    let shift = 63 - u64::from(v.leading_zeros()) - 6;
    ((SUB_BUCKETS * shift + (v >> shift)) as usize).min(BUCKETS - 1)
}

fn value(index: usize) -> u64 {
    let index = index as u64;
    if index < 2 * SUB_BUCKETS {
        return index;
    }
    let shift = index / SUB_BUCKETS - 1;
    (index - SUB_BUCKETS * shift) << shift
}

impl Histogram {
    pub fn record(&mut self, latency: Duration) {
        let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        self.counts[index(us)] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// The value at quantile `q` (0–1) in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(i).min(self.max_us);
            }
        }
        self.max_us
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// `p50 … p99 … max …` in milliseconds.
    pub fn summary(&self) -> String {
        if self.total == 0 {
            return "no samples".into();
        }
        format!(
            "p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   ({} samples)",
            self.quantile_us(0.50) as f64 / 1000.0,
            self.quantile_us(0.99) as f64 / 1000.0,
            self.max_us as f64 / 1000.0,
            self.total
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_precision() {
        let mut h = Histogram::default();
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile_us(0.5) as f64;
        let p99 = h.quantile_us(0.99) as f64;
        assert!((p50 - 5000.0).abs() / 5000.0 < 0.02, "{p50}");
        assert!((p99 - 9900.0).abs() / 9900.0 < 0.02, "{p99}");
        assert_eq!(h.max_us(), 10_000);
        assert_eq!(h.total, 10_000);
        for v in [0u64, 1, 127, 128, 129, 1000, 1 << 20, 1 << 35] {
            let i = index(v);
            assert!(
                value(i) <= v && v - value(i) <= v / 64 + 1,
                "{v} -> {}",
                value(i)
            );
        }
    }
}
