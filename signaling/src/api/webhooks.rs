//! Webhooks, managed by their owner: each user sees and changes only
//! their own (another user's webhook id is a 404). Deliveries are made by
//! [`crate::webhooks::queue::worker`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use meshdesk_protocol::rest::{
    CreatedWebhook, Delivery, DeliveryStatus, ErrorBody, NewWebhook, UpdateWebhook, Webhook,
};

use super::routes::Routes;
use super::{validate, ApiJson};
use crate::auth::Secret;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::state::AppState;
use crate::store::{NewWebhookRow, User};
use crate::webhooks::MAX_PER_USER;

/// Deliveries listed per webhook, newest first.
pub const DELIVERIES_SHOWN: u32 = 50;

pub fn router() -> Routes {
    Routes::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(one).patch(update).delete(remove))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/resend",
            post(resend),
        )
}

/// Register a webhook. The reply holds its signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook),
              (status = 400, description = "bad URL, unknown device", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "the user has the most webhooks allowed", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>)> {
    auth.require_session()?;
    let url = validate::webhook_url(&req.url)?;
    let mut kinds = req.kinds.unwrap_or_default();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    let devices = devices(&st, &auth.user, req.devices.unwrap_or_default()).await?;
    let secret = Secret::generate("whsec_");
    let new = NewWebhookRow {
        user_id: auth.user.id,
        url,
        secret: secret.clone(),
        kinds,
        devices,
    };
    let webhook = st
        .store
        .create_webhook(&new, now_ms(), MAX_PER_USER)
        .await?;
    tracing::info!(webhook = webhook.id, user = %auth.user.username, "webhook created");
    let created = CreatedWebhook {
        id: webhook.id,
        secret: secret.expose().to_string(),
        webhook,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// The device filter: ids the user may see, each once.
async fn devices(st: &AppState, user: &User, mut ids: Vec<String>) -> Result<Vec<String>> {
    ids.sort();
    ids.dedup();
    if ids.len() > 100 {
        return Err(Error::BadRequest("devices: at most 100 devices".into()));
    }
    for id in &ids {
        if st.store.permission(user.id, id).await?.is_none() {
            return Err(Error::BadRequest(format!(
                "devices: no device `{id}` that you may see"
            )));
        }
    }
    Ok(ids)
}

/// The signed-in user's webhooks.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = [Webhook]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, auth: AuthUser) -> Result<Json<Vec<Webhook>>> {
    auth.require_session()?;
    Ok(Json(st.store.webhooks_of(auth.user.id).await?))
}

/// One of the user's webhooks, or 404.
async fn mine(st: &AppState, user: &User, id: &str) -> Result<Webhook> {
    let id: i64 = id.parse().map_err(|_| Error::NotFound("webhook"))?;
    st.store
        .webhook(user.id, id)
        .await?
        .ok_or(Error::NotFound("webhook"))
}

/// One webhook.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, body = Webhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn one(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Webhook>> {
    auth.require_session()?;
    Ok(Json(mine(&st, &auth.user, &id).await?))
}

/// Turn a webhook on again (after it was disabled) or off.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateWebhook>,
) -> Result<Json<Webhook>> {
    auth.require_session()?;
    let hook = mine(&st, &auth.user, &id).await?;
    let hook = st
        .store
        .set_webhook_enabled(auth.user.id, hook.id, req.enabled)
        .await?
        .ok_or(Error::NotFound("webhook"))?;
    tracing::info!(webhook = hook.id, enabled = hook.enabled, "webhook updated");
    st.webhooks.wake();
    Ok(Json(hook))
}

/// Delete a webhook; its pending deliveries are dropped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    auth.require_session()?;
    let hook = mine(&st, &auth.user, &id).await?;
    if !st.store.delete_webhook(auth.user.id, hook.id).await? {
        return Err(Error::NotFound("webhook"));
    }
    tracing::info!(webhook = hook.id, "webhook deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's latest deliveries, newest first (at most 50).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, body = [Delivery]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(st): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Delivery>>> {
    auth.require_session()?;
    let hook = mine(&st, &auth.user, &id).await?;
    Ok(Json(st.store.deliveries(hook.id, DELIVERIES_SHOWN).await?))
}

/// Queue a delivered or failed delivery again, as a new run of attempts.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    responses((status = 202, body = Delivery), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "the delivery is still pending, or the webhook is disabled", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resend(
    State(st): State<AppState>,
    auth: AuthUser,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Delivery>)> {
    auth.require_session()?;
    let hook = mine(&st, &auth.user, &id).await?;
    let delivery_id: i64 = delivery_id
        .parse()
        .map_err(|_| Error::NotFound("delivery"))?;
    let delivery = st
        .store
        .delivery(hook.id, delivery_id)
        .await?
        .ok_or(Error::NotFound("delivery"))?;
    if !hook.enabled {
        return Err(Error::Conflict(
            "the webhook is disabled; enable it first".into(),
        ));
    }
    if delivery.status == DeliveryStatus::Pending {
        return Err(Error::Conflict("the delivery is still pending".into()));
    }
    st.store.requeue_delivery(delivery.id, now_ms()).await?;
    // Read back before the worker may take it: the answer is the delivery
    // as queued (pending), not whatever the worker has done with it since.
    let queued = st
        .store
        .delivery(hook.id, delivery.id)
        .await?
        .ok_or(Error::NotFound("delivery"))?;
    st.webhooks.wake();
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
