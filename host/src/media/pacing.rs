//! When may the next frame be captured? A pure state machine.
//!
//! The capture thread feeds it events (screen damaged, keyframe requested,
//! frame captured) with the current time and asks [`Pacer::poll`] what to do.
//! It never reads the clock itself, so every timing rule is unit-tested here
//! with made-up instants.
//!
//! Rules:
//! - nothing pending (screen unchanged, no keyframe asked for): stay idle,
//!   with no timer at all, so a static screen costs no CPU;
//! - something pending: capture now, unless the previous capture was less
//!   than `1 / max_fps` ago, in which case wait until that much has passed.
//!   Changes that arrive meanwhile coalesce into that one capture.

use std::time::{Duration, Instant};

/// What the capture loop should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceDecision {
    /// Grab a frame now. `keyframe` says a keyframe was requested, so the
    /// frame must be produced even if the screen did not change.
    CaptureNow {
        /// A keyframe request is among the reasons for this capture.
        keyframe: bool,
    },
    /// Something is pending but the frame-rate cap says not before this instant.
    WaitUntil(Instant),
    /// Nothing to do until the next event.
    Idle,
}

/// Frame pacing state for one capture loop.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Shortest allowed gap between two captures (`1 / max_fps`).
    min_interval: Duration,
    /// When the previous capture happened; `None` before the first.
    last_capture: Option<Instant>,
    /// The screen changed since the last capture.
    damage_pending: bool,
    /// Someone asked for a keyframe since the last capture.
    keyframe_pending: bool,
}

impl Pacer {
    /// A pacer allowing at most `max_fps` captures per second (0 is treated as 1).
    pub fn new(max_fps: u32) -> Self {
        Self {
            min_interval: Duration::from_secs(1) / max_fps.max(1),
            last_capture: None,
            damage_pending: false,
            keyframe_pending: false,
        }
    }

    /// Allow at most `max_fps` captures per second from now on (the rate
    /// control lowers it on a slow link, and raises it back).
    pub fn set_max_fps(&mut self, max_fps: u32) {
        self.min_interval = Duration::from_secs(1) / max_fps.max(1);
    }

    /// The shortest gap between captures this pacer enforces.
    pub fn min_interval(&self) -> Duration {
        self.min_interval
    }

    /// The screen changed.
    pub fn on_damage(&mut self) {
        self.damage_pending = true;
    }

    /// A viewer (new subscriber, PLI/FIR, control message) wants a keyframe.
    pub fn on_keyframe_request(&mut self) {
        self.keyframe_pending = true;
    }

    /// Whether a capture is owed (damage or keyframe request pending).
    pub fn is_pending(&self) -> bool {
        self.damage_pending || self.keyframe_pending
    }

    /// Decide what to do at `now`.
    pub fn poll(&self, now: Instant) -> PaceDecision {
        if !self.is_pending() {
            return PaceDecision::Idle;
        }
        if let Some(last) = self.last_capture {
            let earliest = last + self.min_interval;
            if now < earliest {
                return PaceDecision::WaitUntil(earliest);
            }
        }
        PaceDecision::CaptureNow {
            keyframe: self.keyframe_pending,
        }
    }

    /// A frame was grabbed at `now`: everything pending so far is covered by it.
    pub fn on_captured(&mut self, now: Instant) {
        self.last_capture = Some(now);
        self.damage_pending = false;
        self.keyframe_pending = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn idle_without_damage_or_request() {
        let t0 = Instant::now();
        let pacer = Pacer::new(30);
        assert_eq!(pacer.poll(t0), PaceDecision::Idle);
        assert_eq!(pacer.poll(t0 + ms(10_000)), PaceDecision::Idle);
    }

    #[test]
    fn first_damage_captures_immediately() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(30);
        pacer.on_damage();
        assert_eq!(pacer.poll(t0), PaceDecision::CaptureNow { keyframe: false });
    }

    #[test]
    fn damage_soon_after_a_capture_waits_for_the_frame_interval() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(30);
        pacer.on_damage();
        pacer.on_captured(t0);
        assert_eq!(pacer.poll(t0 + ms(5)), PaceDecision::Idle);
        pacer.on_damage();
        let interval = Duration::from_secs(1) / 30;
        assert_eq!(
            pacer.poll(t0 + ms(5)),
            PaceDecision::WaitUntil(t0 + interval)
        );
        assert_eq!(
            pacer.poll(t0 + interval),
            PaceDecision::CaptureNow { keyframe: false }
        );
    }

    #[test]
    fn damage_long_after_a_capture_is_not_delayed() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(30);
        pacer.on_captured(t0);
        pacer.on_damage();
        assert_eq!(
            pacer.poll(t0 + ms(500)),
            PaceDecision::CaptureNow { keyframe: false }
        );
    }

    #[test]
    fn keyframe_request_forces_a_capture_of_an_unchanged_screen() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(30);
        pacer.on_captured(t0);
        pacer.on_keyframe_request();
        assert_eq!(
            pacer.poll(t0 + ms(100)),
            PaceDecision::CaptureNow { keyframe: true }
        );
        pacer.on_captured(t0 + ms(100));
        assert_eq!(pacer.poll(t0 + ms(200)), PaceDecision::Idle);
    }

    #[test]
    fn keyframe_request_still_respects_the_rate_cap() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(10);
        pacer.on_captured(t0);
        pacer.on_keyframe_request();
        assert_eq!(
            pacer.poll(t0 + ms(20)),
            PaceDecision::WaitUntil(t0 + ms(100))
        );
    }

    #[test]
    fn many_events_between_captures_coalesce_into_one() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(60);
        pacer.on_captured(t0);
        for _ in 0..100 {
            pacer.on_damage();
            pacer.on_keyframe_request();
        }
        let decision = pacer.poll(t0 + ms(50));
        assert_eq!(decision, PaceDecision::CaptureNow { keyframe: true });
        pacer.on_captured(t0 + ms(50));
        assert!(!pacer.is_pending());
    }

    #[test]
    fn zero_fps_is_clamped_to_one() {
        assert_eq!(Pacer::new(0).min_interval(), Duration::from_secs(1));
        assert_eq!(Pacer::new(1000).min_interval(), ms(1));
    }
}
