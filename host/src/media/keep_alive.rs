//! Proof that the capture thread still works while nothing is captured.
//!
//! An idle pipeline (no session, or a static screen) sleeps in `poll(2)`
//! without a timeout, so "the capture loop ran lately" would say nothing.
//! When a watchdog asks for it, the thread instead wakes every `every`,
//! makes one X round trip on its capture connection (which blocks while
//! the X server does not answer, as a grab would) and then stamps the
//! [`Heartbeat`]. During a session the same beat comes between grabs.

use std::time::{Duration, Instant};

use crate::heartbeat::Heartbeat;

/// The capture thread's keep-alive schedule (pure; the loop does the I/O).
#[derive(Debug)]
pub(crate) struct KeepAlive {
    /// How often to prove liveness.
    every: Duration,
    /// Stamped after each successful X round trip.
    heartbeat: Heartbeat,
    /// When the next round trip is due.
    next: Instant,
}

impl KeepAlive {
    /// A schedule whose first beat is due at once.
    pub fn new(every: Duration, heartbeat: Heartbeat, now: Instant) -> Self {
        Self {
            every,
            heartbeat,
            next: now,
        }
    }

    /// Whether a round trip is due.
    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// The round trip at `now` succeeded: stamp and schedule the next one.
    pub fn beaten(&mut self, now: Instant) {
        self.heartbeat.beat();
        self.next = now + self.every;
    }

    /// `timeout` shortened so the loop wakes for the next beat.
    pub fn cap(&self, timeout: Option<Duration>, now: Instant) -> Option<Duration> {
        let until_beat = self.next.saturating_duration_since(now);
        Some(timeout.map_or(until_beat, |t| t.min(until_beat)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_on_schedule_and_caps_sleeps() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(Duration::from_millis(500), Heartbeat::new(), t0);
        assert!(k.due(t0));
        k.beaten(t0);
        assert!(!k.due(t0 + Duration::from_millis(499)));
        assert!(k.due(t0 + Duration::from_millis(500)));
        let now = t0 + Duration::from_millis(100);
        assert_eq!(k.cap(None, now), Some(Duration::from_millis(400)));
        let short = Some(Duration::from_millis(10));
        assert_eq!(k.cap(short, now), short);
    }
}
