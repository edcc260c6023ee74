//! JSON bodies of the REST API under `/api/v1`.
//!
//! Times are Unix epoch milliseconds (UTC) as integers.

use serde::{Deserialize, Serialize};

mod consent;
mod downloads;
mod factors;
mod tokens;
mod webhooks;

pub use consent::{ConsentPolicy, UpdateDevice};
pub use downloads::{DownloadFile, DownloadList};
pub use factors::{
    Factors, NewPasskey, PasskeyInfo, PasskeyLoginStart, RecoveryCodes, SecondFactor,
    SecondFactorRequired, SignIn, TotpCode, TotpEnrollment, WebauthnChallenge,
};
pub use tokens::{CreatedToken, NewToken, Scope, TokenInfo, ALL_SCOPES};
pub use webhooks::{
    CreatedWebhook, Delivery, DeliveryStatus, NewWebhook, UpdateWebhook, Webhook, WebhookPayload,
};

/// What a user may do with a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the screen only; the host drops all input.
    View,
    /// See the screen and send input.
    Control,
    /// Owns the device: control, plus rename, remove and share.
    Owner,
}

impl Permission {
    /// Whether input from a session with this permission may be injected.
    pub fn may_control(self) -> bool {
        matches!(self, Permission::Control | Permission::Owner)
    }

    /// Stable lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::View => "view",
            Permission::Control => "control",
            Permission::Owner => "owner",
        }
    }

    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<Permission> {
        match s {
            "view" => Some(Permission::View),
            "control" => Some(Permission::Control),
            "owner" => Some(Permission::Owner),
            _ => None,
        }
    }
}

/// Permission that can be granted to another user (never `owner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SharePermission {
    View,
    Control,
}

impl From<SharePermission> for Permission {
    fn from(p: SharePermission) -> Permission {
        match p {
            SharePermission::View => Permission::View,
            SharePermission::Control => Permission::Control,
        }
    }
}

/// `POST /accounts` and `POST /login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// 1 to 32 of letters, digits, `.`, `_` and `-`.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 32, pattern = r"^[A-Za-z0-9._-]+$")
    )]
    pub username: String,
    /// 8 to 1024 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Reply to `POST /accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub username: String,
    pub is_admin: bool,
    pub created_at: i64,
}

/// Reply to `POST /login`. The token is also set as an HttpOnly cookie.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"***")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Reply to `POST /enrollment-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollmentCode {
    pub code: String,
    pub expires_at: i64,
    /// Only from a server with a self-signed certificate
    /// (`--tls-self-signed`): its SHA-256 fingerprint as the server prints
    /// it, for `meshdesk-host enroll --server-fingerprint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_fingerprint: Option<String>,
    /// Only from a server with a self-signed certificate: its public key's
    /// pin in curl's `--pinnedpubkey` form (`sha256//BASE64`), for the
    /// one-line installer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_pin: Option<String>,
}

/// `POST /enroll`: a host presents a code and its public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    pub code: String,
    /// Ed25519 public key, 32 bytes in standard base64 (a valid curve
    /// point: format `ed25519-public-key`).
    #[cfg_attr(feature = "openapi", schema(format = "ed25519-public-key"))]
    pub public_key: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub os: String,
}

/// Reply to `POST /enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub device_id: String,
    pub name: String,
    pub owner: String,
}

/// One device as a user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: String,
    pub name: String,
    pub os: String,
    pub owner: String,
    pub online: bool,
    /// The asking user's permission on this device.
    pub permission: Permission,
    pub created_at: i64,
    /// When the device was last connected (null if never).
    pub last_seen: Option<i64>,
    /// Consent for the owner's own sessions (older servers: absent).
    #[serde(default)]
    pub consent_owner: ConsentPolicy,
    /// Consent for the sessions of users it is shared with.
    #[serde(default)]
    pub consent_shared: ConsentPolicy,
    /// The device's enrolled Ed25519 public key (standard base64 of the
    /// 32 raw bytes): viewers pin it and verify the session's DTLS binding
    /// with it.
    #[serde(default)]
    pub public_key: String,
    /// The screens (monitors) the host last reported, primary first;
    /// empty until it first connected.
    #[serde(default)]
    pub screens: Vec<crate::signal::Screen>,
    /// Whether sessions hear the device's sound (the owner's switch; on
    /// unless turned off; older servers: absent, on).
    #[serde(default = "crate::codec::yes")]
    pub sound: bool,
    /// Whether `view` sessions may copy from the device's clipboard (the
    /// owner's switch; off unless turned on).
    #[serde(default)]
    pub view_may_copy: bool,
}

/// `PATCH /devices/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameDevice {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
}

/// `POST /devices/{id}/shares`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareRequest {
    #[cfg_attr(feature = "openapi", schema(example = "bob"))]
    pub username: String,
    pub permission: SharePermission,
    /// When the share ends by itself (RFC 3339, in the future); absent:
    /// it lasts until revoked. Granting again replaces the old end.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A share of a device with another user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    pub username: String,
    pub permission: SharePermission,
    pub created_at: i64,
    /// When it ends by itself (Unix ms); null: until revoked.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// What happened, in an activity-feed [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    AccountCreated,
    LoginFailed,
    DeviceEnrolled,
    DeviceOnline,
    DeviceOffline,
    DeviceRenamed,
    DeviceRemoved,
    ShareGranted,
    ShareRevoked,
    /// A share given for a time reached its end.
    ShareExpired,
    SessionStarted,
    SessionEnded,
    /// A webhook was turned off after a run of failed deliveries.
    WebhookDisabled,
    /// The person at the remote PC allowed a session (`prompt`).
    ConsentAllowed,
    /// The person at the remote PC denied a session, or did not answer.
    ConsentDenied,
    /// The person at the remote PC ended a session ("Disconnect").
    ConsentEnded,
    /// The owner changed a device's consent policies.
    ConsentChanged,
    /// A viewer sent a file to the device (complete and checked).
    FileSent,
    /// A viewer fetched a file from the device.
    FileReceived,
    /// A transfer failed or was cancelled.
    FileFailed,
    /// Something changed in one of the device's shared folders.
    SharedFileChanged,
}

