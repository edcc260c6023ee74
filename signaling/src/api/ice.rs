//! The ICE server list (STUN and TURN) for WebRTC clients.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use meshdesk_protocol::rest::{ErrorBody, IceServers};

use crate::auth::AuthUser;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/ice-servers", get(ice_servers))
}

/// ICE servers to use for sessions (also sent in every session grant).
#[utoipa::path(get, path = "/api/v1/ice-servers", tag = "sessions",
    responses((status = 200, body = IceServers), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn ice_servers(State(st): State<AppState>, _auth: AuthUser) -> Json<IceServers> {
    Json(IceServers {
        ice_servers: st.config.ice_servers.clone(),
    })
}
