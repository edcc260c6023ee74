//! What to do after packet loss or a decode error: ask the host for a
//! keyframe, and skip pictures that depend on what was lost until one
//! arrives, so the window freezes on the last good picture instead of
//! showing garbage. Requests repeat while waiting, at most every
//! [`RETRY`], in case one was lost. Pure: time is an argument.

use std::time::{Duration, Instant};

/// Least time between two keyframe requests.
pub const RETRY: Duration = Duration::from_millis(300);

/// What to do with an arriving frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Feed it to the decoder.
    pub decode: bool,
    /// Ask the host for a keyframe now.
    pub request_keyframe: bool,
}

/// Keyframe recovery state of one stream.
#[derive(Debug, Default)]
pub struct Recovery {
    /// A loss or error happened and no keyframe followed yet.
    waiting: bool,
    /// When the last request was made.
    last_request: Option<Instant>,
}

impl Recovery {
    /// A frame arrived; `keyframe` if it can be decoded alone.
    pub fn on_frame(&mut self, keyframe: bool, now: Instant) -> Decision {
        if keyframe {
            self.waiting = false;
        }
        let request_keyframe = self.waiting && self.may_request(now);
        Decision {
            decode: !self.waiting,
            request_keyframe,
        }
    }

    /// A frame was reported lost. Returns whether to request a keyframe.
    pub fn on_lost(&mut self, now: Instant) -> bool {
        self.waiting = true;
        self.may_request(now)
    }

    /// The decoder rejected a frame. Returns whether to request a keyframe.
    pub fn on_decode_error(&mut self, now: Instant) -> bool {
        self.on_lost(now)
    }

    fn may_request(&mut self, now: Instant) -> bool {
        let due = self
            .last_request
            .is_none_or(|at| now.saturating_duration_since(at) >= RETRY);
        if due {
            self.last_request = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_until_something_is_lost() {
        let mut r = Recovery::default();
        let now = Instant::now();
        let d = r.on_frame(false, now);
        assert!(d.decode && !d.request_keyframe);
    }

    #[test]
    fn after_loss_delta_frames_are_skipped_until_a_keyframe() {
        let mut r = Recovery::default();
        let t0 = Instant::now();
        assert!(r.on_lost(t0), "first loss asks at once");
        let d = r.on_frame(false, t0 + Duration::from_millis(10));
        assert_eq!(
            d,
            Decision {
                decode: false,
                request_keyframe: false
            },
            "skipped, and no second request so soon"
        );
        let d = r.on_frame(false, t0 + RETRY);
        assert!(!d.decode && d.request_keyframe, "asks again after RETRY");
        let d = r.on_frame(true, t0 + RETRY + Duration::from_millis(1));
        assert!(d.decode && !d.request_keyframe, "keyframe resumes decoding");
        assert!(r.on_frame(false, t0 + RETRY * 2).decode);
    }

    #[test]
    fn a_burst_of_errors_makes_one_request() {
        let mut r = Recovery::default();
        let t0 = Instant::now();
        let asked: Vec<bool> = (0..5)
            .map(|i| r.on_decode_error(t0 + Duration::from_millis(i)))
            .collect();
        assert_eq!(asked, [true, false, false, false, false]);
    }
}
