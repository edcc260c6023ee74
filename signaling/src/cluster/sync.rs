//! The task that keeps [`super::hosts::Remote`] and tells this node's
//! viewers when a host elsewhere comes or goes. It publishes this node's
//! announcements, says hello when it (re)joins the bus (every node then
//! sends its full list of hosts), sends its own list as a heartbeat, and
//! forgets nodes that fell silent.
//!
//! Owned by [`crate::run`]'s serving; on a single node it returns at once.

use std::time::Duration;

use futures_util::StreamExt;

use super::message::{Envelope, Message};
use super::{subject, Cluster};
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
    let mut incoming = match cluster.bus.subscribe(subject::presence()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot hear the other nodes; presence stays local");
            return;
        }
    };
    let mut connections = cluster.bus.connections();
    // Subscribed first, so every answer to the hello is heard.
    join(&state).await;
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            Some(msg) = outbox.recv() => publish(&cluster, msg).await,
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
    let bytes = Envelope::new(cluster.node.clone(), msg).encode();
    if let Err(e) = cluster.bus.publish(subject::presence(), bytes).await {
        tracing::warn!(error = %e, "could not tell the other nodes");
    }
}

/// One message from the bus.
async fn heard(state: &AppState, bytes: &[u8]) {
    let env = match Envelope::decode(bytes) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "dropped a cluster message");
            return;
        }
    };
    if env.from == state.cluster.node {
        return;
    }
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
        match state.store.device(&c.device_id).await {
            Ok(Some(d)) => feed::presence(state, &d.id, &d.name, c.online).await,
            // Removed meanwhile: whoever removed it told its watchers.
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read a device for presence"),
        }
    }
}
