//! Sign-up, sign-in (token + cookie), sign-out and who-am-I.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use meshdesk_protocol::rest::{Account, Credentials, ErrorBody, EventKind, LoginResponse, Me};

use super::routes::Routes;
use super::{validate, ApiJson};
use crate::auth::origin::origin_allowed;
use crate::auth::throttle::ThrottleKey;
use crate::auth::{password, Secret};
use crate::clock::now_ms;
use crate::config::SignupPolicy;
use crate::error::{Error, Result};
use crate::extract::{AuthUser, ClientIp, SESSION_COOKIE};
use crate::feed;
use crate::state::AppState;
use crate::store::{NewEvent, User};

pub fn router() -> Routes {
    Routes::new()
        .route("/accounts", post(sign_up))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
}

/// Create an account. The first account is an admin.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = Credentials,
    responses((status = 201, body = Account), (status = 400, body = ErrorBody),
              (status = 403, description = "sign-up closed", body = ErrorBody),
              (status = 409, description = "username taken", body = ErrorBody)))]
pub async fn sign_up(
    State(st): State<AppState>,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Response> {
    validate::username(&c.username)?;
    validate::password(&c.password)?;
    let first_only = match st.config.signup {
        SignupPolicy::Open => false,
        SignupPolicy::FirstUserOnly => true,
        SignupPolicy::Closed => return Err(Error::Forbidden("sign-up is closed on this server")),
    };
    let hash = password::hash(c.password).await?;
    let user = st
        .store
        .create_user(&c.username, &hash, now_ms(), first_only)?;
    tracing::info!(username = %user.username, admin = user.is_admin, "account created");
    feed::record(
        &st,
        EventKind::AccountCreated,
        NewEvent {
            user_id: Some(user.id),
            actor: Some(user.username.clone()),
            ..Default::default()
        },
    );
    let body = Account {
        username: user.username,
        is_admin: user.is_admin,
        created_at: user.created_at,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Sign in: returns a bearer token and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", request_body = Credentials,
    responses((status = 200, body = LoginResponse),
              (status = 400, description = "not a JSON body of this shape", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "cross-site request refused", body = ErrorBody),
              (status = 429, description = "too many failed attempts", body = ErrorBody)))]
pub async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Response> {
    if !origin_allowed(&headers, &st.config.allowed_origins, false) {
        return Err(Error::Forbidden("cross-site request refused"));
    }
    if c.username.len() > 64 || c.password.chars().count() > password::MAX_PASSWORD_LEN {
        return Err(Error::Unauthorized("wrong username or password"));
    }
    let keys = [
        ThrottleKey::Account(c.username.to_lowercase()),
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
    let Some(user) = check_password(&st, &c.username, c.password).await? else {
        failed_sign_in(&st, &keys, ip, &c.username)?;
        return Err(Error::Unauthorized("wrong username or password"));
    };
    if let Ok(mut t) = st.throttle.lock() {
        t.success(&keys[0]);
    }
    signed_in(&st, user)
}

/// The account `username` if `password` is its password. Takes as long
/// for an unknown username (checked against a dummy hash).
async fn check_password(st: &AppState, username: &str, password: String) -> Result<Option<User>> {
    let record = st.store.user_for_login(username)?;
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
fn failed_sign_in(st: &AppState, keys: &[ThrottleKey], ip: IpAddr, username: &str) -> Result<()> {
    if let Ok(mut t) = st.throttle.lock() {
        t.failure(keys, Instant::now());
    }
    let user = st.store.user_by_name(username)?;
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
    );
    Ok(())
}

/// A new token for `user`: in the body, and as the session cookie.
fn signed_in(st: &AppState, user: User) -> Result<Response> {
    let token = Secret::generate("mdt_");
    let now = now_ms();
    let ttl = st.config.token_ttl;
    let expires_at = now + ttl.as_millis() as i64;
    st.store
        .insert_token(&token.hash(), user.id, now, expires_at)?;
    tracing::info!(username = %user.username, "signed in");
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

/// Sign out: the token stops working and the cookie is cleared.
#[utoipa::path(post, path = "/api/v1/logout", tag = "accounts",
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 403, description = "an API token (revoke it with DELETE /tokens/{id})", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(State(st): State<AppState>, auth: AuthUser) -> Result<Response> {
    auth.require_session()?;
    st.store.delete_token(&auth.token.hash())?;
    st.hub.close_viewers_with_token(&auth.token.hash());
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("meshdesk_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(resp)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(auth: AuthUser) -> Json<Me> {
    Json(Me {
        username: auth.user.username,
        is_admin: auth.user.is_admin,
    })
}
