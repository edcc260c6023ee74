//! Shared application state handed to every handler.

use std::sync::{Arc, Mutex};

use meshdesk_protocol::signal::{EndReason, ServerToHost, SessionEndMsg};
use meshdesk_relay::Relay;

use crate::auth::throttle::LoginThrottle;
use crate::config::Config;
use crate::hub::Hub;
use crate::ice::IceIssuer;
use crate::passkeys::Passkeys;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::webhooks::Webhooks;

/// Everything a request or connection needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Durable state.
    pub store: Store,
    /// Live connections, sessions and fan-out.
    pub hub: Hub,
    /// The order live feed events are published in, this node's and the
    /// other nodes'.
    pub feed_order: Arc<crate::feed::order::FeedOrder>,
    /// The other nodes, when `[cluster] nats_url` joins this one to them.
    pub cluster: crate::cluster::Cluster,
    /// Sign-in failure records.
    pub throttle: Arc<Mutex<LoginThrottle>>,
    /// Argon2 hash verified against for unknown usernames (equal timing).
    pub dummy_hash: Arc<String>,
    /// Builds ICE server lists with fresh TURN credentials.
    pub ice: Arc<IceIssuer>,
    /// The certificate HTTPS is served with (`[tls]`); `None`: plain HTTP.
    pub tls: Option<meshdesk_tls::ServerTls>,
    /// The embedded STUN/TURN relay, when enabled; stopped by [`crate::run`].
    pub relay: Option<Arc<Relay>>,
    /// The shutdown signal, and the owner of every WebSocket task.
    pub shutdown: Shutdown,
    /// Wakes the webhook delivery worker.
    pub webhooks: Webhooks,
    /// Wakes the share expiry task ([`crate::share_expiry`]): a share with
    /// an end was granted.
    pub share_expiry: Arc<tokio::sync::Notify>,
    /// Passkey challenges between their start and finish.
    pub passkeys: Arc<Passkeys>,
    /// The figures `GET /metrics` serves.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The files offered at `/downloads/`, with their hashes.
    pub downloads: Arc<crate::downloads::Catalog>,
}

impl AppState {
    /// Whether a device's host is connected to this node or another one.
    pub fn device_online(&self, device_id: &str) -> bool {
        self.hub.is_online(device_id) || self.cluster.holds_elsewhere(device_id)
    }

    /// Close the host connection of a removed device, wherever it is.
    pub fn close_host_everywhere(&self, device_id: &str) {
        self.close_removed_host(device_id);
        self.cluster.close_host(device_id);
    }

    /// Close a removed device's connection here, if it is here. Its
    /// sessions brokered elsewhere end first: the host must hear why
    /// before its connection goes, and the brokering node's word could
    /// come after it.
    pub fn close_removed_host(&self, device_id: &str) {
        if !self.hub.is_online(device_id) {
            return;
        }
        for sid in self.cluster.sessions_brokered_elsewhere(device_id) {
            let end = SessionEndMsg::new(sid, EndReason::DeviceRemoved);
            self.hub
                .send_to_host(device_id, ServerToHost::SessionEnd(end));
        }
        self.hub.close_host(device_id, crate::hub::DEVICE_REMOVED);
    }

    /// Close every viewer connection and feed stream signed in with the
    /// token whose hash this is (signed out, revoked), on every node.
    pub fn signed_out_everywhere(&self, token_hash: &[u8; 32]) {
        self.hub.close_viewers_with_token(token_hash);
        self.cluster.signed_out(token_hash);
    }
}
