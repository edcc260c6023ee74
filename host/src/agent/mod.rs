//! The agent around the media and input parts: its identity on disk,
//! enrollment, and the connection to the signaling server.

pub mod backoff;
pub mod config;
mod consented;
pub mod enroll;
pub mod error;
pub mod keyframes;
pub mod liveness;
pub mod metrics;
pub mod metrics_config;
pub mod restart;
pub mod run;
pub mod screens;
pub mod session;
mod sessions;
pub mod status;
pub mod systemd;
pub mod tls;
pub mod watchdog;

pub use error::AgentError;
