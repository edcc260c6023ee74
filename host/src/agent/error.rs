//! Errors of the agent: its identity, enrollment, connection and sessions.

use std::path::PathBuf;

/// Everything that can go wrong enrolling or connecting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The config file could not be read or parsed.
    #[error("cannot read config {path}: {reason}")]
    ConfigRead { path: PathBuf, reason: String },
    /// The config file could not be written.
    #[error("cannot write config {path}: {reason}")]
    ConfigWrite { path: PathBuf, reason: String },
    /// A config value is invalid; names the field (`max_fps`,
    /// `server[1]`).
    #[error("invalid config {path}: {field}: {reason}")]
    ConfigInvalid {
        path: PathBuf,
        field: String,
        reason: String,
    },
    /// The server URL is not usable.
    #[error("invalid server URL `{0}`: expected http://HOST:PORT or https://HOST")]
    BadUrl(String),
    /// TLS could not be set up (the CA file, the system's CAs).
    #[error("TLS: {0}")]
    Tls(String),
    /// The server could not be reached.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server refused the enrollment code.
    #[error("enrollment refused: {0}")]
    EnrollRefused(String),
    /// The server refused the device's authentication.
    #[error("the server refused this device: {0}")]
    AuthRefused(String),
    /// The server answered something unexpected.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// A session's WebRTC peer could not be set up.
    #[error("WebRTC: {0}")]
    Peer(#[from] meshdesk_peer::PeerError),
    /// A session's input injection could not be set up.
    #[error("input: {0}")]
    Input(#[from] crate::input::InputError),
    /// The screen cannot be captured, so no session can be served.
    #[error("screen capture unavailable: {0}")]
    CaptureUnavailable(String),
    /// This host serves as many sessions as it may.
    #[error("too many sessions on this host")]
    TooManySessions,
    /// `[metrics]` could not be set up (its address is taken).
    #[error("metrics: {0}")]
    Metrics(String),
}
