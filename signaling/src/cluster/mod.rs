//! Several `meshdesk-signaling` nodes as one service (`[cluster]
//! nats_url`): what one node learns that another node's clients must hear
//! goes over a message bus. A host or viewer is connected to one node at a
//! time; the durable state is shared in PostgreSQL, the live state stays
//! in each node's [`crate::hub`] and the nodes tell each other about it.
//!
//! Files: [`config`] (the setting), [`bus`] (the bus trait and the
//! single-node one), [`nats`] (the NATS one), [`message`] and [`subject`]
//! (what goes over it, where), [`hosts`] (the pure table of the other
//! nodes' hosts) and [`sync`] (the task that keeps it and tells viewers),
//! [`events`] (feed events between nodes).
//!
//! Without a URL the bus is [`bus::Local`]: nothing is sent, nothing
//! arrives, and a node behaves exactly as a lone server always has.

pub mod bus;
pub mod config;
pub mod events;
pub mod hosts;
pub mod message;
pub mod nats;
pub mod subject;
pub mod sync;

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

pub use config::{ClusterFile, ClusterSettings, NatsUrl};

use crate::error::Result;
use bus::Bus;
use hosts::Remote;
use message::{Message, NodeId};

/// Messages waiting for [`sync::run`] to publish them. A burst beyond it
/// drops announcements (logged); the next heartbeat's full list of hosts
/// repairs what the other nodes missed.
const OUTBOX: usize = 1024;

/// This node's part of the cluster; cheap to clone.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// This process's id on the bus.
    node: NodeId,
    /// Where messages go and come from.
    bus: Arc<dyn Bus>,
    /// The other nodes' hosts, as heard.
    remote: Arc<Mutex<Remote>>,
    /// Announcements for [`sync::run`] to publish, in order; `None` on a
    /// single node (nobody to tell).
    outbox: Option<mpsc::Sender<Message>>,
    /// The other end, taken once by [`sync::run`].
    outbox_rx: Arc<Mutex<Option<mpsc::Receiver<Message>>>>,
    /// Feed events for [`events::run`] to publish.
    events: events::Outbox,
}

impl Cluster {
    /// A lone node.
    pub fn single() -> Cluster {
        Cluster {
            node: NodeId::random(),
            bus: Arc::new(bus::Local::new()),
            remote: Arc::default(),
            outbox: None,
            outbox_rx: Arc::default(),
            events: events::Outbox::none(),
        }
    }

    /// Join the cluster the settings name (connecting to its bus), or
    /// stay a lone node.
    pub async fn start(settings: &ClusterSettings) -> Result<Cluster> {
        let url = match settings {
            ClusterSettings::Single => return Ok(Cluster::single()),
            ClusterSettings::Nats(url) => url,
        };
        let node = NodeId::random();
        let bus = nats::Nats::connect(url, &node.0).await?;
        let (tx, rx) = mpsc::channel(OUTBOX);
        Ok(Cluster {
            node,
            bus: Arc::new(bus),
            remote: Arc::default(),
            outbox: Some(tx),
            outbox_rx: Arc::new(Mutex::new(Some(rx))),
            events: events::Outbox::new(),
        })
    }

    /// This node's id.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Whether another node holds `device_id`'s host connection.
    pub fn holds_elsewhere(&self, device_id: &str) -> bool {
        self.remote().holds(device_id)
    }

    /// Tell the other nodes that a host connected here (`online`) or its
    /// connection here ended. Never waits: see [`OUTBOX`].
    pub fn announce_presence(&self, device_id: &str, online: bool) {
        let Some(tx) = &self.outbox else { return };
        let msg = Message::Presence {
            device_id: device_id.to_string(),
            online,
        };
        if tx.try_send(msg).is_err() {
            tracing::warn!(device = %device_id, "cluster outbox full; the next heartbeat repairs it");
        }
    }

    fn remote(&self) -> MutexGuard<'_, Remote> {
        // Plain maps that stay consistent even if a holder panicked.
        self.remote.lock().unwrap_or_else(|p| p.into_inner())
    }
}
