//! Devices a user may see; owners rename and remove them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use meshdesk_protocol::rest::{Device, ErrorBody, EventKind, Permission, Scope, UpdateDevice};
use meshdesk_protocol::signal::{EndReason, ServerToHost};

use super::routes::Routes;
use super::{validate, ApiJson};
use crate::broker;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::feed;
use crate::hub::Selector;
use crate::state::AppState;
use crate::store::{DeviceRow, NewEvent, User};

pub fn router() -> Routes {
    Routes::new()
        .route("/devices", get(list))
        .route("/devices/{id}", get(one).patch(rename).delete(remove))
}

fn to_api(st: &AppState, d: DeviceRow, permission: Permission) -> Device {
    Device {
        online: st.device_online(&d.id),
        id: d.id,
        name: d.name,
        os: d.os,
        owner: d.owner,
        permission,
        created_at: d.created_at,
        last_seen: d.last_seen,
        consent_owner: d.consent_owner,
        consent_shared: d.consent_shared,
        public_key: STANDARD.encode(&d.public_key),
        screens: d.screens,
        sound: d.sound,
        view_may_copy: d.view_may_copy,
    }
}

/// A device the user may see, or 404 (strangers cannot tell it exists).
pub async fn visible(st: &AppState, user: &User, id: &str) -> Result<(DeviceRow, Permission)> {
    let perm = st
        .store
        .permission(user.id, id)
        .await?
        .ok_or(Error::NotFound("device"))?;
    let row = st
        .store
        .device(id)
        .await?
        .ok_or(Error::NotFound("device"))?;
    Ok((row, perm))
}

/// A device the user owns: 404 for strangers, 403 for share holders.
pub async fn owned(st: &AppState, user: &User, id: &str) -> Result<DeviceRow> {
    match visible(st, user, id).await? {
        (row, Permission::Owner) => Ok(row),
        _ => Err(Error::Forbidden("only the device's owner may do this")),
    }
}

/// Devices the signed-in user may see, with online state and permission.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, body = [Device]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, auth: AuthUser) -> Result<Json<Vec<Device>>> {
    auth.require(Scope::DevicesRead)?;
    let rows = st.store.devices_visible_to(auth.user.id).await?;
    Ok(Json(
        rows.into_iter().map(|(d, p)| to_api(&st, d, p)).collect(),
    ))
}

/// One device.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = String, Path)),
    responses((status = 200, body = Device), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn one(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Device>> {
    auth.require(Scope::DevicesRead)?;
    let (row, perm) = visible(&st, &auth.user, &id).await?;
    Ok(Json(to_api(&st, row, perm)))
}

/// Rename a device, set its consent policies, switch its sound and
/// whether `view` sessions may copy from its clipboard (owner only; both
/// switches apply to sessions granted from then on); each field
/// is optional, what is absent (or null) stays as it is, so an empty body
/// changes nothing and answers the device as it is. (Named for what the route
/// first did, which keeps its operationId.)
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = String, Path)),
    request_body = UpdateDevice,
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn rename(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateDevice>,
) -> Result<Json<Device>> {
    auth.require_session()?;
    let row = owned(&st, &auth.user, &id).await?;
    let name = body
        .name
        .as_deref()
        .map(|n| validate::text("name", n, 64))
        .transpose()?;
    let shown = name.clone().unwrap_or_else(|| row.name.clone());
    if let Some(name) = name {
        apply_name(&st, &auth.user, &row, name).await?;
    }
    super::device_consent::apply(&st, &auth.user, &row, &shown, &body).await?;
    if let Some(on) = body.sound.filter(|&on| on != row.sound) {
        st.store.set_sound(&row.id, on).await?;
        tracing::info!(device = %row.id, sound = on, "sound switched");
    }
    if let Some(on) = body.view_may_copy.filter(|&on| on != row.view_may_copy) {
        st.store.set_view_may_copy(&row.id, on).await?;
        tracing::info!(device = %row.id, view_may_copy = on, "view copying switched");
    }
    let (row, perm) = visible(&st, &auth.user, &id).await?;
    Ok(Json(to_api(&st, row, perm)))
}

/// Give the device a new name: the host, the feed and everyone who sees it
/// learn it.
async fn apply_name(st: &AppState, user: &User, row: &DeviceRow, name: String) -> Result<()> {
    let id = &row.id;
    st.store.rename_device(id, &name).await?;
    broker::to_host(st, id, ServerToHost::Renamed { name: name.clone() });
    feed::record(
        st,
        EventKind::DeviceRenamed,
        NewEvent {
            user_id: Some(row.owner_id),
            actor: Some(user.username.clone()),
            device_id: Some(id.clone()),
            device_name: Some(name.clone()),
            detail: Some(format!("was {}", row.name)),
            ..Default::default()
        },
    )
    .await;
    let online = st.device_online(id);
    feed::presence(st, id, &name, online).await;
    Ok(())
}

/// Remove a device (owner only): its connection closes at once, its
/// sessions end, and its key can never enroll or connect again.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    auth.require_session()?;
    let row = owned(&st, &auth.user, &id).await?;
    let audience = st.store.device_audience(&id).await?;
    broker::end_everywhere(&st, EndReason::DeviceRemoved, Selector::device(&id)).await;
    feed::record(
        &st,
        EventKind::DeviceRemoved,
        NewEvent {
            user_id: Some(row.owner_id),
            actor: Some(auth.user.username.clone()),
            device_id: Some(id.clone()),
            device_name: Some(row.name.clone()),
            ..Default::default()
        },
    )
    .await;
    st.store.remove_device(&id, now_ms()).await?;
    st.close_host_everywhere(&id);
    // Those who saw the device (shares are gone now) learn it is offline.
    feed::gone_for(&st, audience, &id, &row.name);
    tracing::info!(device = %id, "device removed");
    Ok(StatusCode::NO_CONTENT)
}
