//! `GET /metrics`: the registry in the Prometheus text format, behind the
//! token when one is configured (401 `{"error": ...}` otherwise).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};

use crate::token::Token;

/// Where the figures are served.
pub const PATH: &str = "/metrics";

/// What the route needs.
struct Served {
    registry: Registry,
    /// Required in `Authorization: Bearer`, when set.
    token: Option<Token>,
    /// Called before each scrape, to refresh figures read on demand
    /// (gauges of live state, a relay's counters).
    refresh: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A router serving `GET /metrics` from `registry`. `refresh` runs before
/// each scrape that passed the token check.
pub fn router<S: Clone + Send + Sync + 'static>(
    registry: Registry,
    token: Option<Token>,
    refresh: impl Fn() + Send + Sync + 'static,
) -> Router<S> {
    let served = Arc::new(Served {
        registry,
        token,
        refresh: Box::new(refresh),
    });
    Router::new().route(PATH, get(scrape).with_state(served))
}

async fn scrape(State(served): State<Arc<Served>>, headers: HeaderMap) -> Response {
    if let Some(token) = &served.token {
        if !token.admits(&headers) {
            let body = serde_json::json!({ "error": "missing or wrong metrics token" });
            let mut r = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    (served.refresh)();
    let text = encode(&served.registry);
    let kind = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, kind)], text).into_response()
}

/// Serve `router` (from [`router`]) on a listener of its own until the
/// future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// The registry's figures in the text exposition format.
pub fn encode(registry: &Registry) -> String {
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&registry.gather(), &mut out) {
        // Only an inconsistent metric family fails; serve what was written.
        tracing::error!(error = %e, "encoding metrics failed");
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn served(token: Option<&str>) -> Router {
        let registry = crate::registry();
        let c = prometheus::IntCounter::new("scrapes_total", "scrapes").expect("valid");
        registry.register(Box::new(c.clone())).expect("registers");
        let token = token.map(|t| Token::new(t.into()).expect("valid"));
        router(registry, token, move || c.inc())
    }

    async fn get(r: Router, auth: Option<&str>) -> (StatusCode, String) {
        let mut req = Request::get(PATH);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let resp = r
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn serves_prefixed_text_and_refreshes_first() {
        let (status, text) = get(served(None), None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("meshdesk_scrapes_total 1"), "{text}");
    }

    #[tokio::test]
    async fn the_token_is_required_when_set() {
        let (status, body) = get(served(Some("t0k")), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("\"error\""), "{body}");
        let (status, _) = get(served(Some("t0k")), Some("Bearer nope")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, text) = get(served(Some("t0k")), Some("Bearer t0k")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("meshdesk_scrapes_total"), "{text}");
    }
}
