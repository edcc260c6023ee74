//! Getting a session's signaling back after the WebSocket failed: connect
//! again with backoff and send `session_resume` until the server answers
//! `session_resumed`, refuses for good, or the server's grace for the
//! session has passed (docs/protocol.md section 10.4). The peer connection
//! is not touched. With several server URLs, the one the session was on is
//! tried first, and one that cannot be reached gives way to the next at
//! once; the backoff is waited after a whole round.
//!
//! [`Backoff`] and [`judge`] are pure; [`reconnect`] is the driver.

use std::time::Duration;

use meshdesk_peer::server_list::{worth_another, Next};
use meshdesk_peer::{PeerError, SignalReceiver, SignalSender};
use meshdesk_protocol::signal::{ErrorCode, ServerToViewer, ViewerToServer};
use tokio::time::Instant;

use crate::session::handshake::SignalTarget;
use crate::ViewerError;

/// How long we try when the server does not say (`resume_grace_secs` in
/// `session_created`): its default grace for a lost session.
pub const DEFAULT_RESUME_WINDOW: Duration = Duration::from_secs(30);
/// Longest one attempt (connect, `welcome`, `session_resume`, reply) may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// A signaling connection that carries the session again.
#[derive(Debug)]
pub struct Resumed {
    pub tx: SignalSender<ViewerToServer>,
    pub rx: SignalReceiver<ServerToViewer>,
    /// The target, its current server the one that resumed the session.
    pub target: SignalTarget,
}

/// Delays before successive attempts: at once, then doubling from 250 ms
/// up to 2 s.
#[derive(Debug, Default)]
pub struct Backoff {
    attempts: u32,
}

impl Backoff {
    /// Longest wait between two attempts.
    const MAX: Duration = Duration::from_secs(2);

