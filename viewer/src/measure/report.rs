//! The `--stats-json` report: the session's figures at its end. Pure:
//! counters and instants go in, numbers come out.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use meshdesk_peer::PeerStats;
use meshdesk_protocol::binding::VideoQuality;
use serde::Serialize;

use super::latency::LatencyReport;
use crate::video::DecodeStats;

/// The one JSON object `connect --stats-json` prints at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub device: String,
    pub device_id: String,
    /// From the session being set up to its end.
    pub duration_s: f64,
    /// Pictures that came out of the decoder.
    pub frames_decoded: u64,
    /// Whole frames handed over by the network side.
    pub frames_received: u64,
    /// Frames reported lost (gaps, broken fragments).
    pub frames_lost: u64,
    /// Delta frames skipped while waiting for a keyframe after a loss.
    pub frames_skipped: u64,
    pub decode_errors: u64,
    pub keyframe_requests: u64,
    /// `frames_decoded / duration_s`. The host sends only when the screen
    /// changes, so a still screen gives a low figure.
    pub fps: f64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub packets_lost: i64,
    /// Lost video packets the host resent in time (NACK): their frames
    /// were not lost.
    pub packets_recovered: u64,
    /// Average received bitrate over the session.
    pub kbps: f64,
    /// Latest ICE round-trip time.
    pub rtt_ms: Option<f64>,
    /// From `session_request` to ICE connected.
    pub connect_ms: Option<f64>,
    /// From `session_request` to the first decoded picture.
    pub first_frame_ms: Option<f64>,
    /// From `session_request` to the latest decoded picture: with a moving
    /// screen, how long pictures kept coming (through a network change,
    /// say).
    pub last_frame_ms: Option<f64>,
    /// Mean and worst time to decode one picture (plus RGB conversion
    /// with a window).
    pub decode_ms_mean: Option<f64>,
    pub decode_ms_max: Option<f64>,
    /// `host`, `srflx`, `prflx`, `relay` or `unknown`: this side's
    /// candidate of the selected pair.
    pub candidate_type: String,
    /// The same for the host's side of the pair.
    pub remote_candidate_type: String,
    /// Whether media goes through a TURN relay on either side.
    pub relayed: bool,
    /// The latest decoded picture: its size and the Y, U, V at its centre.
    pub last_picture: Option<PictureReport>,
    /// RTP packets of the PC's sound received, and decoded for the sound
    /// card (0 with `--no-sound`).
    pub audio_packets_received: u64,
    pub audio_packets_played: u64,
    /// The longest wait between two decoded pictures: with a moving
    /// screen, the longest freeze.
    pub longest_freeze_ms: Option<f64>,
    /// What the host's video aimed at, each time it told us: its
    /// bandwidth estimate, bitrate and frame rate, over time.
    pub quality: Vec<QualitySample>,
    /// With `--measure-latency`: the samples and their figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_to_photon_ms: Option<LatencyReport>,
}

/// One of the host's quality reports and when it came.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualitySample {
    /// From `session_request` to the report.
    pub at_ms: f64,
    #[serde(flatten)]
    pub quality: VideoQuality,
}

impl QualitySample {
    /// `quality`, heard at `at`, in a session requested at `requested`.
    pub fn new(requested: Instant, at: Instant, quality: VideoQuality) -> QualitySample {
        QualitySample {
            at_ms: ms(at.saturating_duration_since(requested)),
            quality,
        }
    }
}

/// The latest decoded picture, as the report gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PictureReport {
    pub width: u32,
    pub height: u32,
    pub centre_yuv: [u8; 3],
}

/// The instants a report is measured between.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    /// `session_request` sent.
    pub requested: Instant,
    /// Offer answered: the session exists.
    pub established: Instant,
    /// ICE connected, if it did.
    pub connected: Option<Instant>,
    /// The session ended.
    pub ended: Instant,
}

