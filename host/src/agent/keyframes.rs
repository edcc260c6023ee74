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
//!
//! And no storms: on a lossy link every lost packet makes a receiver ask,
//! and the keyframe it asked for takes a round trip to arrive, during which
//! it may ask again for the same loss. So after an IDR went out, RTCP
//! requests wait a round trip ([`KeyframePolicy::set_round_trip`], at
//! least [`MIN_IDR_GAP`]): at most one IDR per round trip.

use std::time::Duration;

use tokio::time::Instant;

/// Least time between two IDRs that RTCP asked for.
pub const MIN_IDR_GAP: Duration = Duration::from_millis(100);
/// Most time: a path this slow still gets a keyframe a second.
pub const MAX_IDR_GAP: Duration = Duration::from_secs(1);

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
    /// When the last keyframe went out.
    last_keyframe: Option<Instant>,
    /// The path's round trip, as the congestion controller last saw it.
    round_trip: Duration,
}

impl Default for KeyframePolicy {
    fn default() -> Self {
        Self {
            rtcp: true,
            keyframes_in_a_row: 0,
            last_keyframe: None,
            round_trip: MIN_IDR_GAP,
        }
    }
}

impl KeyframePolicy {
    /// The viewer's `rtcp_keyframe_requests` control message.
    pub fn set_rtcp(&mut self, enabled: bool) {
        self.rtcp = enabled;
    }

    /// The path's round trip (from the bandwidth estimate).
    pub fn set_round_trip(&mut self, round_trip: Duration) {
        self.round_trip = round_trip;
    }

    /// A frame went out to this session at `now`.
    pub fn frame_sent(&mut self, now: Instant, keyframe: bool) {
        self.keyframes_in_a_row = if keyframe {
            self.last_keyframe = Some(now);
            self.keyframes_in_a_row.saturating_add(1)
        } else {
            0
        };
    }

    /// An RTCP keyframe request (PLI/FIR) arrived at `now`: act on it?
    pub fn rtcp_request(&self, now: Instant) -> bool {
        let gap = self.round_trip.clamp(MIN_IDR_GAP, MAX_IDR_GAP);
        let recent = self.last_keyframe.is_some_and(|at| now < at + gap);
        self.rtcp && !recent && self.keyframes_in_a_row < MAX_KEYFRAMES_IN_A_ROW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_honoured_until_a_static_screen_loops() {
        let mut p = KeyframePolicy::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(p.rtcp_request(t0), "before any frame");
        p.frame_sent(at(0), true);
        assert!(p.rtcp_request(at(3)), "first re-send");
        p.frame_sent(at(3), true);
        assert!(p.rtcp_request(at(6)), "second re-send");
        p.frame_sent(at(6), true);
        assert!(!p.rtcp_request(at(9)), "the loop stops");
        p.frame_sent(at(9), false);
        assert!(
            p.rtcp_request(at(12)),
            "a change makes requests count again"
        );
    }

    #[test]
    fn at_most_one_idr_per_round_trip() {
        let mut p = KeyframePolicy::default();
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        p.set_round_trip(Duration::from_millis(300));
        p.frame_sent(t0, true);
        p.frame_sent(ms(33), false);
        assert!(!p.rtcp_request(ms(200)), "the IDR is still on its way");
        assert!(p.rtcp_request(ms(300)), "a round trip later");
        // A fast path still waits the least gap; a slow one at most a second.
        p.set_round_trip(Duration::from_millis(5));
        assert!(!p.rtcp_request(ms(90)));
        p.set_round_trip(Duration::from_secs(5));
        assert!(p.rtcp_request(ms(1000)));
    }

    #[test]
    fn a_viewer_can_turn_rtcp_requests_off() {
        let mut p = KeyframePolicy::default();
        let now = Instant::now();
        p.set_rtcp(false);
        assert!(!p.rtcp_request(now));
        p.set_rtcp(true);
        assert!(p.rtcp_request(now));
    }
}
