//! Challenges handed out and not yet answered, one per account, each
//! good for a few minutes. Pure: the clock is an argument.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a challenge may go unanswered.
pub const TTL: Duration = Duration::from_secs(300);

/// Most challenges held at once (beyond it the oldest is dropped).
const MAX: usize = 10_000;

/// Pending challenge states by account id.
#[derive(Debug)]
pub struct Pending<T> {
    by_user: HashMap<i64, (T, Instant)>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            by_user: HashMap::new(),
        }
    }
}

impl<T> Pending<T> {
    /// Hold `state` for `user`, replacing an earlier one.
    pub fn insert(&mut self, user: i64, state: T, now: Instant) {
        self.by_user
            .retain(|_, (_, at)| now.duration_since(*at) < TTL);
        if self.by_user.len() >= MAX {
            let oldest = self
                .by_user
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.by_user.remove(&k);
            }
        }
        self.by_user.insert(user, (state, now));
    }

    /// The state for `user`, once, if it has not expired.
    pub fn take(&mut self, user: i64, now: Instant) -> Option<T> {
        let (state, at) = self.by_user.remove(&user)?;
        (now.duration_since(at) < TTL).then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_taken_once_and_expires() {
        let mut p = Pending::default();
        let now = Instant::now();
        p.insert(1, "a", now);
        p.insert(2, "b", now);
        assert_eq!(p.take(1, now), Some("a"));
        assert_eq!(p.take(1, now), None);
        assert_eq!(p.take(2, now + TTL), None);
    }

    #[test]
    fn a_new_challenge_replaces_the_old() {
        let mut p = Pending::default();
        let now = Instant::now();
        p.insert(1, "a", now);
        p.insert(1, "b", now);
        assert_eq!(p.take(1, now), Some("b"));
    }
}
