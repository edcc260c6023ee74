//! The PC's sound for sessions: the default sink's monitor from the sound
//! server ([`capture`]), cut into 10 ms frames and timed ([`frames`],
//! pure), encoded as Opus with DTX ([`encoder`]), and shared by every
//! session that has sound ([`service`]).

pub mod capture;
pub mod encoder;
mod error;
pub mod frames;
pub mod service;

pub use error::SoundError;
pub use service::{SoundPackets, SoundService};