impl EventKind {
    /// Stable lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AccountCreated => "account_created",
            EventKind::LoginFailed => "login_failed",
            EventKind::DeviceEnrolled => "device_enrolled",
            EventKind::DeviceOnline => "device_online",
            EventKind::DeviceOffline => "device_offline",
            EventKind::DeviceRenamed => "device_renamed",
            EventKind::DeviceRemoved => "device_removed",
            EventKind::ShareGranted => "share_granted",
            EventKind::ShareRevoked => "share_revoked",
            EventKind::ShareExpired => "share_expired",
            EventKind::SessionStarted => "session_started",
            EventKind::SessionEnded => "session_ended",
            EventKind::WebhookDisabled => "webhook_disabled",
            EventKind::ConsentAllowed => "consent_allowed",
            EventKind::ConsentDenied => "consent_denied",
            EventKind::ConsentEnded => "consent_ended",
            EventKind::ConsentChanged => "consent_changed",
            EventKind::FileSent => "file_sent",
            EventKind::FileReceived => "file_received",
            EventKind::FileFailed => "file_failed",
            EventKind::SharedFileChanged => "shared_file_changed",
        }
    }

    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<EventKind> {
        ALL_EVENT_KINDS.iter().copied().find(|k| k.as_str() == s)
    }
}

/// Every event kind, for parsing and documentation.
pub const ALL_EVENT_KINDS: [EventKind; 21] = [
    EventKind::AccountCreated,
    EventKind::LoginFailed,
    EventKind::DeviceEnrolled,
    EventKind::DeviceOnline,
    EventKind::DeviceOffline,
    EventKind::DeviceRenamed,
    EventKind::DeviceRemoved,
    EventKind::ShareGranted,
    EventKind::ShareRevoked,
    EventKind::ShareExpired,
    EventKind::SessionStarted,
    EventKind::SessionEnded,
    EventKind::WebhookDisabled,
    EventKind::ConsentAllowed,
    EventKind::ConsentDenied,
    EventKind::ConsentEnded,
    EventKind::ConsentChanged,
    EventKind::FileSent,
    EventKind::FileReceived,
    EventKind::FileFailed,
    EventKind::SharedFileChanged,
];

/// One entry of the activity feed. Fields that do not apply are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Increasing id; use it as the `before` cursor when paging back, and
    /// as `since` or `Last-Event-ID` when catching up.
    pub id: i64,
    pub at: i64,
    pub kind: EventKind,
    /// Who did it (username), if a user did.
    pub actor: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    /// The other user concerned (share target), if any.
    pub target_user: Option<String>,
    pub permission: Option<Permission>,
    pub session_id: Option<String>,
    /// Length of an ended session.
    pub duration_ms: Option<i64>,
    /// Extra human-readable detail (end reason, failure source address).
    pub detail: Option<String>,
    /// The file of a `file_*` or `shared_file_changed` event; null for
    /// other kinds (older servers: absent). Boxed: most events have none.
    #[serde(default)]
    pub file: Option<Box<EventFile>>,
}

/// The file an [`Event`] is about. Fields that do not apply are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventFile {
    /// A transfer's file name, or a shared file's path as viewers name it
    /// (`Documents/report.pdf`).
    pub path: String,
    /// A transfer's size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// A transfer's direction: whether the viewer sent the file (else
    /// fetched it).
    #[serde(default)]
    pub upload: Option<bool>,
    /// What happened to a shared file.
    #[serde(default)]
    pub change: Option<crate::signal::FileChange>,
}

/// Reply to `GET /events`: newest first, or oldest first when `since` was
/// given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage {
    pub events: Vec<Event>,
    /// Pass as `before` to get the next (older) page; null at the end, and
    /// always null when the request had `since`.
    pub next_before: Option<i64>,
    /// With `since`: pass as `since` to get the next (newer) page; null
    /// when no more events follow yet.
    #[serde(default)]
    pub next_since: Option<i64>,
    /// With `since`: events the server has already deleted (retention)
    /// lay after the cursor; null when nothing was lost.
    #[serde(default)]
    pub gap: Option<Gap>,
}

/// Events lost to retention: ids strictly between `after` and `before`
/// may have existed and are gone. Sent as the SSE `event: gap` and as the
/// `gap` of a page read with `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gap {
    /// The cursor the client resumed from (0 for a time cursor).
    pub after: i64,
    /// The first id that is certainly kept: one more than the highest
    /// deleted id.
    pub before: i64,
}

/// An ICE server entry, in the shape of the browser's `RTCIceServer`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &self.credential.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Reply to `GET /ice-servers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
}

/// Reply to `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub username: String,
    pub is_admin: bool,
}

/// Every error reply: `{"error": "..."}` with a 4xx or 5xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
}
