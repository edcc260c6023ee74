//! One remote session on this host: a WebRTC peer fed by the shared media
//! pipeline, and an input session that enforces the grant. Every decision
//! is the [`Controller`]'s (pure, unit-tested in `controller_tests.rs`);
//! [`driver`] is the thin task around it. The task owns everything it
//! starts; when it ends, for whatever reason, the input session is dropped
//! (releasing every held key and button), the peer is closed and the
//! subscription ends.

mod binding;
mod controller;
mod driver;
mod hold;
mod quality;

#[cfg(test)]
mod controller_tests;

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use meshdesk_protocol::rest::{ConsentPolicy, IceServer, Permission};
use meshdesk_protocol::signal::{EndReason, HostToServer, IceCandidate};
use tokio::sync::{mpsc, Notify};

use crate::agent::screens::SharedScreens;

pub use controller::{Action, Controller, Counters, Event, VANISH_TIMEOUT};
pub use driver::run;

/// What the agent forwards to a session from the signaling server.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionIn {
    Answer(String),
    Ice(IceCandidate),
    /// The agent's signaling connection is back after it was lost: an ICE
    /// restart offer made meanwhile may never have left.
    SignalingRestored,
    /// This machine lost a local address (`meshdesk_peer::netwatch`).
    NetworkChanged,
    /// The viewer asks for an ICE restart (its network changed).
    RestartRequested,
    /// The display's monitors changed: tell the viewer (and leave a
    /// monitor that is gone).
    ScreensChanged,
    /// The server or viewer ended it.
    End,
}

/// A granted session, as the server described it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub session_id: String,
    pub user: String,
    pub permission: Permission,
    pub ice_servers: Vec<IceServer>,
    /// The device's consent policy for this session, as the server says.
    pub consent: ConsentPolicy,
    /// The requesting user's name for people (the prompt, the notice).
    pub display_name: Option<String>,
    /// The screen the viewer asked to see first (`None`: the primary).
    pub screen: Option<String>,
    /// Whether the owner lets sessions hear the device's sound.
    pub sound: bool,
    /// Only the device's files: no screen, no video, no sound, no input.
    pub files_only: bool,
    /// Whether a `view` session may read the clipboard (the owner's
    /// switch).
    pub view_may_copy: bool,
}

/// What a session runs with besides its grant, the same for every session
/// of this agent.
pub struct SessionEnv {
    /// The device key, which signs the session's DTLS binding.
    pub key: Arc<SigningKey>,
    /// The display's monitors and their shared capture and encode
    /// pipelines.
    pub screens: SharedScreens,
    /// The X display input goes to.
    pub display: Option<String>,
    /// Messages for the server.
    pub out: mpsc::UnboundedSender<HostToServer>,
    /// Told when the session's peer connection loses connectivity.
    pub path_lost: Arc<Notify>,
    /// Counts the frames the session sends.
    pub metrics: Arc<crate::agent::metrics::HostMetrics>,
    /// The PC's sound, shared by the sessions that have it.
    pub sound: Arc<crate::sound::SoundService>,
    /// The receive folder and the shared folders.
    pub files: Arc<crate::files::FilesSetup>,
    /// The X clipboard, when there is one, and the largest content shared.
    pub clipboard: Option<Arc<meshdesk_clipboard::X11Clipboard>>,
    pub clipboard_max: u64,
    /// The video's ceiling and whether it adapts to the path.
    pub video_rate: VideoRate,
}

/// The configured bitrate (`bitrate_kbps`), and whether each session's
/// bandwidth estimate may lower it (`adaptive_quality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoRate {
    pub max_bitrate_bps: u32,
    pub adaptive: bool,
}

impl std::fmt::Debug for SessionEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("SessionEnv")
            .field("display", &self.display)
            .finish_non_exhaustive()
    }
}

/// Why a session task finished, reported to the agent.
#[derive(Debug, Clone)]
pub struct Finished {
    pub session_id: String,
    /// `None` when the other side ended it (nothing to tell the server).
    pub reason: Option<EndReason>,
}
