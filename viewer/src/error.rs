//! The one error type of the viewer. Every variant prints as one line a
//! person can act on; `main` prints it and exits non-zero.

use std::path::PathBuf;

use meshdesk_protocol::signal::EndReason;

/// Everything that can stop a viewer command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ViewerError {
    /// `--server` is not an `http(s)://host[:port]` URL.
    #[error("invalid server URL `{0}`: expected http://HOST[:PORT] or https://HOST[:PORT]")]
    BadUrl(String),
    /// The TLS options are unusable (a bad fingerprint, an unreadable CA
    /// file).
    #[error("TLS: {0}")]
    Tls(String),
    /// The server could not be reached at all.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server refused the username and password.
    #[error("wrong username or password")]
    WrongCredentials,
    /// Too many failed sign-ins; the server asks to wait.
    #[error("too many failed sign-ins; try again in {0} s")]
    TooManyAttempts(u64),
    /// No password in `MESHDESK_PASSWORD` and no terminal to ask on.
    #[error("cannot read the password: {0} (set MESHDESK_PASSWORD)")]
    Password(String),
    /// The account needs a second factor that was not given or was wrong.
    #[error("{0}")]
    SecondFactor(String),
    /// No stored login.
    #[error("not logged in; run `meshdesk-viewer login --server URL --username NAME`")]
    NotLoggedIn,
    /// The stored token expired or the server no longer knows it.
    #[error("login expired; run `meshdesk-viewer login --server URL --username NAME` again")]
    LoginExpired,
    /// The login file could not be read or written.
    #[error("login file {}: {reason}", path.display())]
    LoginFile { path: PathBuf, reason: String },
    /// No device with that name or id (or one this user may not see).
    #[error("no device named or with id `{0}`; `meshdesk-viewer list` shows yours")]
    UnknownDevice(String),
    /// More than one device carries that name.
    #[error(
        "{count} devices are named `{name}`; connect by id instead (see `meshdesk-viewer list`)"
    )]
    AmbiguousDevice { name: String, count: usize },
    /// The device is not connected to the server.
    /// `--screen ID` names no screen of the device.
    #[error("{device} has no screen `{id}`; its screens: {known}")]
    UnknownScreen {
        device: String,
        id: String,
        known: String,
    },

    #[error("device `{0}` is offline")]
    Offline(String),
    /// The server or the host refused the session.
    #[error("session refused: {0}")]
    Refused(String),
    /// The server answered something unexpected.
    #[error("server error: {0}")]
    Server(String),
    /// Signaling or WebRTC could not set up or keep the session.
    #[error("connection failed: {0}")]
    ConnectionFailed(String),
    /// The session was ended by the other side or the server.
    #[error("session ended: {}", end_reason_text(*.0))]
    Ended(EndReason),
    /// The signaling connection failed during the session and the session
    /// could not be resumed on a new one.
    #[error("lost the connection to the server and could not resume the session: {0}")]
    NotResumed(String),
    /// The window or the display could not be used.
    #[error("window: {0}")]
    Window(String),
    /// The video decoder could not start or decode.
    #[error("video decoder: {0}")]
    Decoder(String),
    /// The host's DTLS binding is missing or does not verify.
    #[error("could not verify the remote PC: {0}")]
    NotVerified(String),
    /// The device's key is not the one pinned at first use.
    #[error(
        "WARNING: the key of device `{device}` has changed (safety code {pinned_code} pinned, \
         {new_code} now): someone may be intercepting the connection; connection stopped. \
         If the PC was enrolled again, compare the new safety code with `meshdesk-host status` \
         on it and run `meshdesk-viewer trust {device}`"
    )]
    KeyChanged {
        device: String,
        pinned_code: String,
        new_code: String,
    },
    /// The `known_devices` file could not be read or written.
    #[error("known devices file {}: {reason}", path.display())]
    KnownDevices { path: PathBuf, reason: String },
    /// A command-line value is out of range.
    #[error("{0}")]
    BadArgument(String),
    /// A file transfer or listing failed (the remote PC's reason, or ours).
    #[error("{0}")]
    Transfer(String),
    /// A local file could not be read or written.
    #[error("{}: {reason}", path.display())]
    LocalFile { path: PathBuf, reason: String },
}

/// A human phrase for a session end reason.
fn end_reason_text(reason: EndReason) -> &'static str {
    match reason {
        EndReason::ViewerClosed => "closed by the viewer",
        EndReason::HostClosed => "closed on the remote PC",
        EndReason::Rejected => "the remote PC turned the request down",
        EndReason::ConnectionFailed => "the connection was lost",
        EndReason::PeerGone => "the remote PC went away",
        EndReason::Revoked => "your access to the device was revoked",
        EndReason::ShareExpired => "your access to the device has expired",
        EndReason::DeviceRemoved => "the device was removed",
        EndReason::ServerShutdown => "the server is shutting down",
        EndReason::Declined => "The remote user declined",
        EndReason::RemoteUserEnded => "The remote user ended the session",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_one_line() {
        let errors = [
            ViewerError::WrongCredentials,
            ViewerError::LoginExpired,
            ViewerError::UnknownDevice("pc".into()),
            ViewerError::Offline("pc".into()),
            ViewerError::Ended(EndReason::Revoked),
            ViewerError::NotResumed("the server no longer has the session".into()),
            ViewerError::LoginFile {
                path: "/x/viewer.toml".into(),
                reason: "permission denied".into(),
            },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains('\n'), "{text}");
        }
        assert_eq!(
            ViewerError::Ended(EndReason::Rejected).to_string(),
            "session ended: the remote PC turned the request down"
        );
    }
}
