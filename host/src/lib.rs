//! meshdesk-host as a library: the parts the agent is built from.
//!
//! - [`input`]: remote mouse and keyboard, injected with the session's grant.
//! - [`consent`]: the prompt and notice on this PC's screen, and the shield
//!   that keeps remote input off them.
//! - [`sound`]: what the PC plays, as Opus, for sessions that may hear it.

pub mod agent;
pub mod consent;
pub mod files;
pub mod heartbeat;
pub mod input;
pub mod media;
pub mod sound;
