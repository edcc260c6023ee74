//! The relay's pure core: every allocation, what to answer each client
//! message, and where relayed data goes. No sockets and no clock: the
//! driver passes the time in, feeds bytes from clients and peers, and
//! carries out the [`Output`]s (send to a client, send to a peer from an
//! allocation's socket, open a relayed socket).
//!
//! Requests are handled in [`allocate`](super::allocate) (Allocate,
//! Refresh), [`permission`](super::permission) (CreatePermission,
//! ChannelBind) and [`data`](super::data) (Send, ChannelData, peer data);
//! [`auth`](super::auth) checks credentials for all of them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

pub use super::client::ClientKey;

use super::allocation::{AllocId, Allocation};
use super::bucket::TokenBucket;
use super::nonce::NonceKey;
use super::policy::PeerPolicy;
use super::settings::Limits;
use super::stats::RelayStats;
use super::wire::channel_data::is_channel_data;
use super::wire::message::is_stun;
use super::wire::{attr, Builder, ChannelData, Class, Message, Method};

/// The time, both monotonic (expiry, bandwidth) and Unix seconds
/// (credential expiry, nonces).
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub at: Instant,
    pub unix: u64,
}

/// What the driver must do.
#[derive(Debug)]
pub enum Output<S> {
    /// Send to a client (a reply, or relayed data for it).
    ToClient { client: ClientKey, bytes: Vec<u8> },
    /// Send from an allocation's relayed socket to a peer.
    ToPeer {
        socket: S,
        peer: SocketAddr,
        bytes: Vec<u8>,
    },
    /// Open a relayed UDP socket for this allocation, then call
    /// [`RelayCore::relay_opened`].
    OpenRelay { alloc: AllocId },
}

/// What the core is configured with.
pub struct CoreConfig {
    pub realm: String,
    /// The credential secret (coturn's static-auth-secret).
    pub secret: Vec<u8>,
    /// The IP put in XOR-RELAYED-ADDRESS.
    pub public_ip: IpAddr,
    pub policy: PeerPolicy,
    pub limits: Limits,
}

impl std::fmt::Debug for CoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreConfig")
            .field("realm", &self.realm)
            .field("secret", &"***")
            .field("public_ip", &self.public_ip)
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Largest payload relayed: a Data indication carrying it must still fit a
/// STUN length field.
pub const MAX_PAYLOAD: usize = 65_000;

/// Every allocation and how to reach it. `S` is the driver's handle to a
/// relayed socket (dropping it closes the socket).
#[derive(Debug)]
pub struct RelayCore<S> {
    pub(super) cfg: CoreConfig,
    pub(super) nonces: NonceKey,
    pub(super) allocations: HashMap<AllocId, Allocation<S>>,
    pub(super) by_client: HashMap<ClientKey, AllocId>,
    /// Allocations per credential id, for the per-user quota.
    pub(super) per_user: HashMap<String, usize>,
    /// Bandwidth over all allocations.
    pub(super) total: TokenBucket,
    pub(super) next_id: AllocId,
    /// Data indications sent, for their transaction ids.
    pub(super) indications: u64,
    /// Bytes relayed (both directions) since start, for [`RelayStats`].
    pub(super) relayed_bytes: u64,
}

impl<S: Clone> RelayCore<S> {
    pub fn new(cfg: CoreConfig, nonces: NonceKey, now: Instant) -> RelayCore<S> {
        let total = TokenBucket::new(cfg.limits.total_bytes_per_sec, now);
        RelayCore {
            cfg,
            nonces,
            allocations: HashMap::new(),
            by_client: HashMap::new(),
            per_user: HashMap::new(),
            total,
            next_id: 1,
            indications: 0,
            relayed_bytes: 0,
        }
    }

