//! The session table: a pure core that decides who may relay what.
//!
//! A session binds one viewer connection to one device. Messages for a
//! session are accepted only from that viewer connection or from the
//! device's host connection; everything else is refused. When the viewer
//! connection closes, an accepted session is detached ([`Detached`]) for a
//! grace period instead of ended, and a new connection of the same user may
//! resume it.

use std::collections::HashMap;

use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::ServerToViewer;

use super::detached::{Detached, Hold};
use super::ended::Ended;
use crate::auth::secret::Secret;

/// Most sessions one viewer connection may hold at once.
pub const MAX_SESSIONS_PER_VIEWER: usize = 16;

/// One brokered session. It travels whole when another node of a cluster
/// takes it over ([`Sessions::release`], [`Sessions::adopt`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub id: String,
    pub device_id: String,
    pub device_name: String,
    /// Device owner's account, for the feed.
    pub owner_id: i64,
    /// The viewer connection it is attached to: the one that asked for
    /// it, or the one that resumed it. While detached, the closed one
    /// (connection ids are never reused).
    pub viewer_conn: u64,
    pub viewer_user_id: i64,
    pub viewer_username: String,
    pub permission: Permission,
    pub created_at: i64,
    /// Set when the host accepted; the session counts as started then.
    pub accepted_at: Option<i64>,
    /// Given only to the viewer that asked for the session: proof, on a
    /// resume, that it is that viewer. Never printed.
    #[serde(with = "crate::auth::secret::plain")]
    pub resume_secret: Secret,
    /// Set when the host said it asks the person at the device for
    /// consent: the session may wait that long before it is accepted.
    pub consent_asked_at: Option<i64>,
}

/// Which sessions to end, as data: it also travels to the other nodes of
/// a cluster ([`crate::cluster`]), which end their matching sessions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Selector {
    /// The device's sessions.
    pub device_id: String,
    /// Only this viewer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_user_id: Option<i64>,
    /// Only the ones with control.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control_only: bool,
}

impl Selector {
    /// Every session of a device.
    pub fn device(device_id: &str) -> Selector {
        Selector {
            device_id: device_id.to_string(),
            viewer_user_id: None,
            control_only: false,
        }
    }

    /// One viewer's sessions on a device.
    pub fn viewer(device_id: &str, user_id: i64) -> Selector {
        Selector {
            viewer_user_id: Some(user_id),
            ..Selector::device(device_id)
        }
    }

    pub fn matches(&self, s: &Session) -> bool {
        s.device_id == self.device_id
            && self.viewer_user_id.is_none_or(|u| u == s.viewer_user_id)
            && (!self.control_only || s.permission.may_control())
    }
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
    /// The session is attached to this other live connection of the same
    /// user; it cannot be taken from there.
    Attached(u64),
}

/// Where a host's message for a session goes.
#[derive(Debug, PartialEq)]
pub enum ToViewer {
    /// To this viewer connection (boxed: the other variants are small).
    Send(u64, Box<ServerToViewer>),
    /// Kept for the viewer's resume (the session is detached).
    Held,
    /// Dropped: detached, and the hold is full.
    Dropped,
}

/// What closing a viewer connection did to its sessions.
#[derive(Debug, Default)]
pub struct Closing {
    /// Removed, to be ended: never accepted, or no grace period.
    pub ended: Vec<Session>,
    /// Ids of the sessions detached, waiting for a resume.
    pub detached: Vec<String>,
}

/// All live sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: HashMap<String, Session>,
    /// Those whose viewer connection was lost, with what the host sent
    /// them meanwhile.
    detached: Detached,
    /// Accepted sessions that ended within the last minute, for the host's
    /// late reports about them ([`Sessions::reported_by`]).
    ended: Ended,
}

