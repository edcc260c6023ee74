//! The task that keeps [`super::hosts::Remote`] and tells this node's
//! viewers when a host elsewhere comes or goes. It publishes this node's
//! announcements, says hello when it (re)joins the bus (every node then
//! sends its full list of hosts), sends its own list as a heartbeat, and
//! forgets nodes that fell silent. It also hears this node's own subject
//! and the one every node hears, and hands what arrives there to
//! [`super::relay`].
//!
//! Owned by [`crate::run`]'s serving; on a single node it returns at once.

use std::time::Duration;

use futures_util::StreamExt;

use meshdesk_protocol::signal::EndReason;

use super::bus::Incoming;
use super::message::{Envelope, Message};
use super::relay::{Relay, Via};
use super::{subject, Cluster, Outgoing};
use crate::broker;
use crate::clock::now_ms;
use crate::feed;
use crate::state::AppState;

/// How often a node sends its full list of hosts.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A node not heard from for this long is gone, and so are its hosts.
pub const SILENCE_BOUND_MS: i64 = 3 * HEARTBEAT.as_millis() as i64;

/// Run until the bus closes (or forever: the caller aborts it).
pub async fn run(state: AppState) {
    let cluster = state.cluster.clone();
    let taken = cluster
        .outbox_rx
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let Some(mut outbox) = taken else { return };
    let subscribed = async {
        Ok::<_, crate::error::Error>((
            cluster.bus.subscribe(subject::presence()).await?,
            cluster.bus.subscribe(subject::node(&cluster.node)).await?,
            cluster.bus.subscribe(subject::everyone()).await?,
        ))
    };
    let (mut incoming, mut to_me, mut to_all): (Incoming, Incoming, Incoming) =
        match subscribed.await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot hear the other nodes; this node stays alone");
                return;
            }
        };
    let mut relay = Relay::default();
    let mut connections = cluster.bus.connections();
    // Subscribed first, so every answer to the hello is heard.
    join(&state).await;
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            Some(out) = outbox.recv() => send(&cluster, out).await,
            changed = connections.changed() => {
                if changed.is_err() {
                    return;
                }
                // Reconnected: what was sent meanwhile may be lost.
                join(&state).await;
            }
            bytes = incoming.next() => match bytes {
                Some(b) => heard(&state, &b).await,
                None => {
                    tracing::warn!("the bus closed the subscription; presence stays local");
                    return;
                }
            },
            Some(b) = to_me.next() => relayed(&state, &mut relay, &b, Via::Node).await,
            Some(b) = to_all.next() => relayed(&state, &mut relay, &b, Via::Everyone).await,
            _ = beat.tick() => {
                publish(&cluster, own_hosts(&state)).await;
                let gone = cluster.remote().expire(now_ms(), SILENCE_BOUND_MS);
                tell_viewers(&state, gone).await;
            }
        }
    }
}

/// Say hello and what this node holds.
async fn join(state: &AppState) {
    publish(&state.cluster, Message::Hello).await;
    publish(&state.cluster, own_hosts(state)).await;
}

fn own_hosts(state: &AppState) -> Message {
    Message::Hosts {
        devices: state.hub.host_ids(),
    }
}

async fn publish(cluster: &Cluster, msg: Message) {
    let subject = subject::presence();
    send(cluster, Outgoing { subject, msg }).await;
}

async fn send(cluster: &Cluster, out: Outgoing) {
    let bytes = Envelope::new(cluster.node.clone(), out.msg).encode();
    if let Err(e) = cluster.bus.publish(out.subject, bytes).await {
        tracing::warn!(error = %e, "could not tell the other nodes");
    }
}

/// A message from another node, or `None` (logged) for a malformed one,
/// one of another version, or this node's own.
fn decoded(state: &AppState, bytes: &[u8]) -> Option<Envelope> {
    let env = match Envelope::decode(bytes) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "dropped a cluster message");
            return None;
        }
    };
    (env.from != state.cluster.node).then_some(env)
}

/// One message on this node's subject or everyone's.
async fn relayed(state: &AppState, relay: &mut Relay, bytes: &[u8], via: Via) {
    if let Some(env) = decoded(state, bytes) {
        relay.heard(state, env, via).await;
    }
}

/// One message on the presence subject.
async fn heard(state: &AppState, bytes: &[u8]) {
    let Some(env) = decoded(state, bytes) else {
        return;
    };
    if env.msg == Message::Hello {
        publish(&state.cluster, own_hosts(state)).await;
    }
    let changes = state.cluster.remote().apply(&env.from, &env.msg, now_ms());
    tell_viewers(state, changes).await;
}

/// Tell this node's viewers about devices that came or went elsewhere,
/// unless this node holds the device itself (then nothing changed here).
async fn tell_viewers(state: &AppState, changes: Vec<super::hosts::Change>) {
    for c in changes {
        tracing::debug!(device = %c.device_id, online = c.online, "presence elsewhere changed");
        if state.hub.is_online(&c.device_id) {
            continue;
        }
        if !c.online {
            // The sessions waiting here for that host cannot start.
            let id = c.device_id.clone();
            broker::end_where(state, EndReason::PeerGone, |s| {
                s.device_id == id && s.accepted_at.is_none()
            })
            .await;
        }
        match state.store.device(&c.device_id).await {
            Ok(Some(d)) => feed::presence(state, &d.id, &d.name, c.online).await,
            // Removed meanwhile: whoever removed it told its watchers.
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read a device for presence"),
        }
    }
}
