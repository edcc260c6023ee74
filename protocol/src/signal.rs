//! WebSocket messages between the server and hosts (`/api/v1/ws/host`) and
//! between the server and viewers (`/api/v1/ws/viewer`).
//!
//! Every message is a JSON object whose `type` field names its kind. There is
//! one enum per direction, so a peer that sends a message meant for another
//! role gets `unknown_type` back: the type system is the first authorization
//! check.

use serde::{Deserialize, Serialize};

use crate::rest::{ConsentPolicy, Event, IceServer, Permission};

/// One screen (monitor) of a host, in pixels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Screen {
    /// Stable id, which a viewer names to choose the screen (the
    /// monitor's RandR name; `screen` for a display without monitors).
    /// Older hosts leave it out.
    #[serde(default)]
    pub id: String,
    /// What people call it.
    #[serde(default)]
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// The display's primary monitor, which a session shows by default.
    #[serde(default)]
    pub primary: bool,
    /// Where it is on the display, in pixels from the top left of the X
    /// screen (older hosts leave it out: 0).
    #[serde(default)]
    pub x: i32,
    #[serde(default)]
    pub y: i32,
}

/// The screen id that names every monitor at once: one picture of the
/// rectangle around them all, which a viewer cuts into one window per
/// monitor ([`Screen::x`], [`Screen::y`] place each in it). No monitor
/// may be chosen by this name.
pub const ALL_SCREENS: &str = "*";

/// The rectangle around `screens` (x, y, width, height): where the
/// [`ALL_SCREENS`] picture is on the display.
pub fn bounding_box(screens: &[Screen]) -> Option<(i32, i32, u32, u32)> {
    let left = screens.iter().map(|s| s.x).min()?;
    let top = screens.iter().map(|s| s.y).min()?;
    let right = screens.iter().map(|s| s.x + s.width as i32).max()?;
    let bottom = screens.iter().map(|s| s.y + s.height as i32).max()?;
    Some((left, top, (right - left) as u32, (bottom - top) as u32))
}

/// Longest screen id a viewer may name.
pub const MAX_SCREEN_ID_LEN: usize = 64;

/// A screen id a viewer named: 1 to [`MAX_SCREEN_ID_LEN`] bytes, no
/// control characters.
pub fn check_screen_id(id: &str) -> Result<(), crate::codec::DecodeError> {
    if id.is_empty() || id.len() > MAX_SCREEN_ID_LEN || id.chars().any(char::is_control) {
        return Err(crate::codec::DecodeError::Invalid(format!(
            "a screen id is 1 to {MAX_SCREEN_ID_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

/// What a host reports about itself when it connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeviceInfo {
    /// Operating system, free text (for example `Debian GNU/Linux 12`).
    pub os: String,
    /// Screens the host can capture, primary first.
    #[serde(default)]
    pub screens: Vec<Screen>,
    /// Version of the host agent.
    #[serde(default)]
    pub agent_version: String,
}

/// An SDP offer or answer for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdpMsg {
    pub session_id: String,
    pub sdp: String,
}

/// A trickled ICE candidate, in the shape of the browser's
/// `RTCIceCandidateInit`. An empty `candidate` means end of candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// An ICE candidate for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceMsg {
    pub session_id: String,
    pub candidate: IceCandidate,
}

/// Either side ends a session; the server forwards it to the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEndMsg {
    pub session_id: String,
    /// Why, as a stable code.
    pub reason: EndReason,
    /// Words for a person, where there are any: the server passes on the
    /// host's own reason for a refusal (`session_reject`), at most
    /// [`MAX_END_DETAIL_CHARS`] characters. Absent on the wire when `None`;
    /// ignored when a viewer or host sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl SessionEndMsg {
    /// An end without words: every end but a host's refusal.
    pub fn new(session_id: impl Into<String>, reason: EndReason) -> Self {
        Self {
            session_id: session_id.into(),
            reason,
            detail: None,
        }
    }
}

/// Most characters of [`SessionEndMsg::detail`].
pub const MAX_END_DETAIL_CHARS: usize = 200;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The viewer closed it.
    ViewerClosed,
    /// The host closed it (user at the host, shutdown).
    HostClosed,
    /// The host turned the request down.
    Rejected,
    /// WebRTC could not connect or lost the connection.
    ConnectionFailed,
    /// The other side's signaling connection went away.
    PeerGone,
    /// The viewer's right to the device was revoked.
    Revoked,
    /// The viewer's share of the device reached its end (`expires_at`).
    ShareExpired,
    /// The device was removed from its account.
    DeviceRemoved,
    /// The server is shutting down.
    ServerShutdown,
    /// The person at the remote PC clicked "Deny" on the consent prompt,
    /// or did not answer it in time.
    Declined,
    /// The person at the remote PC ended the session ("Disconnect" on the
    /// consent notice).
    RemoteUserEnded,
}

