//! The ICE server list (STUN and TURN) for WebRTC clients.

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use meshdesk_protocol::rest::{ErrorBody, IceServers, Scope};

use super::routes::Routes;
use crate::error::Result;
use crate::extract::AuthUser;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().route("/ice-servers", get(ice_servers))
}

/// ICE servers for this user: the static ones, and the embedded relay's
/// and/or an external TURN server's with fresh time-limited credentials
/// (`EXPIRY:USERNAME`). Sessions get their own in `session_grant` and
/// `session_created`.
#[utoipa::path(get, path = "/api/v1/ice-servers", tag = "sessions",
    responses((status = 200, body = IceServers), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ice_servers(State(st): State<AppState>, auth: AuthUser) -> Result<Json<IceServers>> {
    auth.require(Scope::SessionsConnect)?;
    Ok(Json(IceServers {
        ice_servers: st.ice.issue(&auth.user.username, crate::ice::unix_now()),
    }))
}
