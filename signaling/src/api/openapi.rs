//! The OpenAPI document, generated from the handlers' annotations.

use axum::routing::get;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::openapi_rules::Rules;
use super::routes::Routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Meshdesk API", description = "Accounts, devices, sharing and the activity feed of a Meshdesk server. \
        WebSocket endpoints /api/v1/ws/host and /api/v1/ws/viewer are described in docs/protocol.md."),
    paths(
        super::accounts::sign_up, super::sign_in::login, super::accounts::logout, super::accounts::me,
        super::totp::start, super::totp::confirm, super::totp::disable, super::totp::new_recovery_codes, super::factors::factors,
        super::passkeys::register_start, super::passkeys::register_finish, super::passkeys::remove,
        super::passkey_sign_in::start,
        super::enroll::create_code, super::enroll::enroll,
        super::devices::list, super::devices::one, super::devices::rename, super::devices::remove,
        super::shares::list, super::shares::grant, super::shares::revoke,
        super::events::page, super::event_stream::stream,
        super::ice::ice_servers,
        super::tokens::create, super::tokens::list, super::tokens::revoke,
        super::webhooks::create, super::webhooks::list, super::webhooks::one, super::webhooks::update,
        super::webhooks::remove, super::webhooks::deliveries, super::webhooks::resend,
        openapi_json,
    ),
    modifiers(&BearerAuth, &Rules),
    tags((name = "accounts"), (name = "devices"), (name = "sharing"), (name = "feed"), (name = "sessions"), (name = "tokens"),
         (name = "webhooks"))
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub fn router() -> Routes {
    Routes::new().route("/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "accounts",
    responses((status = 200, description = "the OpenAPI 3.1 document")))]
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(document())
}

/// The document as served: the annotations, then the links between
/// operations.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    super::openapi_rules::add_links(&mut doc);
    super::openapi_rules::headers_not_null(&mut doc);
    super::openapi_rules::since_patterns(&mut doc);
    doc
}
