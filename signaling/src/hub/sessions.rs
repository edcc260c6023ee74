//! The session table: a pure core that decides who may relay what.
//!
//! A session binds one viewer connection to one device. Messages for a
//! session are accepted only from that viewer connection or from the
//! device's host connection; everything else is refused.

use std::collections::HashMap;

use meshdesk_protocol::rest::Permission;

/// Most sessions one viewer connection may hold at once.
pub const MAX_SESSIONS_PER_VIEWER: usize = 16;

/// One brokered session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub device_id: String,
    pub device_name: String,
    /// Device owner's account, for the feed.
    pub owner_id: i64,
    /// The viewer connection that asked for it.
    pub viewer_conn: u64,
    pub viewer_user_id: i64,
    pub viewer_username: String,
    pub permission: Permission,
    pub created_at: i64,
    /// Set when the host accepted; the session counts as started then.
    pub accepted_at: Option<i64>,
}

/// Why a message could not be routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// No such session, or it belongs to someone else (indistinguishable on
    /// purpose).
    NotFound,
    /// The viewer holds too many sessions.
    TooMany,
    /// The host accepted this session before.
    AlreadyAccepted,
}

/// All live sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: HashMap<String, Session>,
}

impl Sessions {
    /// Add a session unless the viewer already holds too many.
    pub fn insert(&mut self, s: Session) -> Result<(), RouteError> {
        let held = self
            .by_id
            .values()
            .filter(|x| x.viewer_conn == s.viewer_conn)
            .count();
        if held >= MAX_SESSIONS_PER_VIEWER {
            return Err(RouteError::TooMany);
        }
        self.by_id.insert(s.id.clone(), s);
        Ok(())
    }

    /// The session, if `viewer_conn` is its viewer.
    pub fn for_viewer(&self, session_id: &str, viewer_conn: u64) -> Result<&Session, RouteError> {
        match self.by_id.get(session_id) {
            Some(s) if s.viewer_conn == viewer_conn => Ok(s),
            _ => Err(RouteError::NotFound),
        }
    }

    /// The session, if `device_id` is its device.
    pub fn for_host(&self, session_id: &str, device_id: &str) -> Result<&Session, RouteError> {
        match self.by_id.get(session_id) {
            Some(s) if s.device_id == device_id => Ok(s),
            _ => Err(RouteError::NotFound),
        }
    }

    /// Mark a session accepted by its host; returns it.
    pub fn accept(
        &mut self,
        session_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<Session, RouteError> {
        match self.by_id.get_mut(session_id) {
            Some(s) if s.device_id == device_id => {
                s.accepted_at.get_or_insert(now);
                Ok(s.clone())
            }
            _ => Err(RouteError::NotFound),
        }
    }

    /// Remove and return a session.
    pub fn remove(&mut self, session_id: &str) -> Option<Session> {
        self.by_id.remove(session_id)
    }

    /// Remove every session matching a predicate.
    pub fn remove_where(&mut self, pred: impl Fn(&Session) -> bool) -> Vec<Session> {
        let ids: Vec<String> = self
            .by_id
            .values()
            .filter(|s| pred(s))
            .map(|s| s.id.clone())
            .collect();
        ids.iter().filter_map(|id| self.by_id.remove(id)).collect()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, device: &str, conn: u64) -> Session {
        Session {
            id: id.into(),
            device_id: device.into(),
            device_name: "pc".into(),
            owner_id: 1,
            viewer_conn: conn,
            viewer_user_id: 2,
            viewer_username: "bob".into(),
            permission: Permission::View,
            created_at: 0,
            accepted_at: None,
        }
    }

    #[test]
    fn only_the_parties_may_route() {
        let mut t = Sessions::default();
        t.insert(session("s1", "d1", 7)).expect("insert");
        assert!(t.for_viewer("s1", 7).is_ok());
        assert_eq!(t.for_viewer("s1", 8), Err(RouteError::NotFound));
        assert_eq!(t.for_viewer("nope", 7), Err(RouteError::NotFound));
        assert!(t.for_host("s1", "d1").is_ok());
        assert_eq!(t.for_host("s1", "d2"), Err(RouteError::NotFound));
        assert_eq!(t.accept("s1", "d2", 5), Err(RouteError::NotFound));
        assert_eq!(
            t.accept("s1", "d1", 5).expect("accept").accepted_at,
            Some(5)
        );
    }

    #[test]
    fn viewer_session_count_is_bounded() {
        let mut t = Sessions::default();
        for i in 0..MAX_SESSIONS_PER_VIEWER {
            t.insert(session(&format!("s{i}"), "d", 1)).expect("insert");
        }
        assert_eq!(t.insert(session("x", "d", 1)), Err(RouteError::TooMany));
        assert!(t.insert(session("y", "d", 2)).is_ok());
    }

    #[test]
    fn remove_where_takes_matching_only() {
        let mut t = Sessions::default();
        t.insert(session("a", "d1", 1)).expect("insert");
        t.insert(session("b", "d2", 1)).expect("insert");
        let gone = t.remove_where(|s| s.device_id == "d1");
        assert_eq!(gone.len(), 1);
        assert_eq!(t.len(), 1);
    }
}
