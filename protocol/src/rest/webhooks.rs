//! Webhooks: signed JSON POSTs of feed events to a URL an owner chose.
//!
//! Each delivery carries `Meshdesk-Signature: t=UNIX,v1=HEX` where HEX is
//! HMAC-SHA256 keyed with the webhook's secret over `"{t}.{body}"`.

use serde::{Deserialize, Serialize};

use super::{Event, EventKind};

/// `POST /webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    /// `http://` or `https://` URL that receives the POSTs, at most 2048
    /// characters, without a user name or password.
    #[cfg_attr(
        feature = "openapi",
        schema(
            format = "uri",
            max_length = 2048,
            example = "https://alerts.example.com/meshdesk"
        )
    )]
    pub url: String,
    /// Only these kinds (absent or empty: every kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<EventKind>>,
    /// Only events about these device ids (absent or empty: every device,
    /// and events about no device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<String>>,
}

/// A registered webhook (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// Empty: every kind.
    pub kinds: Vec<EventKind>,
    /// Empty: every device.
    pub devices: Vec<String>,
    /// False once it was disabled after a run of failed deliveries.
    pub enabled: bool,
    /// Failed attempts in a row (reset by a delivery that succeeds).
    pub consecutive_failures: u32,
    pub created_at: i64,
}

/// Reply to `POST /webhooks`: the signing secret, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    pub id: i64,
    /// Key of the HMAC in `Meshdesk-Signature`.
    pub secret: String,
    pub webhook: Webhook,
}

impl std::fmt::Debug for CreatedWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedWebhook")
            .field("id", &self.id)
            .field("secret", &"***")
            .field("webhook", &self.webhook)
            .finish()
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: retries ran out, or the webhook was disabled or removed.
    Failed,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub kind: EventKind,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// HTTP status of the last attempt (null: none answered).
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// The JSON body POSTed to a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookPayload {
    /// The delivery's id: the same on every retry, for de-duplication.
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub event: Event,
}

/// `PATCH /webhooks/{id}`: turn a webhook on (after it was disabled) or off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateWebhook {
    pub enabled: bool,
}
