//! On the node a viewer came back through: the resumes waiting for the
//! node that brokers their session to hand it over. Plain data, no I/O.
//!
//! Besides the broker, the node holding the session's host answers a
//! claim with what it knows of the session ([`Known`]): if the broker says
//! nothing in time, it is gone (a node answers in milliseconds), and the
//! session is taken over from what the host's node knows, so that a
//! session whose media runs peer to peer outlives its broker.

use std::collections::HashMap;

use meshdesk_protocol::rest::Permission;

/// What the node holding a session's host knows of it, from the grant it
/// passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub device_id: String,
    /// The viewer's account, as the grant named it.
    pub username: String,
    pub permission: Permission,
}

#[derive(Debug)]
struct Pending {
    /// The viewer connection that resumes.
    conn: u64,
    known: Option<Known>,
}

/// Session id → the resume waiting for it.
#[derive(Debug, Default)]
pub struct Claims {
    by_session: HashMap<String, Pending>,
}

impl Claims {
    /// Viewer connection `conn` waits for `session_id` (a later claim of
    /// the same session replaces an earlier one).
    pub fn open(&mut self, session_id: &str, conn: u64) {
        let pending = Pending { conn, known: None };
        self.by_session.insert(session_id.to_string(), pending);
    }

    /// The broker answered: the connection that waited, no longer waiting.
    pub fn answered(&mut self, session_id: &str) -> Option<u64> {
        self.by_session.remove(session_id).map(|p| p.conn)
    }

    /// The host's node told what it knows; kept for [`Self::give_up`].
    pub fn heard(&mut self, session_id: &str, known: Known) {
        if let Some(p) = self.by_session.get_mut(session_id) {
            p.known = Some(known);
        }
    }

    /// The wait of `conn` for `session_id` is over: `None` if it was
    /// answered (or replaced) meanwhile, else what the host's node knows,
    /// if it said.
    pub fn give_up(&mut self, session_id: &str, conn: u64) -> Option<Option<Known>> {
        if self.by_session.get(session_id).map(|p| p.conn) != Some(conn) {
            return None;
        }
        self.by_session.remove(session_id).map(|p| p.known)
    }
}

/// The lesser of two rights: a session taken over never gains one.
pub fn lesser(a: Permission, b: Permission) -> Permission {
    let rank = |p: Permission| match p {
        Permission::View => 0,
        Permission::Control => 1,
        Permission::Owner => 2,
    };
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            device_id: "d1".into(),
            username: "bob".into(),
            permission: Permission::Control,
        }
    }

    #[test]
    fn an_answered_claim_is_no_longer_given_up() {
        let mut c = Claims::default();
        c.open("s1", 7);
        c.heard("s1", known());
        assert_eq!(c.answered("s1"), Some(7));
        assert_eq!(c.give_up("s1", 7), None);
    }

    #[test]
    fn an_unanswered_claim_keeps_what_the_hosts_node_said() {
        let mut c = Claims::default();
        c.open("s1", 7);
        c.open("s2", 8);
        c.heard("s1", known());
        c.heard("nobody", known());
        assert_eq!(c.give_up("s1", 7), Some(Some(known())));
        assert_eq!(c.give_up("s2", 8), Some(None));
        assert_eq!(c.give_up("s2", 8), None, "once");
    }

    #[test]
    fn a_newer_claim_replaces_the_older_one() {
        let mut c = Claims::default();
        c.open("s1", 7);
        c.open("s1", 9);
        assert_eq!(c.give_up("s1", 7), None);
        assert_eq!(c.give_up("s1", 9), Some(None));
    }

    #[test]
    fn a_right_is_never_raised() {
        use Permission::*;
        assert_eq!(lesser(Control, Owner), Control);
        assert_eq!(lesser(Owner, View), View);
        assert_eq!(lesser(Control, Control), Control);
    }
}
