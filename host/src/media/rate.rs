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
//!
//! And when the encoder cannot hold its target at that frame rate (its
//! quantiser is already at its coarsest: a video playing, a page
//! scrolling), the [`Governor`] first halves the picture across and down,
//! keeping the frame rate, and only if that is not enough lowers the
//! frame rate too, in proportion to the overshoot. Half the size before
//! half the frames: on a saturated link a frame takes one frame interval
//! to cross it, so at 15 fps every click waits some 100 ms more than at
//! 30 (measured behind 20 then 2 Mbit/s: latency came back under the bound
//! only once the picture was halved at 30 fps, 3 s after 15 fps), and a
//! screen changing that much shows no crisp text anyway. It raises the
//! frame rate again once there is room, and goes back to full size once a
//! quarter of the bits would be spent: a screen that calms down to text is
//! sharp again.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

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
    /// Screen pixels per picture pixel, across and down: 1 (full size) or
    /// 2 (half).
    pub scale: u32,
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
            scale: 1,
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
    Quality {
        bitrate_bps,
        fps,
        scale: 1,
    }
}

/// Output over target above which the frame rate comes down...
const OVERSHOOT: f64 = 1.15;
/// ...and below which it may go back up.
const ROOM: f64 = 0.8;
/// The window the encoder's output is measured over.
const WINDOW: Duration = Duration::from_secs(1);
/// Least time between two changes, so each one shows in the window.
const SETTLE: Duration = Duration::from_millis(500);

/// Lowers the frame rate while the encoder's output overshoots its
/// target bitrate, and raises it back when there is room.
#[derive(Debug, Clone)]
pub struct Governor {
    /// (encoded at, bytes) over the last [`WINDOW`].
    output: VecDeque<(Instant, usize)>,
    /// The frame rate allowed, at most the chosen one.
    cap: Option<u32>,
    /// The picture is halved.
    halved: bool,
    last_change: Option<Instant>,
}

impl Default for Governor {
    fn default() -> Self {
        Self::new()
    }
}

impl Governor {
    pub fn new() -> Self {
        Self {
            output: VecDeque::new(),
            cap: None,
            halved: false,
            last_change: None,
        }
    }

    /// A frame of `bytes` came out of the encoder at `now`.
    pub fn encoded(&mut self, now: Instant, bytes: usize) {
        self.output.push_back((now, bytes));
        while self
            .output
            .front()
            .is_some_and(|&(at, _)| now.saturating_duration_since(at) > WINDOW)
        {
            self.output.pop_front();
        }
    }

    /// `chosen` (from [`choose`]) with the frame rate the encoder's output
    /// allows at `now`.
    pub fn govern(&mut self, now: Instant, chosen: Quality) -> Quality {
        let cap = self.cap.unwrap_or(chosen.fps).min(chosen.fps);
        let settled = self
            .last_change
            .is_none_or(|at| now.saturating_duration_since(at) >= SETTLE);
        let filled = self
            .output
            .front()
            .is_some_and(|&(at, _)| now.saturating_duration_since(at) >= WINDOW / 2);
        let (mut next, mut halved) = (cap, self.halved);
        if settled && filled {
            let bits: usize = self.output.iter().map(|&(_, b)| b * 8).sum();
            let span = self
                .output
                .front()
                .map_or(WINDOW, |&(at, _)| now.saturating_duration_since(at))
                .clamp(WINDOW / 2, WINDOW);
            let rate = bits as f64 / span.as_secs_f64();
            let target = f64::from(chosen.bitrate_bps);
            if rate > target * OVERSHOOT {
                if !halved {
                    halved = true;
                } else if cap > MIN_FPS {
                    let fits = f64::from(cap) * target / rate;
                    next = (fits as u32).min(cap - 1).max(MIN_FPS);
                }
            } else if halved && rate * 4.0 < target * ROOM {
                halved = false;
            } else if rate < target * ROOM && cap < chosen.fps {
                next = ((f64::from(cap) * 1.25) as u32 + 1).min(chosen.fps);
            }
        }
        if (next, halved) != (cap, self.halved) {
            // What came out before the change says nothing of after it
            // (and a new size starts with an IDR): measure afresh.
            self.last_change = Some(now);
            self.output.clear();
        }
        self.cap = Some(next);
        self.halved = halved;
        Quality {
            fps: next.min(chosen.fps),
            scale: if halved { 2 } else { 1 },
            ..chosen
        }
    }
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

    /// Frames at `fps` of `bytes` each for `secs` from `from`, each
    /// governed; the quality after.
    fn feed(g: &mut Governor, from: Instant, secs: f64, bytes: usize, chosen: Quality) -> Quality {
        let mut q = g.govern(from, chosen);
        let mut t = Duration::ZERO;
        while t < Duration::from_secs_f64(secs) {
            g.encoded(from + t, bytes);
            q = g.govern(from + t, chosen);
            t += Duration::from_secs(1) / q.fps;
        }
        q
    }

    #[test]
    fn an_encoder_that_overshoots_gets_fewer_frames_until_it_fits() {
        let mut g = Governor::new();
        let t0 = Instant::now();
        let chosen = Quality {
            bitrate_bps: 600_000,
            fps: 30,
            scale: 1,
        };
        // 5 kB a frame whatever the target: 1.2 Mbit/s at 30 fps. The
        // picture is halved first, at 30 fps.
        let mut seen = Vec::new();
        let mut t = t0;
        while seen.last() != Some(&(30, 2)) {
            assert!(t < t0 + Duration::from_secs(10), "never halved: {seen:?}");
            let q = feed(&mut g, t, 0.1, 5_000, chosen);
            if seen.last() != Some(&(q.fps, q.scale)) {
                seen.push((q.fps, q.scale));
            }
            t += Duration::from_millis(100);
        }
        assert_eq!(seen, [(30, 1), (30, 2)]);
        // Still 1.2 Mbit/s at half size (no codec gain): the frame rate
        // comes down in proportion, to 15.
        let q = feed(&mut g, t, 2.0, 5_000, chosen);
        assert!((12..=15).contains(&q.fps) && q.scale == 2, "{q:?}");
        // A quarter of the pixels takes a quarter of the bits, which fits:
        // the frame rate comes back up, at half size.
        let q = feed(&mut g, t + Duration::from_secs(2), 3.0, 1_250, chosen);
        assert_eq!((q.fps, q.scale, q.bitrate_bps), (30, 2, 600_000), "{q:?}");
        // The content calms down (100 B a frame): full size again.
        let q = feed(&mut g, t + Duration::from_secs(5), 3.0, 100, chosen);
        assert_eq!((q.fps, q.scale), (30, 1), "{q:?}");
    }

    #[test]
    fn an_encoder_within_its_target_keeps_its_frame_rate() {
        let mut g = Governor::new();
        let chosen = Quality {
            bitrate_bps: 2_000_000,
            fps: 30,
            scale: 1,
        };
        let q = feed(&mut g, Instant::now(), 5.0, 8_000, chosen);
        assert_eq!((q.fps, q.scale), (30, 1));
    }
}
