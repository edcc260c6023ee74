//! Screen to the wire: capture the X display, convert, encode to H.264.
//!
//! ```text
//!  X server ──damage──▶ capture thread ───I420 (3 pictures)──▶ encode thread ──Arc<EncodedFrame>──▶ subscribers
//!            ◀─MIT-SHM─  pacing, x11rb,     ◀──picture back───  openh264           (tokio broadcast)
//!                        yuvutils-rs                            scene cuts
//! ```
//!
//! - [`MediaPipeline::start`] opens one pipeline per display; every session
//!   on that display [`subscribes`](MediaPipeline::subscribe) to it.
//! - Nothing is grabbed while the screen is unchanged or nobody subscribes.
//! - A new subscription, [`MediaPipeline::request_keyframe`] and
//!   [`Subscription::request_keyframe`] bring an IDR promptly.
//!
//! The timing rules live in the pure [`pacing`] module; the threads are thin
//! drivers around it.

mod capture;
mod config;
pub mod convert;
mod damage;
pub mod encode;
mod encode_thread;
mod encoder_ffi;
mod error;
pub mod frame;
pub mod grab;
mod keep_alive;
pub mod monitors;
pub mod pacing;
mod pipeline;
mod probe;
pub mod rate;
pub mod scene;
mod shared;
mod subscription;

pub use config::{MediaConfig, DEFAULT_BITRATE_BPS, DEFAULT_MAX_FPS};
pub use error::MediaError;
pub use frame::{EncodedFrame, StageTimings};
pub use pipeline::{MediaPipeline, MediaStats};
pub use probe::EncodeProbe;
pub use rate::{Quality, RateLimits};
pub use subscription::Subscription;
