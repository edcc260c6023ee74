//! Sessions that ended a moment ago, kept for [`ENDED_KEPT_MS`] so a
//! host's report about one (a file transfer that finished just after the
//! session closed) can still be checked against it. A pure core: time is
//! an argument, and the memory is bounded by [`MAX_ENDED`].

use std::collections::{HashMap, VecDeque};

use super::sessions::Session;

/// How long an ended session is remembered.
pub const ENDED_KEPT_MS: i64 = 60_000;

/// Most ended sessions remembered at once; beyond it the oldest is
/// forgotten early. A minute of ends on a busy server fits many times.
pub const MAX_ENDED: usize = 4096;

/// Recently ended sessions by id.
#[derive(Debug, Default)]
pub struct Ended {
    /// The sessions, with when they ended (epoch ms).
    by_id: HashMap<String, (i64, Session)>,
    /// Their ids in the order they ended, oldest first, for forgetting.
    order: VecDeque<String>,
}

impl Ended {
    /// Remember that `s` ended at `now`; forget those past their time.
    pub fn note(&mut self, s: &Session, now: i64) {
        self.forget_before(now - ENDED_KEPT_MS);
        while self.order.len() >= MAX_ENDED {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
        if self.by_id.insert(s.id.clone(), (now, s.clone())).is_none() {
            self.order.push_back(s.id.clone());
        }
    }

    /// The session `id` of device `device_id`, if it ended within
    /// [`ENDED_KEPT_MS`] before `now`.
    pub fn get(&self, id: &str, device_id: &str, now: i64) -> Option<&Session> {
        match self.by_id.get(id) {
            Some((at, s)) if s.device_id == device_id && now - at <= ENDED_KEPT_MS => Some(s),
            _ => None,
        }
    }

    /// Number of sessions remembered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    fn forget_before(&mut self, cutoff: i64) {
        while let Some(id) = self.order.front() {
            match self.by_id.get(id) {
                Some((at, _)) if *at >= cutoff => break,
                _ => {
                    if let Some(id) = self.order.pop_front() {
                        self.by_id.remove(&id);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::secret::Secret;
    use meshdesk_protocol::rest::Permission;

    fn session(id: &str, device: &str) -> Session {
        Session {
            id: id.into(),
            device_id: device.into(),
            device_name: "pc".into(),
            owner_id: 1,
            viewer_conn: 7,
            viewer_user_id: 2,
            viewer_username: "bob".into(),
            permission: Permission::View,
            created_at: 0,
            accepted_at: Some(0),
            resume_secret: Secret::new("secret".into()),
            consent_asked_at: None,
        }
    }

    #[test]
    fn an_ended_session_is_found_for_its_device_for_a_minute() {
        let mut e = Ended::default();
        e.note(&session("s1", "d1"), 1_000);
        assert!(e.get("s1", "d1", 1_000 + ENDED_KEPT_MS).is_some());
        assert!(e.get("s1", "d2", 1_000).is_none(), "another device's");
        assert!(e.get("s2", "d1", 1_000).is_none());
        assert!(e.get("s1", "d1", 1_001 + ENDED_KEPT_MS).is_none());
    }

    #[test]
    fn old_ends_are_forgotten_and_the_memory_is_bounded() {
        let mut e = Ended::default();
        e.note(&session("old", "d1"), 0);
        e.note(&session("new", "d1"), ENDED_KEPT_MS + 1);
        assert_eq!(e.len(), 1, "the old one is gone");
        for i in 0..MAX_ENDED + 10 {
            e.note(&session(&format!("s{i}"), "d1"), ENDED_KEPT_MS + 2);
        }
        assert_eq!(e.len(), MAX_ENDED);
        assert!(e.get("s0", "d1", ENDED_KEPT_MS + 2).is_none());
        let last = format!("s{}", MAX_ENDED + 9);
        assert!(e.get(&last, "d1", ENDED_KEPT_MS + 2).is_some());
    }
}
