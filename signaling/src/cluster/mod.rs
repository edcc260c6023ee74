//! Several `meshdesk-signaling` nodes as one service (`[cluster]
//! nats_url`): what one node learns that another node's clients must hear
//! goes over a message bus. A host or viewer is connected to one node at a
//! time; the durable state is shared in PostgreSQL, the live state stays
//! in each node's [`crate::hub`] and the nodes tell each other about it.
//!
//! Files: [`config`] (the setting), [`bus`] (the bus trait and the
//! single-node one), [`nats`] (the NATS one), [`message`] and [`subject`]
//! (what goes over it, where), [`hosts`] (the pure table of the other
//! nodes' hosts), [`proxied`] (the pure table of sessions brokered
//! elsewhere for hosts held here), [`sync`] (the task that keeps both and
//! publishes), [`relay`] (what a node does with sessions' messages) and
//! [`events`] (feed events between nodes).
//!
//! A session is brokered by the node its viewer is connected to, which
//! keeps it in its [`crate::hub::Sessions`] as a lone server would. When
//! the host is connected to another node, that node only passes messages:
//! what the broker sends the host goes to it as [`Message::ToHost`], what
//! the host says about the session comes back as [`Message::FromHost`].
//!
//! Without a URL the bus is [`bus::Local`]: nothing is sent, nothing
//! arrives, and a node behaves exactly as a lone server always has.

pub mod bus;
pub mod claims;
pub mod config;
pub mod events;
pub mod hosts;
pub mod message;
pub mod nats;
pub mod proxied;
pub mod relay;
pub mod subject;
pub mod sync;

use std::sync::{Arc, Mutex, MutexGuard};

use meshdesk_protocol::signal::{EndReason, HostToServer, ServerToHost};
use tokio::sync::mpsc;

pub use config::{ClusterFile, ClusterSettings, NatsUrl};

use crate::error::Result;
use crate::hub::Selector;
use bus::Bus;
use claims::{Claims, Known};
use hosts::Remote;
use message::{Message, NodeId};
use proxied::Proxied;

/// Messages waiting for [`sync::run`] to publish them. A burst beyond it
/// drops messages (logged): the next heartbeat's full list of hosts
/// repairs presence; a session's lost message is one its parties' own
/// timeouts and ICE restarts recover from, as from a lost packet.
const OUTBOX: usize = 4096;

/// A message and the subject it goes to.
#[derive(Debug)]
pub struct Outgoing {
    pub subject: String,
    pub msg: Message,
}

/// This node's part of the cluster; cheap to clone.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// This process's id on the bus.
    node: NodeId,
    /// Where messages go and come from.
    bus: Arc<dyn Bus>,
    /// The other nodes' hosts, as heard.
    remote: Arc<Mutex<Remote>>,
    /// The nodes brokering sessions of the hosts held here.
    proxied: Arc<Mutex<Proxied>>,
    /// Messages for [`sync::run`] to publish, in order; `None` on a
    /// single node (nobody to tell).
    outbox: Option<mpsc::Sender<Outgoing>>,
    /// The other end, taken once by [`sync::run`].
    outbox_rx: Arc<Mutex<Option<mpsc::Receiver<Outgoing>>>>,
    /// Feed events for [`events::run`] to publish.
    events: events::Outbox,
    /// Resumes of sessions brokered elsewhere, waiting for the handover.
    claims: Arc<Mutex<Claims>>,
}

/// What became of a host's message about a session.
#[derive(Debug, PartialEq)]
pub enum FromHost {
    /// The session is brokered here (or nowhere): handle it.
    Here(HostToServer),
    /// Passed on to the node that brokers it, or to all.
    Passed,
}

impl Cluster {
    /// A lone node.
    pub fn single() -> Cluster {
        Cluster {
            node: NodeId::random(),
            bus: Arc::new(bus::Local::new()),
            remote: Arc::default(),
            proxied: Arc::default(),
            outbox: None,
            outbox_rx: Arc::default(),
            claims: Arc::default(),
            events: events::Outbox::none(),
        }
    }

