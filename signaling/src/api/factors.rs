//! `GET /account/factors`: which second factors the account has.

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use meshdesk_protocol::rest::{ErrorBody, Factors, PasskeyInfo};

use super::routes::Routes;
use crate::error::Result;
use crate::extract::AuthUser;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().route("/account/factors", get(factors))
}

/// The signed-in account's second factors: TOTP on or off, unused recovery
/// codes, passkeys.
#[utoipa::path(get, path = "/api/v1/account/factors", tag = "accounts",
    responses((status = 200, body = Factors), (status = 401, body = ErrorBody),
              (status = 403, description = "an API token", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn factors(State(st): State<AppState>, auth: AuthUser) -> Result<Json<Factors>> {
    auth.require_session()?;
    let f = st.store.account_factors(auth.user.id).await?;
    let passkeys = st
        .store
        .passkeys(auth.user.id)
        .await?
        .into_iter()
        .map(|r| PasskeyInfo {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
        .collect();
    Ok(Json(Factors {
        totp: f.totp.is_some(),
        recovery_codes_left: if f.totp.is_some() {
            f.recovery.len() as u32
        } else {
            0
        },
        passkeys,
    }))
}
