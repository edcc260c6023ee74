//! Relayed data (RFC 5766 §10, §11): Send indications and ChannelData from
//! the client go out of the allocation's socket to permitted peers; data
//! from permitted peers comes back as ChannelData (when a channel is bound)
//! or a Data indication. Both directions spend the bandwidth budgets;
//! whatever does not fit is dropped, like any UDP loss.

use std::net::SocketAddr;

use super::allocation::AllocId;
use super::core::{ClientKey, Now, Output, RelayCore, MAX_PAYLOAD};
use super::wire::{attr, Builder, ChannelData, Class, Message, Method};

impl<S: Clone> RelayCore<S> {
    pub(super) fn send_indication(
        &mut self,
        now: Now,
        client: ClientKey,
        msg: &Message<'_>,
        out: &mut Vec<Output<S>>,
    ) {
        let Some(&id) = self.by_client.get(&client) else {
            return;
        };
        let peer = msg
            .get(attr::XOR_PEER_ADDRESS)
            .and_then(|v| attr::decode_xor_addr(v, &msg.transaction_id));
        let (Some(peer), Some(data)) = (peer, msg.get(attr::DATA)) else {
            return;
        };
        self.relay_to_peer(now, id, peer, data, out);
    }

    pub(super) fn channel_data(
        &mut self,
        now: Now,
        client: ClientKey,
        cd: ChannelData<'_>,
        out: &mut Vec<Output<S>>,
    ) {
        let Some(&id) = self.by_client.get(&client) else {
            return;
        };
        let Some(peer) = self
            .allocations
            .get(&id)
            .and_then(|a| a.channel_peer(cd.number, now.at))
        else {
            return;
        };
        self.relay_to_peer(now, id, peer, cd.data, out);
    }

    fn relay_to_peer(
        &mut self,
        now: Now,
        id: AllocId,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Vec<Output<S>>,
    ) {
        if data.len() > MAX_PAYLOAD || self.check_peer(peer).is_err() {
            return;
        }
        let Some(a) = self.allocations.get(&id) else {
            return;
        };
        let Some((socket, _)) = a.open() else {
            return;
        };
        if !a.permits(peer.ip(), now.at) {
            return;
        }
        let socket = socket.clone();
        if !self.spend(id, now.at, data.len()) {
            return;
        }
        out.push(Output::ToPeer {
            socket,
            peer,
            bytes: data.to_vec(),
        });
    }

    /// A datagram from `peer` arrived on allocation `alloc`'s socket.
    pub fn handle_peer(
        &mut self,
        now: Now,
        alloc: AllocId,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Vec<Output<S>>,
    ) {
        if data.len() > MAX_PAYLOAD {
            return;
        }
        let Some(a) = self.allocations.get(&alloc) else {
            return;
        };
        if a.open().is_none() || !a.permits(peer.ip(), now.at) {
            return;
        }
        let client = a.client;
        let channel = a.channel_for(peer, now.at);
        if !self.spend(alloc, now.at, data.len()) {
            return;
        }
        let bytes = match channel {
            Some(n) => ChannelData::encode(n, data, matches!(client, ClientKey::Tcp { .. })),
            None => {
                let mut b = Builder::new(Method::DATA, Class::Indication, self.next_transaction());
                b.xor_addr(attr::XOR_PEER_ADDRESS, peer)
                    .attr(attr::DATA, data);
                b.finish(None, false)
            }
        };
        out.push(Output::ToClient { client, bytes });
    }

    /// A transaction id for an indication the server sends; unique is
    /// enough, indications are not answered.
    fn next_transaction(&mut self) -> [u8; 12] {
        self.indications += 1;
        let mut tx = [0u8; 12];
        tx[4..].copy_from_slice(&self.indications.to_be_bytes());
        tx
    }
}
