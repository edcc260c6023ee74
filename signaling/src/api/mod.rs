//! The REST API under `/api/v1`: one file per area, each with its own
//! `router()`, assembled here.

pub mod accounts;
pub mod devices;
pub mod enroll;
pub mod events;
pub mod ice;
pub mod json;
pub mod openapi;
pub mod shares;
pub mod validate;

use axum::Router;

use crate::state::AppState;

pub use json::ApiJson;

/// Every REST route, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(enroll::router())
        .merge(devices::router())
        .merge(shares::router())
        .merge(events::router())
        .merge(ice::router())
        .merge(openapi::router())
}
