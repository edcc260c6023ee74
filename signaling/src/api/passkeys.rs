//! Passkey registration and removal in the account's settings: start
//! (a creation challenge), finish (the browser's new credential), list
//! (in `GET /account/factors`) and delete. For the signed-in owner only.

use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, post};
use axum::Json;
use meshdesk_protocol::rest::{ErrorBody, NewPasskey, PasskeyInfo, WebauthnChallenge};
use webauthn_rs::prelude::{CredentialID, Passkey, RegisterPublicKeyCredential, Uuid};

use super::routes::Routes;
use super::{validate, ApiJson, ApiPath};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::passkeys::{lock, relying_party};
use crate::state::AppState;

/// The most passkeys one account may hold.
pub const MAX_PASSKEYS: usize = 20;

pub fn router() -> Routes {
    Routes::new()
        .route("/account/webauthn/register/start", post(register_start))
        .route("/account/webauthn/register/finish", post(register_finish))
        .route("/account/webauthn/credentials/{id}", delete(remove))
}

/// The WebAuthn user handle of an account: fixed, not secret.
fn user_handle(user_id: i64) -> Uuid {
    Uuid::from_u64_pair(0x6d65_7368_6465_736b, user_id as u64)
}

/// The account's passkeys as webauthn-rs reads them.
pub async fn stored(st: &AppState, user_id: i64) -> Result<Vec<(i64, Passkey)>> {
    st.store
        .passkeys(user_id)
        .await?
        .into_iter()
        .map(|r| {
            serde_json::from_str(&r.credential)
                .map(|p| (r.id, p))
                .map_err(|e| Error::Internal(format!("stored passkey {} unreadable: {e}", r.id)))
        })
        .collect()
}

/// Start registering a passkey: the options for
/// `navigator.credentials.create` (as JSON; parse them with
/// `PublicKeyCredential.parseCreationOptionsFromJSON`).
#[utoipa::path(post, path = "/api/v1/account/webauthn/register/start", tag = "accounts",
    responses((status = 200, body = WebauthnChallenge),
              (status = 400, description = "too many passkeys, or no domain name to bind them to", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "an API token, or not the server's own origin", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_start(
    State(st): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
) -> Result<Json<WebauthnChallenge>> {
    auth.require_session()?;
    let rp = relying_party::webauthn(st.config.public_url.as_ref(), &headers)?;
    let existing = stored(&st, auth.user.id).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(Error::BadRequest(format!(
            "an account holds at most {MAX_PASSKEYS} passkeys"
        )));
    }
    let exclude: Vec<CredentialID> = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
    let name = &auth.user.username;
    let (options, state) = rp
        .start_passkey_registration(user_handle(auth.user.id), name, name, Some(exclude))
        .map_err(|e| Error::BadRequest(format!("passkeys: {e}")))?;
    lock(&st.passkeys.registrations)?.insert(auth.user.id, state, Instant::now());
    Ok(Json(WebauthnChallenge {
        public_key: options_json(&options)?,
    }))
}

/// The `publicKey` member of webauthn-rs's options.
pub fn options_json(options: &impl serde::Serialize) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(options).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(v.get_mut("publicKey")
        .map(serde_json::Value::take)
        .unwrap_or_default())
}

/// Finish registering: the browser's new credential answers the pending
/// challenge, and the passkey is stored under `name`.
#[utoipa::path(post, path = "/api/v1/account/webauthn/register/finish", tag = "accounts", request_body = NewPasskey,
    responses((status = 201, body = PasskeyInfo),
              (status = 400, description = "no challenge pending, or the credential does not answer it", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "an API token, or not the server's own origin", body = ErrorBody),
              (status = 409, description = "this passkey is registered already", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_finish(
    State(st): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewPasskey>,
) -> Result<(StatusCode, Json<PasskeyInfo>)> {
    auth.require_session()?;
    let name = validate::text("name", &body.name, 64)?;
    let rp = relying_party::webauthn(st.config.public_url.as_ref(), &headers)?;
    let state = lock(&st.passkeys.registrations)?
        .take(auth.user.id, Instant::now())
        .ok_or_else(|| Error::BadRequest("no passkey registration pending; start again".into()))?;
    let cred: RegisterPublicKeyCredential = serde_json::from_value(body.credential)
        .map_err(|e| Error::BadRequest(format!("credential: {e}")))?;
    let passkey = rp
        .finish_passkey_registration(&cred, &state)
        .map_err(|e| Error::BadRequest(format!("passkey not accepted: {e}")))?;
    let json = serde_json::to_string(&passkey).map_err(|e| Error::Internal(e.to_string()))?;
    let now = now_ms();
    let id = st
        .store
        .insert_passkey(auth.user.id, &name, passkey.cred_id().as_ref(), &json, now)
        .await?
        .ok_or_else(|| Error::Conflict("this passkey is registered already".into()))?;
    tracing::info!(username = %auth.user.username, passkey = id, "passkey registered");
    let info = PasskeyInfo {
        id,
        name,
        created_at: now,
        last_used_at: None,
    };
    Ok((StatusCode::CREATED, Json(info)))
}

/// Remove one of the account's passkeys.
#[utoipa::path(delete, path = "/api/v1/account/webauthn/credentials/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "the passkey's id")),
    responses((status = 204), (status = 400, description = "not an id", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "an API token", body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    auth.require_session()?;
    if !st.store.delete_passkey(auth.user.id, id).await? {
        return Err(Error::NotFound("passkey"));
    }
    tracing::info!(username = %auth.user.username, passkey = id, "passkey removed");
    Ok(StatusCode::NO_CONTENT)
}
