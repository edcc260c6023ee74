//! On the node that holds a host's connection: which node brokers each of
//! its sessions whose viewer is connected elsewhere. Plain data, no I/O.
//!
//! An entry is made when a message for the host arrives from the
//! brokering node (the grant first, then SDP and ICE), so the host's
//! answers go straight back there. It goes when the session ends, when
//! the host's connection here ends, or when the table is full (the oldest
//! first); a host message for a session with no entry goes to every node
//! instead, and only the brokering one acts on it.

use std::collections::{HashMap, VecDeque};

use meshdesk_protocol::rest::Permission;

use super::claims::Known;
use super::message::NodeId;

/// Most sessions remembered; far beyond what one node's hosts hold.
pub const MAX_ENTRIES: usize = 65_536;

#[derive(Debug)]
struct Entry {
    device_id: String,
    node: NodeId,
    /// The viewer's account and right, from the grant passed on.
    grant: Option<(String, Permission)>,
}

/// Session id → the node brokering it.
#[derive(Debug, Default)]
pub struct Proxied {
    by_session: HashMap<String, Entry>,
    /// Session ids in the order they were first noted, for evicting the
    /// oldest; may name sessions already forgotten.
    order: VecDeque<String>,
}

impl Proxied {
    /// `node` brokers `device_id`'s session `session_id`.
    pub fn note(&mut self, session_id: &str, device_id: &str, node: &NodeId) {
        match self.by_session.get_mut(session_id) {
            Some(e) if e.device_id == device_id => e.node = node.clone(),
            _ => {
                let entry = Entry {
                    device_id: device_id.to_string(),
                    node: node.clone(),
                    grant: None,
                };
                if self
                    .by_session
                    .insert(session_id.to_string(), entry)
                    .is_none()
                {
                    self.order.push_back(session_id.to_string());
                }
            }
        }
        while self.by_session.len() > MAX_ENTRIES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.by_session.remove(&oldest);
        }
        if self.order.len() > 2 * MAX_ENTRIES {
            let live = &self.by_session;
            self.order.retain(|id| live.contains_key(id));
        }
    }

    /// The node brokering `session_id`, if it is `device_id`'s.
    pub fn node_for(&self, session_id: &str, device_id: &str) -> Option<&NodeId> {
        self.by_session
            .get(session_id)
            .filter(|e| e.device_id == device_id)
            .map(|e| &e.node)
    }

    /// The grant of a noted session named `username` with `permission`.
    pub fn note_grant(&mut self, session_id: &str, username: &str, permission: Permission) {
        if let Some(e) = self.by_session.get_mut(session_id) {
            e.grant = Some((username.to_string(), permission));
        }
    }

    /// What is known of a session brokered by another node than `asker`.
    pub fn known(&self, session_id: &str, asker: &NodeId) -> Option<Known> {
        let e = self
            .by_session
            .get(session_id)
            .filter(|e| e.node != *asker)?;
        let (username, permission) = e.grant.clone()?;
        Some(Known {
            device_id: e.device_id.clone(),
            username,
            permission,
        })
    }

    /// The session ended.
    pub fn forget(&mut self, session_id: &str) {
        self.by_session.remove(session_id);
    }

    /// The device's connection here ended: its sessions' messages now
    /// arrive at another node.
    pub fn forget_device(&mut self, device_id: &str) {
        self.by_session.retain(|_, e| e.device_id != device_id);
    }

    /// The sessions of `device_id` brokered elsewhere.
    pub fn sessions_of(&self, device_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .by_session
            .iter()
            .filter(|(_, e)| e.device_id == device_id)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    pub fn len(&self) -> usize {
        self.by_session.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_session.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: &str) -> NodeId {
        NodeId(n.into())
    }

    #[test]
    fn a_session_is_found_only_with_its_own_device() {
        let mut p = Proxied::default();
        p.note("s1", "d1", &node("b"));
        assert_eq!(p.node_for("s1", "d1"), Some(&node("b")));
        assert_eq!(p.node_for("s1", "d2"), None, "another device's host");
        assert_eq!(p.node_for("s2", "d1"), None);
    }

    #[test]
    fn entries_go_with_the_session_or_the_device() {
        let mut p = Proxied::default();
        p.note("s1", "d1", &node("b"));
        p.note("s2", "d1", &node("c"));
        p.note("s3", "d2", &node("b"));
        p.forget("s1");
        assert_eq!(p.node_for("s1", "d1"), None);
        assert_eq!(p.sessions_of("d1"), ["s2"]);
        p.forget_device("d1");
        assert_eq!(p.node_for("s2", "d1"), None);
        assert_eq!(p.node_for("s3", "d2"), Some(&node("b")));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn a_session_handed_to_another_node_follows_it() {
        let mut p = Proxied::default();
        p.note("s1", "d1", &node("b"));
        p.note("s1", "d1", &node("c"));
        assert_eq!(p.node_for("s1", "d1"), Some(&node("c")));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn the_grant_is_told_to_other_nodes_than_its_broker() {
        let mut p = Proxied::default();
        p.note("s1", "d1", &node("b"));
        assert_eq!(p.known("s1", &node("c")), None, "no grant seen");
        p.note_grant("s1", "bob", Permission::Control);
        let k = p.known("s1", &node("c")).expect("known");
        assert_eq!((k.device_id.as_str(), k.username.as_str()), ("d1", "bob"));
        assert_eq!(p.known("s1", &node("b")), None, "the broker itself asks");
        p.note("s1", "d1", &node("c"));
        assert!(
            p.known("s1", &node("b")).is_some(),
            "the grant stays with a move"
        );
    }

    #[test]
    fn the_table_stays_bounded_dropping_the_oldest() {
        let mut p = Proxied::default();
        for i in 0..MAX_ENTRIES + 10 {
            p.note(&format!("s{i}"), "d1", &node("b"));
        }
        assert_eq!(p.len(), MAX_ENTRIES);
        assert_eq!(p.node_for("s0", "d1"), None);
        assert!(p.node_for(&format!("s{}", MAX_ENTRIES + 9), "d1").is_some());
        for i in 0..3 * MAX_ENTRIES {
            p.note(&format!("t{i}"), "d1", &node("b"));
            p.forget(&format!("t{i}"));
        }
        assert!(p.order.len() <= 2 * MAX_ENTRIES + 1);
    }
}
