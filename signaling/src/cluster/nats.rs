//! The [`Bus`] on a NATS server (`[cluster] nats_url`), through the
//! `async-nats` client, which reconnects on its own and renews
//! subscriptions after a reconnect.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use super::bus::{Bus, Incoming};
use super::config::NatsUrl;
use crate::error::{Error, Result};

/// How long the first connection may take before start-up fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected NATS client.
#[derive(Debug)]
pub struct Nats {
    client: async_nats::Client,
    /// Bumped by the client's event callback on every (re)connection.
    connections: watch::Sender<u64>,
}

impl Nats {
    /// Connect to `url`; fails start-up (naming the field and the URL
    /// without credentials) when the server cannot be reached in time.
    pub async fn connect(url: &NatsUrl, node: &str) -> Result<Nats> {
        let connections = watch::Sender::new(0u64);
        let bump = connections.clone();
        let shown = url.to_string();
        let client = async_nats::ConnectOptions::new()
            .name(format!("meshdesk-signaling {node}"))
            .connection_timeout(CONNECT_TIMEOUT)
            .event_callback(move |event| {
                let bump = bump.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tracing::info!("connected to the message bus");
                            bump.send_modify(|n| *n += 1);
                        }
                        async_nats::Event::Disconnected => {
                            tracing::warn!("lost the message bus; reconnecting");
                        }
                        other => tracing::info!(event = %other, "message bus"),
                    }
                }
            })
            .connect(url.connect_to())
            .await
            .map_err(|e| {
                Error::Config(format!("cluster.nats_url: cannot connect to {shown}: {e}"))
            })?;
        // The callback may not have seen the first connection yet.
        connections.send_if_modified(|n| {
            let first = *n == 0;
            if first {
                *n = 1;
            }
            first
        });
        tracing::info!(bus = %shown, "joined the cluster");
        Ok(Nats {
            client,
            connections,
        })
    }
}

#[async_trait::async_trait]
impl Bus for Nats {
    async fn publish(&self, subject: String, payload: Vec<u8>) -> Result<()> {
        self.client
            .publish(subject, payload.into())
            .await
            .map_err(|e| Error::Bus(format!("publish: {e}")))
    }

    async fn subscribe(&self, subject: String) -> Result<Incoming> {
        let sub = self
            .client
            .subscribe(subject)
            .await
            .map_err(|e| Error::Bus(format!("subscribe: {e}")))?;
        Ok(sub.map(|m| m.payload.to_vec()).boxed())
    }

    fn connections(&self) -> watch::Receiver<u64> {
        self.connections.subscribe()
    }
}
