//! The delivery worker's side of the webhook queue: what is due, what an
//! attempt needs, and writing down how it went.

use async_trait::async_trait;

use super::webhooks::{DeliveryJob, DueDelivery, Settled};
use crate::error::Result;

/// A webhook that was just disabled: whose it was, for the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledWebhook {
    pub id: i64,
    pub user_id: i64,
    pub url: String,
}

/// The delivery worker's calls.
#[async_trait]
pub trait WebhookQueue: Send + Sync {
    /// For each enabled webhook with pending deliveries, the earliest one
    /// (due or not), earliest first. A webhook another node has claimed
    /// is due when the claim runs out, at the earliest.
    async fn due_deliveries(&self) -> Result<Vec<DueDelivery>>;

    /// Claim pending delivery `id` for an attempt starting at `now`:
    /// everything the attempt needs, with its webhook claimed until
    /// `until` or until [`WebhookQueue::settle_delivery`]. None when the
    /// delivery is no longer pending or not due, its webhook is off or
    /// gone, or another node's claim on the webhook holds: with several
    /// nodes on one database, one attempt per webhook runs at a time and
    /// no delivery is sent twice. (SQLite serves one node, whose worker
    /// runs one attempt per webhook anyway; it keeps no claim.)
    async fn claim_delivery(&self, id: i64, now: i64, until: i64) -> Result<Option<DeliveryJob>>;

    /// Write down an attempt's end and the webhook's run of failures (reset
    /// by a delivery, one longer after a failure), and end its claim.
    /// Returns that run.
    async fn settle_delivery(&self, job: &DeliveryJob, how: &Settled, now: i64) -> Result<u32>;

    /// Turn a webhook off after its failures and fail its pending
    /// deliveries. None if it was already off or is gone.
    async fn disable_webhook(&self, id: i64, why: &str) -> Result<Option<DisabledWebhook>>;
}
