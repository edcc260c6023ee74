//! The one error type of this crate.

use meshdesk_protocol::DecodeError;

/// Everything that can go wrong in a peer session or a signaling connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The WebRTC stack refused an operation (SDP, candidates, tracks).
    #[error("webrtc: {0}")]
    WebRtc(String),
    /// A remote SDP or candidate could not be used.
    #[error("invalid remote description or candidate: {0}")]
    InvalidRemote(String),
    /// The operation needs a state the session is not in yet (or any more),
    /// for example writing video before the answer was applied.
    #[error("not ready: {0}")]
    NotReady(&'static str),
    /// A data channel is not open (not yet, or closed).
    #[error("data channel `{0}` is not open")]
    ChannelNotOpen(&'static str),
    /// The session was closed.
    #[error("session closed")]
    Closed,
    /// The signaling WebSocket could not connect or failed.
    #[error("websocket: {0}")]
    WebSocket(String),
    /// The server (or a proxy in front of it) answered the WebSocket
    /// upgrade with an HTTP status instead of upgrading: `text` is e.g.
    /// `HTTP error: 401 Unauthorized`.
    #[error("websocket: {text}")]
    UpgradeRefused { status: u16, text: String },
    /// The server closed the signaling WebSocket with a close frame saying
    /// why (1012 "server shutting down" when it stops or restarts).
    #[error("the server closed the connection: {reason} (code {code})")]
    ClosedByServer { code: u16, reason: String },
    /// A signaling URL or header was invalid.
    #[error("invalid signaling request: {0}")]
    InvalidRequest(String),
    /// A signaling message could not be decoded; the connection goes on.
    #[error("undecodable signaling message: {0}")]
    Decode(#[from] DecodeError),
    /// A `server` setting is unusable; `field` names the entry (`server`,
    /// `server[1]`).
    #[error("{field}: {reason}")]
    BadServer { field: String, reason: String },
}

impl PeerError {
    /// The HTTP status a refused WebSocket upgrade was answered with;
    /// `None` when no server answered (or the failure came later).
    pub fn status(&self) -> Option<u16> {
        match self {
            PeerError::UpgradeRefused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Wrap a webrtc error, truncating its text: errors from `write_sample`
    /// after close can embed whole payloads.
    pub(crate) fn webrtc(err: impl std::fmt::Display) -> Self {
        PeerError::WebRtc(truncate(err.to_string(), 200))
    }
}

/// Cut a message to at most `max` bytes on a char boundary.
pub(crate) fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_webrtc_errors_are_truncated() {
        let err = PeerError::webrtc("x".repeat(10_000));
        assert!(err.to_string().len() < 300);
        assert_eq!(truncate("héllo".into(), 2), "h…");
    }
}
