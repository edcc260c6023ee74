//! A token bucket per connection, and a throttle for the log lines about
//! what it drops; the clock is an input.

use std::time::{Duration, Instant};

/// Allows `rate` messages per second on average with bursts of `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: u32, burst: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Take one token; false when the connection is over its rate.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// At most one log line per interval about something that may repeat
/// fast (a host flooding the feed): the rest are counted, and the next
/// line says how many were left out.
#[derive(Debug, Clone)]
pub struct LogEvery {
    every: Duration,
    /// When the last line was written.
    last: Option<Instant>,
    /// Occurrences since then that were not logged.
    quiet: u64,
}

impl LogEvery {
    pub fn new(every: Duration) -> LogEvery {
        LogEvery {
            every,
            last: None,
            quiet: 0,
        }
    }

    /// One more occurrence at `now`: `Some(n)` when it is to be logged, `n`
    /// being how many were left out since the last line; `None` when not.
    pub fn tick(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                self.quiet += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.quiet))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 5, t0);
        assert!((0..5).all(|_| b.allow(t0)));
        assert!(!b.allow(t0));
        assert!(b.allow(t0 + Duration::from_millis(100)));
        assert!(!b.allow(t0 + Duration::from_millis(100)));
        assert!((0..5).all(|_| b.allow(t0 + Duration::from_secs(10))));
    }

    #[test]
    fn a_repeating_log_line_is_written_once_per_interval_with_a_count() {
        let t0 = Instant::now();
        let mut log = LogEvery::new(Duration::from_secs(10));
        assert_eq!(log.tick(t0), Some(0));
        assert_eq!(log.tick(t0 + Duration::from_secs(1)), None);
        assert_eq!(log.tick(t0 + Duration::from_secs(9)), None);
        assert_eq!(log.tick(t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(log.tick(t0 + Duration::from_secs(30)), Some(0));
    }
}
