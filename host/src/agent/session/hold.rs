//! Nothing stays pressed when a viewer goes silent. A viewer with control
//! sends an input message at least every [`HEARTBEAT`] (an `input` channel
//! `heartbeat` when it has nothing else to send); when none arrives for
//! [`HOLD_SILENCE`], the viewer is taken to be gone (killed, its network
//! pulled) and the session releases every key and button it holds, long
//! before ICE would call the connection lost.
//!
//! A pure timer: the controller feeds it the time of each input message and
//! asks it when to release.

use meshdesk_protocol::input::HOLD_SILENCE;
use tokio::time::Instant;

/// When held input is released if no input arrives first.
#[derive(Debug, Default)]
pub struct HoldWatch {
    release_at: Option<Instant>,
}

impl HoldWatch {
    /// An input message arrived at `now`.
    pub fn input(&mut self, now: Instant) {
        self.release_at = Some(now + HOLD_SILENCE);
    }

    /// When to look again, if input is being watched.
    pub fn due(&self) -> Option<Instant> {
        self.release_at
    }

    /// Whether the silence has lasted long enough at `now`; true once per
    /// silence (the watch then rests until the next input).
    pub fn expired(&mut self, now: Instant) -> bool {
        match self.release_at {
            Some(at) if now >= at => {
                self.release_at = None;
                true
            }
            _ => false,
        }
    }

    /// Stop watching (input was released for another reason).
    pub fn clear(&mut self) {
        self.release_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshdesk_protocol::input::HEARTBEAT;

    #[test]
    fn silence_releases_once_and_input_rearms() {
        let t0 = Instant::now();
        let mut w = HoldWatch::default();
        assert_eq!(w.due(), None);
        assert!(!w.expired(t0 + HOLD_SILENCE * 10), "nothing was ever sent");
        w.input(t0);
        assert!(!w.expired(t0 + HEARTBEAT));
        w.input(t0 + HEARTBEAT);
        assert!(!w.expired(t0 + HOLD_SILENCE), "a heartbeat moved the end");
        assert!(w.expired(t0 + HEARTBEAT + HOLD_SILENCE));
        assert!(
            !w.expired(t0 + HEARTBEAT + HOLD_SILENCE * 2),
            "released once"
        );
        assert_eq!(w.due(), None);
    }
}
