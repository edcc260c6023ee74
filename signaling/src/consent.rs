//! Consent steps a host reports (`consent`): the person at the device was
//! asked, allowed, denied, did not answer, or disconnected a session. The
//! server records each decision in the feed and relays every step to the
//! session's viewer, which shows it ("Waiting for the remote user to allow
//! the session", ...). The host decides; the server only passes it on.

use meshdesk_protocol::rest::EventKind;
use meshdesk_protocol::signal::{ConsentMsg, ConsentState, ServerToViewer};

use crate::broker::{route_error, session_event};
use crate::clock::now_ms;
use crate::feed;
use crate::hub::ToViewer;
use crate::state::AppState;
use crate::store::NewEvent;
use meshdesk_protocol::signal::ErrorMsg;

/// Longest a host may keep a session waiting for its user's answer after
/// saying so, beyond the usual wait for `session_accept`: the host's
/// `prompt_timeout_secs` is at most 600.
pub const MAX_WAIT_MS: i64 = 600_000;

/// The feed kind and words of a consent step; `None` for `waiting`, which
/// decides nothing.
pub fn feed_entry(state: ConsentState) -> Option<(EventKind, &'static str)> {
    match state {
        ConsentState::Waiting => None,
        ConsentState::Allowed => Some((EventKind::ConsentAllowed, "allowed")),
        ConsentState::Denied => Some((EventKind::ConsentDenied, "denied")),
        ConsentState::TimedOut => Some((EventKind::ConsentDenied, "no answer")),
        ConsentState::Disconnected => Some((EventKind::ConsentEnded, "disconnected")),
    }
}

/// A host's `consent` for one of its sessions.
pub async fn from_host(st: &AppState, device_id: &str, m: ConsentMsg) -> Result<(), ErrorMsg> {
    let sid = m.session_id.clone();
    let session = st
        .hub
        .with_sessions(|t| t.consent_asked(&sid, device_id, now_ms()))
        .map_err(|e| route_error(e, &sid))?;
    tracing::info!(session = %sid, state = ?m.state, "consent");
    if let Some((kind, detail)) = feed_entry(m.state) {
        feed::record(
            st,
            kind,
            NewEvent {
                detail: Some(detail.to_string()),
                ..session_event(&session)
            },
        )
        .await;
    }
    let routed = st
        .hub
        .with_sessions(|t| t.to_viewer(&sid, device_id, ServerToViewer::Consent(m)))
        .map_err(|e| route_error(e, &sid))?;
    if let ToViewer::Send(conn, out) = routed {
        st.hub.send_to_viewer(conn, *out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_has_a_feed_kind_and_waiting_has_none() {
        assert_eq!(feed_entry(ConsentState::Waiting), None);
        let kinds: Vec<_> = [
            ConsentState::Allowed,
            ConsentState::Denied,
            ConsentState::TimedOut,
            ConsentState::Disconnected,
        ]
        .into_iter()
        .map(|s| feed_entry(s).expect("a decision").0)
        .collect();
        assert_eq!(
            kinds,
            [
                EventKind::ConsentAllowed,
                EventKind::ConsentDenied,
                EventKind::ConsentDenied,
                EventKind::ConsentEnded
            ]
        );
    }
}
