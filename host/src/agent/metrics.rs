//! The host's figures for Prometheus, served on `[metrics] listen`: frames
//! captured, encoded and sent, encode time, bytes sent (the bitrate is its
//! rate), sessions. Capture and encode counts are the pipeline's own
//! atomics, read at each scrape; the hot path adds only the encode-time
//! observation and, per frame sent, two atomic adds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use meshdesk_exporter::prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};
use meshdesk_exporter::Registry;
use meshdesk_tasks::AbortOnDrop;
use tokio::net::TcpListener;

use super::metrics_config::MetricsServe;
use super::AgentError;
use crate::media::{EncodeProbe, MediaStats};

/// Bounds of the encode time histogram, in seconds.
const ENCODE_BUCKETS: &[f64] = &[0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1];

/// Every figure the host keeps, on its own registry.
#[derive(Debug)]
pub struct HostMetrics {
    registry: Registry,
    frames_captured: IntCounter,
    frames_encoded: IntCounter,
    keyframes: IntCounter,
    frames_sent: IntCounter,
    bytes_sent: IntCounter,
    encode_seconds: Histogram,
    sessions_active: IntGauge,
    sessions_started: IntCounter,
    /// The pipeline's counters as last added (held while adding).
    seen: Mutex<MediaStats>,
}

impl HostMetrics {
    pub fn new() -> Result<HostMetrics, AgentError> {
        let counter = |name: &str, help: &str| IntCounter::new(name, help).map_err(metric);
        let m = HostMetrics {
            registry: meshdesk_exporter::registry(),
            frames_captured: counter(
                "host_frames_captured_total",
                "Screens grabbed for encoding.",
            )?,
            frames_encoded: counter("host_frames_encoded_total", "Frames encoded (H.264).")?,
            keyframes: counter("host_keyframes_total", "Of the frames encoded, IDR frames.")?,
            frames_sent: counter(
                "host_frames_sent_total",
                "Frames written to a session's video track (one per session).",
            )?,
            bytes_sent: counter(
                "host_video_bytes_sent_total",
                "Video bytes written to sessions' tracks; its rate is the bitrate.",
            )?,
            encode_seconds: Histogram::with_opts(
                HistogramOpts::new("host_encode_seconds", "Time to encode one frame.")
                    .buckets(ENCODE_BUCKETS.to_vec()),
            )
            .map_err(metric)?,
            sessions_active: IntGauge::new("host_sessions_active", "Sessions running now.")
                .map_err(metric)?,
            sessions_started: counter("host_sessions_started_total", "Sessions started.")?,
            seen: Mutex::new(MediaStats::default()),
        };
        m.register_all()?;
        Ok(m)
    }

    fn register_all(&self) -> Result<(), AgentError> {
        let all: Vec<Box<dyn meshdesk_exporter::prometheus::core::Collector>> = vec![
            Box::new(self.frames_captured.clone()),
            Box::new(self.frames_encoded.clone()),
            Box::new(self.keyframes.clone()),
            Box::new(self.frames_sent.clone()),
            Box::new(self.bytes_sent.clone()),
            Box::new(self.encode_seconds.clone()),
            Box::new(self.sessions_active.clone()),
            Box::new(self.sessions_started.clone()),
        ];
        for c in all {
            self.registry.register(c).map_err(metric)?;
        }
        Ok(())
    }

    /// What the pipeline calls with each frame's encode time.
    pub fn encode_probe(&self) -> EncodeProbe {
        let h = self.encode_seconds.clone();
        EncodeProbe::new(move |took: Duration| h.observe(took.as_secs_f64()))
    }

    /// A session wrote a frame of `bytes` to its track.
    pub fn frame_sent(&self, bytes: usize) {
        self.frames_sent.inc();
        self.bytes_sent.inc_by(bytes as u64);
    }

    /// A session started; `running` are running now.
    pub fn session_started(&self, running: usize) {
        self.sessions_started.inc();
        self.sessions_running(running);
    }

    /// Sessions running now.
    pub fn sessions_running(&self, running: usize) {
        self.sessions_active.set(running as i64);
    }

    /// Add what the pipeline counted since the last scrape.
    fn refresh(&self, now: MediaStats) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let add = |c: &IntCounter, now: u64, was: u64| c.inc_by(now.saturating_sub(was));
        add(
            &self.frames_captured,
            now.frames_captured,
            seen.frames_captured,
        );
        add(
            &self.frames_encoded,
            now.frames_encoded,
            seen.frames_encoded,
        );
        add(&self.keyframes, now.keyframes, seen.keyframes);
        *seen = now;
    }
}

fn metric(e: meshdesk_exporter::prometheus::Error) -> AgentError {
    AgentError::Metrics(e.to_string())
}

/// Bind `[metrics] listen` and serve there while the returned task lives.
pub async fn start(
    serve: &MetricsServe,
    metrics: Arc<HostMetrics>,
    media: impl Fn() -> Option<MediaStats> + Send + Sync + 'static,
) -> Result<AbortOnDrop<()>, AgentError> {
    let listener = TcpListener::bind(serve.listen)
        .await
        .map_err(|e| AgentError::Metrics(format!("cannot listen on {}: {e}", serve.listen)))?;
    match listener.local_addr() {
        // Tests with `listen` on port 0 read the port from this line.
        Ok(addr) => tracing::info!(%addr, "serving metrics"),
        Err(e) => tracing::warn!(error = %e, "serving metrics on an unknown address"),
    }
    let registry = metrics.registry.clone();
    let router = meshdesk_exporter::router(registry, serve.token.clone(), move || {
        if let Some(stats) = media() {
            metrics.refresh(stats);
        }
    });
    Ok(AbortOnDrop::spawn(async move {
        if let Err(e) = meshdesk_exporter::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_move_and_are_prefixed() {
        let m = HostMetrics::new().expect("metrics");
        m.encode_probe().encoded(Duration::from_millis(7));
        m.frame_sent(1200);
        m.session_started(1);
        let stats = |n| MediaStats {
            frames_captured: n,
            frames_encoded: n,
            keyframes: 1,
            bytes_encoded: 0,
        };
        m.refresh(stats(5));
        m.refresh(stats(8));
        let text = meshdesk_exporter::encode(&m.registry);
        for line in [
            "meshdesk_host_frames_captured_total 8",
            "meshdesk_host_frames_encoded_total 8",
            "meshdesk_host_keyframes_total 1",
            "meshdesk_host_frames_sent_total 1",
            "meshdesk_host_video_bytes_sent_total 1200",
            "meshdesk_host_encode_seconds_bucket{le=\"0.01\"} 1",
            "meshdesk_host_encode_seconds_count 1",
            "meshdesk_host_sessions_active 1",
            "meshdesk_host_sessions_started_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
