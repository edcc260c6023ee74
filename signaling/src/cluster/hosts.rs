//! Which hosts the other nodes hold, as this node has heard on the bus:
//! plain data, no I/O, time passed in. It answers "is this device online
//! somewhere else?" and says which devices came online or went offline
//! elsewhere with each message, so the driver ([`super::sync`]) tells
//! only the changes to its viewers.
//!
//! A device counts as online elsewhere while any other node holds it: a
//! host that moves from node A to node B does not go offline on the way
//! when B announces it before A notices the old connection is dead. A node
//! that sends nothing for [`Remote::expire`]'s bound is taken to be gone
//! (crashed, or cut off from the bus), and so are its hosts.

use std::collections::{BTreeSet, HashMap};

use super::message::{Message, NodeId};

/// One other node.
#[derive(Debug)]
struct Node {
    /// The devices whose host connection it holds, each with when the
    /// node first said so (ms).
    devices: HashMap<String, i64>,
    /// When it was last heard from (ms).
    seen: i64,
}

/// The other nodes' hosts.
#[derive(Debug, Default)]
pub struct Remote {
    nodes: HashMap<NodeId, Node>,
}

/// A device's presence elsewhere changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub device_id: String,
    /// Whether some other node holds it now.
    pub online: bool,
}

impl Remote {
    /// Whether another node holds `device_id`'s connection.
    pub fn holds(&self, device_id: &str) -> bool {
        self.node_of(device_id).is_some()
    }

    /// The node holding `device_id`'s connection, if another one does;
    /// while a host moves and two claim it, the one that took it last.
    pub fn node_of(&self, device_id: &str) -> Option<&NodeId> {
        self.nodes
            .iter()
            .filter_map(|(id, n)| n.devices.get(device_id).map(|since| (since, id)))
            .max()
            .map(|(_, id)| id)
    }

    /// Take in `msg` from node `from` at `now`; returns the devices whose
    /// presence elsewhere changed, in id order.
    pub fn apply(&mut self, from: &NodeId, msg: &Message, now: i64) -> Vec<Change> {
        let node = self.nodes.entry(from.clone()).or_insert_with(|| Node {
            devices: HashMap::new(),
            seen: now,
        });
        node.seen = now;
        let touched: BTreeSet<String> = match msg {
            Message::Presence { device_id, .. } => [device_id.clone()].into(),
            Message::Hosts { devices } => {
                devices.iter().chain(node.devices.keys()).cloned().collect()
            }
            _ => BTreeSet::new(),
        };
        let before: Vec<bool> = touched.iter().map(|d| self.holds(d)).collect();
        // The entry was just made or found above.
        let node = self.nodes.get_mut(from).map(|n| &mut n.devices);
        if let Some(devices) = node {
            match msg {
                Message::Presence { device_id, online } => {
                    if *online {
                        devices.entry(device_id.clone()).or_insert(now);
                    } else {
                        devices.remove(device_id);
                    }
                }
                Message::Hosts { devices: all } => {
                    let kept = std::mem::take(devices);
                    *devices = all
                        .iter()
                        .map(|d| (d.clone(), kept.get(d).copied().unwrap_or(now)))
                        .collect();
                }
                _ => {}
            }
        }
        self.changes(touched.into_iter().zip(before))
    }

    /// Forget the nodes not heard from for `bound_ms` at `now`; returns
    /// their devices that no other node holds, now offline.
    pub fn expire(&mut self, now: i64, bound_ms: i64) -> Vec<Change> {
        let gone: Vec<NodeId> = self
            .nodes
            .iter()
            .filter(|(_, n)| now - n.seen > bound_ms)
            .map(|(id, _)| id.clone())
            .collect();
        let mut touched = BTreeSet::new();
        for id in gone {
            if let Some(n) = self.nodes.remove(&id) {
                tracing::warn!(node = %id, hosts = n.devices.len(), "cluster node silent; its hosts are offline");
                touched.extend(n.devices.into_keys());
            }
        }
        // Every touched device was held before (by the node just removed).
        self.changes(touched.into_iter().map(|d| (d, true)))
    }

    /// The devices whose `holds` differs from what it was.
    fn changes(&self, before: impl Iterator<Item = (String, bool)>) -> Vec<Change> {
        before
            .filter_map(|(device_id, was)| {
                let online = self.holds(&device_id);
                (online != was).then_some(Change { device_id, online })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: &str) -> NodeId {
        NodeId(n.into())
    }

    fn presence(d: &str, online: bool) -> Message {
        Message::Presence {
            device_id: d.into(),
            online,
        }
    }

    fn hosts(ds: &[&str]) -> Message {
        Message::Hosts {
            devices: ds.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn change(d: &str, online: bool) -> Change {
        Change {
            device_id: d.into(),
            online,
        }
    }

    #[test]
    fn a_host_on_another_node_comes_and_goes() {
        let mut r = Remote::default();
        assert_eq!(
            r.apply(&node("a"), &presence("d1", true), 0),
            [change("d1", true)]
        );
        assert!(r.holds("d1"));
        assert_eq!(r.node_of("d1"), Some(&node("a")));
        assert_eq!(r.apply(&node("a"), &presence("d1", true), 1), []);
        assert_eq!(
            r.apply(&node("a"), &presence("d1", false), 2),
            [change("d1", false)]
        );
        assert!(!r.holds("d1"));
    }

    #[test]
    fn a_host_moving_between_nodes_never_goes_offline() {
        let mut r = Remote::default();
        r.apply(&node("a"), &presence("d1", true), 0);
        // B takes the host before A notices the old connection is dead.
        assert_eq!(r.apply(&node("b"), &presence("d1", true), 1), []);
        assert_eq!(r.node_of("d1"), Some(&node("b")), "the newer claim");
        r.apply(&node("a"), &hosts(&["d1"]), 2);
        assert_eq!(
            r.node_of("d1"),
            Some(&node("b")),
            "a heartbeat is no new claim"
        );
        assert_eq!(r.apply(&node("a"), &presence("d1", false), 3), []);
        assert_eq!(r.node_of("d1"), Some(&node("b")));
    }

    #[test]
    fn a_full_list_replaces_what_a_node_held() {
        let mut r = Remote::default();
        r.apply(&node("a"), &hosts(&["d1", "d2"]), 0);
        // A missed message is repaired by the next list.
        assert_eq!(
            r.apply(&node("a"), &hosts(&["d2", "d3"]), 1),
            [change("d1", false), change("d3", true)]
        );
        assert_eq!(r.apply(&node("a"), &Message::Hello, 2), []);
    }

    #[test]
    fn a_silent_node_s_hosts_go_offline_unless_another_holds_them() {
        let mut r = Remote::default();
        r.apply(&node("a"), &hosts(&["d1", "d2"]), 0);
        r.apply(&node("b"), &hosts(&["d2"]), 0);
        assert_eq!(r.expire(10, 10), []);
        r.apply(&node("b"), &hosts(&["d2"]), 10);
        assert_eq!(r.expire(11, 10), [change("d1", false)]);
        assert!(r.holds("d2"));
        assert_eq!(r.node_of("d1"), None);
    }
}
