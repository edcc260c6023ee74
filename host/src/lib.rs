//! meshdesk-host as a library: the parts the agent is built from.
//!
//! - [`input`]: remote mouse and keyboard, injected with the session's grant.

pub mod agent;
pub mod input;
pub mod media;
