//! `GET /healthz` for load balancers and service managers: 200
//! `{"status":"ok"}` when the database answers, 503 with a reason when it
//! does not or not in time. Unauthenticated and cheap (one pragma read);
//! it is not behind any per-client limit.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

/// Where the check is served.
pub const PATH: &str = "/healthz";
/// Longer than this and the database counts as not answering.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The `/healthz` route.
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(healthz))
}

async fn healthz(State(st): State<AppState>) -> Response {
    let store = st.store.clone();
    let check = tokio::task::spawn_blocking(move || store.ping());
    let reason = match tokio::time::timeout(DEADLINE, check).await {
        Ok(Ok(Ok(()))) => return Json(json!({ "status": "ok" })).into_response(),
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "health check: the database failed");
            "the database failed"
        }
        Ok(Err(_)) => "the health check panicked",
        Err(_) => "the database did not answer in time",
    };
    let body = json!({ "status": "unavailable", "error": reason });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