impl Report {
    pub fn build(
        device: (&str, &str),
        timeline: Timeline,
        peer: &PeerStats,
        decode: &DecodeStats,
    ) -> Report {
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let frames = load(&decode.frames_decoded);
        let duration = timeline
            .ended
            .saturating_duration_since(timeline.established);
        let secs = duration.as_secs_f64().max(1e-3);
        let since_request = |at: Instant| ms(at.saturating_duration_since(timeline.requested));
        let mean = (frames > 0).then(|| load(&decode.decode_us_total) as f64 / frames as f64 / 1e3);
        Report {
            device: device.0.to_string(),
            device_id: device.1.to_string(),
            duration_s: round3(duration.as_secs_f64()),
            frames_decoded: frames,
            frames_received: peer.frames_received,
            frames_lost: peer.frames_lost,
            frames_skipped: load(&decode.frames_skipped),
            decode_errors: load(&decode.decode_errors),
            keyframe_requests: load(&decode.keyframe_requests),
            fps: round3(frames as f64 / secs),
            bytes_received: peer.bytes_received,
            bytes_sent: peer.bytes_sent,
            packets_received: peer.packets_received,
            packets_lost: peer.packets_lost,
            packets_recovered: peer.packets_recovered,
            audio_packets_received: peer.audio_packets_received,
            audio_packets_played: 0,
            kbps: round3(peer.bytes_received as f64 * 8.0 / 1e3 / secs),
            rtt_ms: peer.round_trip_time.map(ms),
            connect_ms: timeline.connected.map(since_request),
            first_frame_ms: decode.first_frame_at.get().copied().map(since_request),
            last_frame_ms: decode.last_frame().map(since_request),
            decode_ms_mean: mean.map(round3),
            decode_ms_max: (frames > 0).then(|| round3(load(&decode.decode_us_max) as f64 / 1e3)),
            candidate_type: peer
                .candidate_pair_type
                .map_or("unknown", |t| t.as_str())
                .to_string(),
            remote_candidate_type: peer
                .remote_candidate_type
                .map_or("unknown", |t| t.as_str())
                .to_string(),
            relayed: peer.relayed(),
            last_picture: decode
                .last_picture
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .map(|p| PictureReport {
                    width: p.width,
                    height: p.height,
                    centre_yuv: p.centre.0,
                }),
            longest_freeze_ms: (frames > 1)
                .then(|| ms(Duration::from_micros(load(&decode.longest_gap_us)))),
            quality: Vec::new(),
            input_to_photon_ms: None,
        }
    }

    pub fn to_json(&self) -> String {
        // Strings, integers and finite floats: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

fn ms(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1e3)
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use meshdesk_peer::CandidatePairType;

    use super::*;

    #[test]
    fn report_computes_rates_and_times() {
        let t0 = Instant::now();
        let timeline = Timeline {
            requested: t0,
            established: t0 + Duration::from_millis(100),
            connected: Some(t0 + Duration::from_millis(250)),
            ended: t0 + Duration::from_millis(2100),
        };
        let mut peer = PeerStats::default();
        peer.bytes_received = 250_000;
        peer.round_trip_time = Some(Duration::from_micros(1500));
        peer.candidate_pair_type = Some(CandidatePairType::Host);
        peer.frames_received = 61;
        let decode = DecodeStats {
            frames_decoded: AtomicU64::new(60),
            decode_us_total: AtomicU64::new(120_000),
            decode_us_max: AtomicU64::new(9_000),
            ..DecodeStats::default()
        };
        let _ = decode.first_frame_at.set(t0 + Duration::from_millis(300));
        *decode.last_frame_at.lock().expect("lock") = Some(t0 + Duration::from_millis(2050));
        let r = Report::build(("pc", "dev_1"), timeline, &peer, &decode);
        assert_eq!(r.duration_s, 2.0);
        assert_eq!(r.fps, 30.0);
        assert_eq!(r.kbps, 1000.0);
        assert_eq!(r.rtt_ms, Some(1.5));
        assert_eq!(r.connect_ms, Some(250.0));
        assert_eq!(r.first_frame_ms, Some(300.0));
        assert_eq!(r.last_frame_ms, Some(2050.0));
        assert_eq!(r.decode_ms_mean, Some(2.0));
        assert_eq!(r.decode_ms_max, Some(9.0));
        assert_eq!(r.candidate_type, "host");
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
        assert_eq!(v["frames_decoded"], 60);
        assert_eq!(v["candidate_type"], "host");
    }

    #[test]
    fn no_frames_means_no_frame_times() {
        let t0 = Instant::now();
        let timeline = Timeline {
            requested: t0,
            established: t0,
            connected: None,
            ended: t0,
        };
        let r = Report::build(
            ("pc", "d"),
            timeline,
            &PeerStats::default(),
            &DecodeStats::default(),
        );
        assert_eq!(
            (r.first_frame_ms, r.last_frame_ms, r.decode_ms_mean, r.fps),
            (None, None, None, 0.0)
        );
        assert_eq!(r.candidate_type, "unknown");
        assert!(r.to_json().contains("\"first_frame_ms\":null"));
        assert!(
            !r.to_json().contains("input_to_photon_ms"),
            "only when measured"
        );
    }
}
