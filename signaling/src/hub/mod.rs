//! Live state shared by all connections: which hosts are connected (presence),
//! which viewers are connected, the session table, and the fan-out of feed
//! events and presence changes.
//!
//! All methods take a short synchronous lock and never await while holding
//! it. Messages to one connection go through that connection's bounded
//! queue; fan-out to many goes through one broadcast channel that each
//! viewer filters by audience.

pub mod detached;
pub mod ended;
pub mod sessions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use meshdesk_protocol::rest::Event;
use meshdesk_protocol::signal::{ServerToHost, ServerToViewer};
use tokio::sync::{broadcast, mpsc, Notify};

pub use sessions::{Closing, RouteError, Selector, Session, Sessions, ToViewer};

/// Capacity of each connection's outgoing queue. A peer that lets it fill
/// up is too slow to be useful and gets errors instead of unbounded memory.
pub const CONN_QUEUE: usize = 32;
/// Capacity of the fan-out channel; a viewer that lags behind re-syncs.
const FANOUT_QUEUE: usize = 4096;
/// Capacity of the sign-out channel; a stream that lags checks its token.
const SIGNED_OUT_QUEUE: usize = 256;

/// Why a removed device's connection closes.
pub const DEVICE_REMOVED: &str = "device removed";

/// What the hub asks a host connection task to do.
#[derive(Debug)]
pub enum HostCmd {
    Send(ServerToHost),
    /// Close the connection (replaced by a newer one, or device removed).
    Close(&'static str),
}

/// One message for every viewer (and feed stream) in `audience`.
#[derive(Debug)]
pub struct FanoutPart {
    /// User ids allowed to see it.
    pub audience: Vec<i64>,
    pub kind: FanoutKind,
    /// The viewer WebSocket message, encoded once for all receivers.
    pub wire: axum::body::Bytes,
}

impl FanoutPart {
    /// Build a part, encoding its viewer message once.
    pub fn new(audience: Vec<i64>, kind: FanoutKind) -> FanoutPart {
        let msg = match &kind {
            FanoutKind::Event(e) => ServerToViewer::Event { event: e.clone() },
            FanoutKind::Presence {
                device_id,
                name,
                online,
            } => ServerToViewer::Presence {
                device_id: device_id.clone(),
                name: name.clone(),
                online: *online,
            },
        };
        let wire = axum::body::Bytes::from(meshdesk_protocol::encode(&msg));
        FanoutPart {
            audience,
            kind,
            wire,
        }
    }
}

/// Messages published together, in order. A viewer connection writes all
/// the parts meant for it at once (one system call, one TCP segment), so a
/// presence change and its feed entry cost one write per watcher, not two.
#[derive(Debug)]
pub struct Fanout {
    pub parts: Vec<FanoutPart>,
}

impl Fanout {
    /// A single message.
    pub fn new(audience: Vec<i64>, kind: FanoutKind) -> Fanout {
        Fanout {
            parts: vec![FanoutPart::new(audience, kind)],
        }
    }

    /// The parts `user_id` may see, in order.
    pub fn for_user(&self, user_id: i64) -> impl Iterator<Item = &FanoutPart> {
        self.parts
            .iter()
            .filter(move |p| p.audience.contains(&user_id))
    }
}

/// What the hub asks a viewer connection task to do.
#[derive(Debug)]
pub enum ViewerCmd {
    Send(ServerToViewer),
    /// Prove the connection is alive: send a WebSocket ping and close the
    /// connection if nothing arrives soon (another connection of the same
    /// user wants one of its sessions).
    Probe,
}

/// The two things that fan out.
#[derive(Debug)]
pub enum FanoutKind {
    Event(Event),
    Presence {
        device_id: String,
        name: String,
        online: bool,
    },
}

#[derive(Debug)]
struct HostEntry {
    conn_id: u64,
    tx: mpsc::Sender<HostCmd>,
}

#[derive(Debug)]
struct ViewerEntry {
    tx: mpsc::Sender<ViewerCmd>,
    /// Hash of the token the connection signed in with, so signing out
    /// closes it.
    token_hash: [u8; 32],
}

#[derive(Debug, Default)]
struct HubState {
    next_conn: u64,
    hosts: HashMap<String, HostEntry>,
    viewers: HashMap<u64, ViewerEntry>,
    sessions: Sessions,
}

/// A snapshot of live state, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounts {
    /// Connected hosts (devices online).
    pub hosts: usize,
    /// Open viewer WebSockets.
    pub viewers: usize,
    /// Sessions brokered and not ended (pending or accepted).
    pub sessions: usize,
    /// Of those, the ones the host accepted.
    pub sessions_accepted: usize,
}

