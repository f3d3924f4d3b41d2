//! Flood control: a token bucket per session.

use std::time::Instant;

use crate::protocol::FLOOD_FACTOR;

/// What to do with one incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refuse this frame; the bucket refills in this many milliseconds.
    Limited {
        retry_after_ms: u64,
    },
    /// The session floods far beyond the limit: close it.
    Flood,
}

#[derive(Debug, Clone)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Bucket {
            rate,
            burst,
            tokens: burst,
        }
    }

    fn refill(&mut self, elapsed_s: f64) {
        self.tokens = (self.tokens + elapsed_s * self.rate).min(self.burst);
    }

    fn take(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn ms_until_one(&self) -> u64 {
        (((1.0 - self.tokens) / self.rate) * 1000.0).ceil().max(1.0) as u64
    }
}

/// `rate` frames per second with bursts of `2 × rate`; every frame, refused
/// or not, also counts against a bucket `FLOOD_FACTOR` times larger, and a
/// session that empties that one is flooding.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limits: Option<(Bucket, Bucket)>,
    last: Instant,
}

impl RateLimiter {
    /// `rate` 0 means unlimited.
    pub fn new(rate: u32, now: Instant) -> Self {
        let limits = (rate > 0).then(|| {
            let rate = f64::from(rate);
            let factor = f64::from(FLOOD_FACTOR);
            (
                Bucket::new(rate, 2.0 * rate),
                Bucket::new(rate * factor, 2.0 * rate * factor),
            )
        });
        RateLimiter { limits, last: now }
    }

    /// The verdict on one frame arriving at `now`. A frame that does not
    /// `count_as_flood` (one the server paces by itself) is only held to
    /// the rate, and never gets a session closed.
    pub fn check(&mut self, now: Instant, count_as_flood: bool) -> Verdict {
        let Some((normal, flood)) = &mut self.limits else {
            return Verdict::Allow;
        };
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        normal.refill(elapsed);
        flood.refill(elapsed);
        if count_as_flood && !flood.take() {
            return Verdict::Flood;
        }
        if normal.take() {
            Verdict::Allow
        } else {
            Verdict::Limited {
                retry_after_ms: normal.ms_until_one(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_then_limits_then_refills() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(20, t0);
        for _ in 0..40 {
            assert_eq!(r.check(t0, true), Verdict::Allow);
        }
        let Verdict::Limited { retry_after_ms } = r.check(t0, true) else {
            panic!("expected a limit")
        };
        assert!((1..=50).contains(&retry_after_ms));
        assert_eq!(
            r.check(t0 + Duration::from_millis(100), true),
            Verdict::Allow
        );
    }

    #[test]
    fn sustained_flooding_is_detected() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(20, t0);
        let mut verdicts = Vec::new();
        for i in 0..1000u64 {
            verdicts.push(r.check(t0 + Duration::from_micros(i * 1000), true));
        }
        assert!(verdicts.contains(&Verdict::Flood));
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(0, t0);
        assert!((0..10_000).all(|_| r.check(t0, true) == Verdict::Allow));
    }

    #[test]
    fn frames_the_server_paces_are_limited_but_never_a_flood() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(20, t0);
        let verdicts: Vec<Verdict> = (0..1000).map(|_| r.check(t0, false)).collect();
        assert_eq!(
            verdicts.iter().filter(|v| **v == Verdict::Allow).count(),
            40
        );
        assert!(!verdicts.contains(&Verdict::Flood));
    }
}
