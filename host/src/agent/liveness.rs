//! Whether the agent's signaling connection is alive. A pure policy: the
//! driver reports what it heard and when, and asks at
//! [`Liveness::deadline`] what to do.
//!
//! The agent pings every heartbeat; a connection that stays silent for
//! [`MISSED_HEARTBEATS`] heartbeats is dead. When a session loses its path
//! (a sign that this machine's network changed), the connection is probed
//! at once and must answer within [`PROBE_TIMEOUT`].

use std::time::Duration;

use tokio::time::Instant;

/// How long the server may take to answer a probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Heartbeats without any message from the server before the connection is
/// given up as dead (the server answers every ping).
pub const MISSED_HEARTBEATS: u32 = 3;

/// What the driver does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing until the next deadline.
    Wait,
    /// Send a ping.
    Ping,
    /// Give the connection up, for this reason.
    Dead(&'static str),
}

/// Liveness of one signaling connection.
#[derive(Debug, Clone)]
pub struct Liveness {
    heartbeat: Duration,
    /// When anything last came from the server.
    last_heard: Instant,
    /// When the next heartbeat ping is due.
    next_beat: Instant,
    /// A probe is out: the server must answer by then.
    probe_by: Option<Instant>,
}

impl Liveness {
    /// A connection authenticated at `now`, pinging every `heartbeat`.
    pub fn new(heartbeat: Duration, now: Instant) -> Self {
        Self {
            heartbeat,
            last_heard: now,
            next_beat: now,
            probe_by: None,
        }
    }

    /// A message came from the server at `now`.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = now;
        self.probe_by = None;
    }

    /// A session lost its path at `now`: ping now, unless a probe is out.
    pub fn path_lost(&mut self, now: Instant) -> Verdict {
        if self.probe_by.is_some() {
            return Verdict::Wait;
        }
        self.probe_by = Some(now + PROBE_TIMEOUT);
        Verdict::Ping
    }

    /// When to call [`Liveness::tick`] next.
    pub fn deadline(&self) -> Instant {
        self.probe_by
            .map_or(self.next_beat, |probe| probe.min(self.next_beat))
    }

    /// What to do at `now`.
    pub fn tick(&mut self, now: Instant) -> Verdict {
        if self.probe_by.is_some_and(|by| now >= by) {
            return Verdict::Dead("no answer from the server after a network change");
        }
        if now < self.next_beat {
            return Verdict::Wait;
        }
        self.next_beat = now + self.heartbeat;
        if now.saturating_duration_since(self.last_heard) > self.heartbeat * MISSED_HEARTBEATS {
            return Verdict::Dead("the server stopped answering");
        }
        Verdict::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEAT: Duration = Duration::from_secs(10);

    #[test]
    fn pings_every_heartbeat_while_the_server_answers() {
        let t0 = Instant::now();
        let mut l = Liveness::new(BEAT, t0);
        assert_eq!(l.tick(t0), Verdict::Ping, "at once");
        assert_eq!(l.deadline(), t0 + BEAT);
        assert_eq!(l.tick(t0 + BEAT / 2), Verdict::Wait);
        for n in 1..10 {
            l.heard(t0 + BEAT * n - Duration::from_millis(1));
            assert_eq!(l.tick(t0 + BEAT * n), Verdict::Ping);
        }
    }

    #[test]
    fn a_silent_server_is_given_up_after_three_heartbeats() {
        let t0 = Instant::now();
        let mut l = Liveness::new(BEAT, t0);
        let mut now = t0;
        let mut pings = 0;
        loop {
            match l.tick(now) {
                Verdict::Ping => pings += 1,
                Verdict::Dead(why) => {
                    assert_eq!(why, "the server stopped answering");
                    break;
                }
                Verdict::Wait => {}
            }
            now = l.deadline();
        }
        assert_eq!(pings, 4);
        assert!(now > t0 + BEAT * MISSED_HEARTBEATS);
    }

    #[test]
    fn a_lost_path_probes_once_and_an_answer_clears_it() {
        let t0 = Instant::now();
        let mut l = Liveness::new(BEAT, t0);
        l.tick(t0);
        let lost = t0 + Duration::from_secs(1);
        assert_eq!(l.path_lost(lost), Verdict::Ping);
        assert_eq!(l.path_lost(lost), Verdict::Wait, "one probe at a time");
        assert_eq!(l.deadline(), lost + PROBE_TIMEOUT);
        l.heard(lost + Duration::from_millis(20));
        assert_eq!(l.deadline(), t0 + BEAT);
        assert_eq!(l.tick(lost + PROBE_TIMEOUT), Verdict::Wait);
    }

    #[test]
    fn an_unanswered_probe_gives_the_connection_up() {
        let t0 = Instant::now();
        let mut l = Liveness::new(BEAT, t0);
        l.tick(t0);
        l.path_lost(t0);
        assert_eq!(
            l.tick(t0 + PROBE_TIMEOUT),
            Verdict::Dead("no answer from the server after a network change")
        );
    }
}
