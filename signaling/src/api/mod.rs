//! The REST API under `/api/v1`: one file per area, each with its own
//! `router()`, assembled here. They are built as [`Routes`], which
//! remember their paths, so the OpenAPI document can be checked against
//! what is served.

pub mod accounts;
pub mod device_consent;
pub mod devices;
pub mod enroll;
pub mod event_stream;
pub mod events;
pub mod factors;
pub mod ice;
pub mod json;
pub mod openapi;
pub mod openapi_rules;
pub mod passkey_sign_in;
pub mod passkeys;
pub mod path;
pub mod routes;
pub mod shares;
pub mod sign_in;
pub mod tokens;
pub mod totp;
pub mod validate;
pub mod webhooks;

pub use json::ApiJson;
pub use path::ApiPath;
pub use routes::{Routes, PREFIX};

/// Every REST route, relative to [`PREFIX`]; `router().paths()` lists
/// them.
pub fn router() -> Routes {
    Routes::new()
        .merge(accounts::router())
        .merge(sign_in::router())
        .merge(totp::router())
        .merge(passkeys::router())
        .merge(passkey_sign_in::router())
        .merge(factors::router())
        .merge(enroll::router())
        .merge(devices::router())
        .merge(shares::router())
        .merge(events::router())
        .merge(tokens::router())
        .merge(ice::router())
        .merge(webhooks::router())
        .merge(openapi::router())
}
