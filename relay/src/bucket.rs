//! A token bucket in bytes: `rate` bytes per second sustained, bursts up to
//! one second's worth. Time is an input, so tests control it.

use std::time::{Duration, Instant};

/// A byte budget refilled continuously. A rate of 0 means unlimited.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Bytes added per second (0: unlimited).
    rate: u64,
    /// Largest balance: one second of `rate`, so short bursts pass.
    capacity: u64,
    /// Current balance in bytes.
    tokens: u64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket of `rate` bytes per second.
    pub fn new(rate: u64, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            capacity: rate,
            tokens: rate,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated);
        let add = elapsed.as_nanos() * u128::from(self.rate) / Duration::from_secs(1).as_nanos();
        if add > 0 {
            let add = u64::try_from(add).unwrap_or(u64::MAX);
            self.tokens = self.tokens.saturating_add(add).min(self.capacity);
            self.updated = now;
        }
    }

    /// Whether `n` bytes fit now (without taking them).
    pub fn has(&mut self, now: Instant, n: u64) -> bool {
        if self.rate == 0 {
            return true;
        }
        self.refill(now);
        self.tokens >= n
    }

    /// Take `n` bytes; callers check [`has`](Self::has) first.
    pub fn take(&mut self, n: u64) {
        self.tokens = self.tokens.saturating_sub(n);
    }

    /// Take `n` bytes if they fit; false (and nothing taken) otherwise.
    pub fn try_take(&mut self, now: Instant, n: u64) -> bool {
        let ok = self.has(now, n);
        if ok {
            self.take(n);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_to_capacity_then_sustains_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, t0);
        assert!(b.try_take(t0, 600));
        assert!(!b.try_take(t0, 600), "only 400 left");
        assert!(b.try_take(t0, 400));
        assert!(!b.try_take(t0, 1));
        let t1 = t0 + Duration::from_millis(100);
        assert!(b.try_take(t1, 100), "100 ms refills 100 bytes");
        assert!(!b.try_take(t1, 1));
        let t2 = t1 + Duration::from_secs(60);
        assert!(!b.try_take(t2, 1001), "never above one second's worth");
        assert!(b.try_take(t2, 1000));
    }

    #[test]
    fn tiny_steps_still_add_up() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, t0);
        assert!(b.try_take(t0, 1000));
        let mut t = t0;
        for _ in 0..1000 {
            t += Duration::from_micros(100); // 0.1 byte each
            let _ = b.has(t, 1);
        }
        assert!(b.try_take(t, 100));
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0);
        assert!(b.try_take(t0, u64::MAX));
    }
}
