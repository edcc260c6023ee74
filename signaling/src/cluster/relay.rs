//! What a node does with the session messages and cluster-wide orders
//! other nodes send it ([`Message::ToHost`], [`Message::FromHost`],
//! [`Message::EndSessions`], [`Message::CloseHost`],
//! [`Message::SignedOut`]), and a session's move to the node its viewer
//! reconnected to ([`claim`], [`Message::Handover`]); driven by
//! [`super::sync::run`].
//!
//! A viewer whose connection dropped may come back through another node
//! (a load balancer picks one). That node asks every node for the session
//! ([`Message::Claim`]); the one brokering it applies the same rules as a
//! resume there and hands the session over with what it held for the
//! viewer, and the node holding the host is told where the session went.
//! The node holding the host answers too, with what the session's grant
//! said ([`Message::Known`]): when the broker is gone and says nothing,
//! the new node takes the session over from that ([`super::claims`]).
//!
//! The bus is trusted as the nodes' own: a message passed on from a host
//! names the device whose authenticated connection it came from, and the
//! brokering node checks it against its session table exactly as it
//! checks a host connected to it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use meshdesk_protocol::signal::{EndReason, ErrorMsg, HostToServer, ServerToHost, ServerToViewer};

use super::claims::{lesser, Known};
use super::message::{Envelope, Message, NodeId};
use crate::auth::secret::Secret;
use crate::broker::{self, Notify};
use crate::clock::now_ms;
use crate::hub::{RouteError, Session};
use crate::state::AppState;
use crate::store::User;
use crate::ws::host::session_message;
use crate::ws::host_reports::Reports;

/// Most hosts elsewhere whose report limits are kept; beyond it they
/// start afresh (a limit, not a record).
const MAX_REPORTERS: usize = 4096;

