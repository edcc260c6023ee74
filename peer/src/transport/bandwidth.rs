//! The host's bandwidth estimate: transport-wide congestion control.
//!
//! The host stamps every RTP packet it sends with a transport-wide
//! sequence number (webrtc's TWCC sender); the viewer (Chromium, or our
//! native viewer's TWCC receiver) reports when each arrived, about every
//! 100 ms. webrtc's congestion-control interceptor joins those reports
//! with the send times and hands them to an estimator: ours,
//! [`Congestion`] (delay- and loss-based; `congestion.rs` says why not
//! webrtc's GCC). [`PublishingEstimator`] wraps it so that each new
//! estimate also reaches the application on a watch channel: the
//! interceptor owns its estimator, boxed inside the chain, where nothing
//! else can read it.
//!
//! No pacer: at a 2 Mbit/s target a pacer would hold a 100 kB keyframe
//! for 400 ms, longer than the queue it is meant to avoid. The encoder's
//! rate is what keeps the link clear.

use std::time::Instant;

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, PacketReport};
use tokio::sync::watch;

use super::congestion::Congestion;

/// The estimate never goes below this: under it a desktop is unusable
/// anyway, and the encoder keeps its lowest frame rate.
pub const MIN_BITRATE_BPS: u32 = 150_000;

/// What the host knows about the path to one viewer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// What the path is estimated to carry, in bit/s, within the
    /// session's bounds.
    pub target_bps: u32,
    /// How long the latest packets queued at the bottleneck, ms.
    pub queue_ms: Option<u32>,
    /// From sending a packet to hearing of its arrival, ms: the round trip
    /// plus the viewer's feedback interval.
    pub rtt_ms: Option<u32>,
    /// Share of packets the viewer reported lost (smoothed), 0..=1.
    pub loss: Option<f64>,
}

impl Estimate {
    fn of(controller: &Congestion) -> Estimate {
        Estimate {
            target_bps: bps(controller.target()),
            queue_ms: controller.queue().map(millis),
            rtt_ms: controller.round_trip().map(millis),
            loss: controller.loss(),
        }
    }
}

fn millis(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Bits per second as a whole number (estimates are finite and positive).
fn bps(value: f64) -> u32 {
    value.clamp(0.0, f64::from(u32::MAX)) as u32
}

/// The estimator, publishing every change of its estimate.
pub(crate) struct PublishingEstimator {
    controller: Congestion,
    out: watch::Sender<Option<Estimate>>,
}

impl PublishingEstimator {
    /// An estimator starting at `max_bps` (the configured bitrate: a LAN
    /// carries it from the first frame, and a slower link is found within
    /// a few feedback reports), held within [`MIN_BITRATE_BPS`]..=`max_bps`.
    /// The receiver sees `None` until the first feedback arrives.
    pub(crate) fn new(max_bps: u32) -> (Self, watch::Receiver<Option<Estimate>>) {
        let max = f64::from(max_bps.max(MIN_BITRATE_BPS));
        let controller = Congestion::new(max, f64::from(MIN_BITRATE_BPS), max);
        let (out, rx) = watch::channel(None);
        (PublishingEstimator { controller, out }, rx)
    }

    fn publish(&self) {
        let estimate = Estimate::of(&self.controller);
        tracing::trace!(
            target_kbps = estimate.target_bps / 1000,
            queue_ms = estimate.queue_ms,
            loss = estimate.loss,
            "bandwidth estimate"
        );
        self.out.send_if_modified(|current| {
            let changed = *current != Some(estimate);
            *current = Some(estimate);
            changed
        });
    }
}

impl BandwidthEstimator for PublishingEstimator {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.controller.on_reports(now, reports);
        if !reports.is_empty() {
            self.publish();
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.controller.target()
    }

    fn stats(&self) -> EstimatorStats {
        let mut stats = EstimatorStats::default();
        stats.packet_loss = self.controller.loss();
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_configured_rate_and_publishes_nothing_before_feedback() {
        let (mut gcc, rx) = PublishingEstimator::new(4_000_000);
        assert_eq!(gcc.target_bitrate(), 4_000_000.0);
        gcc.on_reports(Instant::now(), &[]);
        assert_eq!(*rx.borrow(), None);
    }

    #[test]
    fn a_tiny_configured_rate_still_allows_the_floor() {
        let (gcc, _) = PublishingEstimator::new(10_000);
        assert_eq!(bps(gcc.target_bitrate()), MIN_BITRATE_BPS);
    }
}
