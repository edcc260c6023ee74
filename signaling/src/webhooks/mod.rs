//! Webhooks: signed JSON POSTs of feed events to URLs their owners chose,
//! delivered at least once from a queue in the database.
//!
//! - [`queue_event`]: the feed's one call; queues a recorded event for
//!   every webhook that wants it (in [`crate::store`]).
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

use crate::clock::now_ms;
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

/// Queue a just-recorded event for the webhooks of `audience` (who may see
/// it) that want it. Failures are logged: the feed must not fail with it.
pub fn queue_event(st: &AppState, event: &Event, audience: &[i64]) {
    match st.store.enqueue_deliveries(event, audience, now_ms()) {
        Ok(0) => {}
        Ok(n) => {
            tracing::debug!(
                event = event.id,
                deliveries = n,
                "webhook deliveries queued"
            );
            st.webhooks.wake();
        }
        Err(e) => tracing::error!(event = event.id, error = %e, "cannot queue webhook deliveries"),
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
