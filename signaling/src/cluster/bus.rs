//! The bus between nodes: publish bytes on a subject, receive what any
//! node publishes on it. One trait, two implementations: [`super::nats`]
//! for a cluster, [`Local`] for a single node (the default), where there
//! is nobody to tell and nothing arrives.

use futures_util::stream::BoxStream;
use tokio::sync::watch;

use crate::error::Result;

/// Messages arriving on one subscription, payloads only.
pub type Incoming = BoxStream<'static, Vec<u8>>;

/// A publish/subscribe bus shared by the nodes of a cluster.
#[async_trait::async_trait]
pub trait Bus: Send + Sync + std::fmt::Debug {
    /// Send `payload` to every subscriber of `subject`, this node's own
    /// included (receivers drop their own messages). Queued while the
    /// connection is down, up to the client's buffer.
    async fn publish(&self, subject: String, payload: Vec<u8>) -> Result<()>;

    /// Receive everything published on `subject` from now on; survives
    /// reconnects.
    async fn subscribe(&self, subject: String) -> Result<Incoming>;

    /// Counts the connections made to the bus: it changes each time the
    /// node (re)connects, when messages published meanwhile by others may
    /// have been lost and the node must announce what it holds again.
    fn connections(&self) -> watch::Receiver<u64>;
}

/// The single-node bus: publishing goes nowhere, nothing arrives.
#[derive(Debug)]
pub struct Local {
    /// Never changes: a single node never reconnects.
    connections: watch::Sender<u64>,
}

impl Local {
    pub fn new() -> Local {
        Local {
            connections: watch::Sender::new(1),
        }
    }
}

impl Default for Local {
    fn default() -> Self {
        Local::new()
    }
}

#[async_trait::async_trait]
impl Bus for Local {
    async fn publish(&self, _subject: String, _payload: Vec<u8>) -> Result<()> {
        Ok(())
    }

    async fn subscribe(&self, _subject: String) -> Result<Incoming> {
        Ok(Box::pin(futures_util::stream::pending()))
    }

    fn connections(&self) -> watch::Receiver<u64> {
        self.connections.subscribe()
    }
}
