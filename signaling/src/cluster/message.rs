//! What nodes tell each other, as JSON. Every message travels in an
//! [`Envelope`] carrying the format's version and the sender's node id;
//! a node drops (and logs) a message of another version instead of
//! misreading it, and ignores its own.
//!
//! Messages carry ids, not accounts' secrets: a node that needs a
//! device's name or audience reads it from the shared store, which is
//! where the truth is. The exceptions are what a session needs on its way
//! between the two nodes that broker it: the grant (with the session's
//! TURN credentials) and the SDP and ICE the parties exchange, as the host
//! would receive them anyway, and a session's resume secret when another
//! node takes the session over; and a feed event, which travels as the
//! feed shows it to its readers, with its audience as user ids, so that
//! other nodes can publish it without a read per event. Nothing here is
//! ever logged.

use meshdesk_protocol::rest::Event;
use meshdesk_protocol::signal::{EndReason, ErrorMsg, HostToServer, ServerToHost, ServerToViewer};
use serde::{Deserialize, Serialize};

use crate::hub::{Selector, Session};

/// The message format's version; also part of every subject name.
pub const VERSION: u32 = 1;

/// A node's id: random per process, so a restarted node is a new node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl NodeId {
    /// A fresh random id (128 bits, hex).
    pub fn random() -> NodeId {
        NodeId(hex::encode(rand::random::<[u8; 16]>()))
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message with its version and sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`VERSION`] of the sender.
    pub v: u32,
    /// The sending node.
    pub from: NodeId,
    #[serde(flatten)]
    pub msg: Message,
}

/// The messages of the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Message {
    /// A host connected to the sender (`online`) or its connection there
    /// ended.
    Presence { device_id: String, online: bool },
    /// Every host the sender holds now: its answer to [`Message::Hello`],
    /// and its heartbeat (a node that stops sending these is taken to be
    /// gone, and its hosts offline).
    Hosts { devices: Vec<String> },
    /// The sender joined or rejoined the bus: every node answers with
    /// [`Message::Hosts`].
    Hello,
    /// For the host connection of `device_id`, which the receiver holds:
    /// the sender brokers the session `msg` is about (its viewer is
    /// connected there). Sent to one node.
    ToHost {
        device_id: String,
        msg: ServerToHost,
    },
    /// What the host of `device_id`, connected to the sender, said about a
    /// session the receiver brokers. Sent to that node when the sender
    /// knows it, else to all (only the node that brokers it acts).
    FromHost {
        device_id: String,
        msg: HostToServer,
    },
    /// End the sessions `select` picks (a share revoked, a device
    /// removed). Sent to all.
    EndSessions { select: Selector, reason: EndReason },
    /// Close the host connection of a removed device. Sent to all.
    CloseHost { device_id: String },
    /// Close the viewer connections and feed streams signed in with the
    /// token of this SHA-256 hash (hex): it was signed out or revoked.
    /// Sent to all.
    SignedOut { token_hash: String },
    /// A new connection of `user_id` to the sender resumes `session_id`,
    /// which the sender does not broker: the node that does hands it over
    /// ([`Message::Handover`]) or says why not ([`Message::ClaimRefused`]).
    /// Sent to all.
    Claim {
        session_id: String,
        user_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    /// The answer to a [`Message::Claim`]: the session, now the
    /// receiver's to broker, and the host messages held for its viewer.
    Handover {
        session: Box<Session>,
        held: Vec<ServerToViewer>,
    },
    /// The answer to a [`Message::Claim`] the brokering node refuses: the
    /// error its viewer gets (it names the session).
    ClaimRefused { error: ErrorMsg },
    /// The answer to a [`Message::Claim`] from the node holding the
    /// session's host, whose broker is another node: what the session's
    /// grant said. Sent to the claimer, which takes the session over from
    /// it when the broker does not answer (it is gone).
    Known {
        session_id: String,
        device_id: String,
        username: String,
        permission: meshdesk_protocol::rest::Permission,
    },
    /// The sender now brokers `session_id` of `device_id`, whose host the
    /// receiver holds: its messages about it go there.
    Brokers {
        session_id: String,
        device_id: String,
    },
    /// The sender stored a feed event; `audience` are the users who may
    /// see it. On [`super::subject::events`].
    Event {
        event: Box<Event>,
        audience: Vec<i64>,
    },
}

/// Why a message was dropped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("not a cluster message: {0}")]
    Malformed(String),
    #[error("cluster message version {0}, this node speaks {VERSION}")]
    Version(u32),
}

impl Envelope {
    /// `msg` from `from`, at this node's version.
    pub fn new(from: NodeId, msg: Message) -> Envelope {
        Envelope {
            v: VERSION,
            from,
            msg,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Plain strings, numbers and lists: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Read a message; another version is an error, not a guess.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let v: Version =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if v.v != VERSION {
            return Err(DecodeError::Version(v.v));
        }
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_version_and_sender() {
        for msg in [
            Message::Presence {
                device_id: "d1".into(),
                online: true,
            },
            Message::Hosts {
                devices: vec!["d1".into(), "d2".into()],
            },
            Message::Hello,
            Message::ToHost {
                device_id: "d1".into(),
                msg: ServerToHost::RestartIce {
                    session_id: "s1".into(),
                },
            },
            Message::FromHost {
                device_id: "d1".into(),
                msg: HostToServer::SessionAccept {
                    session_id: "s1".into(),
                },
            },
            Message::EndSessions {
                select: Selector::viewer("d1", 7),
                reason: EndReason::Revoked,
            },
            Message::CloseHost {
                device_id: "d1".into(),
            },
            Message::SignedOut {
                token_hash: "ab".repeat(32),
            },
            Message::Event {
                event: Box::new(crate::feed::test_event(
                    7,
                    meshdesk_protocol::rest::EventKind::DeviceRenamed,
                    Some("d1"),
                )),
                audience: vec![1, 2],
            },
        ] {
            let e = Envelope::new(NodeId("n1".into()), msg);
            assert_eq!(Envelope::decode(&e.encode()), Ok(e));
        }
    }

    #[test]
    fn the_wire_form_is_flat_json_tagged_by_type() {
        let e = Envelope::new(
            NodeId("n1".into()),
            Message::Presence {
                device_id: "d1".into(),
                online: false,
            },
        );
        let v: serde_json::Value = serde_json::from_slice(&e.encode()).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"v": 1, "from": "n1", "type": "presence", "device_id": "d1", "online": false})
        );
    }

    #[test]
    fn another_version_or_garbage_is_refused_not_misread() {
        let later = br#"{"v": 2, "from": "n1", "type": "hello"}"#;
        assert_eq!(Envelope::decode(later), Err(DecodeError::Version(2)));
        for bad in [
            &b"{"[..],
            b"[]",
            br#"{"v": 1, "from": "n1", "type": "nope"}"#,
        ] {
            assert!(matches!(
                Envelope::decode(bad),
                Err(DecodeError::Malformed(_))
            ));
        }
    }
}
