//! Code shared by the host and the viewer: the WebRTC session wrapper, the
//! signaling WebSocket client and H.264 framing.
//!
//! - [`transport`]: [`HostPeer`] (sends H.264, creates the `input` and
//!   `control` data channels, offers) and [`ViewerPeer`] (answers, receives
//!   whole access units, sends input). Nothing outside this module touches
//!   `webrtc` or `rtc` types.
//! - [`signal`]: [`SignalClient`], a typed JSON-over-WebSocket client for
//!   `/api/v1/ws/host` and `/api/v1/ws/viewer`.
//! - [`h264`]: Annex-B splitting, NAL classification, joining parameter
//!   sets onto pictures.
//! - [`framing`]: the sans-IO marker-bit frame assembler with loss detection.
//! - [`netwatch`]: notice that this machine lost a local address.
//! - [`server_url`]: the server URL as typed, its WebSocket URL, and the
//!   per-user config path.
//! - [`server_list`]: several server URLs tried in order, and when to
//!   move to the next; [`server_setting`]: the `server` setting (one URL
//!   or a list) as config files keep it.
//!
//! Every task this crate spawns is owned by a session or connection handle
//! ([`meshdesk_tasks`]) and aborted when that handle is dropped.

mod error;
pub mod framing;
pub mod h264;
pub mod netwatch;
pub mod reorder;
pub mod server_list;
pub mod server_setting;
pub mod server_url;
pub mod signal;
pub mod transport;

pub use error::PeerError;
pub use framing::{AccessUnit, VideoEvent};
pub use server_list::ServerList;
pub use server_setting::ServerSetting;
pub use signal::{BearerToken, ConnectOptions, SignalClient, SignalReceiver, SignalSender};
pub use transport::{
    AudioPacket, AudioSender, CandidatePairType, CandidateReceiver, Estimate, HostEvent,
    HostOptions, HostPeer, HostStreams, PeerStats, Pipe, PipeEnd, PipeEvent, ReceivedAudio,
    ViewerEvent, ViewerPeer, ViewerStreams, CLIPBOARD_CHANNEL, CONTROL_CHANNEL, FILES_CHANNEL,
    INPUT_CHANNEL, OPUS_CLOCK_RATE,
};
