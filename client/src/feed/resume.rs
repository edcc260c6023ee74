//! The live feed's reconnect bookkeeping, with no I/O and no clock: which
//! event it last yielded (sent back as `Last-Event-ID`), which items would
//! be duplicates after a resume, and how long to wait before the next
//! attempt (exponential backoff, capped, with jitter).

use std::time::{Duration, Instant};

/// First wait after a failure.
pub(crate) const BASE_DELAY: Duration = Duration::from_millis(250);
/// Longest wait between attempts.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(30);
/// A connection that lived this long counts as a success: the next
/// failure starts the backoff over.
pub(crate) const STABLE_AFTER: Duration = Duration::from_secs(10);

/// Where a resuming feed stands.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resume {
    /// Id of the last event yielded: `Last-Event-ID` of the next attempt.
    last_event: Option<i64>,
    /// Highest id accounted for, by an event or by a gap's end: anything
    /// at or below it is a duplicate.
    covered: Option<i64>,
    /// Failed attempts (or short-lived connections) in a row.
    failures: u32,
    /// When the current connection was opened, if one is open.
    connected_at: Option<Instant>,
    /// Whether the current connection yielded anything.
    got_item: bool,
}

impl Resume {
    /// Nothing yielded yet.
    pub(crate) fn new() -> Resume {
        Resume::default()
    }

    /// The id to send as `Last-Event-ID`, once an event was yielded.
    pub(crate) fn last_event_id(&self) -> Option<i64> {
        self.last_event
    }

    /// A connection was opened at `now`.
    pub(crate) fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
        self.got_item = false;
    }

    /// Whether event `id` is new (yield it) or was already yielded or
    /// pruned (drop it).
    pub(crate) fn admit_event(&mut self, id: i64) -> bool {
        if self.covered.is_some_and(|c| id <= c) {
            return false;
        }
        self.last_event = Some(id);
        self.covered = Some(id);
        self.got_item = true;
        true
    }

    /// Whether a gap (ids strictly between `after` and `before` pruned)
    /// says something not yet said.
    pub(crate) fn admit_gap(&mut self, after: i64, before: i64) -> bool {
        let last_missing = before - 1;
        if last_missing <= after || self.covered.is_some_and(|c| last_missing <= c) {
            return false;
        }
        self.covered = Some(last_missing);
        self.got_item = true;
        true
    }

    /// The connection dropped (or an attempt failed) at `now`: how long to
    /// wait before the next attempt. `jitter` in `[0, 1)` picks a point in
    /// the upper half of the backoff step, so clients do not reconnect in
    /// lock step after a server restart.
    pub(crate) fn dropped(&mut self, now: Instant, jitter: f64) -> Duration {
        let stable = self
            .connected_at
            .take()
            .is_some_and(|at| self.got_item || now.duration_since(at) >= STABLE_AFTER);
        if stable {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        let step = BASE_DELAY
            .saturating_mul(1 << (self.failures - 1).min(16))
            .min(MAX_DELAY);
        step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_after_the_last_event_and_drops_repeats() {
        let mut r = Resume::new();
        assert_eq!(r.last_event_id(), None);
        assert!(r.admit_event(5));
        assert!(r.admit_event(7));
        assert_eq!(r.last_event_id(), Some(7));
        // A server that replays from an older id: repeats are dropped.
        assert!(!r.admit_event(5));
        assert!(!r.admit_event(7));
        assert!(r.admit_event(8));
        assert_eq!(r.last_event_id(), Some(8));
    }

    #[test]
    fn a_gap_is_said_once_and_keeps_the_last_event_id() {
        let mut r = Resume::new();
        assert!(r.admit_event(3));
        assert!(r.admit_gap(3, 10));
        // Said again after a reconnect from 3: dropped.
        assert!(!r.admit_gap(3, 10));
        // An empty gap says nothing.
        assert!(!r.admit_gap(10, 11));
        assert_eq!(r.last_event_id(), Some(3));
        assert!(!r.admit_event(9));
        assert!(r.admit_event(10));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let mut r = Resume::new();
        let t = Instant::now();
        let waits: Vec<Duration> = (0..12).map(|_| r.dropped(t, 1.0)).collect();
        assert_eq!(waits[0], BASE_DELAY);
        assert_eq!(waits[1], BASE_DELAY * 2);
        assert_eq!(waits[2], BASE_DELAY * 4);
        assert_eq!(*waits.last().expect("some"), MAX_DELAY);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        // No jitter draw gives less than half the step.
        assert_eq!(r.dropped(t, 0.0), MAX_DELAY / 2);
    }

    #[test]
    fn a_connection_that_worked_starts_the_backoff_over() {
        let mut r = Resume::new();
        let t = Instant::now();
        for _ in 0..5 {
            r.dropped(t, 1.0);
        }
        // Opened, yielded an event, dropped: back to the first step.
        r.connected(t);
        assert!(r.admit_event(1));
        assert_eq!(r.dropped(t, 1.0), BASE_DELAY);
        // Opened, quiet but up for a while: also a success.
        r.dropped(t, 1.0);
        r.connected(t);
        assert_eq!(r.dropped(t + STABLE_AFTER, 1.0), BASE_DELAY);
        // Opened and dropped at once, without an item: keeps growing.
        r.connected(t);
        assert_eq!(r.dropped(t, 1.0), BASE_DELAY * 2);
    }
}