/// What the person at the remote PC decided about one session, or that
/// the host waits for them (section "Consent" of docs/protocol.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    /// The prompt is shown; the host waits for an answer.
    Waiting,
    /// "Allow": the session starts (`session_accept` follows).
    Allowed,
    /// "Deny": a `session_end` with `declined` follows.
    Denied,
    /// No answer within the prompt timeout: a deny.
    TimedOut,
    /// "Disconnect" on the notice: a `session_end` with
    /// `remote_user_ended` follows.
    Disconnected,
}

/// A host reports a consent step of one session; the server records it in
/// the feed and relays it to the session's viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentMsg {
    pub session_id: String,
    pub state: ConsentState,
}

/// Stable machine-readable error codes in [`ServerToHost::Error`] and
/// [`ServerToViewer::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or truncated.
    Malformed,
    /// Over the size limit.
    TooLarge,
    /// A `type` this endpoint does not accept.
    UnknownType,
    /// Known type, wrong fields.
    Invalid,
    /// Authentication failed.
    Unauthorized,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// No such device or session (or not one of yours).
    NotFound,
    /// The device is not connected.
    Offline,
    /// Too many messages; slow down.
    RateLimited,
    /// Incompatible protocol version.
    UnsupportedVersion,
    /// Something failed on the server.
    Internal,
}

/// An error reply. After authentication the connection stays open, except
/// for the `unauthorized` sent just before the server closes a replaced or
/// removed host. Any error during a host's handshake closes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMsg {
    pub code: ErrorCode,
    pub message: String,
    /// The session the failed request was about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The `request_id` of the failed `session_request`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Messages a host sends to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostToServer {
    /// First message: proves possession of the device key by signing
    /// [`crate::device_auth_payload`] of the challenge nonce (Ed25519,
    /// signature in standard base64).
    Auth {
        protocol: u32,
        device_id: String,
        signature: String,
        info: DeviceInfo,
    },
    /// Updated metadata (screen layout changed).
    Info {
        info: DeviceInfo,
    },
    /// Heartbeat; the server answers with `pong`.
    Ping,
    /// The host will serve the granted session.
    SessionAccept {
        session_id: String,
    },
    /// The host refuses the granted session.
    SessionReject {
        session_id: String,
        reason: String,
    },
    /// A consent step of a granted session (waiting, allowed, denied, ...).
    Consent(ConsentMsg),
    Offer(SdpMsg),
    Answer(SdpMsg),
    Ice(IceMsg),
    SessionEnd(SessionEndMsg),
    /// A file transfer of a session finished or failed: it goes to the
    /// feed (`file_sent`, `file_received`, `file_failed`).
    FileTransfer(FileTransferMsg),
    /// Something changed in a shared folder (debounced): it goes to the
    /// feed as `shared_file_changed`.
    SharedFileChanged {
        /// As the viewer names it: `Documents/report.pdf`.
        path: String,
        change: FileChange,
    },
}

