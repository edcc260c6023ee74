//! Webhooks: signed JSON POSTs of feed events to URLs their owners chose,
//! delivered at least once from a queue in the database.
//!
//! - Deliveries are queued in the same transaction that stores their
//!   event (`Store::record_event`); [`queued`] then wakes the worker.
//! - [`queue::worker`]: the one task that delivers, with
//!   [`attempt`] (HTTP), [`signature`], [`backoff`], [`settle`] and the SSRF
//!   check [`address_policy`]; [`filter`] says which events a webhook
//!   wants. docs/webhooks.md describes what receivers see.

pub mod address_policy;
pub mod attempt;
pub mod backoff;
pub mod filter;
pub mod queue;
pub mod settle;
pub mod signature;

use std::sync::Arc;

use meshdesk_protocol::rest::Event;
use tokio::sync::Notify;

use crate::config::WebhookSettings;
use crate::state::AppState;
use address_policy::AddressPolicy;

/// Webhooks one user may have.
pub const MAX_PER_USER: u32 = 20;

/// The worker's wake-up; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Webhooks {
    /// Notified when deliveries are queued or an attempt ends.
    wake: Arc<Notify>,
}

impl Webhooks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tell the worker to look at the queue (a permit is kept if it is busy).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Webhooks::wake`] was called.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Deliveries of `event` were queued with it (`Store::record_event`, one
/// transaction): wake the worker.
pub fn queued(st: &AppState, event: &Event, deliveries: usize) {
    if deliveries > 0 {
        tracing::debug!(event = event.id, deliveries, "webhook deliveries queued");
        st.webhooks.wake();
    }
}

/// The address policy of the config.
pub fn policy(cfg: &WebhookSettings) -> AddressPolicy {
    AddressPolicy {
        allow_loopback: cfg.allow_loopback,
        allow_private: cfg.allow_private.clone(),
    }
}

/// A URL as the feed may show it: scheme, host, port and path, without a
/// query (which may hold the receiver's own secret).
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "a webhook".into(),
    }
}