    /// The wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let n = self.attempts;
        self.attempts = self.attempts.saturating_add(1);
        match n {
            0 => Duration::ZERO,
            n => (Duration::from_millis(250) * 2u32.saturating_pow(n.min(8) - 1)).min(Self::MAX),
        }
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// What a server message means for a pending resume.
#[derive(Debug)]
pub enum Verdict {
    /// The session is ours again.
    Resumed,
    /// It is not, yet or ever.
    Not(Setback),
}

/// Why an attempt did not resume the session.
#[derive(Debug)]
pub enum Setback {
    /// Not now: try again after the backoff.
    Retry(String),
    /// That server could not be reached (or its connection dropped, or it
    /// did not answer in time): try the next one.
    Unreachable(String),
    /// Never: the session cannot come back.
    Refused(ViewerError),
}

/// Judge a message received after `session_resume` for `session_id`;
/// `None` for messages that do not answer it (presence, feed events).
pub fn judge(msg: &ServerToViewer, session_id: &str) -> Option<Verdict> {
    match msg {
        ServerToViewer::SessionResumed { session_id: s, .. } if s == session_id => {
            Some(Verdict::Resumed)
        }
        ServerToViewer::Error(e) if e.session_id.as_deref() == Some(session_id) => {
            Some(Verdict::Not(match e.code {
                // Still attached to our old connection, which the server
                // has not noticed is dead; it probes it and closes it.
                ErrorCode::Forbidden | ErrorCode::RateLimited | ErrorCode::Internal => {
                    Setback::Retry(e.message.clone())
                }
                ErrorCode::NotFound => Setback::Refused(ViewerError::NotResumed(
                    "the server no longer has the session (it ended or waited too long)".into(),
                )),
                _ => Setback::Refused(ViewerError::NotResumed(e.message.clone())),
            }))
        }
        ServerToViewer::SessionEnd(end) if end.session_id == session_id => Some(Verdict::Not(
            Setback::Refused(ViewerError::Ended(end.reason)),
        )),
        _ => None,
    }
}

/// What a resume names: the session, and the secret `session_created`
/// gave for it, with which the server moves the session at once even while
/// the old connection still looks alive to it. Never prints the secret.
#[derive(Clone)]
pub struct ResumeKey {
    pub session_id: String,
    secret: Option<String>,
    /// How long the server keeps the session for us after a loss.
    window: Duration,
}

impl ResumeKey {
    /// `grace_secs` is `session_created`'s `resume_grace_secs`.
    pub fn new(session_id: String, secret: Option<String>, grace_secs: Option<u64>) -> Self {
        Self {
            session_id,
            secret,
            window: grace_secs.map_or(DEFAULT_RESUME_WINDOW, Duration::from_secs),
        }
    }
}

impl std::fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumeKey")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// Connect again and resume the session, with backoff, for as long as the
/// server keeps it (`resume_grace_secs` in `session_created`).
pub async fn reconnect(mut target: SignalTarget, key: ResumeKey) -> Result<Resumed, ViewerError> {
    if key.window.is_zero() {
        return Err(ViewerError::NotResumed(
            "the server keeps no session after its viewer's connection is lost".into(),
        ));
    }
    let give_up = Instant::now() + key.window;
    let mut backoff = Backoff::default();
    let mut delay = backoff.next_delay();
    let mut last = String::from("no attempt made");
    loop {
        let start = Instant::now() + delay;
        if start >= give_up {
            return Err(ViewerError::NotResumed(format!(
                "the server could not be reached again within {} s ({last})",
                key.window.as_secs()
            )));
        }
        tokio::time::sleep_until(start).await;
        let attempt = tokio::time::timeout(ATTEMPT_TIMEOUT, attempt(&target, &key));
        let setback = match attempt.await {
            Ok(Ok((tx, rx))) => {
                target.servers.connected();
                return Ok(Resumed { tx, rx, target });
            }
            Ok(Err(setback)) => setback,
            Err(_) => Setback::Unreachable("the server did not answer in time".into()),
        };
        let server = target.servers.current().to_string();
        delay = match setback {
            Setback::Refused(e) => return Err(e),
            Setback::Retry(why) => {
                last = why;
                backoff.next_delay()
            }
            Setback::Unreachable(why) => {
                last = why;
                match target.servers.failed() {
                    Next::Another => Duration::ZERO,
                    Next::RoundOver => backoff.next_delay(),
                }
            }
        };
        tracing::info!(attempt = backoff.attempts(), %server, why = %last, next = target.servers.current(), "session not resumed yet");
    }
}

/// One attempt: a new connection to the target's current server,
/// `session_resume`, and its answer.
async fn attempt(
    target: &SignalTarget,
    key: &ResumeKey,
) -> Result<(SignalSender<ViewerToServer>, SignalReceiver<ServerToViewer>), Setback> {
    let session_id = key.session_id.as_str();
    let (tx, mut rx) = target.connect_current().await.map_err(|e| {
        let status = e.status();
        match crate::session::handshake::websocket_error(e) {
            ViewerError::LoginExpired => Setback::Refused(ViewerError::LoginExpired),
            other if worth_another(status) => Setback::Unreachable(other.to_string()),
            other => Setback::Retry(other.to_string()),
        }
    })?;
    // The connection dropped before the server answered: as if it could
    // not be reached.
    let lost = |e: PeerError| Setback::Unreachable(e.to_string());
    tx.send(ViewerToServer::SessionResume {
        session_id: session_id.to_string(),
        resume_secret: key.secret.clone(),
    })
    .await
    .map_err(lost)?;
    loop {
        match rx.recv().await {
            Some(Ok(msg)) => match judge(&msg, session_id) {
                Some(Verdict::Resumed) => return Ok((tx, rx)),
                Some(Verdict::Not(setback)) => return Err(setback),
                None => {}
            },
            Some(Err(PeerError::Decode(e))) => tracing::debug!(error = %e, "undecodable message"),
            Some(Err(e)) => return Err(lost(e)),
            None => {
                return Err(Setback::Unreachable(
                    "the server closed the connection".into(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshdesk_protocol::rest::Permission;
    use meshdesk_protocol::signal::{EndReason, ErrorMsg, SessionEndMsg};

    fn error(code: ErrorCode, session_id: Option<&str>) -> ServerToViewer {
        ServerToViewer::Error(ErrorMsg {
            code,
            message: "m".into(),
            session_id: session_id.map(str::to_string),
            request_id: None,
        })
    }

    #[test]
    fn backoff_starts_at_once_and_is_bounded() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..7).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [0, 250, 500, 1000, 2000, 2000, 2000]);
        for _ in 0..100 {
            assert!(b.next_delay() <= Backoff::MAX);
        }
        assert_eq!(b.attempts(), 107);
    }

    #[test]
    fn replies_about_our_session_decide_the_resume() {
        let resumed = ServerToViewer::SessionResumed {
            session_id: "s".into(),
            device_id: "d".into(),
            permission: Permission::View,
        };
        assert!(matches!(judge(&resumed, "s"), Some(Verdict::Resumed)));
        assert!(judge(&resumed, "other").is_none());
        assert!(matches!(
            judge(&error(ErrorCode::Forbidden, Some("s")), "s"),
            Some(Verdict::Not(Setback::Retry(_)))
        ));
        assert!(matches!(
            judge(&error(ErrorCode::NotFound, Some("s")), "s"),
            Some(Verdict::Not(Setback::Refused(ViewerError::NotResumed(_))))
        ));
        let end = ServerToViewer::SessionEnd(SessionEndMsg::new("s", EndReason::Revoked));
        assert!(matches!(
            judge(&end, "s"),
            Some(Verdict::Not(Setback::Refused(ViewerError::Ended(
                EndReason::Revoked
            ))))
        ));
    }

    #[test]
    fn other_messages_do_not_answer_the_resume() {
        assert!(judge(&error(ErrorCode::NotFound, None), "s").is_none());
        assert!(judge(&ServerToViewer::Pong, "s").is_none());
        let presence = ServerToViewer::Presence {
            device_id: "d".into(),
            name: "pc".into(),
            online: true,
        };
        assert!(judge(&presence, "s").is_none());
    }

    #[test]
    fn the_servers_grace_sets_how_long_a_resume_is_tried() {
        let key = |grace| ResumeKey::new("s".into(), None, grace);
        assert_eq!(key(None).window, DEFAULT_RESUME_WINDOW);
        assert_eq!(key(Some(5)).window, Duration::from_secs(5));
        assert_eq!(key(Some(0)).window, Duration::ZERO);
    }

    #[tokio::test]
    async fn no_grace_means_no_resume_attempt() {
        // Nothing listens at this address; with no grace it is not tried.
        let target = SignalTarget {
            servers: meshdesk_peer::ServerList::one("http://127.0.0.1:9"),
            options: meshdesk_peer::ConnectOptions::default(),
        };
        let started = std::time::Instant::now();
        let result = reconnect(target, ResumeKey::new("s".into(), None, Some(0))).await;
        assert!(
            matches!(&result, Err(ViewerError::NotResumed(why)) if why.contains("keeps no session")),
            "{:?}",
            result.err()
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
