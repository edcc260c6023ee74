//! Sessions whose viewer connection was lost: kept for a grace period so a
//! new connection of the same user can resume them, with the host's
//! messages held meanwhile. A pure core: time is an argument, and nothing
//! here sends or sleeps.
//!
//! Held messages: the host restarts ICE (a new offer) when its connection to
//! the viewer degrades, and repeats the restart while it stays down. Only
//! the latest offer matters, so an offer drops everything held before it;
//! the candidates after it are kept, up to [`HELD_LIMIT`] messages.

use std::collections::HashMap;

use meshdesk_protocol::signal::ServerToViewer;

/// Most host messages kept for one detached session. Below the viewer
/// connection's queue (32) so a resume can hand them all over at once.
pub const HELD_LIMIT: usize = 24;

/// What became of a host message for a detached session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Kept for the viewer's resume.
    Held,
    /// Dropped: the hold is full (the host repeats its restart offer).
    Full,
}

/// One detached session.
#[derive(Debug)]
struct Entry {
    /// When the grace period ends (epoch ms).
    until: i64,
    /// Host messages for the viewer, in order; the first is the latest
    /// offer when there is one.
    held: Vec<ServerToViewer>,
}

/// Detached sessions by id.
#[derive(Debug, Default)]
pub struct Detached {
    by_id: HashMap<String, Entry>,
}

impl Detached {
    /// Detach a session until `until`.
    pub fn detach(&mut self, session_id: &str, until: i64) {
        self.by_id.insert(
            session_id.to_string(),
            Entry {
                until,
                held: Vec::new(),
            },
        );
    }

    /// Whether the session is detached (even if its time is up and the
    /// sweep has not ended it yet).
    pub fn contains(&self, session_id: &str) -> bool {
        self.by_id.contains_key(session_id)
    }

    /// Whether the session is detached and its grace period still runs at
    /// `now`.
    pub fn resumable(&self, session_id: &str, now: i64) -> bool {
        self.by_id.get(session_id).is_some_and(|e| now < e.until)
    }

    /// Keep a host message for a detached session. `None` if it is not
    /// detached.
    pub fn hold(&mut self, session_id: &str, msg: ServerToViewer) -> Option<Hold> {
        let entry = self.by_id.get_mut(session_id)?;
        if matches!(msg, ServerToViewer::Offer(_)) {
            // A newer offer (ICE restart) makes the earlier one and its
            // candidates useless.
            entry.held.clear();
        }
        if entry.held.len() >= HELD_LIMIT {
            return Some(Hold::Full);
        }
        entry.held.push(msg);
        Some(Hold::Held)
    }

    /// Attach the session again: forget it here and return what was held.
    pub fn take(&mut self, session_id: &str) -> Option<Vec<ServerToViewer>> {
        self.by_id.remove(session_id).map(|e| e.held)
    }

    /// Forget a session (it ended some other way).
    pub fn forget(&mut self, session_id: &str) {
        self.by_id.remove(session_id);
    }

    /// Remove and return the sessions whose grace period is over at `now`.
    pub fn expire(&mut self, now: i64) -> Vec<String> {
        let ids: Vec<String> = self
            .by_id
            .iter()
            .filter(|(_, e)| e.until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            self.by_id.remove(id);
        }
        ids
    }

    /// The earliest end of a grace period, if any session is detached.
    pub fn next_expiry(&self) -> Option<i64> {
        self.by_id.values().map(|e| e.until).min()
    }

    /// Number of detached sessions.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no session is detached.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshdesk_protocol::signal::{IceCandidate, IceMsg, SdpMsg};

    fn offer(sdp: &str) -> ServerToViewer {
        ServerToViewer::Offer(SdpMsg {
            session_id: "s".into(),
            sdp: sdp.into(),
        })
    }

    fn ice(c: &str) -> ServerToViewer {
        ServerToViewer::Ice(IceMsg {
            session_id: "s".into(),
            candidate: IceCandidate {
                candidate: c.into(),
                sdp_mid: None,
                sdp_mline_index: None,
                username_fragment: None,
            },
        })
    }

    #[test]
    fn a_grace_period_ends_at_its_deadline() {
        let mut d = Detached::default();
        d.detach("a", 1_000);
        d.detach("b", 2_000);
        assert_eq!(d.next_expiry(), Some(1_000));
        assert!(d.resumable("a", 999));
        assert!(!d.resumable("a", 1_000), "not at the deadline itself");
        assert!(d.expire(999).is_empty());
        assert_eq!(d.expire(1_000), vec!["a".to_string()]);
        assert!(!d.contains("a") && d.contains("b"));
        assert_eq!(d.next_expiry(), Some(2_000));
    }

    #[test]
    fn only_the_latest_offer_and_what_follows_it_is_held() {
        let mut d = Detached::default();
        assert_eq!(d.hold("s", ice("early")), None, "not detached");
        d.detach("s", 10);
        assert_eq!(d.hold("s", ice("stale")), Some(Hold::Held));
        assert_eq!(d.hold("s", offer("first")), Some(Hold::Held));
        assert_eq!(d.hold("s", ice("c1")), Some(Hold::Held));
        assert_eq!(d.hold("s", offer("second")), Some(Hold::Held));
        assert_eq!(d.hold("s", ice("c2")), Some(Hold::Held));
        assert_eq!(d.take("s"), Some(vec![offer("second"), ice("c2")]));
        assert_eq!(d.take("s"), None, "taken once");
        assert!(d.is_empty());
    }

    #[test]
    fn the_hold_is_bounded() {
        let mut d = Detached::default();
        d.detach("s", 10);
        for i in 0..HELD_LIMIT {
            assert_eq!(d.hold("s", ice(&i.to_string())), Some(Hold::Held));
        }
        assert_eq!(d.hold("s", ice("more")), Some(Hold::Full));
        // A new offer starts over.
        assert_eq!(d.hold("s", offer("new")), Some(Hold::Held));
        assert_eq!(d.take("s").map(|h| h.len()), Some(1));
    }

    #[test]
    fn forgotten_sessions_do_not_expire() {
        let mut d = Detached::default();
        d.detach("s", 10);
        d.forget("s");
        assert!(d.expire(100).is_empty());
        assert_eq!(d.next_expiry(), None);
        assert_eq!(d.len(), 0);
    }
}
