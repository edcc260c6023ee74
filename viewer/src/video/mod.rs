//! Video in the viewer: whole access units from the peer to pictures.
//!
//! - [`decode`]: the decoder thread (openh264), joining parameter sets onto
//!   pictures and asking for keyframes after loss ([`recovery`]).
//! - [`convert`]: I420 to the window's RGB [`Frame`]s, handed over in a
//!   [`FrameSlot`] ([`frame`]).
//! - [`probe`]: what a decoded picture tells a watcher (timing, centre
//!   colour), for the latency measurement.
//!
//! Nothing here knows about sessions or measurements: the decoder reports
//! what it needs through [`DecoderNeeds`].

pub mod convert;
pub mod decode;
pub mod frame;
pub mod probe;
pub mod recovery;

pub use decode::{spawn, DecodeStats, DecoderNeeds, Need, Output};
pub use frame::{Frame, FrameSlot};
pub use probe::{Picture, Yuv};
