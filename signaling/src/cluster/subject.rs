//! The NATS subjects nodes talk on. Every name starts with
//! `meshdesk.v{VERSION}.`, so nodes of an incompatible release on the same
//! server never read each other's messages, and one NATS server can carry
//! several products' subjects.

use super::message::VERSION;

/// Prefix of every subject.
fn prefix() -> String {
    format!("meshdesk.v{VERSION}")
}

/// Which hosts each node holds: changes, full lists and hellos
/// ([`super::message::Message`]'s presence kinds). One subject, so a
/// node's messages arrive in the order it sent them.
pub fn presence() -> String {
    format!("{}.presence", prefix())
}

/// Messages for one node ([`super::message::Message::ToHost`],
/// [`super::message::Message::FromHost`]).
pub fn node(node: &super::message::NodeId) -> String {
    format!("{}.node.{}", prefix(), node.0)
}

/// Messages every node acts on: sessions to end, connections to close,
/// host messages for a session whose node is not known.
pub fn everyone() -> String {
    format!("{}.all", prefix())
}

/// Feed events each node stores ([`super::message::Message::Event`]),
/// apart from presence so that a burst of events never holds up a
/// heartbeat. One subject, so a node's events arrive in id order.
pub fn events() -> String {
    format!("{}.events", prefix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_carry_the_message_version() {
        assert_eq!(presence(), "meshdesk.v1.presence");
        let n = super::super::message::NodeId("ab12".into());
        assert_eq!(node(&n), "meshdesk.v1.node.ab12");
        assert_eq!(everyone(), "meshdesk.v1.all");
        assert_eq!(events(), "meshdesk.v1.events");
    }
}
