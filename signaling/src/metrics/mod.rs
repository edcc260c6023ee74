//! The server's figures for Prometheus (`GET /metrics`, see
//! [`serve`]): counters bumped where things happen, and gauges of live
//! state read from the hub and the relay at each scrape ([`live`]).
//!
//! Every name starts with `meshdesk_`; README "Metrics and health" lists
//! them. Recording is a relaxed atomic add: cheap enough for every
//! request.

pub mod http;
mod live;
pub mod serve;

use meshdesk_exporter::prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts,
};
use meshdesk_exporter::Registry;
use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::ErrorCode;

use crate::error::{Error, Result};

/// Bounds of the session set-up histogram, in seconds: from a viewer's
/// request to the host's accept, consent prompts included.
const SETUP_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Every figure the server keeps, on its own registry.
#[derive(Debug)]
pub struct Metrics {
    pub registry: Registry,
    devices_online: IntGauge,
    viewers_connected: IntGauge,
    sessions_active: IntGauge,
    sessions_pending: IntGauge,
    sessions_started: IntCounterVec,
    session_setup: Histogram,
    relay: live::RelayFigures,
    http_responses: IntCounterVec,
    ws_refused: IntCounterVec,
    sign_in_failures: IntCounter,
}

impl Metrics {
    /// Make and register every metric.
    pub fn new() -> Result<Metrics> {
        let registry = meshdesk_exporter::registry();
        let m = Metrics {
            devices_online: gauge("devices_online", "Hosts connected now.")?,
            viewers_connected: gauge(
                "viewers_connected",
                "Viewer WebSockets (web app and native) open now.",
            )?,
            sessions_active: gauge("sessions_active", "Sessions the host accepted, not ended.")?,
            sessions_pending: gauge(
                "sessions_pending",
                "Sessions requested and not yet accepted by the host.",
            )?,
            sessions_started: counter_vec(
                "sessions_started_total",
                "Sessions the host accepted, by the viewer's permission (owner, control, view).",
                &["permission"],
            )?,
            session_setup: Histogram::with_opts(
                HistogramOpts::new(
                    "session_setup_seconds",
                    "From a viewer's session request to the host's accept.",
                )
                .buckets(SETUP_BUCKETS.to_vec()),
            )
            .map_err(metric)?,
            relay: live::RelayFigures::new()?,
            http_responses: counter_vec(
                "http_responses_total",
                "HTTP responses by status class (2xx, 3xx, 4xx, 5xx).",
                &["class"],
            )?,
            ws_refused: counter_vec(
                "ws_messages_refused_total",
                "WebSocket messages refused, by the error code sent back (malformed, rate_limited, forbidden, ...).",
                &["code"],
            )?,
            sign_in_failures: IntCounter::new("sign_in_failures_total", "Failed sign-ins.")
                .map_err(metric)?,
            registry,
        };
        m.register_all()?;
        Ok(m)
    }

    fn register_all(&self) -> Result<()> {
        let r = &self.registry;
        let all: Vec<Box<dyn meshdesk_exporter::prometheus::core::Collector>> = vec![
            Box::new(self.devices_online.clone()),
            Box::new(self.viewers_connected.clone()),
            Box::new(self.sessions_active.clone()),
            Box::new(self.sessions_pending.clone()),
            Box::new(self.sessions_started.clone()),
            Box::new(self.session_setup.clone()),
            Box::new(self.http_responses.clone()),
            Box::new(self.ws_refused.clone()),
            Box::new(self.sign_in_failures.clone()),
        ];
        for c in all {
            r.register(c).map_err(metric)?;
        }
        self.relay.register(r)
    }

    /// The host accepted a session requested `setup_ms` ago.
    pub fn session_started(&self, permission: Permission, setup_ms: i64) {
        let label = match permission {
            Permission::Owner => "owner",
            Permission::Control => "control",
            Permission::View => "view",
        };
        self.sessions_started.with_label_values(&[label]).inc();
        self.session_setup.observe(setup_ms.max(0) as f64 / 1000.0);
    }

    /// A WebSocket message was refused with `code`.
    pub fn ws_refused(&self, code: ErrorCode) {
        self.ws_refused.with_label_values(&[code_label(code)]).inc();
    }

    /// A sign-in failed (wrong password, unknown user, wrong second factor).
    pub fn sign_in_failed(&self) {
        self.sign_in_failures.inc();
    }
}

/// The wire name of an error code.
fn code_label(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Malformed => "malformed",
        ErrorCode::TooLarge => "too_large",
        ErrorCode::UnknownType => "unknown_type",
        ErrorCode::Invalid => "invalid",
        ErrorCode::Unauthorized => "unauthorized",
        ErrorCode::Forbidden => "forbidden",
        ErrorCode::NotFound => "not_found",
        ErrorCode::Offline => "offline",
        ErrorCode::RateLimited => "rate_limited",
        ErrorCode::UnsupportedVersion => "unsupported_version",
        ErrorCode::Internal => "internal",
    }
}

fn metric(e: meshdesk_exporter::prometheus::Error) -> Error {
    Error::Internal(format!("metric: {e}"))
}

fn gauge(name: &str, help: &str) -> Result<IntGauge> {
    IntGauge::new(name, help).map_err(metric)
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), labels).map_err(metric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_wire_name() {
        for code in [
            ErrorCode::Malformed,
            ErrorCode::TooLarge,
            ErrorCode::UnknownType,
            ErrorCode::Invalid,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::Offline,
            ErrorCode::RateLimited,
            ErrorCode::UnsupportedVersion,
            ErrorCode::Internal,
        ] {
            let wire = serde_json::to_value(code).expect("serializes");
            assert_eq!(wire.as_str(), Some(code_label(code)));
        }
    }

    #[test]
    fn figures_are_prefixed_and_move() {
        let m = Metrics::new().expect("metrics");
        m.session_started(Permission::View, 1500);
        m.ws_refused(ErrorCode::Malformed);
        m.sign_in_failed();
        let text = meshdesk_exporter::encode(&m.registry);
        for line in [
            "meshdesk_sessions_started_total{permission=\"view\"} 1",
            "meshdesk_session_setup_seconds_count 1",
            "meshdesk_session_setup_seconds_bucket{le=\"2.5\"} 1",
            "meshdesk_ws_messages_refused_total{code=\"malformed\"} 1",
            "meshdesk_sign_in_failures_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