impl HostToServer {
    /// The session the message is about, if it is about one.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            HostToServer::SessionAccept { session_id }
            | HostToServer::SessionReject { session_id, .. } => Some(session_id),
            HostToServer::Consent(m) => Some(&m.session_id),
            HostToServer::Offer(m) | HostToServer::Answer(m) => Some(&m.session_id),
            HostToServer::Ice(m) => Some(&m.session_id),
            HostToServer::SessionEnd(m) => Some(&m.session_id),
            HostToServer::FileTransfer(m) => Some(&m.session_id),
            HostToServer::Auth { .. }
            | HostToServer::Info { .. }
            | HostToServer::Ping
            | HostToServer::SharedFileChanged { .. } => None,
        }
    }
}

/// How a transfer went, from the viewer's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    /// The viewer sent a file to the device, complete and checked.
    Sent,
    /// The viewer received a file of the device, all of it.
    Received,
    /// It failed (or was cancelled); `error` says why.
    Failed,
}

/// A finished transfer, reported by the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTransferMsg {
    pub session_id: String,
    pub outcome: TransferOutcome,
    /// The file's name (as stored for a file sent).
    pub name: String,
    pub size: u64,
    /// Whether the viewer sent the file (else fetched it).
    pub upload: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What happened to a file in a shared folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    Created,
    Modified,
    Deleted,
}

impl FileChange {
    /// Stable lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FileChange::Created => "created",
            FileChange::Modified => "modified",
            FileChange::Deleted => "deleted",
        }
    }

    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<FileChange> {
        match s {
            "created" => Some(FileChange::Created),
            "modified" => Some(FileChange::Modified),
            "deleted" => Some(FileChange::Deleted),
            _ => None,
        }
    }
}

/// Messages the server sends to a host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerToHost {
    /// First message on connect: sign this nonce.
    Challenge {
        protocol: u32,
        nonce: String,
    },
    /// Authentication succeeded. Send `ping` every `heartbeat_secs`; a host
    /// from which the server receives nothing for its heartbeat timeout
    /// (25 s by default) is dropped and shown offline.
    Welcome {
        device_id: String,
        name: String,
        heartbeat_secs: u32,
    },
    Pong,
    /// A viewer was granted a session on this device. The host must enforce
    /// `permission`: a `view` session never injects input.
    SessionGrant {
        session_id: String,
        user: String,
        permission: Permission,
        ice_servers: Vec<IceServer>,
        /// The device's consent policy that applies to this session
        /// (`consent_owner` for the owner's own, `consent_shared` for the
        /// others). The host applies the stricter of it and its own floor.
        /// Older servers leave it out: `unattended`.
        #[serde(default)]
        consent: ConsentPolicy,
        /// The requesting user's name as people see it, for the consent
        /// prompt and notice. Older servers leave it out: use `user`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        /// The screen the viewer asked for (a [`Screen::id`]); `None`: the
        /// primary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        screen: Option<String>,
        /// Whether the session may hear the device's sound: the owner can
        /// turn it off per device (`Device::sound`). Older servers leave it
        /// out: on.
        #[serde(default = "crate::codec::yes")]
        sound: bool,
        /// A files-only session (the device's Files view, `send`, `get`,
        /// `files`): no screen, no video, no sound; the `files` channel.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        files_only: bool,
        /// Whether a `view` session may read the device's clipboard (the
        /// owner's switch `Device::view_may_copy`, off by default).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        view_may_copy: bool,
    },
    /// The owner renamed the device.
    Renamed {
        name: String,
    },
    Offer(SdpMsg),
    Answer(SdpMsg),
    Ice(IceMsg),
    SessionEnd(SessionEndMsg),
    /// The session's viewer asks for an ICE restart (its network changed).
    /// The host answers with a new offer, as it does on its own when the
    /// connection goes `disconnected`.
    RestartIce {
        session_id: String,
    },
    Error(ErrorMsg),
}

