//! CreatePermission and ChannelBind (RFC 5766 §9, §11.2): which peers an
//! allocation may exchange data with, subject to the peer address policy.

use std::net::SocketAddr;

use super::allocation::{AllocId, BindError};
use super::auth::Authed;
use super::core::{error_reply, ClientKey, Now, Output, RelayCore};
use super::wire::channel_data::{MAX_CHANNEL, MIN_CHANNEL};
use super::wire::{attr, Builder, Class, Message, Method};

impl<S: Clone> RelayCore<S> {
    /// Authenticate the request and find the client's open allocation it
    /// may use; the refusal otherwise (the authentication's, 437 no
    /// allocation, 441 other credentials).
    fn authorized_allocation(
        &self,
        now: Now,
        client: ClientKey,
        msg: &Message<'_>,
    ) -> Result<(Authed, AllocId), Vec<u8>> {
        let auth = self.authenticate(now, client, msg)?;
        let a = self
            .by_client
            .get(&client)
            .and_then(|id| self.allocations.get(id))
            .filter(|a| a.open().is_some())
            .ok_or_else(|| error_reply(msg, 437, "Allocation Mismatch", Some(auth.key.as_ref())))?;
        if a.username != auth.username {
            return Err(error_reply(
                msg,
                441,
                "Wrong Credentials",
                Some(auth.key.as_ref()),
            ));
        }
        Ok((auth, a.id))
    }

    /// Whether data may be relayed to `peer`: same address family as the
    /// relay (443) and allowed by the peer policy (403).
    pub(super) fn check_peer(&self, peer: SocketAddr) -> Result<(), (u16, &'static str)> {
        let ip = peer.ip().to_canonical();
        if ip.is_ipv4() != self.cfg.public_ip.is_ipv4() {
            return Err((443, "Peer Address Family Mismatch"));
        }
        if !self.cfg.policy.permits(ip) {
            return Err((403, "Forbidden"));
        }
        Ok(())
    }

    pub(super) fn create_permission(
        &mut self,
        now: Now,
        client: ClientKey,
        msg: &Message<'_>,
        out: &mut Vec<Output<S>>,
    ) {
        let mut reply = |bytes| out.push(Output::ToClient { client, bytes });
        let (auth, id) = match self.authorized_allocation(now, client, msg) {
            Ok(found) => found,
            Err(refusal) => return reply(refusal),
        };
        let key = Some(auth.key.as_ref());
        let peers: Option<Vec<SocketAddr>> = msg
            .get_all(attr::XOR_PEER_ADDRESS)
            .map(|v| attr::decode_xor_addr(v, &msg.transaction_id))
            .collect();
        let peers = match peers {
            Some(p) if !p.is_empty() => p,
            _ => return reply(error_reply(msg, 400, "Bad Request", key)),
        };
        for p in &peers {
            if let Err((code, reason)) = self.check_peer(*p) {
                self.log_refused_peer(id, *p, code);
                return reply(error_reply(msg, code, reason, key));
            }
        }
        let Some(a) = self.allocations.get_mut(&id) else {
            return;
        };
        let ips: Vec<_> = peers.iter().map(SocketAddr::ip).collect();
        if !a.permit_all(&ips, now.at) {
            return reply(error_reply(msg, 508, "Insufficient Capacity", key));
        }
        a.span
            .in_scope(|| tracing::debug!(peers = ?peers, "permission installed"));
        let b = Builder::new(
            Method::CREATE_PERMISSION,
            Class::Success,
            msg.transaction_id,
        );
        reply(b.finish(key, msg.has_fingerprint));
    }

    pub(super) fn channel_bind(
        &mut self,
        now: Now,
        client: ClientKey,
        msg: &Message<'_>,
        out: &mut Vec<Output<S>>,
    ) {
        let mut reply = |bytes| out.push(Output::ToClient { client, bytes });
        let (auth, id) = match self.authorized_allocation(now, client, msg) {
            Ok(found) => found,
            Err(refusal) => return reply(refusal),
        };
        let key = Some(auth.key.as_ref());
        let number = msg
            .get(attr::CHANNEL_NUMBER)
            .and_then(attr::decode_u32)
            .map(|v| (v >> 16) as u16)
            .filter(|n| (MIN_CHANNEL..=MAX_CHANNEL).contains(n));
        let peer = msg
            .get(attr::XOR_PEER_ADDRESS)
            .and_then(|v| attr::decode_xor_addr(v, &msg.transaction_id));
        let (Some(number), Some(peer)) = (number, peer) else {
            return reply(error_reply(msg, 400, "Bad Request", key));
        };
        if let Err((code, reason)) = self.check_peer(peer) {
            self.log_refused_peer(id, peer, code);
            return reply(error_reply(msg, code, reason, key));
        }
        let Some(a) = self.allocations.get_mut(&id) else {
            return;
        };
        match a.bind_channel(number, peer, now.at) {
            Ok(()) => {}
            Err(BindError::Conflict) => return reply(error_reply(msg, 400, "Bad Request", key)),
            Err(BindError::Full) => {
                return reply(error_reply(msg, 508, "Insufficient Capacity", key))
            }
        }
        a.span
            .in_scope(|| tracing::debug!(channel = number, peer = %peer, "channel bound"));
        let b = Builder::new(Method::CHANNEL_BIND, Class::Success, msg.transaction_id);
        reply(b.finish(key, msg.has_fingerprint));
    }

    fn log_refused_peer(&self, id: AllocId, peer: SocketAddr, code: u16) {
        if let Some(a) = self.allocations.get(&id) {
            a.span
                .in_scope(|| tracing::info!(peer = %peer, code, "peer address refused"));
        }
    }
}
