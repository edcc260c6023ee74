//! Consent on the remote PC, as the viewer sees it while it waits for the
//! host's offer: the host may be asking its user first (`consent`
//! `waiting`), which can take up to the host's prompt timeout, so the
//! handshake's deadline moves while it waits; a deny ends the session with
//! `declined` (see [`crate::ViewerError`]). The words are the same as the
//! browser's.

use meshdesk_peer::{SignalReceiver, SignalSender, ViewerPeer};
use meshdesk_protocol::signal::{
    ConsentState, IceCandidate, SdpMsg, ServerToViewer, ViewerToServer,
};
use tokio::time::{Duration, Instant};

use super::handshake::{ended_early, next, peer_error, websocket_error};
use super::verify::Verifier;
use crate::ViewerError;

/// Shown while the remote user is asked.
pub const WAITING_TEXT: &str = "Waiting for the remote user to allow the session";
/// How long to wait for an answer at most: the longest prompt a host may
/// show (600 s) and some slack.
const MOST_WAIT: Duration = Duration::from_secs(620);
/// After "Allow", the rest of the handshake gets the usual time.
const AFTER_ALLOW: Duration = Duration::from_secs(15);

/// What a consent step means for the handshake: words for the person, and
/// the handshake's new deadline.
pub fn on_consent(state: ConsentState, now: Instant) -> (Option<&'static str>, Option<Instant>) {
    match state {
        ConsentState::Waiting => (Some(WAITING_TEXT), Some(now + MOST_WAIT)),
        ConsentState::Allowed => (
            Some("The remote user allowed the session"),
            Some(now + AFTER_ALLOW),
        ),
        // A session_end with the reason follows and says it.
        ConsentState::Denied | ConsentState::TimedOut | ConsentState::Disconnected => (None, None),
    }
}

/// Wait for the host's offer and answer it, through any consent steps.
/// Returns the candidates that overtook the offer and the check of the
/// host's DTLS binding (`key` is the device's pinned key); `Err(None)`
/// once the deadline passed.
pub async fn answer_offer(
    peer: &ViewerPeer,
    (session_id, key): (&str, &[u8; 32]),
    tx: &SignalSender<ViewerToServer>,
    rx: &mut SignalReceiver<ServerToViewer>,
    deadline: &mut Instant,
) -> Result<(Vec<IceCandidate>, Verifier), Option<ViewerError>> {
    let mut early = Vec::new();
    loop {
        let msg = tokio::time::timeout_at(*deadline, next(rx))
            .await
            .map_err(|_| None)?
            .map_err(Some)?;
        match msg {
            ServerToViewer::Offer(offer) if offer.session_id == session_id => {
                let sdp = peer
                    .accept_offer(offer.sdp.clone())
                    .await
                    .map_err(peer_error)?;
                // The check of the binding of the fingerprints in the
                // offer and the answer.
                let verifier = Verifier::new(key, session_id, &offer.sdp, &sdp)
                    .map_err(|e| Some(ViewerError::NotVerified(e)))?;
                let answer = SdpMsg {
                    session_id: session_id.to_string(),
                    sdp,
                };
                tx.send(ViewerToServer::Answer(answer))
                    .await
                    .map_err(websocket_error)?;
                return Ok((early, verifier));
            }
            ServerToViewer::Ice(ice) if ice.session_id == session_id => early.push(ice.candidate),
            ServerToViewer::SessionEnd(end) if end.session_id == session_id => {
                return Err(Some(ended_early(end)))
            }
            ServerToViewer::Consent(c) if c.session_id == session_id => {
                tracing::info!(state = ?c.state, "consent on the remote PC");
                let (words, moved) = on_consent(c.state, Instant::now());
                if let Some(words) = words {
                    eprintln!("{words}");
                }
                if let Some(d) = moved {
                    *deadline = d;
                }
            }
            ServerToViewer::SessionAccepted { .. } => tracing::debug!("host accepted"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_moves_the_deadline_and_says_so() {
        let now = Instant::now();
        let (words, d) = on_consent(ConsentState::Waiting, now);
        assert_eq!(words, Some(WAITING_TEXT));
        assert!(d.expect("moved") >= now + Duration::from_secs(600));
        let (_, d) = on_consent(ConsentState::Allowed, now);
        assert_eq!(d, Some(now + AFTER_ALLOW));
        assert_eq!(on_consent(ConsentState::Denied, now), (None, None));
    }
}