/// The hub; cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    state: Arc<Mutex<HubState>>,
    fanout: broadcast::Sender<Arc<Fanout>>,
    /// Wakes the sweep of detached sessions when a grace period starts.
    detached: Arc<Notify>,
    /// Hashes of tokens just signed out, for the feed streams opened with
    /// them.
    signed_out: broadcast::Sender<[u8; 32]>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let (fanout, _) = broadcast::channel(FANOUT_QUEUE);
        let (signed_out, _) = broadcast::channel(SIGNED_OUT_QUEUE);
        Hub {
            state: Arc::new(Mutex::new(HubState::default())),
            fanout,
            detached: Arc::new(Notify::new()),
            signed_out,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A panic while holding this lock is a bug elsewhere; the state is
        // plain maps that stay consistent, so keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> u64 {
        let mut s = self.lock();
        s.next_conn += 1;
        s.next_conn
    }

    /// Make `conn_id` the device's connection. Returns whether the device was
    /// offline before (a replaced connection is told to close).
    pub fn register_host(&self, device_id: &str, conn_id: u64, tx: mpsc::Sender<HostCmd>) -> bool {
        let old = self
            .lock()
            .hosts
            .insert(device_id.to_string(), HostEntry { conn_id, tx });
        match old {
            Some(old) => {
                let _ = old
                    .tx
                    .try_send(HostCmd::Close("replaced by a newer connection"));
                false
            }
            None => true,
        }
    }

    /// Forget a host connection. Returns true if it was the device's current
    /// connection (so the device is now offline).
    pub fn unregister_host(&self, device_id: &str, conn_id: u64) -> bool {
        let mut s = self.lock();
        match s.hosts.get(device_id) {
            Some(e) if e.conn_id == conn_id => {
                s.hosts.remove(device_id);
                true
            }
            _ => false,
        }
    }

    /// Close a device's connection at once and forget it (device removed).
    pub fn close_host(&self, device_id: &str, why: &'static str) {
        if let Some(e) = self.lock().hosts.remove(device_id) {
            let _ = e.tx.try_send(HostCmd::Close(why));
        }
    }

    /// Whether a device has a connection.
    pub fn is_online(&self, device_id: &str) -> bool {
        self.lock().hosts.contains_key(device_id)
    }

    /// The devices whose host is connected here.
    pub fn host_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().hosts.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Number of connected hosts.
    pub fn online_count(&self) -> usize {
        self.lock().hosts.len()
    }

    /// How many hosts, viewer connections and sessions there are now.
    pub fn live_counts(&self) -> LiveCounts {
        let s = self.lock();
        LiveCounts {
            hosts: s.hosts.len(),
            viewers: s.viewers.len(),
            sessions: s.sessions.len(),
            sessions_accepted: s.sessions.accepted_len(),
        }
    }

    /// Queue a message for a device's connection; false if offline or full.
    pub fn send_to_host(&self, device_id: &str, msg: ServerToHost) -> bool {
        let tx = self.lock().hosts.get(device_id).map(|e| e.tx.clone());
        tx.is_some_and(|tx| tx.try_send(HostCmd::Send(msg)).is_ok())
    }

    /// Add a viewer connection.
    pub fn register_viewer(&self, conn_id: u64, token_hash: [u8; 32], tx: mpsc::Sender<ViewerCmd>) {
        self.lock()
            .viewers
            .insert(conn_id, ViewerEntry { tx, token_hash });
    }

    /// Close every viewer connection and feed stream that signed in with
    /// this token (the token was signed out): dropping a connection's
    /// queue ends its task; streams hear it on [`Hub::signed_out`].
    pub fn close_viewers_with_token(&self, token_hash: &[u8; 32]) {
        self.lock()
            .viewers
            .retain(|_, v| &v.token_hash != token_hash);
        // No receivers is fine: no stream is open.
        let _ = self.signed_out.send(*token_hash);
    }

    /// Hashes of tokens signed out from now on.
    pub fn signed_out(&self) -> broadcast::Receiver<[u8; 32]> {
        self.signed_out.subscribe()
    }

    /// Remove a viewer connection that closed at `now`. Its accepted
    /// sessions are detached for `grace_ms`; the others are removed, to be
    /// ended.
    pub fn unregister_viewer(&self, conn_id: u64, now: i64, grace_ms: i64) -> Closing {
        let closing = {
            let mut s = self.lock();
            s.viewers.remove(&conn_id);
            s.sessions.detach_conn(conn_id, now, grace_ms)
        };
        if !closing.detached.is_empty() {
            self.detached.notify_one();
        }
        closing
    }

    /// Attach a detached session to viewer connection `conn` of `user_id`
    /// at `now`, and queue the host messages held for it. If the session is
    /// attached to another connection of the user, it moves at once when
    /// `secret` is the session's; otherwise that connection is probed (a
    /// dead one is closed, which detaches the session for a later resume).
    pub fn resume(
        &self,
        session_id: &str,
        conn: u64,
        user_id: i64,
        now: i64,
        secret: Option<&str>,
    ) -> Result<Session, RouteError> {
        let mut s = self.lock();
        match s.sessions.resume(session_id, conn, user_id, now, secret) {
            Ok((session, held)) => {
                // Under the lock, so nothing the host sends next can
                // overtake what was held.
                if let Some(v) = s.viewers.get(&conn) {
                    for m in held {
                        if v.tx.try_send(ViewerCmd::Send(m)).is_err() {
                            tracing::warn!(session = %session_id, "held message dropped: queue full");
                        }
                    }
                }
                Ok(session)
            }
            Err(RouteError::Attached(other)) => {
                if let Some(v) = s.viewers.get(&other) {
                    let _ = v.tx.try_send(ViewerCmd::Probe);
                }
                Err(RouteError::Attached(other))
            }
            Err(e) => Err(e),
        }
    }

    /// Give up a session that a connection of `user_id` on another node
    /// resumes at `now` ([`Sessions::release`]); probes the connection it
    /// is attached to here, as [`Hub::resume`] does.
    pub fn release(
        &self,
        session_id: &str,
        user_id: i64,
        now: i64,
        secret: Option<&str>,
    ) -> Result<(Session, Vec<ServerToViewer>), RouteError> {
        let mut s = self.lock();
        let released = s.sessions.release(session_id, user_id, now, secret);
        if let Err(RouteError::Attached(other)) = &released {
            if let Some(v) = s.viewers.get(other) {
                let _ = v.tx.try_send(ViewerCmd::Probe);
            }
        }
        released
    }

    /// Take in a session released by another node, attached to viewer
    /// connection `conn`: it hears `resumed` first, then the host
    /// messages held for it, in order, as after a resume here.
    pub fn adopt(
        &self,
        session: Session,
        conn: u64,
        resumed: ServerToViewer,
        held: Vec<ServerToViewer>,
    ) -> Result<Session, RouteError> {
        let mut s = self.lock();
        let Some(tx) = s.viewers.get(&conn).map(|v| v.tx.clone()) else {
            return Err(RouteError::NotFound);
        };
        let session = s.sessions.adopt(session, conn)?;
        for m in std::iter::once(resumed).chain(held) {
            if tx.try_send(ViewerCmd::Send(m)).is_err() {
                tracing::warn!(session = %session.id, "held message dropped: queue full");
            }
        }
        Ok(session)
    }

    /// Remove and return the detached sessions whose grace period is over
    /// at `now`.
    pub fn expire_detached(&self, now: i64) -> Vec<Session> {
        self.lock().sessions.expire(now)
    }

    /// When the next grace period ends, if any session is detached.
    pub fn next_detached_expiry(&self) -> Option<i64> {
        self.lock().sessions.next_expiry()
    }

    /// Resolves when a session was detached since the last call.
    pub async fn detached_changed(&self) {
        self.detached.notified().await;
    }

    /// Queue a message for a viewer connection; false if gone or full.
    pub fn send_to_viewer(&self, conn_id: u64, msg: ServerToViewer) -> bool {
        let tx = self.lock().viewers.get(&conn_id).map(|e| e.tx.clone());
        tx.is_some_and(|tx| tx.try_send(ViewerCmd::Send(msg)).is_ok())
    }

    /// Run a closure on the session table under the lock.
    pub fn with_sessions<R>(&self, f: impl FnOnce(&mut Sessions) -> R) -> R {
        f(&mut self.lock().sessions)
    }

    /// Publish to every viewer and feed stream; each filters by audience.
    /// Feed events come through [`crate::feed::order`], which publishes
    /// them in id order, as feed streams need to drop duplicates without
    /// losing any.
    pub fn publish(&self, fanout: Fanout) {
        // No receivers is fine: nobody is watching.
        let _ = self.fanout.send(Arc::new(fanout));
    }

    /// Receive everything published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Fanout>> {
        self.fanout.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(online: bool) -> FanoutKind {
        FanoutKind::Presence {
            device_id: "d1".into(),
            name: "pc".into(),
            online,
        }
    }

    #[test]
    fn a_user_gets_only_the_parts_of_their_audience_in_order() {
        let f = Fanout {
            parts: vec![
                FanoutPart::new(vec![1, 2], presence(true)),
                FanoutPart::new(vec![2], presence(false)),
                FanoutPart::new(vec![1], presence(false)),
            ],
        };
        let wires = |u| f.for_user(u).map(|p| p.wire.clone()).collect::<Vec<_>>();
        assert_eq!(
            wires(1),
            vec![f.parts[0].wire.clone(), f.parts[2].wire.clone()]
        );
        assert_eq!(wires(2).len(), 2);
        assert!(wires(3).is_empty());
    }

    #[test]
    fn each_part_is_encoded_once_as_its_viewer_message() {
        let part = FanoutPart::new(vec![1], presence(true));
        let msg: ServerToViewer =
            meshdesk_protocol::decode(std::str::from_utf8(&part.wire).expect("utf-8"))
                .expect("decodes");
        assert_eq!(
            msg,
            ServerToViewer::Presence {
                device_id: "d1".into(),
                name: "pc".into(),
                online: true
            }
        );
    }
}
