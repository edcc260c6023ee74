//! Sign-up, sign-out and who-am-I (sign-in is in [`super::sign_in`]).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use meshdesk_protocol::rest::{Account, Credentials, ErrorBody, EventKind, Me};

use super::routes::Routes;
use super::{validate, ApiJson};
use crate::auth::password;
use crate::clock::now_ms;
use crate::config::SignupPolicy;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::feed;
use crate::state::AppState;
use crate::store::NewEvent;

pub fn router() -> Routes {
    Routes::new()
        .route("/accounts", post(sign_up))
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
        .create_user(&c.username, &hash, now_ms(), first_only)
        .await?;
    tracing::info!(username = %user.username, admin = user.is_admin, "account created");
    feed::record(
        &st,
        EventKind::AccountCreated,
        NewEvent {
            user_id: Some(user.id),
            actor: Some(user.username.clone()),
            ..Default::default()
        },
    )
    .await;
    let body = Account {
        username: user.username,
        is_admin: user.is_admin,
        created_at: user.created_at,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Sign out: the token stops working and the cookie is cleared.
#[utoipa::path(post, path = "/api/v1/logout", tag = "accounts",
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 403, description = "an API token (revoke it with DELETE /tokens/{id})", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(State(st): State<AppState>, auth: AuthUser) -> Result<Response> {
    auth.require_session()?;
    st.store.delete_token(&auth.token.hash()).await?;
    st.signed_out_everywhere(&auth.token.hash());
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let clear = if st.config.cookie_secure {
        "meshdesk_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
    } else {
        "meshdesk_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    };
    resp.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static(clear));
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
