//! When a session restarts ICE. A pure policy driven by connection events.
//!
//! Losing connectivity (the peer connection went `disconnected`, typically
//! a network change on either side) restarts ICE at once: new candidates
//! are gathered and a new offer goes to the viewer, so the session moves to
//! the new path in seconds. While it stays disconnected the restart is
//! retried every [`RETRY`], until the session's vanish timeout gives up.

use std::time::Duration;

use tokio::time::Instant;

/// Gap between restart attempts while still disconnected.
pub const RETRY: Duration = Duration::from_secs(2);
/// A viewer's restart request within this of the last restart is ignored,
/// so a viewer cannot make the host restart ICE in a loop.
pub const MIN_REQUEST_GAP: Duration = Duration::from_secs(1);

/// Restart state for one session.
#[derive(Debug, Clone, Default)]
pub struct IceRestart {
    /// When the next restart is due; `None` while connected.
    due: Option<Instant>,
    /// Restarts made since connectivity was lost.
    attempts: u32,
    /// This machine lost an address: restart as soon as signaling is back.
    after_signaling: bool,
    /// When the last restart was made.
    last: Option<Instant>,
}

impl IceRestart {
    /// The connection is (again) connected: nothing to do.
    pub fn connected(&mut self) {
        self.due = None;
        self.attempts = 0;
        self.after_signaling = false;
    }

    /// This machine lost a local address: the ICE sockets on it are dead
    /// although ICE will only say so after its timeout. Restart when the
    /// signaling connection is back, which the offer needs anyway and
    /// which proves the network works again.
    pub fn network_changed(&mut self) {
        self.after_signaling = true;
    }

    /// Connectivity was lost at `now`: restart at once (once per loss).
    pub fn disconnected(&mut self, now: Instant) {
        self.due.get_or_insert(now);
    }

    /// When the next restart is due, if one is.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The viewer asked for a restart at `now` (its network changed):
    /// restart at once, unless one was made within [`MIN_REQUEST_GAP`].
    /// Returns whether the request was taken.
    pub fn requested(&mut self, now: Instant) -> bool {
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < MIN_REQUEST_GAP)
        {
            return false;
        }
        self.due = Some(now);
        true
    }

    /// The signaling connection came back at `now`: if a restart is
    /// pending (still disconnected), offer again at once instead of at the
    /// next retry, since the last offer may have died with the old
    /// connection.
    pub fn signaling_restored(&mut self, now: Instant) {
        if self.due.is_some() || self.after_signaling {
            self.due = Some(now);
            self.after_signaling = false;
        }
    }

    /// A restart was made at `now`; the next one waits [`RETRY`]. Returns
    /// the attempt's number, counting from 1.
    pub fn restarted(&mut self, now: Instant) -> u32 {
        self.attempts += 1;
        self.last = Some(now);
        self.due = Some(now + RETRY);
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_request_restarts_at_once_but_not_in_a_loop() {
        let t0 = Instant::now();
        let mut r = IceRestart::default();
        assert!(r.requested(t0));
        assert_eq!(r.due(), Some(t0));
        r.restarted(t0);
        r.connected();
        let soon = t0 + MIN_REQUEST_GAP / 2;
        assert!(!r.requested(soon), "too soon after the last restart");
        assert_eq!(r.due(), None);
        let later = t0 + MIN_REQUEST_GAP;
        assert!(r.requested(later));
        assert_eq!(r.due(), Some(later));
    }

    #[test]
    fn a_lost_address_restarts_when_signaling_is_back() {
        let t0 = Instant::now();
        let mut r = IceRestart::default();
        r.network_changed();
        assert_eq!(r.due(), None, "nothing before signaling is back");
        let back = t0 + Duration::from_millis(400);
        r.signaling_restored(back);
        assert_eq!(r.due(), Some(back));
        assert_eq!(r.restarted(back), 1);
        r.connected();
        r.signaling_restored(back + RETRY);
        assert_eq!(r.due(), None, "once only");
    }

    #[test]
    fn signaling_back_repeats_a_pending_restart_at_once() {
        let t0 = Instant::now();
        let mut r = IceRestart::default();
        r.signaling_restored(t0);
        assert_eq!(r.due(), None, "a connected session does nothing");
        r.disconnected(t0);
        r.restarted(t0);
        let later = t0 + Duration::from_secs(1);
        r.signaling_restored(later);
        assert_eq!(r.due(), Some(later));
        r.connected();
        r.signaling_restored(later);
        assert_eq!(r.due(), None);
    }

    #[test]
    fn restarts_at_once_then_retries_until_connected() {
        let t0 = Instant::now();
        let mut r = IceRestart::default();
        assert_eq!(r.due(), None, "connected sessions do nothing");
        r.disconnected(t0);
        assert_eq!(r.due(), Some(t0));
        r.disconnected(t0 + Duration::from_secs(1));
        assert_eq!(r.due(), Some(t0), "a repeated report changes nothing");
        assert_eq!(r.restarted(t0), 1);
        assert_eq!(r.due(), Some(t0 + RETRY));
        assert_eq!(r.restarted(t0 + RETRY), 2);
        r.connected();
        assert_eq!(r.due(), None);
        r.disconnected(t0 + RETRY * 4);
        assert_eq!(r.restarted(t0 + RETRY * 4), 1, "attempts count per loss");
    }
}
