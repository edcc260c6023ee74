//! Sign-in throttling: a pure core keyed by account and by source address.
//!
//! After `free` failures, each further failure doubles the wait before the
//! next attempt is even checked, up to `max_delay`. A success clears the
//! account's record. The clock is an input; the table is bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What a throttle record is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    /// Failures since the last success (or since the record was created).
    failures: u32,
    /// No attempt is checked before this instant.
    blocked_until: Instant,
    /// Last failure; records idle for `forget_after` are dropped.
    last_failure: Instant,
}

/// The throttle table.
#[derive(Debug)]
pub struct LoginThrottle {
    free: u32,
    base_delay: Duration,
    max_delay: Duration,
    forget_after: Duration,
    max_entries: usize,
    records: HashMap<ThrottleKey, Record>,
}

impl LoginThrottle {
    /// A throttle allowing `free` failures before delays start.
    pub fn new(free: u32, max_delay: Duration) -> LoginThrottle {
        LoginThrottle {
            free,
            base_delay: Duration::from_secs(1),
            max_delay,
            forget_after: Duration::from_secs(3600),
            max_entries: 100_000,
            records: HashMap::new(),
        }
    }

    /// How long the caller must still wait before an attempt for these keys
    /// is checked; `None` when it may go ahead.
    pub fn check(&self, keys: &[ThrottleKey], now: Instant) -> Option<Duration> {
        keys.iter()
            .filter_map(|k| self.records.get(k))
            .filter(|r| r.blocked_until > now)
            .map(|r| r.blocked_until - now)
            .max()
    }

    /// Record a failed attempt for each key.
    pub fn failure(&mut self, keys: &[ThrottleKey], now: Instant) {
        if self.records.len() >= self.max_entries {
            let forget = self.forget_after;
            self.records
                .retain(|_, r| now.duration_since(r.last_failure) < forget);
        }
        for k in keys {
            if self.records.len() >= self.max_entries && !self.records.contains_key(k) {
                // Table full of recent failures: refuse to grow; address
                // records still throttle the flood.
                continue;
            }
            let rec = self.records.entry(k.clone()).or_insert(Record {
                failures: 0,
                blocked_until: now,
                last_failure: now,
            });
            if now.duration_since(rec.last_failure) >= self.forget_after {
                rec.failures = 0;
            }
            rec.failures += 1;
            rec.last_failure = now;
            rec.blocked_until =
                now + delay_for(self.free, self.base_delay, self.max_delay, rec.failures);
        }
    }

    /// A successful sign-in clears the account's record (not the address's:
    /// one valid account must not unlock guessing at others).
    pub fn success(&mut self, account: &ThrottleKey) {
        self.records.remove(account);
    }
}

/// Wait imposed after `failures` failures: none for the free ones, then
/// doubling from `base`, capped at `max`.
fn delay_for(free: u32, base: Duration, max: Duration, failures: u32) -> Duration {
    if failures <= free {
        return Duration::ZERO;
    }
    let exp = (failures - free - 1).min(20);
    (base * 2u32.pow(exp)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<ThrottleKey> {
        vec![
            ThrottleKey::Account("alice".into()),
            ThrottleKey::Address("10.0.0.1".parse().expect("ip")),
        ]
    }

    #[test]
    fn free_failures_then_growing_capped_delays() {
        let mut t = LoginThrottle::new(3, Duration::from_secs(10));
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(t.check(&keys(), now), None);
            t.failure(&keys(), now);
        }
        assert_eq!(t.check(&keys(), now), None);
        t.failure(&keys(), now);
        assert_eq!(t.check(&keys(), now), Some(Duration::from_secs(1)));
        let later = now + Duration::from_secs(1);
        t.failure(&keys(), later);
        assert_eq!(t.check(&keys(), later), Some(Duration::from_secs(2)));
        let mut at = later;
        for _ in 0..10 {
            at += Duration::from_secs(60);
            t.failure(&keys(), at);
        }
        assert_eq!(t.check(&keys(), at), Some(Duration::from_secs(10)));
    }

    #[test]
    fn success_clears_account_but_not_address() {
        let mut t = LoginThrottle::new(0, Duration::from_secs(10));
        let now = Instant::now();
        t.failure(&keys(), now);
        t.success(&keys()[0]);
        assert_eq!(t.check(&keys()[..1], now), None);
        assert!(t.check(&keys()[1..], now).is_some());
    }

    #[test]
    fn other_accounts_and_addresses_are_unaffected() {
        let mut t = LoginThrottle::new(0, Duration::from_secs(10));
        let now = Instant::now();
        t.failure(&keys(), now);
        let other = [ThrottleKey::Account("bob".into())];
        assert_eq!(t.check(&other, now), None);
    }
}
