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
    // Its own task: a panic in the backend reads as one, not as a crash.
    let check = tokio::spawn(async move { store.ping().await });
    let outcome = match tokio::time::timeout(DEADLINE, check).await {
        Ok(Ok(Ok(()))) => Outcome::Answered,
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "health check: the database failed");
            Outcome::Failed
        }
        Ok(Err(_)) => Outcome::Panicked,
        Err(_) => Outcome::TimedOut,
    };
    reply(outcome)
}

/// How the database check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Failed,
    Panicked,
    TimedOut,
}

/// 200 `{"status":"ok"}`, or 503 with the reason.
fn reply(outcome: Outcome) -> Response {
    let reason = match outcome {
        Outcome::Answered => return Json(json!({ "status": "ok" })).into_response(),
        Outcome::Failed => "the database failed",
        Outcome::Panicked => "the health check panicked",
        Outcome::TimedOut => "the database did not answer in time",
    };
    let body = json!({ "status": "unavailable", "error": reason });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(outcome: Outcome) -> (StatusCode, serde_json::Value) {
        let r = reply(outcome);
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 4096)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn ok_only_when_the_database_answered() {
        let (status, body) = answer(Outcome::Answered).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({ "status": "ok" }));
        for bad in [Outcome::Failed, Outcome::Panicked, Outcome::TimedOut] {
            let (status, body) = answer(bad).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body["status"], "unavailable");
            assert!(body["error"].is_string(), "{body}");
        }
    }
}
