//! Several server URLs for one service, tried in order: the nodes of a
//! cluster, or one server under several names. Pure: the caller connects,
//! then says how it went, and [`ServerList`] says which URL is next and
//! whether a whole round has failed (time to back off).
//!
//! The rules, shared by the host agent and the viewer:
//! - Start with the first URL and stay on one that works.
//! - When a connection fails, or one that was up drops, move to the next
//!   URL (after the last comes the first).
//! - When every URL failed since the last one that worked, the round is
//!   over: the caller waits its backoff and starts again from the first.

/// Server base URLs (`http(s)://HOST[:PORT]`, already normalised) and
/// where the rotation stands. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerList {
    /// In the order they are tried.
    urls: Vec<String>,
    /// The URL to use now.
    at: usize,
    /// URLs that failed since one last worked (or since the round began).
    failed: usize,
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Another URL has not been tried in this round: try it now.
    Another,
    /// Every URL failed: wait the backoff, then start again at the first.
    RoundOver,
}

impl ServerList {
    /// A list of `urls` in order; `None` when there is none.
    pub fn new(urls: Vec<String>) -> Option<ServerList> {
        (!urls.is_empty()).then_some(ServerList {
            urls,
            at: 0,
            failed: 0,
        })
    }

    /// A list of one URL.
    pub fn one(url: impl Into<String>) -> ServerList {
        ServerList {
            urls: vec![url.into()],
            at: 0,
            failed: 0,
        }
    }

    /// The URL to use now.
    pub fn current(&self) -> &str {
        // `at` is always an index of the non-empty `urls`.
        &self.urls[self.at]
    }

    /// The place of the current URL in [`Self::urls`] (for a caller that
    /// keeps something per URL, such as a connection pool).
    pub fn index(&self) -> usize {
        self.at
    }

    /// Every URL, in order.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The current URL works (connected, or it answered): a failure from
    /// now on starts a new round.
    pub fn connected(&mut self) {
        self.failed = 0;
    }

    /// The current URL failed (could not be reached, or its connection
    /// dropped): move on.
    pub fn failed(&mut self) -> Next {
        self.failed += 1;
        if self.failed >= self.urls.len() {
            self.failed = 0;
            self.at = 0;
            Next::RoundOver
        } else {
            self.at = (self.at + 1) % self.urls.len();
            Next::Another
        }
    }

    /// The URLs joined for a message: `http://a, http://b`.
    pub fn describe(&self) -> String {
        self.urls.join(", ")
    }
}

/// Whether a request that got `status` back (`None`: no HTTP answer at
/// all, the server could not be reached) is worth sending to the next URL.
/// Only when nobody answered, or a proxy or load balancer in front said
/// its node is gone or full (502, 503, 504); any other answer, a 4xx
/// above all, is the service's final word.
pub fn worth_another(status: Option<u16>) -> bool {
    matches!(status, None | Some(502..=504))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(urls: &[&str]) -> ServerList {
        ServerList::new(urls.iter().map(|u| u.to_string()).collect()).expect("not empty")
    }

    #[test]
    fn an_empty_list_is_refused() {
        assert_eq!(ServerList::new(Vec::new()), None);
        assert_eq!(ServerList::one("http://a").urls(), ["http://a"]);
    }

    #[test]
    fn failures_move_along_the_list_then_a_round_is_over() {
        let mut s = list(&["http://a", "http://b", "http://c"]);
        assert_eq!(s.current(), "http://a");
        assert_eq!(s.failed(), Next::Another);
        assert_eq!(s.current(), "http://b");
        assert_eq!(s.index(), 1);
        assert_eq!(s.failed(), Next::Another);
        assert_eq!(s.current(), "http://c");
        assert_eq!(s.failed(), Next::RoundOver);
        assert_eq!(s.current(), "http://a", "a new round starts at the first");
        assert_eq!(s.failed(), Next::Another);
        assert_eq!(s.current(), "http://b");
    }

    #[test]
    fn a_working_url_is_kept_and_its_drop_tries_the_next_at_once() {
        let mut s = list(&["http://a", "http://b"]);
        s.failed();
        s.connected();
        assert_eq!(s.current(), "http://b");
        // B drops after being up: A (after the last comes the first) now.
        assert_eq!(s.failed(), Next::Another);
        assert_eq!(s.current(), "http://a");
        // A is down too: the round is over.
        assert_eq!(s.failed(), Next::RoundOver);
        assert_eq!(s.current(), "http://a");
    }

    #[test]
    fn one_url_backs_off_after_every_failure() {
        let mut s = ServerList::one("http://a");
        for _ in 0..3 {
            assert_eq!(s.failed(), Next::RoundOver);
            assert_eq!(s.current(), "http://a");
        }
        s.connected();
        assert_eq!(s.failed(), Next::RoundOver);
    }

    #[test]
    fn only_no_answer_or_a_gateways_refusal_moves_on() {
        assert!(worth_another(None));
        for status in [502, 503, 504] {
            assert!(worth_another(Some(status)), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 429, 500, 501] {
            assert!(!worth_another(Some(status)), "{status}");
        }
    }

    #[test]
    fn described_in_order() {
        assert_eq!(
            list(&["http://a", "https://b"]).describe(),
            "http://a, https://b"
        );
    }
}
