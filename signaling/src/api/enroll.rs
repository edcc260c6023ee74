//! Enrollment: a signed-in user creates a one-time code; a host redeems it
//! with its Ed25519 public key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use meshdesk_protocol::rest::{
    EnrollRequest, EnrollResponse, EnrollmentCode, ErrorBody, EventKind,
};

use super::routes::Routes;
use super::{validate, ApiJson};
use crate::auth::Secret;
use crate::clock::{now_ms, random_id};
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::feed;
use crate::state::AppState;
use crate::store::{NewDevice, NewEvent};

pub fn router() -> Routes {
    Routes::new()
        .route("/enrollment-codes", post(create_code))
        .route("/enroll", post(enroll))
}

/// Create a one-time enrollment code for the signed-in user.
#[utoipa::path(post, path = "/api/v1/enrollment-codes", tag = "devices",
    responses((status = 201, body = EnrollmentCode), (status = 401, body = ErrorBody),
              (status = 403, description = "an API token (sign in with a password)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_code(State(st): State<AppState>, auth: AuthUser) -> Result<Response> {
    auth.require_session()?;
    let code = Secret::generate_code();
    let now = now_ms();
    let expires_at = now + st.config.enrollment_code_ttl.as_millis() as i64;
    st.store
        .insert_enrollment_code(&code.code_hash(), auth.user.id, now, expires_at)
        .await?;
    // What a new PC needs to trust a self-signed server (no CA vouches).
    let pinned = st
        .tls
        .as_ref()
        .and_then(|t| Some((t.spki_pin.clone()?, t.fingerprint)));
    let body = EnrollmentCode {
        code: code.expose().to_string(),
        expires_at,
        server_fingerprint: pinned.as_ref().map(|(_, fp)| fp.to_string()),
        server_pin: pinned.map(|(pin, _)| pin),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Redeem an enrollment code: creates the device for the code's owner.
#[utoipa::path(post, path = "/api/v1/enroll", tag = "devices", request_body = EnrollRequest,
    responses((status = 201, body = EnrollResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "code invalid, used or expired", body = ErrorBody),
              (status = 403, description = "key was removed", body = ErrorBody),
              (status = 409, description = "key already enrolled", body = ErrorBody)))]
pub async fn enroll(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<Response> {
    let name = validate::text("name", &req.name, 64)?;
    let os = validate::text("os", &req.os, 128)?;
    let key = parse_public_key(&req.public_key)?;
    let new = NewDevice {
        id: random_id("dev_", 12),
        public_key: key.to_bytes().to_vec(),
        name,
        os,
    };
    let code = Secret::new(req.code);
    let device = st
        .store
        .enroll_device(&code.code_hash(), now_ms(), &new)
        .await?;
    tracing::info!(device = %device.id, owner = %device.owner, "device enrolled");
    feed::record(
        &st,
        EventKind::DeviceEnrolled,
        NewEvent {
            user_id: Some(device.owner_id),
            actor: Some(device.owner.clone()),
            device_id: Some(device.id.clone()),
            device_name: Some(device.name.clone()),
            ..Default::default()
        },
    )
    .await;
    let body = EnrollResponse {
        device_id: device.id,
        name: device.name,
        owner: device.owner,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Decode and check a base64 Ed25519 public key.
pub fn parse_public_key(b64: &str) -> Result<VerifyingKey> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|_| Error::BadRequest("public_key must be standard base64".into()))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::BadRequest("public_key must be 32 bytes (Ed25519)".into()))?;
    VerifyingKey::from_bytes(&arr)
        .map_err(|_| Error::BadRequest("public_key is not a valid Ed25519 key".into()))
}