impl Sessions {
    /// Add a session unless the viewer already holds too many.
    pub fn insert(&mut self, s: Session) -> Result<(), RouteError> {
        if self.held_by(s.viewer_conn) >= MAX_SESSIONS_PER_VIEWER {
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

    /// Whether this table brokers (or recently ended) `device_id`'s
    /// session `session_id`: a host's message about it is handled here,
    /// not on another node.
    pub fn knows(&self, session_id: &str, device_id: &str, now: i64) -> bool {
        self.for_host(session_id, device_id).is_ok()
            || self.ended.get(session_id, device_id, now).is_some()
    }

    /// The accepted session `session_id` of device `device_id`, live or
    /// ended within [`super::ended::ENDED_KEPT_MS`] before `now`: the
    /// sessions a host may report about (a transfer can finish just after
    /// its session closed).
    pub fn reported_by(&self, session_id: &str, device_id: &str, now: i64) -> Option<&Session> {
        match self.for_host(session_id, device_id) {
            Ok(s) if s.accepted_at.is_some() => Some(s),
            Ok(_) => None,
            Err(_) => self.ended.get(session_id, device_id, now),
        }
    }

    /// Remember a session that ended at `now` (one removed from the table),
    /// if it had started.
    pub fn note_ended(&mut self, s: &Session, now: i64) {
        if s.accepted_at.is_some() {
            self.ended.note(s, now);
        }
    }

    /// Mark a session accepted by its host; returns it.
    pub fn accept(
        &mut self,
        session_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<Session, RouteError> {
        let s = self.for_host_mut(session_id, device_id)?;
        s.accepted_at.get_or_insert(now);
        Ok(s.clone())
    }

    /// Mark a session as waiting for consent at its host; returns it.
    pub fn consent_asked(
        &mut self,
        session_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<Session, RouteError> {
        let s = self.for_host_mut(session_id, device_id)?;
        s.consent_asked_at.get_or_insert(now);
        Ok(s.clone())
    }

    /// [`Self::for_host`], to change.
    fn for_host_mut(
        &mut self,
        session_id: &str,
        device_id: &str,
    ) -> Result<&mut Session, RouteError> {
        match self.by_id.get_mut(session_id) {
            Some(s) if s.device_id == device_id => Ok(s),
            _ => Err(RouteError::NotFound),
        }
    }

    /// Route a host's message to the session's viewer: its connection, or
    /// the hold while it is detached.
    pub fn to_viewer(
        &mut self,
        session_id: &str,
        device_id: &str,
        msg: ServerToViewer,
    ) -> Result<ToViewer, RouteError> {
        let conn = self.for_host(session_id, device_id)?.viewer_conn;
        if !self.detached.contains(session_id) {
            return Ok(ToViewer::Send(conn, Box::new(msg)));
        }
        Ok(match self.detached.hold(session_id, msg) {
            Some(Hold::Held) => ToViewer::Held,
            Some(Hold::Full) | None => ToViewer::Dropped,
        })
    }

    /// The viewer connection `conn` closed at `now`. Its accepted sessions
    /// are detached until `now + grace_ms` (none when `grace_ms` is 0); the
    /// others are removed, to be ended.
    pub fn detach_conn(&mut self, conn: u64, now: i64, grace_ms: i64) -> Closing {
        let mut closing = Closing::default();
        let held: Vec<(String, bool)> = self
            .by_id
            .values()
            .filter(|s| s.viewer_conn == conn)
            .map(|s| (s.id.clone(), s.accepted_at.is_some() && grace_ms > 0))
            .collect();
        for (id, keep) in held {
            if keep {
                self.detached.detach(&id, now.saturating_add(grace_ms));
                closing.detached.push(id);
            } else if let Some(s) = self.by_id.remove(&id) {
                closing.ended.push(s);
            }
        }
        closing
    }

    /// Attach a detached session to `conn`, a connection of `user_id`, at
    /// `now`, or an attached one whose resume `secret` is given. Returns it
    /// and the host messages held for it. Resuming a session `conn` already
    /// holds changes nothing.
    pub fn resume(
        &mut self,
        session_id: &str,
        conn: u64,
        user_id: i64,
        now: i64,
        secret: Option<&str>,
    ) -> Result<(Session, Vec<ServerToViewer>), RouteError> {
        let s = match self.by_id.get(session_id) {
            Some(s) if s.viewer_user_id == user_id => s,
            // Unknown, ended, or another user's: indistinguishable.
            _ => return Err(RouteError::NotFound),
        };
        if s.viewer_conn == conn {
            return Ok((s.clone(), Vec::new()));
        }
        self.may_take(s, now, secret)?;
        if self.held_by(conn) >= MAX_SESSIONS_PER_VIEWER {
            return Err(RouteError::TooMany);
        }
        let held = self.detached.take(session_id).unwrap_or_default();
        let s = self.by_id.get_mut(session_id).ok_or(RouteError::NotFound)?;
        s.viewer_conn = conn;
        Ok((s.clone(), held))
    }

    /// Remove a session that a new connection of `user_id` on another
    /// node resumes at `now` (by the rules of [`Self::resume`]); returns
    /// it and the host messages held for it, for that node to
    /// [`Self::adopt`].
    pub fn release(
        &mut self,
        session_id: &str,
        user_id: i64,
        now: i64,
        secret: Option<&str>,
    ) -> Result<(Session, Vec<ServerToViewer>), RouteError> {
        match self.by_id.get(session_id) {
            Some(s) if s.viewer_user_id == user_id => self.may_take(s, now, secret)?,
            _ => return Err(RouteError::NotFound),
        }
        let held = self.detached.take(session_id).unwrap_or_default();
        let s = self.remove(session_id).ok_or(RouteError::NotFound)?;
        Ok((s, held))
    }

    /// Take in a session another node released, attached to `conn`.
    pub fn adopt(&mut self, mut s: Session, conn: u64) -> Result<Session, RouteError> {
        s.viewer_conn = conn;
        self.insert(s.clone())?;
        Ok(s)
    }

    /// Whether a resume may take `s` from where it is attached or
    /// detached at `now`.
    fn may_take(&self, s: &Session, now: i64, secret: Option<&str>) -> Result<(), RouteError> {
        let session_id = s.id.as_str();
        if !self.detached.contains(session_id) {
            // Attached to another connection that still looks alive. The
            // viewer that asked for the session proves it is that viewer
            // with the session's secret and takes it over at once (its old
            // connection died with a network change); anyone else waits
            // until that connection is found dead. Nothing is held for a
            // session that was never detached.
            // Hashes compared: how much of a guess matched does not show.
            let proven = secret.is_some_and(|given| {
                Secret::new(given.to_string()).hash() == s.resume_secret.hash()
            });
            if !proven {
                return Err(RouteError::Attached(s.viewer_conn));
            }
        } else if !self.detached.resumable(session_id, now) {
            // Its grace period is over; the sweep ends it.
            return Err(RouteError::NotFound);
        }
        Ok(())
    }

    /// Remove and return the detached sessions whose grace period is over
    /// at `now`.
    pub fn expire(&mut self, now: i64) -> Vec<Session> {
        self.detached
            .expire(now)
            .iter()
            .filter_map(|id| self.by_id.remove(id))
            .collect()
    }

    /// When the next grace period ends, if a session is detached.
    pub fn next_expiry(&self) -> Option<i64> {
        self.detached.next_expiry()
    }

    /// Number of detached sessions.
    pub fn detached_len(&self) -> usize {
        self.detached.len()
    }

    fn held_by(&self, conn: u64) -> usize {
        self.by_id
            .values()
            .filter(|x| x.viewer_conn == conn)
            .count()
    }

    /// Remove and return a session.
    pub fn remove(&mut self, session_id: &str) -> Option<Session> {
        self.detached.forget(session_id);
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
        ids.iter().filter_map(|id| self.remove(id)).collect()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of sessions the host accepted (the rest wait for it).
    pub fn accepted_len(&self) -> usize {
        self.by_id
            .values()
            .filter(|s| s.accepted_at.is_some())
            .count()
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
            resume_secret: Secret::new("secret".into()),
            consent_asked_at: None,
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

    fn accepted(id: &str, conn: u64) -> Session {
        Session {
            accepted_at: Some(1),
            ..session(id, "d1", conn)
        }
    }

    fn offer(sdp: &str) -> ServerToViewer {
        ServerToViewer::Offer(meshdesk_protocol::signal::SdpMsg {
            session_id: "s1".into(),
            sdp: sdp.into(),
        })
    }

    #[test]
    fn a_closed_connection_keeps_accepted_sessions_only() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        t.insert(session("pending", "d1", 7)).expect("insert");
        t.insert(accepted("other", 8)).expect("insert");
        let closing = t.detach_conn(7, 100, 30_000);
        assert_eq!(
            closing
                .ended
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["pending"]
        );
        assert_eq!(closing.detached, ["s1"]);
        assert_eq!((t.len(), t.detached_len()), (2, 1));
        assert_eq!(t.next_expiry(), Some(30_100));
        // No grace period: everything ends at once, as before.
        let closing = t.detach_conn(8, 100, 0);
        assert_eq!((closing.ended.len(), closing.detached.len()), (1, 0));
        assert_eq!(t.detached_len(), 1);
    }

    #[test]
    fn a_session_released_to_another_node_leaves_with_what_was_held() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        t.detach_conn(7, 0, 1_000);
        t.detached.hold("s1", offer("o1"));
        // Another user, or after the grace period: not released.
        assert_eq!(t.release("s1", 3, 10, None), Err(RouteError::NotFound));
        assert_eq!(t.release("s1", 2, 2_000, None), Err(RouteError::NotFound));
        let (s, held) = t.release("s1", 2, 10, None).expect("released");
        assert_eq!((s.id.as_str(), held), ("s1", vec![offer("o1")]));
        assert!(t.is_empty() && t.detached_len() == 0);
        assert!(!t.knows("s1", "d1", 10), "gone, not ended");

        // The other node adopts it for its connection.
        let mut there = Sessions::default();
        let s = there.adopt(s, 42).expect("adopted");
        assert_eq!(s.viewer_conn, 42);
        assert!(there.for_viewer("s1", 42).is_ok());
    }

    #[test]
    fn a_live_session_is_released_only_with_its_secret() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        assert_eq!(t.release("s1", 2, 10, None), Err(RouteError::Attached(7)));
        assert_eq!(
            t.release("s1", 2, 10, Some("guess")),
            Err(RouteError::Attached(7))
        );
        assert!(t.release("s1", 2, 10, Some("secret")).is_ok());
    }

    #[test]
    fn a_session_survives_the_trip_between_nodes_whole() {
        let s = accepted("s1", 7);
        let wire = serde_json::to_string(&s).expect("json");
        let back: Session = serde_json::from_str(&wire).expect("decodes");
        assert_eq!(back, s);
        assert_eq!(back.resume_secret.expose(), "secret");
    }

    #[test]
    fn only_the_same_user_resumes_within_the_grace_period() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        t.detach_conn(7, 0, 1_000);
        // Another user (bob is user 2), an unknown id: not found.
        assert_eq!(t.resume("s1", 9, 3, 10, None), Err(RouteError::NotFound));
        assert_eq!(t.resume("nope", 9, 2, 10, None), Err(RouteError::NotFound));
        let (s, held) = t.resume("s1", 9, 2, 10, None).expect("resumed");
        assert_eq!((s.viewer_conn, held.len()), (9, 0));
        assert!(t.for_viewer("s1", 9).is_ok());
        assert_eq!(t.for_viewer("s1", 7), Err(RouteError::NotFound));
        assert_eq!(t.next_expiry(), None, "attached again");
        // Again from the same connection: nothing changes.
        assert!(t.resume("s1", 9, 2, 20, None).is_ok());
        // A second connection of the same user cannot take it.
        assert_eq!(
            t.resume("s1", 10, 2, 20, None),
            Err(RouteError::Attached(9))
        );
        assert!(t.expire(5_000).is_empty(), "attached sessions never expire");
    }

    #[test]
    fn a_session_past_its_grace_period_is_not_resumed_but_ended() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        t.detach_conn(7, 0, 1_000);
        assert_eq!(t.resume("s1", 9, 2, 1_000, None), Err(RouteError::NotFound));
        assert!(t.expire(999).is_empty());
        let gone = t.expire(1_000);
        assert_eq!(gone.len(), 1);
        assert!(t.is_empty());
        assert_eq!(t.resume("s1", 9, 2, 1_001, None), Err(RouteError::NotFound));
    }

    #[test]
    fn host_messages_are_held_while_detached_and_handed_over_on_resume() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        assert_eq!(
            t.to_viewer("s1", "d1", offer("a")),
            Ok(ToViewer::Send(7, Box::new(offer("a"))))
        );
        assert_eq!(
            t.to_viewer("s1", "d2", offer("a")),
            Err(RouteError::NotFound)
        );
        t.detach_conn(7, 0, 1_000);
        assert_eq!(t.to_viewer("s1", "d1", offer("b")), Ok(ToViewer::Held));
        assert_eq!(t.to_viewer("s1", "d1", offer("c")), Ok(ToViewer::Held));
        let (_, held) = t.resume("s1", 8, 2, 10, None).expect("resumed");
        assert_eq!(held, vec![offer("c")]);
        assert_eq!(
            t.to_viewer("s1", "d1", offer("d")),
            Ok(ToViewer::Send(8, Box::new(offer("d"))))
        );
    }

