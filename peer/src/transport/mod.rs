//! The WebRTC session wrapper: the only module that touches `webrtc`/`rtc`.
//!
//! [`HostPeer`] sends one H.264 video track (and, with sound, one Opus
//! track) and creates the `input` and
//! `control` data channels; [`ViewerPeer`] answers, receives the video as
//! whole access units and talks back over the channels. Both expose plain
//! Meshdesk types (SDP strings, [`IceCandidate`], events over tokio channels)
//! so the host and the viewer never name a webrtc type.
//!
//! Settings that matter on real networks (see `shared/testing.md`): UDP bound
//! to `0.0.0.0:0`, peer-reflexive and relay candidates accepted without the
//! default 1 s wait, PLI/FIR delivered to the host, and the RTP playout-delay
//! header extension negotiated and sent with min = max = 0 so browsers do
//! not hold frames in their jitter buffer.

/// `From<Link>` for a role's event enum, whose connection variants are
/// named alike (`Connected { candidate_pair_type }`, `Disconnected`,
/// `Failed`, `Closed`): one mapping for both roles.
macro_rules! link_events {
    ($event:ident) => {
        impl From<$crate::transport::Link> for $event {
            fn from(link: $crate::transport::Link) -> Self {
                use $crate::transport::Link;
                match link {
                    Link::Connected(candidate_pair_type) => $event::Connected {
                        candidate_pair_type,
                    },
                    Link::Disconnected => $event::Disconnected,
                    Link::Failed => $event::Failed,
                    Link::Closed => $event::Closed,
                }
            }
        }
    };
}

mod audio;
mod bandwidth;
mod channels;
mod config;
mod congestion;
mod events;
mod host;
mod keyframe;
mod pipe;
mod stats;
mod turn_bridge;
mod video;
mod viewer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use meshdesk_protocol::signal::IceCandidate;
use tokio::sync::mpsc;

pub use audio::{AudioPacket, AudioSender, ReceivedAudio, OPUS_CLOCK_RATE};
pub use bandwidth::{Estimate, MIN_BITRATE_BPS};
pub use host::{HostEvent, HostOptions, HostPeer, HostStreams};
pub use pipe::{Pipe, PipeEnd, PipeEvent};
pub use stats::{CandidatePairType, PeerStats};
pub use viewer::{VideoEvent, ViewerEvent, ViewerPeer, ViewerStreams};

/// Label of the data channel carrying `meshdesk_protocol::input::InputMsg`.
pub const INPUT_CHANNEL: &str = "input";
/// Label of the data channel carrying `meshdesk_protocol::input::ControlMsg`.
pub const CONTROL_CHANNEL: &str = "control";
/// Label of the unreliable data channel that carries the sound to a viewer
/// that asks for it (`sound_channel`).
pub const SOUND_CHANNEL: &str = "sound";
/// Label of the data channel of file requests and data
/// (`meshdesk_protocol::files`).
pub const FILES_CHANNEL: &str = "files";
/// Label of the data channel of clipboard changes
/// (`meshdesk_protocol::clipboard`).
pub const CLIPBOARD_CHANNEL: &str = "clipboard";
/// Bytes a data channel may have outstanding before sending on it waits:
/// file data never piles up in memory.
pub(crate) const SEND_BUFFER_LIMIT: usize = 2 * 1024 * 1024;

/// Local ICE candidates to trickle to the other side. An empty `candidate`
/// string marks the end of gathering.
pub type CandidateReceiver = mpsc::UnboundedReceiver<IceCandidate>;

/// The connection-level state changes both roles report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Connected(CandidatePairType),
    Disconnected,
    Failed,
    Closed,
}

/// The `webrtc` peer connection, type-erased.
pub(crate) type Pc = Arc<dyn webrtc::peer_connection::PeerConnection>;

/// Close a connection whose owner is dropped without `close()`: webrtc's
/// driver task would otherwise keep running. The close itself is bounded
/// (webrtc waits at most about 100 ms for its driver), so the task spawned
/// here ends on its own.
pub(crate) fn close_on_drop(pc: &Pc, closed: &AtomicBool) {
    if closed.swap(true, Ordering::Relaxed) {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let pc = Arc::clone(pc);
        runtime.spawn(async move {
            let _ = pc.close().await;
        });
    }
}

/// Lock a mutex that is never held across an await or a panic; a poisoned
/// one still holds valid data (plain `Option`s of handles).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
