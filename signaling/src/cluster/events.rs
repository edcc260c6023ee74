//! Feed events between nodes. Every event a node stores goes out on
//! [`subject::events`] with its audience ([`Cluster::announce_event`]);
//! every other node hands it to its [`crate::feed::order`], which
//! publishes it to that node's viewers and feed streams in id order,
//! filling from the shared store what the bus lost or has not brought
//! yet. Webhook deliveries are not the bus's business: the storing node
//! queued them in the store with the event, and the store's claims make
//! one node deliver each ([`crate::store::WebhookQueue::claim_delivery`]).
//!
//! [`run`] is owned by [`crate::run`]'s serving; on a single node it
//! returns at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use meshdesk_tasks::sleep_or_never;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bus::Incoming;
use super::message::{Envelope, Message};
use super::{subject, Cluster};
use crate::clock::now_ms;
use crate::feed::order;
use crate::state::AppState;
use crate::store::Addressed;

/// Events waiting for [`run`] to publish them. Beyond it, events are
/// dropped from the bus (logged): the other nodes read them from the
/// store when the next event shows the gap, or at the next catch-up.
const OUTBOX: usize = 4096;

/// How often a node reads the store for events the bus lost with no
/// later one to reveal the gap.
pub const CATCH_UP: Duration = super::sync::HEARTBEAT;

/// The queue of this node's events for the bus; cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct Outbox {
    /// `None` on a single node: nobody to tell.
    tx: Option<mpsc::Sender<Message>>,
    /// The other end, taken once by [`run`].
    rx: Arc<Mutex<Option<mpsc::Receiver<Message>>>>,
}

impl Outbox {
    /// A single node's: nothing is sent.
    pub(super) fn none() -> Outbox {
        Outbox {
            tx: None,
            rx: Arc::default(),
        }
    }

    pub(super) fn new() -> Outbox {
        let (tx, rx) = mpsc::channel(OUTBOX);
        Outbox {
            tx: Some(tx),
            rx: Arc::new(Mutex::new(Some(rx))),
        }
    }

    fn take(&self) -> Option<mpsc::Receiver<Message>> {
        // An Option taken once: consistent even if a holder panicked.
        self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Cluster {
    /// Tell the other nodes that this one stored `a`. Called in id order
    /// ([`order::record`]); never waits: see [`OUTBOX`].
    pub fn announce_event(&self, a: &Addressed) {
        let Some(tx) = &self.events.tx else { return };
        let msg = Message::Event {
            event: Box::new(a.event.clone()),
            audience: a.audience.clone(),
        };
        if tx.try_send(msg).is_err() {
            tracing::warn!(
                event = a.event.id,
                "cluster event outbox full; other nodes read it from the store"
            );
        }
    }
}

/// Publish this node's events and hear the others' until aborted.
pub async fn run(state: AppState) {
    let Some(mut outbox) = state.cluster.events.take() else {
        return;
    };
    let cluster = state.cluster.clone();
    let mut incoming = match cluster.bus.subscribe(subject::events()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot hear the other nodes' feed events; reading them from the store");
            never()
        }
    };
    let mut connections = cluster.bus.connections();
    let mut deadlines = state.feed_order.deadlines();
    // The first tick is at once: subscribed now, read what was stored
    // since this node read its high-water mark at start.
    let mut catch_up = tokio::time::interval(CATCH_UP);
    catch_up.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let deadline = *deadlines.borrow_and_update();
        tokio::select! {
            biased;
            Some(msg) = outbox.recv() => publish(&cluster, msg).await,
            bytes = incoming.next() => match bytes {
                Some(b) => heard(&state, &b).await,
                None => {
                    tracing::warn!("the bus closed the feed event subscription; reading events from the store");
                    incoming = never();
                }
            },
            () = sleep_or_never(deadline.map(instant_at)) => order::timeout(&state).await,
            changed = deadlines.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            changed = connections.changed() => {
                if changed.is_err() {
                    return;
                }
                // Reconnected: events published meanwhile may be lost.
                order::catch_up(&state).await;
            }
            _ = catch_up.tick() => order::catch_up(&state).await,
        }
    }
}

/// A subscription on which nothing arrives.
fn never() -> Incoming {
    Box::pin(futures_util::stream::pending())
}

/// The instant of `at` (milliseconds since the epoch).
fn instant_at(at: i64) -> Instant {
    let wait = u64::try_from(at - now_ms()).unwrap_or(0);
    Instant::now() + Duration::from_millis(wait)
}

async fn publish(cluster: &Cluster, msg: Message) {
    let bytes = Envelope::new(cluster.node.clone(), msg).encode();
    if let Err(e) = cluster.bus.publish(subject::events(), bytes).await {
        tracing::warn!(error = %e, "could not send a feed event to the other nodes");
    }
}

/// One message from the bus.
async fn heard(state: &AppState, bytes: &[u8]) {
    let env = match Envelope::decode(bytes) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "dropped a cluster message");
            return;
        }
    };
    if env.from == state.cluster.node {
        return;
    }
    match env.msg {
        Message::Event { event, audience } => {
            let event = *event;
            order::heard(state, Addressed { event, audience }).await;
        }
        other => tracing::debug!(message = ?other, "not a feed event; ignored"),
    }
}
