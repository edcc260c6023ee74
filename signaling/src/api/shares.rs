//! Sharing a device with another user, view-only or with control.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Json;
use meshdesk_protocol::rest::{ErrorBody, EventKind, Scope, Share, SharePermission, ShareRequest};
use meshdesk_protocol::signal::EndReason;

use super::devices::owned;
use super::routes::Routes;
use super::{validate, ApiJson};
use crate::broker;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::feed;
use crate::hub::Selector;
use crate::state::AppState;
use crate::store::{EndedShare, NewEvent};

pub fn router() -> Routes {
    Routes::new()
        .route("/devices/{id}/shares", get(list).post(grant))
        .route("/devices/{id}/shares/{username}", delete(revoke))
}

/// Who a device is shared with (owner only).
#[utoipa::path(get, path = "/api/v1/devices/{id}/shares", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = [Share]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Share>>> {
    auth.require(Scope::DevicesRead)?;
    owned(&st, &auth.user, &id).await?;
    Ok(Json(st.store.shares(&id).await?))
}

/// Grant (or change) another user's `view` or `control` right (owner only).
#[utoipa::path(post, path = "/api/v1/devices/{id}/shares", tag = "sharing", params(("id" = String, Path)),
    request_body = ShareRequest,
    responses((status = 201, body = Share), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 404, description = "no such device or user", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn grant(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ShareRequest>,
) -> Result<(StatusCode, Json<Share>)> {
    auth.require(Scope::SharesWrite)?;
    let device = owned(&st, &auth.user, &id).await?;
    let target = st
        .store
        .user_by_name(&req.username)
        .await?
        .ok_or(Error::NotFound("user"))?;
    if target.id == auth.user.id {
        return Err(Error::BadRequest("you already own this device".into()));
    }
    let now = now_ms();
    let expires_at = validate::future_time("expires_at", req.expires_at.as_deref(), now)?;
    st.store
        .upsert_share(&id, target.id, req.permission, now, expires_at)
        .await?;
    if expires_at.is_some() {
        st.share_expiry.notify_one();
    }
    // A downgrade to view ends control sessions, so the new right holds now.
    if req.permission == SharePermission::View {
        let select = Selector {
            control_only: true,
            ..Selector::viewer(&id, target.id)
        };
        broker::end_everywhere(&st, EndReason::Revoked, select).await;
    }
    feed::record(
        &st,
        EventKind::ShareGranted,
        NewEvent {
            user_id: Some(device.owner_id),
            actor: Some(auth.user.username.clone()),
            device_id: Some(id.clone()),
            device_name: Some(device.name.clone()),
            target_user: Some(target.username.clone()),
            target_id: Some(target.id),
            permission: Some(req.permission.into()),
            ..Default::default()
        },
    )
    .await;
    let online = st.device_online(&id);
    feed::presence(&st, &id, &device.name, online).await;
    let share = Share {
        username: target.username,
        permission: req.permission,
        created_at: now,
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(share)))
}

/// Revoke a share (owner only); that user's sessions on the device end.
#[utoipa::path(delete, path = "/api/v1/devices/{id}/shares/{username}", tag = "sharing",
    params(("id" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(st): State<AppState>,
    auth: AuthUser,
    Path((id, username)): Path<(String, String)>,
) -> Result<StatusCode> {
    auth.require(Scope::SharesWrite)?;
    let device = owned(&st, &auth.user, &id).await?;
    let target = st
        .store
        .user_by_name(&username)
        .await?
        .ok_or(Error::NotFound("share"))?;
    if !st.store.delete_share(&id, target.id).await? {
        return Err(Error::NotFound("share"));
    }
    withdrawn(
        &st,
        &EndedShare {
            device_id: id,
            device_name: device.name,
            owner_id: device.owner_id,
            user_id: target.id,
            username: target.username,
        },
        Some(auth.user.username.clone()),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A share ended, revoked by its owner (`actor`) or expired (no actor):
/// that user's sessions on the device end at once, the feed says so, and
/// the device leaves their list.
pub async fn withdrawn(st: &AppState, share: &EndedShare, actor: Option<String>) {
    let (reason, kind) = if actor.is_some() {
        (EndReason::Revoked, EventKind::ShareRevoked)
    } else {
        (EndReason::ShareExpired, EventKind::ShareExpired)
    };
    let select = Selector::viewer(&share.device_id, share.user_id);
    broker::end_everywhere(st, reason, select).await;
    feed::record(
        st,
        kind,
        NewEvent {
            user_id: Some(share.owner_id),
            actor,
            device_id: Some(share.device_id.clone()),
            device_name: Some(share.device_name.clone()),
            target_user: Some(share.username.clone()),
            target_id: Some(share.user_id),
            ..Default::default()
        },
    )
    .await;
    // The former holder no longer sees the device.
    feed::gone_for(
        st,
        vec![share.user_id],
        &share.device_id,
        &share.device_name,
    );
}
