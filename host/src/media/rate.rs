//! What the encoder aims at, given what the path carries: the bitrate,
//! and the frame rate that bitrate can afford. Pure.
//!
//! Each session's congestion controller asks for a bitrate; the pipeline
//! serves every session on its screen with one encoder, so it aims at the
//! lowest of their asks (never above the configured bitrate). At a low
//! bitrate the same bits are spread over fewer frames, so each frame
//! stays sharp enough for text instead of every frame turning to mush:
//! the frame rate falls once a frame would get less than
//! [`BITS_PER_PIXEL`] bits per pixel, down to [`MIN_FPS`].

/// Bits per pixel a frame should get before the frame rate is cut. A
/// changing 1080p screen at 4 Mbit/s and 30 fps gets 0.064; text stays
/// legible down to about half of that.
pub const BITS_PER_PIXEL: f64 = 0.03;

/// The frame rate never falls below this: a pointer that moves 5 times a
/// second is still usable, one that moves less often is not.
pub const MIN_FPS: u32 = 5;

/// What the encoder is set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality {
    /// Target bitrate, bit/s.
    pub bitrate_bps: u32,
    /// Most frames a second (the capture pacing and the rate control).
    pub fps: u32,
}

/// The configured ceilings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub max_bitrate_bps: u32,
    pub max_fps: u32,
}

impl RateLimits {
    /// The quality with nothing asked for: the configured figures.
    pub fn full(self) -> Quality {
        Quality {
            bitrate_bps: self.max_bitrate_bps,
            fps: self.max_fps,
        }
    }
}

/// The quality for a `width` x `height` picture when the sessions ask for
/// `asked_bps` (`None`: nobody asks, or adaptation is off).
pub fn choose(asked_bps: Option<u32>, limits: RateLimits, (width, height): (u32, u32)) -> Quality {
    let Some(asked) = asked_bps else {
        return limits.full();
    };
    let bitrate_bps = asked.min(limits.max_bitrate_bps);
    let pixels = f64::from(width.max(1)) * f64::from(height.max(1));
    let affordable = f64::from(bitrate_bps) / (pixels * BITS_PER_PIXEL);
    let fps = (affordable.floor() as u32).clamp(MIN_FPS.min(limits.max_fps), limits.max_fps);
    Quality { bitrate_bps, fps }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RateLimits = RateLimits {
        max_bitrate_bps: 4_000_000,
        max_fps: 30,
    };
    const HD: (u32, u32) = (1920, 1080);

    #[test]
    fn nothing_asked_is_the_configured_quality() {
        assert_eq!(choose(None, LIMITS, HD), LIMITS.full());
    }

    #[test]
    fn never_above_the_configured_bitrate() {
        let q = choose(Some(20_000_000), LIMITS, HD);
        assert_eq!(q, LIMITS.full());
    }

    #[test]
    fn the_frame_rate_falls_with_the_bitrate_at_a_big_screen() {
        // 2 Mbit/s over 2 Mpx at 0.03 bit/px is 32 fps: still the cap.
        assert_eq!(choose(Some(2_000_000), LIMITS, HD).fps, 30);
        // 1 Mbit/s affords 16 frames of 62 kbit.
        let q = choose(Some(1_000_000), LIMITS, HD);
        assert_eq!((q.bitrate_bps, q.fps), (1_000_000, 16));
        // The floor holds however little is left.
        assert_eq!(choose(Some(150_000), LIMITS, HD).fps, MIN_FPS);
    }

    #[test]
    fn a_small_screen_keeps_its_frame_rate_longer() {
        assert_eq!(choose(Some(1_000_000), LIMITS, (640, 360)).fps, 30);
        assert_eq!(choose(Some(150_000), LIMITS, (640, 360)).fps, 21);
    }

    #[test]
    fn a_cap_below_the_floor_is_kept() {
        let limits = RateLimits {
            max_fps: 2,
            ..LIMITS
        };
        assert_eq!(choose(Some(150_000), limits, HD).fps, 2);
    }
}