    #[test]
    fn a_detached_session_ended_otherwise_does_not_expire_later() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        t.detach_conn(7, 0, 1_000);
        assert!(t.remove("s1").is_some());
        assert_eq!(t.next_expiry(), None);
        assert!(t.expire(2_000).is_empty());
    }

    #[test]
    fn a_host_reports_only_about_its_own_started_sessions_live_or_just_ended() {
        let mut t = Sessions::default();
        t.insert(accepted("s1", 7)).expect("insert");
        t.insert(session("pending", "d1", 7)).expect("insert");
        assert!(t.reported_by("s1", "d1", 10).is_some());
        assert!(t.reported_by("s1", "d2", 10).is_none(), "another device");
        assert!(t.reported_by("pending", "d1", 10).is_none(), "not started");
        let gone = t.remove("s1").expect("removed");
        assert!(t.reported_by("s1", "d1", 10).is_none(), "not noted yet");
        t.note_ended(&gone, 10);
        assert!(t.reported_by("s1", "d1", 10 + 60_000).is_some());
        assert!(t.reported_by("s1", "d2", 20).is_none());
        assert!(t.reported_by("s1", "d1", 11 + 60_000).is_none());
        let never = t.remove("pending").expect("removed");
        t.note_ended(&never, 20);
        assert!(t.reported_by("pending", "d1", 20).is_none());
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
