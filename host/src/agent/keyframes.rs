//! Which keyframe requests a session acts on. A pure policy.
//!
//! Chromium's receiver asks for a keyframe (RTCP PLI) whenever it has had
//! no decodable frame for a few seconds while packets still arrived in the
//! last five. On a static screen the keyframe it asked for is such a packet,
//! so it asks again, and again: a keyframe every three seconds for as long
//! as nothing changes. The policy breaks that loop: once a keyframe has
//! been re-sent twice with no change in between, further RTCP requests wait
//! for the picture to change. A request from the viewer's control channel
//! is always honoured, and so are RTCP requests after any change.

/// How many keyframes in a row (with no other frame between) RTCP may ask
/// for: the first one and two re-sends, in case one was really lost.
const MAX_KEYFRAMES_IN_A_ROW: u32 = 3;

/// Per-session keyframe request policy.
#[derive(Debug, Clone)]
pub struct KeyframePolicy {
    /// Whether RTCP requests count at all (the viewer may turn them off).
    rtcp: bool,
    /// Keyframes sent since the last frame that was not one.
    keyframes_in_a_row: u32,
}

impl Default for KeyframePolicy {
    fn default() -> Self {
        Self {
            rtcp: true,
            keyframes_in_a_row: 0,
        }
    }
}

impl KeyframePolicy {
    /// The viewer's `rtcp_keyframe_requests` control message.
    pub fn set_rtcp(&mut self, enabled: bool) {
        self.rtcp = enabled;
    }

    /// A frame went out to this session.
    pub fn frame_sent(&mut self, keyframe: bool) {
        self.keyframes_in_a_row = if keyframe {
            self.keyframes_in_a_row.saturating_add(1)
        } else {
            0
        };
    }

    /// An RTCP keyframe request (PLI/FIR) arrived: act on it?
    pub fn rtcp_request(&self) -> bool {
        self.rtcp && self.keyframes_in_a_row < MAX_KEYFRAMES_IN_A_ROW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_honoured_until_a_static_screen_loops() {
        let mut p = KeyframePolicy::default();
        assert!(p.rtcp_request(), "before any frame");
        p.frame_sent(true);
        assert!(p.rtcp_request(), "first re-send");
        p.frame_sent(true);
        assert!(p.rtcp_request(), "second re-send");
        p.frame_sent(true);
        assert!(!p.rtcp_request(), "the loop stops");
        p.frame_sent(false);
        assert!(p.rtcp_request(), "a change makes requests count again");
    }

    #[test]
    fn a_viewer_can_turn_rtcp_requests_off() {
        let mut p = KeyframePolicy::default();
        p.set_rtcp(false);
        assert!(!p.rtcp_request());
        p.set_rtcp(true);
        assert!(p.rtcp_request());
    }
}
