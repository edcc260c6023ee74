//! Webhooks and their delivery queue.
//!
//! A webhook belongs to one user; every query here is scoped to it, so
//! another user's webhook is simply not found. A delivery is one event
//! for one webhook: written `pending` when the event is recorded, then
//! settled by the delivery worker attempt by attempt.

use async_trait::async_trait;
use meshdesk_protocol::rest::{Delivery, DeliveryStatus, Event, EventKind, Webhook};

use crate::error::{Error, Result};

/// A webhook to create (URL and filters already validated).
#[derive(Debug, Clone)]
pub struct NewWebhookRow {
    pub user_id: i64,
    pub url: String,
    /// Signing secret: kept as is, since it keys the HMAC.
    pub secret: crate::auth::Secret,
    pub kinds: Vec<EventKind>,
    pub devices: Vec<String>,
}

/// A pending delivery that is due: one per webhook, the earliest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub next_attempt_at: i64,
}

/// What one attempt needs.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub secret: crate::auth::Secret,
    pub event: Event,
    /// Attempts made so far in this run.
    pub attempts: u32,
    /// When this run's first attempt was made (None: this is the first).
    pub first_attempt_at: Option<i64>,
}

/// How an attempt ended, to be written down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub status: DeliveryStatus,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// The retry's time (pending only).
    pub next_attempt_at: Option<i64>,
}

/// A delivery's status as stored.
pub fn status_str(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Failed => "failed",
    }
}

/// A stored status; the column's CHECK admits only the three names.
pub fn status_parse(s: &str) -> DeliveryStatus {
    match s {
        "delivered" => DeliveryStatus::Delivered,
        "failed" => DeliveryStatus::Failed,
        _ => DeliveryStatus::Pending,
    }
}

/// A value as the JSON text a column keeps (filters, queued events).
pub fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("encode JSON: {e}")))
}

/// Webhooks as their owners manage them.
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Create a webhook, unless the user already has `max` of them.
    async fn create_webhook(&self, new: &NewWebhookRow, now: i64, max: u32) -> Result<Webhook>;

    /// A user's webhooks, oldest first.
    async fn webhooks_of(&self, user_id: i64) -> Result<Vec<Webhook>>;

    /// One of a user's webhooks.
    async fn webhook(&self, user_id: i64, id: i64) -> Result<Option<Webhook>>;

    /// Delete one of a user's webhooks and its deliveries; false if none.
    async fn delete_webhook(&self, user_id: i64, id: i64) -> Result<bool>;

    /// Turn one of a user's webhooks on (its failure run starts afresh) or
    /// off. None if there is no such webhook.
    async fn set_webhook_enabled(&self, user_id: i64, id: i64, on: bool)
        -> Result<Option<Webhook>>;

    /// A webhook's latest deliveries, newest first.
    async fn deliveries(&self, webhook_id: i64, limit: u32) -> Result<Vec<Delivery>>;

    /// One delivery of a webhook.
    async fn delivery(&self, webhook_id: i64, id: i64) -> Result<Option<Delivery>>;

    /// Queue a settled delivery again, as a new run of attempts due now.
    async fn requeue_delivery(&self, id: i64, now: i64) -> Result<()>;

    /// Queue `event` for every enabled webhook of a user in `audience`
    /// whose filters match it. Returns how many deliveries were queued.
    async fn enqueue_deliveries(&self, event: &Event, audience: &[i64], now: i64) -> Result<usize>;
}