    /// Join the cluster the settings name (connecting to its bus), or
    /// stay a lone node.
    pub async fn start(settings: &ClusterSettings) -> Result<Cluster> {
        let url = match settings {
            ClusterSettings::Single => return Ok(Cluster::single()),
            ClusterSettings::Nats(url) => url,
        };
        let node = NodeId::random();
        let bus = nats::Nats::connect(url, &node.0).await?;
        let (tx, rx) = mpsc::channel(OUTBOX);
        Ok(Cluster {
            node,
            bus: Arc::new(bus),
            remote: Arc::default(),
            proxied: Arc::default(),
            outbox: Some(tx),
            outbox_rx: Arc::new(Mutex::new(Some(rx))),
            claims: Arc::default(),
            events: events::Outbox::new(),
        })
    }

    /// This node's id.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Whether another node holds `device_id`'s host connection.
    pub fn holds_elsewhere(&self, device_id: &str) -> bool {
        self.remote().holds(device_id)
    }

    /// Whether other nodes may exist (a bus is configured).
    pub fn is_clustered(&self) -> bool {
        self.outbox.is_some()
    }

    /// Tell the other nodes that a host connected here (`online`) or its
    /// connection here ended. Never waits: see [`OUTBOX`].
    pub fn announce_presence(&self, device_id: &str, online: bool) {
        if !online {
            self.proxied().forget_device(device_id);
        }
        let msg = Message::Presence {
            device_id: device_id.to_string(),
            online,
        };
        self.send(subject::presence(), msg);
    }

    /// Pass a message to `device_id`'s host on the node holding its
    /// connection; false if no other node does.
    pub fn to_host(&self, device_id: &str, msg: ServerToHost) -> bool {
        let Some(node) = self.remote().node_of(device_id).cloned() else {
            return false;
        };
        let msg = Message::ToHost {
            device_id: device_id.to_string(),
            msg,
        };
        self.send(subject::node(&node), msg)
    }

    /// A message of `device_id`'s host, connected here, about a session
    /// `brokered_here` says this node does not broker: passed to the node
    /// that does (or to all, when which is not known).
    pub fn route_from_host(
        &self,
        device_id: &str,
        msg: HostToServer,
        brokered_here: bool,
    ) -> FromHost {
        let Some(sid) = msg.session_id().map(str::to_string) else {
            return FromHost::Here(msg);
        };
        if brokered_here || !self.is_clustered() {
            return FromHost::Here(msg);
        }
        let ends = matches!(
            msg,
            HostToServer::SessionEnd(_) | HostToServer::SessionReject { .. }
        );
        let node = {
            let mut proxied = self.proxied();
            let node = proxied.node_for(&sid, device_id).cloned();
            if ends {
                proxied.forget(&sid);
            }
            node
        };
        let subject = node.as_ref().map_or_else(subject::everyone, subject::node);
        let msg = Message::FromHost {
            device_id: device_id.to_string(),
            msg,
        };
        self.send(subject, msg);
        FromHost::Passed
    }

    /// A message for a host held here arrived from the node `from` that
    /// brokers its session: remember that node for the host's answers.
    pub fn noted_for_host(&self, from: &NodeId, device_id: &str, msg: &ServerToHost) {
        let mut proxied = self.proxied();
        match msg {
            ServerToHost::SessionEnd(m) => proxied.forget(&m.session_id),
            ServerToHost::Error(_) => {}
            ServerToHost::SessionGrant {
                session_id,
                user,
                permission,
                ..
            } => {
                proxied.note(session_id, device_id, from);
                proxied.note_grant(session_id, user, *permission);
            }
            other => {
                if let Some(sid) = other.session_id() {
                    proxied.note(sid, device_id, from);
                }
            }
        }
    }

    /// `node` brokers `device_id`'s session `session_id` now (it took the
    /// session over): the host's messages about it go there.
    pub fn moved(&self, session_id: &str, device_id: &str, node: &NodeId) {
        self.proxied().note(session_id, device_id, node);
    }