impl ServerToHost {
    /// The session the message is about, if it is about one.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            ServerToHost::SessionGrant { session_id, .. }
            | ServerToHost::RestartIce { session_id } => Some(session_id),
            ServerToHost::Offer(m) | ServerToHost::Answer(m) => Some(&m.session_id),
            ServerToHost::Ice(m) => Some(&m.session_id),
            ServerToHost::SessionEnd(m) => Some(&m.session_id),
            ServerToHost::Error(e) => e.session_id.as_deref(),
            ServerToHost::Challenge { .. }
            | ServerToHost::Welcome { .. }
            | ServerToHost::Pong
            | ServerToHost::Renamed { .. } => None,
        }
    }
}

/// Messages a viewer sends to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ViewerToServer {
    /// Heartbeat; the server answers with `pong`.
    Ping,
    /// Ask for a session on a device. `request_id` is echoed back in
    /// `session_created` or `error` so a client can match replies.
    SessionRequest {
        device_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        /// The screen to show first (a [`Screen::id`]); `None`: the
        /// primary. It can be changed in the session (`select_screen`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        screen: Option<String>,
        /// Only the device's files: no screen is captured, no video sent.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        files_only: bool,
    },
    Offer(SdpMsg),
    Answer(SdpMsg),
    Ice(IceMsg),
    SessionEnd(SessionEndMsg),
    /// Take a session back after this user's viewer connection was lost.
    /// The server keeps an accepted session for a grace period (30 s by
    /// default) after its viewer connection closes; a new connection of the
    /// same user may resume it within that time and gets `session_resumed`,
    /// or an `error` (`not_found`: unknown, someone else's, or already
    /// ended; `forbidden`: still attached to another live connection).
    SessionResume {
        session_id: String,
        /// The secret `session_created` gave for this session: the session
        /// is taken over at once, even from a connection that still looks
        /// alive. Without it (or with a wrong one) a resume must wait until
        /// the old connection is found dead (section 10.4).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_secret: Option<String>,
    },
    /// Ask the host to restart ICE at once: this viewer's network changed
    /// (a local address went away), so its candidates are dead before ICE
    /// on either side has noticed. Relayed to the host as `restart_ice`.
    RestartIce {
        session_id: String,
    },
}

/// Messages the server sends to a viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerToViewer {
    /// First message after the upgrade.
    Welcome {
        protocol: u32,
        username: String,
    },
    Pong,
    /// A device this user may see went online or offline.
    Presence {
        device_id: String,
        name: String,
        online: bool,
    },
    /// A new activity-feed event this user may see.
    Event {
        event: Event,
    },
    /// The server created the session and asked the host; wait for
    /// `session_accepted`, then for the host's `offer`.
    SessionCreated {
        session_id: String,
        device_id: String,
        permission: Permission,
        ice_servers: Vec<IceServer>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        /// Known only to the viewer that asked: with it, `session_resume`
        /// takes the session over at once after a network change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_secret: Option<String>,
        /// How long the server keeps this session for a `session_resume`
        /// after the viewer's connection is lost, in seconds (its
        /// `session_resume_grace_secs`; 0: not at all). Older servers
        /// leave it out: assume 30.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_grace_secs: Option<u64>,
        /// The device's name, as `GET /devices/{id}` gives it to this
        /// viewer, so that a viewer opened by device id needs no request
        /// for it. Older servers leave it out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_name: Option<String>,
        /// The device's `public_key` (as `GET /devices/{id}` gives it), so a
        /// viewer opened by device id can check it against the key it
        /// pinned, and the session's DTLS binding with it, without another
        /// request. Older servers leave it out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_public_key: Option<String>,
    },
    /// The host accepted; its offer follows.
    SessionAccepted {
        session_id: String,
    },
    /// The person at the remote PC is asked (`waiting`), or decided; relayed
    /// from the host's `consent`.
    Consent(ConsentMsg),
    /// The session named in `session_resume` is this connection's again.
    /// Host messages held while it was detached (the latest offer and the
    /// candidates after it) follow, then everything new. The session's
    /// clock and its `session_started` event are unchanged.
    SessionResumed {
        session_id: String,
        device_id: String,
        permission: Permission,
    },
    Offer(SdpMsg),
    Answer(SdpMsg),
    Ice(IceMsg),
    SessionEnd(SessionEndMsg),
    Error(ErrorMsg),
}
