//! One session's part in adaptive quality, as a pure policy: what it asks
//! the screen's encoder for (its congestion controller's estimate), and
//! when it tells the viewer what the video aims at.
//!
//! The viewer hears of every change of the encoder's bitrate or frame
//! rate at once, and of a moving estimate at most once a second.

use std::time::Duration;

use meshdesk_peer::Estimate;
use meshdesk_protocol::binding::VideoQuality;
use tokio::time::Instant;

use crate::media::Quality;

/// Least time between two reports that only carry a new estimate.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);

/// What follows from news about the rate.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Step {
    /// Ask the pipeline to aim at no more than this (bit/s).
    pub ask_bps: Option<u32>,
    /// Tell the viewer.
    pub report: Option<VideoQuality>,
}

/// The session's estimate, the encoder's setting, and what was reported.
#[derive(Debug, Clone)]
pub struct QualityWatch {
    /// Whether the estimate drives the encoder (`adaptive_quality`).
    adaptive: bool,
    estimate: Option<Estimate>,
    encoder: Option<Quality>,
    reported: Option<(Instant, VideoQuality)>,
}

impl QualityWatch {
    pub fn new(adaptive: bool) -> Self {
        Self {
            adaptive,
            estimate: None,
            encoder: None,
            reported: None,
        }
    }

    /// The congestion controller's new estimate.
    pub fn estimate(&mut self, now: Instant, estimate: Estimate) -> Step {
        self.estimate = Some(estimate);
        Step {
            ask_bps: self.adaptive.then_some(estimate.target_bps),
            report: self.report(now),
        }
    }

    /// A frame went out, encoded at `quality`.
    pub fn frame(&mut self, now: Instant, quality: Quality) -> Option<VideoQuality> {
        self.encoder = Some(quality);
        self.report(now)
    }

    /// The last ask, to repeat to a new pipeline (another screen).
    pub fn ask(&self) -> Option<u32> {
        self.estimate
            .filter(|_| self.adaptive)
            .map(|estimate| estimate.target_bps)
    }

    fn report(&mut self, now: Instant) -> Option<VideoQuality> {
        let encoder = self.encoder?;
        let current = VideoQuality {
            estimate_kbps: self.estimate.map(|e| e.target_bps / 1000),
            loss: self.estimate.and_then(|e| e.loss),
            bitrate_kbps: encoder.bitrate_bps / 1000,
            fps: encoder.fps,
            scale: encoder.scale,
            adaptive: self.adaptive,
        };
        let due = match &self.reported {
            None => true,
            Some((_, last)) if last.bitrate_kbps != current.bitrate_kbps => true,
            Some((_, last)) if last.fps != current.fps => true,
            Some((_, last)) if last.scale != current.scale => true,
            Some((at, last)) => *last != current && now >= *at + REPORT_EVERY,
        };
        if !due {
            return None;
        }
        self.reported = Some((now, current));
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(kbps: u32) -> Estimate {
        Estimate {
            target_bps: kbps * 1000,
            queue_ms: Some(0),
            rtt_ms: Some(20),
            loss: Some(0.0),
        }
    }

    fn quality(kbps: u32, fps: u32) -> Quality {
        Quality {
            bitrate_bps: kbps * 1000,
            fps,
            scale: 1,
        }
    }

    #[test]
    fn asks_for_the_estimate_only_when_adaptive() {
        let t0 = Instant::now();
        let mut on = QualityWatch::new(true);
        assert_eq!(on.estimate(t0, estimate(1800)).ask_bps, Some(1_800_000));
        assert_eq!(on.ask(), Some(1_800_000));
        let mut off = QualityWatch::new(false);
        assert_eq!(off.estimate(t0, estimate(1800)).ask_bps, None);
        assert_eq!(off.ask(), None);
    }

    #[test]
    fn reports_encoder_changes_at_once_and_estimates_once_a_second() {
        let t0 = Instant::now();
        let mut w = QualityWatch::new(true);
        assert_eq!(w.estimate(t0, estimate(3000)).report, None, "no frame yet");
        let first = w.frame(t0, quality(3000, 30)).expect("first frame reports");
        assert_eq!(first.estimate_kbps, Some(3000));
        assert!(first.adaptive);
        assert_eq!(w.frame(t0, quality(3000, 30)), None, "nothing new");
        let later = t0 + Duration::from_millis(100);
        assert_eq!(w.estimate(later, estimate(2500)).report, None, "too soon");
        let changed = w.frame(later, quality(2500, 30)).expect("bitrate changed");
        assert_eq!(
            (changed.bitrate_kbps, changed.estimate_kbps),
            (2500, Some(2500))
        );
        let a_second_on = later + REPORT_EVERY;
        let moved = w.estimate(a_second_on, estimate(2400)).report;
        assert_eq!(moved.and_then(|q| q.estimate_kbps), Some(2400));
    }
}