    /// The node a session of a host held here moved to, if it did.
    pub fn moved_to(&self, session_id: &str, device_id: &str) -> Option<NodeId> {
        self.proxied().node_for(session_id, device_id).cloned()
    }

    /// The sessions of a host held here that other nodes broker.
    pub fn sessions_brokered_elsewhere(&self, device_id: &str) -> Vec<String> {
        self.proxied().sessions_of(device_id)
    }

    /// Forget where a session went: it came back here.
    pub fn forget_moved(&self, session_id: &str) {
        self.proxied().forget(session_id);
    }

    /// Send `msg` to one node.
    pub fn tell(&self, node: &NodeId, msg: Message) -> bool {
        self.send(subject::node(node), msg)
    }

    /// Tell the node holding `device_id`'s host that this node brokers
    /// its session `session_id` now.
    pub fn brokers(&self, session_id: &str, device_id: &str) {
        let Some(node) = self.remote().node_of(device_id).cloned() else {
            return;
        };
        let msg = Message::Brokers {
            session_id: session_id.to_string(),
            device_id: device_id.to_string(),
        };
        self.tell(&node, msg);
    }

    /// Ask every node for `session_id`, which viewer connection `conn` of
    /// `user_id` here resumes; the answer arrives on the bus.
    pub fn claim(&self, session_id: &str, conn: u64, user_id: i64, secret: Option<&str>) {
        self.claims().open(session_id, conn);
        let msg = Message::Claim {
            session_id: session_id.to_string(),
            user_id,
            secret: secret.map(str::to_string),
        };
        self.send(subject::everyone(), msg);
    }

    /// The viewer connection waiting for `session_id`, no longer waiting.
    pub fn take_claim(&self, session_id: &str) -> Option<u64> {
        self.claims().answered(session_id)
    }

    /// The host's node said what it knows of a session claimed here.
    pub fn heard_of_claimed(&self, session_id: &str, known: Known) {
        self.claims().heard(session_id, known);
    }

    /// Stop waiting for `session_id` on behalf of `conn`: `None` if the
    /// answer came, or another connection asked since; else what the
    /// host's node knows of it, if it said.
    pub fn give_up_claim(&self, session_id: &str, conn: u64) -> Option<Option<Known>> {
        self.claims().give_up(session_id, conn)
    }

    /// What this node, holding the host, knows of a session another node
    /// (not `asker`) brokers, from its grant.
    pub fn known_here(&self, session_id: &str, asker: &NodeId) -> Option<Known> {
        self.proxied().known(session_id, asker)
    }

    /// Tell every other node to end the sessions `select` picks.
    pub fn end_sessions(&self, select: &Selector, reason: EndReason) {
        let msg = Message::EndSessions {
            select: select.clone(),
            reason,
        };
        self.send(subject::everyone(), msg);
    }

    /// Tell every other node to close a removed device's connection.
    pub fn close_host(&self, device_id: &str) {
        let msg = Message::CloseHost {
            device_id: device_id.to_string(),
        };
        self.send(subject::everyone(), msg);
    }

    /// Tell every other node that the token of this hash is no longer
    /// good.
    pub fn signed_out(&self, token_hash: &[u8; 32]) {
        let msg = Message::SignedOut {
            token_hash: hex::encode(token_hash),
        };
        self.send(subject::everyone(), msg);
    }

    /// Queue a message for [`sync::run`]; false on a single node or when
    /// the outbox is full (logged). Never waits.
    fn send(&self, subject: String, msg: Message) -> bool {
        let Some(tx) = &self.outbox else { return false };
        match tx.try_send(Outgoing { subject, msg }) {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!("cluster outbox full; a message to the other nodes is lost");
                false
            }
        }
    }

    fn remote(&self) -> MutexGuard<'_, Remote> {
        // Plain maps that stay consistent even if a holder panicked.
        self.remote.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn claims(&self) -> MutexGuard<'_, Claims> {
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn proxied(&self) -> MutexGuard<'_, Proxied> {
        self.proxied.lock().unwrap_or_else(|p| p.into_inner())
    }
}
