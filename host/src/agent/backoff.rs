//! Reconnect delays: jittered exponential backoff capped at 30 s between
//! rounds of failed attempts, reset once a connection stayed online for
//! 10 s; and the short random pause before moving to the next server of
//! a list. Pure: time and randomness are inputs.

use std::time::Duration;

/// Backoff state between reconnect attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    /// A connection that lasted this long counts as stable.
    stable_after: Duration,
    attempt: u32,
}

impl Default for Backoff {
    /// 0.5 s doubling to 30 s; stable after 10 s online, so that a host
    /// whose server goes away after that is back within a second when
    /// another server (or node behind the same name) is up.
    fn default() -> Self {
        Backoff::new(
            Duration::from_millis(500),
            Duration::from_secs(30),
            Duration::from_secs(10),
        )
    }
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, stable_after: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            stable_after,
            attempt: 0,
        }
    }

    /// The wait before the next attempt. `jitter` in [0, 1) picks a point in
    /// the upper half of the window ("equal jitter"), so many hosts that
    /// lost the same server do not return in lockstep.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let exp = self.attempt.min(16);
        self.attempt = self.attempt.saturating_add(1);
        let window = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let jitter = jitter.clamp(0.0, 1.0);
        window / 2 + window.mul_f64(jitter / 2.0)
    }

    /// The pause before trying the next server of a list after one failed
    /// or dropped: `jitter` in [0, 1) of the base delay, so that the hosts
    /// of a node that died do not all reach the next node at the same
    /// instant. The backoff itself does not grow.
    pub fn spread(&self, jitter: f64) -> Duration {
        self.base.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// Report how long the last connection stayed online (authenticated;
    /// zero when it never got there); a stable one resets the backoff.
    pub fn connection_lasted(&mut self, up: Duration) {
        if up >= self.stable_after {
            self.attempt = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_to_the_cap() {
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| b.next_delay(1.0)).collect();
        assert_eq!(delays[0], Duration::from_millis(500));
        assert_eq!(delays[1], Duration::from_secs(1));
        assert_eq!(delays[2], Duration::from_secs(2));
        assert_eq!(*delays.last().expect("some"), Duration::from_secs(30));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let mut b = Backoff::default();
        for _ in 0..8 {
            b.next_delay(0.5);
        }
        let low = b.clone().next_delay(0.0);
        let high = b.next_delay(0.999);
        assert_eq!(low, Duration::from_secs(15));
        assert!(high > low && high <= Duration::from_secs(30));
    }

    #[test]
    fn stable_connection_resets() {
        let mut b = Backoff::default();
        for _ in 0..5 {
            b.next_delay(0.0);
        }
        b.connection_lasted(Duration::from_secs(5));
        assert!(
            b.next_delay(1.0) > Duration::from_secs(1),
            "short connection: no reset"
        );
        b.connection_lasted(Duration::from_secs(10));
        assert_eq!(b.next_delay(1.0), Duration::from_millis(500));
    }

    #[test]
    fn moving_to_the_next_server_waits_a_fraction_of_the_base_and_keeps_the_backoff() {
        let mut b = Backoff::default();
        assert_eq!(b.spread(0.0), Duration::ZERO);
        assert_eq!(b.spread(0.5), Duration::from_millis(250));
        assert!(b.spread(0.999) < Duration::from_millis(500));
        assert_eq!(b.next_delay(1.0), Duration::from_millis(500), "not grown");
    }
}
