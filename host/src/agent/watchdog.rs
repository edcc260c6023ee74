//! When to ping systemd's watchdog (pure: time and stamps are inputs).
//!
//! systemd restarts a `Type=notify` service with `WatchdogSec=T` that has
//! not sent `WATCHDOG=1` for `T`. The agent pings every `T/2`, but only
//! while both of its loops are alive: the capture thread and the
//! signaling task each stamp a heartbeat every `T/4`, and a stamp older
//! than `T/2` means that loop is stuck. Then the agent withholds its
//! pings, and systemd restarts it within `T` of the last one.

use std::time::{Duration, Instant};

/// The watchdog's timing, from systemd's `WATCHDOG_USEC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchdog {
    /// systemd's timeout (`WatchdogSec`).
    timeout: Duration,
}

/// What to do at a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every loop is alive: send `WATCHDOG=1`.
    Ping,
    /// This loop has not beaten lately: send nothing.
    Withhold(Stuck),
}

/// Which loop looks stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stuck {
    /// The capture thread (e.g. the X server stopped answering).
    Capture,
    /// The signaling task (the async runtime is blocked).
    Signaling,
}

impl Watchdog {
    /// The smallest timeout honoured, so the periods stay above zero.
    const MIN_TIMEOUT: Duration = Duration::from_millis(40);

    /// The watchdog for systemd's timeout `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout: timeout.max(Self::MIN_TIMEOUT),
        }
    }

    /// systemd's timeout, as honoured.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How often to check and (maybe) ping: half the timeout, as
    /// `sd_watchdog_enabled(3)` recommends.
    pub fn ping_every(&self) -> Duration {
        self.timeout / 2
    }

    /// How often each loop stamps its heartbeat.
    pub fn beat_every(&self) -> Duration {
        self.timeout / 4
    }

    /// A heartbeat older than this is stuck.
    fn stale_after(&self) -> Duration {
        self.timeout / 2
    }

    /// The verdict at `now`, given when each loop last beat (`capture` is
    /// `None` when there is no display to capture, so no capture thread).
    pub fn judge(&self, now: Instant, capture: Option<Instant>, signaling: Instant) -> Verdict {
        let stale = |at: Instant| now.saturating_duration_since(at) > self.stale_after();
        if capture.is_some_and(stale) {
            Verdict::Withhold(Stuck::Capture)
        } else if stale(signaling) {
            Verdict::Withhold(Stuck::Signaling)
        } else {
            Verdict::Ping
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn periods_follow_the_timeout() {
        let w = Watchdog::new(Duration::from_secs(20));
        assert_eq!(w.ping_every(), Duration::from_secs(10));
        assert_eq!(w.beat_every(), Duration::from_secs(5));
        assert_eq!(Watchdog::new(Duration::ZERO).ping_every(), ms(20));
    }

    #[test]
    fn pings_only_while_both_loops_beat() {
        let w = Watchdog::new(ms(2000));
        let t0 = Instant::now();
        let now = t0 + ms(5000);
        let fresh = now - ms(600);
        let old = now - ms(1001);
        assert_eq!(w.judge(now, Some(fresh), fresh), Verdict::Ping);
        assert_eq!(
            w.judge(now, Some(old), fresh),
            Verdict::Withhold(Stuck::Capture)
        );
        assert_eq!(
            w.judge(now, Some(fresh), old),
            Verdict::Withhold(Stuck::Signaling)
        );
        assert_eq!(w.judge(now, None, fresh), Verdict::Ping);
        assert_eq!(w.judge(now, None, old), Verdict::Withhold(Stuck::Signaling));
    }

    #[test]
    fn a_stamp_from_the_future_is_fresh() {
        let w = Watchdog::new(ms(100));
        let now = Instant::now();
        assert_eq!(w.judge(now, Some(now + ms(5)), now), Verdict::Ping);
    }
}
