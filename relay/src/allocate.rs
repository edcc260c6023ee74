//! Allocate and Refresh (RFC 5766 §6, §7): create an allocation within
//! the quotas, answer once its relayed socket is open, extend or delete it.

use std::net::SocketAddr;
use std::time::Duration;

use super::allocation::{AllocId, Allocation, Relayed, DEFAULT_LIFETIME, MAX_LIFETIME};
use super::bucket::TokenBucket;
use super::core::{error_reply, ClientKey, Now, Output, RelayCore};
use super::wire::{attr, Builder, Class, Message, Method};

/// The lifetime granted for a request's LIFETIME (§6.2): at most the
/// maximum, at least the default. `None` when the client asked for 0.
fn granted_lifetime(msg: &Message<'_>) -> Option<Duration> {
    match msg.get(attr::LIFETIME).and_then(attr::decode_u32) {
        Some(0) => None,
        Some(secs) => {
            Some(Duration::from_secs(u64::from(secs)).clamp(DEFAULT_LIFETIME, MAX_LIFETIME))
        }
        None => Some(DEFAULT_LIFETIME),
    }
}

/// ADDRESS-FAMILY byte of an IP (1 IPv4, 2 IPv6).
fn family(ip: std::net::IpAddr) -> u8 {
    if ip.is_ipv4() {
        1
    } else {
        2
    }
}

impl<S: Clone> RelayCore<S> {
    pub(super) fn allocate(
        &mut self,
        now: Now,
        client: ClientKey,
        msg: &Message<'_>,
        out: &mut Vec<Output<S>>,
    ) {
        let mut reply = |bytes| out.push(Output::ToClient { client, bytes });
        let auth = match self.authenticate(now, client, msg) {
            Ok(a) => a,
            Err(refusal) => return reply(refusal),
        };
        let key = Some(auth.key.as_ref());
        if let Some(a) = self
            .by_client
            .get(&client)
            .and_then(|id| self.allocations.get(id))
        {
            if a.allocate_tx != msg.transaction_id {
                reply(error_reply(msg, 437, "Allocation Mismatch", key));
            } else if let Some(resp) = &a.allocate_response {
                reply(resp.clone()); // a retransmission: same answer
            }
            return;
        }
        match msg
            .get(attr::REQUESTED_TRANSPORT)
            .and_then(attr::decode_u32)
        {
            None => return reply(error_reply(msg, 400, "Bad Request", key)),
            Some(v) if (v >> 24) as u8 != attr::TRANSPORT_UDP => {
                return reply(error_reply(msg, 442, "Unsupported Transport Protocol", key))
            }
            Some(_) => {}
        }
        if let Some(f) = msg.get(attr::REQUESTED_ADDRESS_FAMILY) {
            if f.first() != Some(&family(self.cfg.public_ip)) {
                return reply(error_reply(msg, 440, "Address Family not Supported", key));
            }
        }
        let limits = self.cfg.limits;
        let mine = self.per_user.get(&auth.user).copied().unwrap_or(0);
        if mine >= limits.max_allocations_per_user
            || self.allocations.len() >= limits.max_allocations
        {
            tracing::info!(user = %auth.user, mine, total = self.allocations.len(), "allocation quota reached");
            return reply(error_reply(msg, 486, "Allocation Quota Reached", key));
        }
        let lifetime = granted_lifetime(msg).unwrap_or(DEFAULT_LIFETIME);
        let id = self.next_id;
        self.next_id += 1;
        let alloc = Allocation::new(
            id,
            client,
            auth.username,
            auth.user.clone(),
            auth.key,
            msg.transaction_id,
            msg.has_fingerprint,
            now.at + lifetime,
            TokenBucket::new(limits.allocation_bytes_per_sec, now.at),
        );
        self.allocations.insert(id, alloc);
        self.by_client.insert(client, id);
        *self.per_user.entry(auth.user).or_insert(0) += 1;
        out.push(Output::OpenRelay { alloc: id });
    }

    /// The driver opened (`Some((socket, port))`) or failed to open the
    /// relayed socket for a pending allocation: answer its Allocate.
    pub fn relay_opened(
        &mut self,
        now: Now,
        alloc: AllocId,
        opened: Option<(S, u16)>,
        out: &mut Vec<Output<S>>,
    ) {
        let public_ip = self.cfg.public_ip;
        // Gone meanwhile (client closed): dropping the socket closes it.
        let Some(a) = self.allocations.get_mut(&alloc) else {
            return;
        };
        let Relayed::Pending { tx, fingerprint } = a.relay else {
            return;
        };
        let Some((socket, port)) = opened else {
            let mut b = Builder::new(Method::ALLOCATE, Class::Error, tx);
            b.error(508, "Insufficient Capacity");
            let bytes = b.finish(Some(a.key.as_ref()), fingerprint);
            out.push(Output::ToClient {
                client: a.client,
                bytes,
            });
            self.remove(alloc, "no relay port");
            return;
        };
        let relayed = SocketAddr::new(public_ip, port);
        let lifetime = a.expires.saturating_duration_since(now.at).as_secs() as u32;
        let mut b = Builder::new(Method::ALLOCATE, Class::Success, tx);
        b.xor_addr(attr::XOR_RELAYED_ADDRESS, relayed)
            .u32(attr::LIFETIME, lifetime)
            .xor_addr(attr::XOR_MAPPED_ADDRESS, a.client.addr());
        let bytes = b.finish(Some(a.key.as_ref()), fingerprint);
        a.relay = Relayed::Open {
            socket,
            addr: relayed,
        };
        a.allocate_response = Some(bytes.clone());
        a.span
            .in_scope(|| tracing::info!(relayed = %relayed, lifetime, "allocated"));
        out.push(Output::ToClient {
            client: a.client,
            bytes,
        });
    }

    pub(super) fn refresh(
        &mut self,
        now: Now,
        client: ClientKey,
        msg: &Message<'_>,
        out: &mut Vec<Output<S>>,
    ) {
        let mut reply = |bytes| out.push(Output::ToClient { client, bytes });
        let auth = match self.authenticate(now, client, msg) {
            Ok(a) => a,
            Err(refusal) => return reply(refusal),
        };
        let key = Some(auth.key.as_ref());
        let Some(&id) = self.by_client.get(&client) else {
            return reply(error_reply(msg, 437, "Allocation Mismatch", key));
        };
        let Some(a) = self.allocations.get_mut(&id) else {
            return reply(error_reply(msg, 437, "Allocation Mismatch", key));
        };
        if a.username != auth.username {
            return reply(error_reply(msg, 441, "Wrong Credentials", key));
        }
        let granted = granted_lifetime(msg);
        let mut b = Builder::new(Method::REFRESH, Class::Success, msg.transaction_id);
        b.u32(attr::LIFETIME, granted.map_or(0, |d| d.as_secs() as u32));
        match granted {
            Some(d) => a.expires = now.at + d,
            None => self.remove(id, "released by the client"),
        }
        reply(b.finish(key, msg.has_fingerprint));
    }
}
