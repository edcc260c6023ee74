//! Signing in with a passkey as the second factor: the password first
//! (`POST /account/webauthn/login/start` hands out a challenge for the
//! account's passkeys), then `POST /login` with the assertion in
//! `webauthn`, checked here.

use std::time::Instant;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Json;
use meshdesk_protocol::rest::{ErrorBody, PasskeyLoginStart, WebauthnChallenge};
use webauthn_rs::prelude::{Passkey, PublicKeyCredential};

use super::passkeys::{options_json, stored};
use super::routes::Routes;
use super::sign_in::check_password_step;
use super::ApiJson;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::ClientIp;
use crate::passkeys::{lock, relying_party};
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().route("/account/webauthn/login/start", post(start))
}

/// The password, then a challenge for the account's passkeys (options for
/// `navigator.credentials.get`; parse them with
/// `PublicKeyCredential.parseRequestOptionsFromJSON`). Answer it with
/// `POST /login` carrying `webauthn`. A wrong password counts as a failed
/// sign-in, as at `/login`.
#[utoipa::path(post, path = "/api/v1/account/webauthn/login/start", tag = "accounts", request_body = PasskeyLoginStart,
    responses((status = 200, body = WebauthnChallenge),
              (status = 400, description = "the account has no passkey, or no domain name to bind them to", body = ErrorBody),
              (status = 401, description = "wrong username or password", body = ErrorBody),
              (status = 403, description = "cross-site request refused", body = ErrorBody),
              (status = 429, description = "too many failed attempts", body = ErrorBody)))]
pub async fn start(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(c): ApiJson<PasskeyLoginStart>,
) -> Result<Json<WebauthnChallenge>> {
    let ok = check_password_step(&st, ip, &headers, &c.username, c.password).await?;
    let keys: Vec<Passkey> = stored(&st, ok.user.id)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if keys.is_empty() {
        return Err(Error::BadRequest("this account has no passkey".into()));
    }
    let rp = relying_party::webauthn(st.config.public_url.as_ref(), &headers)?;
    let (options, state) = rp
        .start_passkey_authentication(&keys)
        .map_err(|e| Error::BadRequest(format!("passkeys: {e}")))?;
    lock(&st.passkeys.sign_ins)?.insert(ok.user.id, state, Instant::now());
    Ok(Json(WebauthnChallenge {
        public_key: options_json(&options)?,
    }))
}

/// Whether `assertion` answers the account's pending challenge with one
/// of its passkeys; on success the passkey's counter is stored.
pub async fn verify(
    st: &AppState,
    headers: &HeaderMap,
    user_id: i64,
    assertion: &serde_json::Value,
) -> Result<bool> {
    let Some(state) = lock(&st.passkeys.sign_ins)?.take(user_id, Instant::now()) else {
        return Ok(false);
    };
    let Ok(cred) = serde_json::from_value::<PublicKeyCredential>(assertion.clone()) else {
        return Ok(false);
    };
    let rp = relying_party::webauthn(st.config.public_url.as_ref(), headers)?;
    let result = match rp.finish_passkey_authentication(&cred, &state) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            return Ok(false);
        }
    };
    for (id, mut key) in stored(st, user_id).await? {
        if key.update_credential(&result).is_some() {
            let json = serde_json::to_string(&key).map_err(|e| Error::Internal(e.to_string()))?;
            st.store.passkey_used(id, &json, now_ms()).await?;
            return Ok(true);
        }
    }
    Ok(false)
}
