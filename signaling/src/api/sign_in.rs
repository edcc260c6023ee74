//! Sign-in: the password, then the account's second factor if it has one
//! (a TOTP code, a recovery code, or a passkey), under the sign-in
//! throttle. The decision is [`crate::auth::second_factor::decide`]; this
//! file carries it out.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use meshdesk_protocol::rest::{
    ErrorBody, EventKind, LoginResponse, SecondFactor, SecondFactorRequired, SignIn,
};

use super::routes::Routes;
use super::ApiJson;
use crate::auth::origin::origin_allowed;
use crate::auth::second_factor::{decide, Decision, Offered};
use crate::auth::throttle::ThrottleKey;
use crate::auth::{password, Secret};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::{ClientIp, SESSION_COOKIE};
use crate::feed;
use crate::state::AppState;
use crate::store::{NewEvent, User};

pub fn router() -> Routes {
    Routes::new().route("/login", post(login))
}

/// A password that checked out, with the throttle keys it was checked
/// under (a later wrong factor counts against the same keys).
#[derive(Debug)]
pub struct PasswordOk {
    pub user: User,
    pub keys: [ThrottleKey; 2],
    pub ip: IpAddr,
}

/// Sign in: returns a bearer token and sets the session cookie. With a
/// second factor on the account, a 401 names the factors until the request
/// carries `totp` (a current code or an unused recovery code) or
/// `webauthn` (a passkey assertion for `/account/webauthn/login/start`'s
/// challenge). A wrong factor counts as a failed sign-in.
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", request_body = SignIn,
    responses((status = 200, body = LoginResponse),
              (status = 400, description = "not a JSON body of this shape", body = ErrorBody),
              (status = 401, description = "wrong username or password; or, with `second_factor`, a second factor is needed or was wrong", body = SecondFactorRequired),
              (status = 403, description = "cross-site request refused", body = ErrorBody),
              (status = 429, description = "too many failed attempts", body = ErrorBody)))]
pub async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(c): ApiJson<SignIn>,
) -> Result<Response> {
    let ok = check_password_step(&st, ip, &headers, &c.username, c.password.clone()).await?;
    let factors = st.store.account_factors(ok.user.id).await?;
    let offered = match (&c.totp, &c.webauthn) {
        (Some(code), _) => Offered::Code(code),
        (None, Some(_)) => Offered::Passkey,
        (None, None) => Offered::Nothing,
    };
    let accepted = match decide(&factors, offered, now_ms() as u64 / 1000) {
        Decision::SignIn => true,
        Decision::TotpStep(step) => st.store.totp_use_step(ok.user.id, step).await?,
        Decision::Recovery(hash) => {
            st.store
                .use_recovery_code(ok.user.id, &hash, now_ms())
                .await?
        }
        Decision::VerifyPasskey => {
            // `Offered::Passkey` above means `webauthn` is there.
            let cred = c
                .webauthn
                .as_ref()
                .ok_or_else(|| Error::Internal("passkey offered without an assertion".into()))?;
            super::passkey_sign_in::verify(&st, &headers, ok.user.id, cred).await?
        }
        Decision::Ask(factors) => {
            return Err(Error::SecondFactor {
                message: "a second factor is needed",
                factors,
            })
        }
        Decision::Wrong(_) => false,
    };
    if !accepted {
        failed_sign_in(&st, &ok.keys, ok.ip, &c.username).await?;
        return Err(Error::SecondFactor {
            message: "wrong authentication code or passkey",
            factors: factors.names(),
        });
    }
    if let Ok(mut t) = st.throttle.lock() {
        t.success(&ok.keys[0]);
    }
    signed_in(&st, ok.user, factor_used(offered, &factors.names())).await
}

/// Which factor signed in, for the log.
fn factor_used(offered: Offered<'_>, names: &[SecondFactor]) -> &'static str {
    match (names.is_empty(), offered) {
        (true, _) => "password",
        (false, Offered::Passkey) => "passkey",
        _ => "totp",
    }
}

/// Everything before the second factor: the origin check, the throttle,
/// and the password (a wrong one is a failure). Shared with the passkey
/// challenge, which is only handed out after the password.
pub async fn check_password_step(
    st: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    username: &str,
    password: String,
) -> Result<PasswordOk> {
    if !origin_allowed(headers, &st.config.allowed_origins, false) {
        return Err(Error::Forbidden("cross-site request refused"));
    }
    if username.len() > 64 || password.chars().count() > password::MAX_PASSWORD_LEN {
        return Err(Error::Unauthorized("wrong username or password"));
    }
    let keys = [
        ThrottleKey::Account(username.to_lowercase()),
        ThrottleKey::Address(ip),
    ];
    let wait = st
        .throttle
        .lock()
        .ok()
        .and_then(|t| t.check(&keys, Instant::now()));
    if let Some(wait) = wait {
        return Err(Error::TooManyRequests(
            wait.as_secs_f64().ceil().max(1.0) as u64
        ));
    }
    let Some(user) = check_password(st, username, password).await? else {
        failed_sign_in(st, &keys, ip, username).await?;
        return Err(Error::Unauthorized("wrong username or password"));
    };
    Ok(PasswordOk { user, keys, ip })
}

/// The account `username` if `password` is its password. Takes as long
/// for an unknown username (checked against a dummy hash).
async fn check_password(st: &AppState, username: &str, password: String) -> Result<Option<User>> {
    let record = st.store.user_for_login(username).await?;
    let ok = match &record {
        Some(r) => password::verify(password, r.password_hash.clone()).await?,
        None => {
            password::verify(password, st.dummy_hash.to_string()).await?;
            false
        }
    };
    Ok(record.filter(|_| ok).map(|r| r.user))
}

/// A failed sign-in: it counts against the account and the address, is
/// logged, and goes to the account's feed.
async fn failed_sign_in(
    st: &AppState,
    keys: &[ThrottleKey],
    ip: IpAddr,
    username: &str,
) -> Result<()> {
    if let Ok(mut t) = st.throttle.lock() {
        t.failure(keys, Instant::now());
    }
    st.metrics.sign_in_failed();
    let user = st.store.user_by_name(username).await?;
    tracing::warn!(%ip, "failed sign-in");
    feed::record(
        st,
        EventKind::LoginFailed,
        NewEvent {
            user_id: user.as_ref().map(|u| u.id),
            target_user: user.map(|u| u.username),
            detail: Some(format!("from {ip}")),
            ..Default::default()
        },
    )
    .await;
    Ok(())
}

/// A new token for `user`: in the body, and as the session cookie.
async fn signed_in(st: &AppState, user: User, factor: &'static str) -> Result<Response> {
    let token = Secret::generate("mdt_");
    let now = now_ms();
    let ttl = st.config.token_ttl;
    let expires_at = now + ttl.as_millis() as i64;
    st.store
        .insert_token(&token.hash(), user.id, now, expires_at)
        .await?;
    tracing::info!(username = %user.username, factor, "signed in");
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        token.expose(),
        ttl.as_secs(),
        if st.config.cookie_secure {
            "; Secure"
        } else {
            ""
        }
    );
    let body = LoginResponse {
        token: token.expose().to_string(),
        username: user.username,
        expires_at,
    };
    let mut resp = Json(body).into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|e| Error::Internal(e.to_string()))?;
    resp.headers_mut().insert(header::SET_COOKIE, value);
    Ok(resp)
}
