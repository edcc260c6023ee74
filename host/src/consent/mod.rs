//! Consent on this PC: before a session starts, the person at the PC may
//! have to allow it (`prompt`), and while sessions run they may see who is
//! connected and disconnect them (`notify`).
//!
//! - [`policy`]: which consent a session needs (server's policy and the
//!   `[consent]` floor of `host.toml`, the stricter wins). Pure.
//! - [`prompt`]: the prompt's decision (keys, clicks, the timeout). Pure.
//! - [`shield`]: why remote input can never answer these windows.
//! - [`x11`]: the windows themselves, on their own thread and X connection.
//! - [`gate`]: the async glue that runs a granted session through consent.

pub mod gate;
pub mod policy;
pub mod prompt;
pub mod shield;
pub mod x11;

pub use gate::{Admission, Consent, NoticeGuard};
pub use policy::{effective, ConsentFloor};
pub use shield::{Shield, ShieldedSink};