/// How long a resume waits for another node to hand its session over
/// before the viewer hears that no node has it. Nodes answer in
/// milliseconds; silence means none brokers it.
pub const CLAIM_WAIT: Duration = Duration::from_secs(1);

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
            Message::CloseHost { device_id } => st.close_removed_host(&device_id),
            Message::SignedOut { token_hash } => match decode_hash(&token_hash) {
                Some(hash) => st.hub.close_viewers_with_token(&hash),
                None => tracing::warn!("dropped a sign-out with a malformed token hash"),
            },
            Message::Claim {
                session_id,
                user_id,
                secret,
            } => claimed(st, &env.from, &session_id, user_id, secret.as_deref()),
            Message::Handover { session, held } => handed_over(st, *session, held).await,
            Message::Known {
                session_id,
                device_id,
                username,
                permission,
            } => {
                let known = Known {
                    device_id,
                    username,
                    permission,
                };
                st.cluster.heard_of_claimed(&session_id, known);
            }
            Message::ClaimRefused { error } => {
                let conn = error
                    .session_id
                    .as_deref()
                    .and_then(|s| st.cluster.take_claim(s));
                if let Some(conn) = conn {
                    st.hub.send_to_viewer(conn, ServerToViewer::Error(error));
                }
            }
            Message::Brokers {
                session_id,
                device_id,
            } => {
                if st.hub.is_online(&device_id) {
                    tracing::info!(session = %session_id, node = %env.from, "session now brokered by another node");
                    st.cluster.moved(&session_id, &device_id, &env.from);
                }
            }
            // Heard by [`super::sync`] and [`super::events`] on their subjects.
            Message::Presence { .. }
            | Message::Hosts { .. }
            | Message::Hello
            | Message::Event { .. } => {}
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
        if !ours {
            // Sent here before the host's node heard that the session
            // moved on: pass it once more, to where it went.
            let went = msg
                .session_id()
                .and_then(|sid| st.cluster.moved_to(sid, device_id));
            if let Some(node) = went {
                let device_id = device_id.to_string();
                st.cluster.tell(&node, Message::FromHost { device_id, msg });
                return;
            }
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

/// Viewer connection `conn` of `user_id` resumes `session_id`, which no
/// session of this node is: ask the other nodes for it, and answer the
/// viewer "not found" if none hands it over in time.
pub fn claim(st: &AppState, conn: u64, user: &User, session_id: &str, secret: Option<&str>) {
    st.cluster.claim(session_id, conn, user.id, secret);
    // This node may hold the host itself; it knows the grant then.
    if let Some(k) = st.cluster.known_here(session_id, st.cluster.node()) {
        if st.hub.is_online(&k.device_id) {
            st.cluster.heard_of_claimed(session_id, k);
        }
    }
    let st = st.clone();
    let sid = session_id.to_string();
    let user = user.clone();
    tokio::spawn(async move {
        tokio::time::sleep(CLAIM_WAIT).await;
        let refused = match st.cluster.give_up_claim(&sid, conn) {
            // Answered meanwhile.
            None => return,
            Some(None) => {
                tracing::warn!(session = %sid, "session resume refused: no node has it");
                broker::route_error(RouteError::NotFound, &sid)
            }
            Some(Some(known)) => match take_over(&st, conn, &user, &sid, known).await {
                Ok(()) => return,
                Err(e) => e,
            },
        };
        st.hub.send_to_viewer(conn, ServerToViewer::Error(refused));
    });
}

/// Take over a session whose broker did not answer its claim (it is
/// gone) from what its host's node knows: the same user asks, and keeps
/// at most the right the grant gave and the store gives now. The host,
/// which keeps serving it peer to peer, is told where it is brokered now.
async fn take_over(
    st: &AppState,
    conn: u64,
    user: &User,
    session_id: &str,
    known: Known,
) -> Result<(), ErrorMsg> {
    let not_found = || broker::route_error(RouteError::NotFound, session_id);
    if known.username != user.username {
        return Err(not_found());
    }
    let right = st.store.permission(user.id, &known.device_id).await;
    let device = st.store.device(&known.device_id).await;
    let (Ok(Some(right)), Ok(Some(device))) = (right, device) else {
        return Err(not_found());
    };
    let now = now_ms();
    let session = Session {
        id: session_id.to_string(),
        device_id: device.id.clone(),
        device_name: device.name,
        owner_id: device.owner_id,
        viewer_conn: conn,
        viewer_user_id: user.id,
        viewer_username: user.username.clone(),
        permission: lesser(known.permission, right),
        created_at: now,
        accepted_at: Some(now),
        resume_secret: Secret::generate("rs_"),
        consent_asked_at: None,
    };
    let resumed = ServerToViewer::SessionResumed {
        session_id: session_id.to_string(),
        device_id: device.id.clone(),
        permission: session.permission,
    };
    st.hub
        .adopt(session, conn, resumed, Vec::new())
        .map_err(|e| broker::route_error(e, session_id))?;
    tracing::warn!(session = %session_id, device = %device.id, "session taken over: the node that brokered it is gone");
    if st.hub.is_online(&device.id) {
        st.cluster.forget_moved(session_id);
    } else {
        st.cluster.brokers(session_id, &device.id);
    }
    Ok(())
}

/// Another node asks for a session: hand it over if it is here and the
/// rules of a resume allow it.
fn claimed(st: &AppState, from: &NodeId, session_id: &str, user_id: i64, secret: Option<&str>) {
    match st.hub.release(session_id, user_id, now_ms(), secret) {
        Ok((session, held)) => {
            tracing::info!(session = %session_id, node = %from, "session handed to another node");
            st.cluster.moved(session_id, &session.device_id, from);
            let session = Box::new(session);
            st.cluster.tell(from, Message::Handover { session, held });
        }
        // Not brokered here (or not this user's): another node may have
        // it. If this node holds its host, say what the grant said, for
        // the case that its broker is gone.
        Err(RouteError::NotFound) => {
            let Some(k) = st.cluster.known_here(session_id, from) else {
                return;
            };
            if st.hub.is_online(&k.device_id) {
                let msg = Message::Known {
                    session_id: session_id.to_string(),
                    device_id: k.device_id,
                    username: k.username,
                    permission: k.permission,
                };
                st.cluster.tell(from, msg);
            }
        }
        Err(e) => {
            let error = crate::resume::refusal(e, session_id);
            st.cluster.tell(from, Message::ClaimRefused { error });
        }
    }
}

/// A session this node asked for arrived: attach it to the viewer
/// connection that resumes it, or end it if that connection is gone.
async fn handed_over(st: &AppState, session: Session, held: Vec<ServerToViewer>) {
    let sid = session.id.clone();
    let device = session.device_id.clone();
    let resumed = ServerToViewer::SessionResumed {
        session_id: sid.clone(),
        device_id: device.clone(),
        permission: session.permission,
    };
    let adopted = match st.cluster.take_claim(&sid) {
        Some(conn) => st.hub.adopt(session.clone(), conn, resumed, held),
        None => Err(RouteError::NotFound),
    };
    match adopted {
        Ok(_) => {
            tracing::info!(session = %sid, device = %device, "session resumed from another node");
            // It lives here now: no way on from here (a session that
            // moves back and forth must not leave a loop behind).
            st.cluster.forget_moved(&sid);
            if !st.hub.is_online(&device) {
                st.cluster.brokers(&sid, &device);
            }
        }
        Err(e) => {
            // Its viewer gave up meanwhile; nobody else holds the session.
            tracing::info!(session = %sid, error = ?e, "a session handed over came too late");
            broker::finish(st, &session, EndReason::PeerGone, None, Notify::Host).await;
        }
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
