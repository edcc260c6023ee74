//! The remote PC's sound on this machine: [`queue`] (pure: how long
//! samples wait) and [`player`] (Opus decoding, the local sound system).

pub mod player;
pub mod queue;

pub use player::{play, SoundStats};
