//! TOTP enrollment: start (a new secret, its URI and QR code), confirm
//! with a code (TOTP goes on, ten recovery codes are shown once), new
//! recovery codes, and turn off, the last two with a current code or a
//! recovery code. For the signed-in owner
//! only, never an API token.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Json;
use meshdesk_protocol::rest::{ErrorBody, RecoveryCodes, TotpCode, TotpEnrollment};

use super::routes::Routes;
use super::ApiJson;
use crate::auth::second_factor::{decide, Decision, Offered};
use crate::auth::throttle::ThrottleKey;
use crate::auth::{recovery, totp};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .route("/account/totp", post(start).delete(disable))
        .route("/account/totp/confirm", post(confirm))
        .route("/account/totp/recovery-codes", post(new_recovery_codes))
}

/// Start TOTP enrollment: a new secret (replacing an unconfirmed one),
/// not in force until confirmed.
#[utoipa::path(post, path = "/api/v1/account/totp", tag = "accounts",
    responses((status = 200, body = TotpEnrollment), (status = 401, body = ErrorBody),
              (status = 403, description = "an API token", body = ErrorBody),
              (status = 409, description = "TOTP is already on", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(State(st): State<AppState>, auth: AuthUser) -> Result<Json<TotpEnrollment>> {
    auth.require_session()?;
    let secret = totp::new_secret();
    if !st.store.totp_start(auth.user.id, &secret, now_ms()).await? {
        return Err(Error::Conflict(
            "two-factor sign-in is already on; turn it off first".into(),
        ));
    }
    let otpauth_uri = totp::uri(&secret, &auth.user.username)?;
    let qr_svg = totp::qr_svg(&otpauth_uri)?;
    tracing::info!(username = %auth.user.username, "TOTP enrollment started");
    Ok(Json(TotpEnrollment {
        secret,
        otpauth_uri,
        qr_svg,
    }))
}

/// Confirm enrollment with a code from the authenticator: TOTP goes on
/// and ten single-use recovery codes come back, shown this once.
#[utoipa::path(post, path = "/api/v1/account/totp/confirm", tag = "accounts", request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes),
              (status = 400, description = "wrong code", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "an API token", body = ErrorBody),
              (status = 404, description = "no enrollment started", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn confirm(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<Json<RecoveryCodes>> {
    auth.require_session()?;
    let secret = st
        .store
        .totp_pending(auth.user.id)
        .await?
        .ok_or(Error::NotFound("TOTP enrollment"))?;
    let Some(step) = totp::check(&secret, &body.code, now_ms() as u64 / 1000, None) else {
        return Err(Error::BadRequest(
            "wrong code: enter the 6 digits your authenticator shows now".into(),
        ));
    };
    let codes = recovery::generate();
    let hashes: Vec<[u8; 32]> = codes.iter().filter_map(|c| recovery::hash(c)).collect();
    if !st.store.totp_enable(auth.user.id, step, &hashes).await? {
        return Err(Error::NotFound("TOTP enrollment"));
    }
    tracing::info!(username = %auth.user.username, "TOTP turned on");
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Turn TOTP off; the body carries a current code or a recovery code.
/// Passkeys stay. Wrong codes count against the account's sign-in
/// throttle.
#[utoipa::path(delete, path = "/api/v1/account/totp", tag = "accounts", request_body = TotpCode,
    responses((status = 204),
              (status = 400, description = "wrong code", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "an API token", body = ErrorBody),
              (status = 404, description = "TOTP is not on", body = ErrorBody),
              (status = 429, description = "too many wrong codes", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn disable(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<StatusCode> {
    auth.require_session()?;
    spend_code(&st, &auth, &body.code).await?;
    st.store.totp_disable(auth.user.id).await?;
    tracing::info!(username = %auth.user.username, "TOTP turned off");
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes in place of all the old ones (used or not), shown
/// this once; the body carries a current code or a recovery code.
#[utoipa::path(post, path = "/api/v1/account/totp/recovery-codes", tag = "accounts", request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes),
              (status = 400, description = "wrong code", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "an API token", body = ErrorBody),
              (status = 404, description = "TOTP is not on", body = ErrorBody),
              (status = 429, description = "too many wrong codes", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn new_recovery_codes(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<Json<RecoveryCodes>> {
    auth.require_session()?;
    spend_code(&st, &auth, &body.code).await?;
    let codes = recovery::generate();
    let hashes: Vec<[u8; 32]> = codes.iter().filter_map(|c| recovery::hash(c)).collect();
    st.store
        .replace_recovery_codes(auth.user.id, &hashes)
        .await?;
    tracing::info!(username = %auth.user.username, "new recovery codes");
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Check and spend a current code or a recovery code of the signed-in
/// account (TOTP must be on). Wrong codes count against the account's
/// sign-in throttle, which also holds back the next try.
async fn spend_code(st: &AppState, auth: &AuthUser, code: &str) -> Result<()> {
    let factors = st.store.account_factors(auth.user.id).await?;
    if factors.totp.is_none() {
        return Err(Error::NotFound("TOTP"));
    }
    let keys = [ThrottleKey::Account(auth.user.username.to_lowercase())];
    let wait = st
        .throttle
        .lock()
        .ok()
        .and_then(|t| t.check(&keys, Instant::now()));
    if let Some(wait) = wait {
        return Err(Error::TooManyRequests(wait.as_secs().max(1)));
    }
    let ok = match decide(&factors, Offered::Code(code), now_ms() as u64 / 1000) {
        Decision::TotpStep(step) => st.store.totp_use_step(auth.user.id, step).await?,
        Decision::Recovery(hash) => {
            st.store
                .use_recovery_code(auth.user.id, &hash, now_ms())
                .await?
        }
        _ => false,
    };
    if !ok {
        if let Ok(mut t) = st.throttle.lock() {
            t.failure(&keys, Instant::now());
        }
        return Err(Error::BadRequest(
            "wrong code: give a current code or a recovery code".into(),
        ));
    }
    Ok(())
}
