//! A session with a remote PC, from request to end.
//!
//! - [`handshake`]: the viewer WebSocket, `session_request`, the host's
//!   offer and our answer.
//! - [`controller`]: every decision of the running session (pure);
//!   [`verify`]: the check of the host's DTLS binding (pure).
//! - [`driver`]: the task around the controller, owning the peer and the
//!   signaling [`link`], which on a failed connection [`resume`]s the
//!   session on a new one.
//!
//! The window, the headless loop and the decoder talk to a running session
//! with [`SessionCommand`]s; it reports [`Notice`]s.

pub mod consent;
pub mod controller;
mod driver;
pub mod handshake;
pub mod link;
pub mod resume;
pub mod verify;

#[cfg(test)]
mod controller_tests;

use meshdesk_peer::{CandidatePairType, PeerStats};
use meshdesk_protocol::binding::VideoQuality;
use meshdesk_protocol::input::InputMsg;

pub use driver::{drive, Outcome};
pub use handshake::{establish, establish_files, Established, SignalTarget};

/// What the window or the headless loop asks of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionCommand {
    /// Send an input message (held until the channels are open).
    Input(InputMsg),
    /// Ask the host for a keyframe.
    RequestKeyframe,
    /// The first picture was decoded (stops the first-picture watchdog).
    FirstPicture,
    /// End the session.
    Close,
}

/// What the session reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// ICE and DTLS are up.
    Connected(CandidatePairType),
    /// The input and control channels are open.
    ChannelsReady,
    /// The host proved it holds the device's pinned key (its DTLS binding
    /// verified); input goes out from now on.
    Verified { safety_code: String },
    /// Counters, once a second.
    Stats(PeerStats),
    /// Whether the session carries the PC's sound, and why not.
    Sound {
        available: bool,
        reason: Option<String>,
    },
    /// What the host's video aims at (its bandwidth estimate, bitrate
    /// and frame rate), on every change.
    Quality(VideoQuality),
}
