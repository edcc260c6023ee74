//! Personal API tokens: created, listed and revoked by their signed-in
//! owner. A token's secret is shown once; a revoked token stops working
//! at once, its open feed streams and viewer connections included.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Json;
use meshdesk_protocol::rest::{CreatedToken, ErrorBody, NewToken, Scope, TokenInfo};

use super::routes::Routes;
use super::{validate, ApiJson, ApiPath};
use crate::auth::Secret;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::state::AppState;
use crate::store::NewApiToken;

/// The most tokens one account may hold.
pub const MAX_TOKENS_PER_USER: u32 = 50;

/// Prefix of API token secrets (sign-in tokens start `mdt_`).
const TOKEN_PREFIX: &str = "mdp_";

pub fn router() -> Routes {
    Routes::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(revoke))
}

/// The scopes asked for, each once, in a stable order; at least one.
fn scopes(asked: &[Scope]) -> Result<Vec<Scope>> {
    let mut s = asked.to_vec();
    s.sort_unstable();
    s.dedup();
    if s.is_empty() {
        return Err(Error::BadRequest(
            "scopes must name at least one of devices:read, events:read, shares:write, sessions:connect"
                .into(),
        ));
    }
    Ok(s)
}

/// Create an API token for the signed-in user (not with another token).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken),
              (status = 400, description = "bad name, scopes or expiry, or too many tokens", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "asked with an API token", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    auth.require_session()?;
    let name = validate::text("name", &req.name, 64)?;
    let scopes = scopes(&req.scopes)?;
    let now = now_ms();
    let expires_at = validate::future_time("expires_at", req.expires_at.as_deref(), now)?;
    if st.store.api_token_count(auth.user.id).await? >= MAX_TOKENS_PER_USER {
        return Err(Error::BadRequest(format!(
            "an account may hold at most {MAX_TOKENS_PER_USER} API tokens; revoke one first"
        )));
    }
    let secret = Secret::generate(TOKEN_PREFIX);
    let info = st
        .store
        .insert_api_token(&NewApiToken {
            user_id: auth.user.id,
            name: &name,
            hash: &secret.hash(),
            scopes: &scopes,
            created_at: now,
            expires_at,
        })
        .await?;
    tracing::info!(user = %auth.user.username, token = info.id, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: info.id,
            token: secret.expose().to_string(),
            name: info.name,
            scopes: info.scopes,
            created_at: info.created_at,
            expires_at: info.expires_at,
        }),
    ))
}

/// The signed-in user's API tokens, newest first, without their secrets.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = [TokenInfo]), (status = 401, body = ErrorBody),
              (status = 403, description = "asked with an API token", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, auth: AuthUser) -> Result<Json<Vec<TokenInfo>>> {
    auth.require_session()?;
    Ok(Json(st.store.api_tokens_of(auth.user.id).await?))
}

/// Revoke one of the user's API tokens: every request, feed stream and
/// viewer connection made with it stops at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "asked with an API token", body = ErrorBody),
              (status = 404, description = "no such token of this user", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    auth.require_session()?;
    let hash = st
        .store
        .delete_api_token(auth.user.id, id)
        .await?
        .ok_or(Error::NotFound("token"))?;
    st.signed_out_everywhere(&hash);
    tracing::info!(user = %auth.user.username, token = id, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_deduplicated_and_required() {
        assert_eq!(
            scopes(&[Scope::EventsRead, Scope::DevicesRead, Scope::EventsRead]).expect("ok"),
            [Scope::DevicesRead, Scope::EventsRead]
        );
        assert!(scopes(&[]).is_err());
    }
}