    /// Allocations currently held (open or being opened).
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// The figures an operator watches (see [`RelayStats`]).
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            allocations_active: self.allocations.len() as u64,
            // Ids are handed out from 1, one per allocation ever made.
            allocations_total: self.next_id - 1,
            relayed_bytes: self.relayed_bytes,
        }
    }

    /// Bytes from a client: a STUN message or ChannelData. Anything else
    /// is dropped.
    pub fn handle_client(
        &mut self,
        now: Now,
        client: ClientKey,
        raw: &[u8],
        out: &mut Vec<Output<S>>,
    ) {
        if is_channel_data(raw) {
            if let Ok(cd) = ChannelData::decode(raw) {
                self.channel_data(now, client, cd, out);
            }
            return;
        }
        if !is_stun(raw) {
            return;
        }
        let Ok(msg) = Message::decode(raw) else {
            tracing::trace!(client = %client.addr(), "malformed STUN message dropped");
            return;
        };
        match (msg.class, msg.method) {
            (Class::Request, Method::BINDING) => self.binding(client, &msg, out),
            (Class::Request, Method::ALLOCATE) => self.allocate(now, client, &msg, out),
            (Class::Request, Method::REFRESH) => self.refresh(now, client, &msg, out),
            (Class::Request, Method::CREATE_PERMISSION) => {
                self.create_permission(now, client, &msg, out)
            }
            (Class::Request, Method::CHANNEL_BIND) => self.channel_bind(now, client, &msg, out),
            (Class::Indication, Method::SEND) => self.send_indication(now, client, &msg, out),
            (Class::Request, _) => {
                let reply = error_reply(&msg, 400, "Bad Request", None);
                out.push(Output::ToClient {
                    client,
                    bytes: reply,
                });
            }
            _ => {}
        }
    }

    /// STUN Binding: tell the client its address as seen from here, which
    /// is what makes the port a STUN server too.
    fn binding(&mut self, client: ClientKey, msg: &Message<'_>, out: &mut Vec<Output<S>>) {
        let mut b = Builder::new(Method::BINDING, Class::Success, msg.transaction_id);
        b.xor_addr(attr::XOR_MAPPED_ADDRESS, client.addr());
        out.push(Output::ToClient {
            client,
            bytes: b.finish(None, msg.has_fingerprint),
        });
    }

    /// A client's connection is gone (TCP closed): its allocation goes too.
    pub fn client_gone(&mut self, client: ClientKey) {
        if let Some(id) = self.by_client.get(&client).copied() {
            self.remove(id, "connection closed");
        }
    }

    /// Delete allocations whose lifetime ended and prune the rest.
    pub fn expire(&mut self, now: Instant) {
        let expired: Vec<AllocId> = self
            .allocations
            .values()
            .filter(|a| a.expires <= now)
            .map(|a| a.id)
            .collect();
        for id in expired {
            self.remove(id, "expired");
        }
        for a in self.allocations.values_mut() {
            a.prune(now);
        }
    }

    /// Delete every allocation (shutdown).
    pub fn clear(&mut self) {
        let ids: Vec<AllocId> = self.allocations.keys().copied().collect();
        for id in ids {
            self.remove(id, "relay stopped");
        }
    }

    /// Delete one allocation; dropping its socket handle closes the socket.
    pub(super) fn remove(&mut self, id: AllocId, why: &'static str) {
        let Some(a) = self.allocations.remove(&id) else {
            return;
        };
        self.by_client.remove(&a.client);
        if let Some(n) = self.per_user.get_mut(&a.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_user.remove(&a.user);
            }
        }
        a.span
            .in_scope(|| tracing::info!(reason = why, "allocation ended"));
    }

    /// Charge `n` relayed bytes to an allocation and to the total; false
    /// (nothing charged) if either budget is spent.
    pub(super) fn spend(&mut self, id: AllocId, now: Instant, n: usize) -> bool {
        let n = n as u64;
        let Some(a) = self.allocations.get_mut(&id) else {
            return false;
        };
        if !a.bucket.has(now, n) || !self.total.has(now, n) {
            return false;
        }
        a.bucket.take(n);
        self.total.take(n);
        self.relayed_bytes += n;
        true
    }
}

/// An error response. `key` adds MESSAGE-INTEGRITY (for requests that
/// authenticated).
pub(super) fn error_reply(
    msg: &Message<'_>,
    code: u16,
    reason: &str,
    key: Option<&[u8]>,
) -> Vec<u8> {
    let mut b = Builder::new(msg.method, Class::Error, msg.transaction_id);
    b.error(code, reason);
    b.finish(key, msg.has_fingerprint)
}
