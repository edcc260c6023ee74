//! What a node does with the session messages and cluster-wide orders
//! other nodes send it ([`Message::ToHost`], [`Message::FromHost`],
//! [`Message::EndSessions`], [`Message::CloseHost`],
//! [`Message::SignedOut`]); driven by [`super::sync::run`].
//!
//! The bus is trusted as the nodes' own: a message passed on from a host
//! names the device whose authenticated connection it came from, and the
//! brokering node checks it against its session table exactly as it
//! checks a host connected to it.

use std::collections::HashMap;
use std::time::Instant;

use meshdesk_protocol::signal::{HostToServer, ServerToHost};

use super::message::{Envelope, Message, NodeId};
use crate::broker;
use crate::clock::now_ms;
use crate::hub::DEVICE_REMOVED;
use crate::state::AppState;
use crate::ws::host::session_message;
use crate::ws::host_reports::Reports;

/// Most hosts elsewhere whose report limits are kept; beyond it they
/// start afresh (a limit, not a record).
const MAX_REPORTERS: usize = 4096;

/// How a message reached this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// On this node's own subject: meant for it.
    Node,
    /// On the subject every node hears.
    Everyone,
}

/// The relay's state between messages.
#[derive(Debug, Default)]
pub struct Relay {
    /// The report limits of hosts connected elsewhere whose sessions this
    /// node brokers, as a host connection here keeps its own.
    reports: HashMap<String, Reports>,
}

impl Relay {
    /// Act on one message from another node.
    pub async fn heard(&mut self, st: &AppState, env: Envelope, via: Via) {
        match env.msg {
            Message::ToHost { device_id, msg } => to_host(st, &env.from, &device_id, msg),
            Message::FromHost { device_id, msg } => {
                self.host_said(st, &device_id, msg, via).await;
            }
            Message::EndSessions { select, reason } => {
                broker::end_where(st, reason, |s| select.matches(s)).await;
            }
            Message::CloseHost { device_id } => st.hub.close_host(&device_id, DEVICE_REMOVED),
            Message::SignedOut { token_hash } => match decode_hash(&token_hash) {
                Some(hash) => st.hub.close_viewers_with_token(&hash),
                None => tracing::warn!("dropped a sign-out with a malformed token hash"),
            },
            Message::Presence { .. } | Message::Hosts { .. } | Message::Hello => {}
        }
    }

    /// A host's message about a session: act on it if this node brokers
    /// the session or the message was sent here; answer the host (through
    /// its node) when the message is refused.
    async fn host_said(&mut self, st: &AppState, device_id: &str, msg: HostToServer, via: Via) {
        let now = now_ms();
        let ours = msg
            .session_id()
            .is_some_and(|sid| st.hub.with_sessions(|t| t.knows(sid, device_id, now)));
        if !ours && via == Via::Everyone {
            return;
        }
        if self.reports.len() >= MAX_REPORTERS && !self.reports.contains_key(device_id) {
            self.reports.clear();
        }
        let reports = self
            .reports
            .entry(device_id.to_string())
            .or_insert_with(|| Reports::new(Instant::now()));
        if let Err(e) = session_message(st, device_id, reports, msg).await {
            tracing::info!(device = %device_id, code = ?e.code, message = %e.message, "refused a host message from another node");
            st.metrics.ws_refused(e.code);
            broker::to_host(st, device_id, ServerToHost::Error(e));
        }
    }
}

/// A message for a host connected here, from the node brokering its
/// session.
fn to_host(st: &AppState, from: &NodeId, device_id: &str, msg: ServerToHost) {
    if !st.hub.is_online(device_id) {
        // It moved on; the sender learns so from presence.
        tracing::debug!(device = %device_id, "a message for a host no longer here");
        return;
    }
    st.cluster.noted_for_host(from, device_id, &msg);
    if !st.hub.send_to_host(device_id, msg) {
        tracing::info!(device = %device_id, "a host's queue is full; a message from another node is lost");
    }
}

fn decode_hash(hex_hash: &str) -> Option<[u8; 32]> {
    hex::decode(hex_hash).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_decode_only_at_their_length() {
        let hash = [7u8; 32];
        assert_eq!(decode_hash(&hex::encode(hash)), Some(hash));
        assert_eq!(decode_hash("0707"), None);
        assert_eq!(decode_hash("not hex"), None);
    }
}
