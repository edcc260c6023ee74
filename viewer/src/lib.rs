//! meshdesk-viewer as a library: the parts the `meshdesk-viewer` binary is
//! built from, also used by its tests and the workspace's test harness.
//!
//! - `login --server URL --username NAME`, `logout`, `list [--json]`:
//!   [`account`].
//! - `connect DEVICE [--headless [--measure-latency N]] [--duration SECS]
//!   [--stats-json]`: [`connect`] ties the parts together:
//!   [`session`] opens and drives the session (its decisions in the pure
//!   [`session::controller`]), [`video`] runs the decoder thread,
//!   [`window`] is the winit loop that draws and sends input, and
//!   [`measure`] times clicks to the picture that shows them and builds the
//!   report.
//!
//! Dependencies run one way: `connect` uses all the others; `window` and
//! `measure` use `session` and `video`; `session` uses `account`; `video`
//! uses none of them. Nothing in `video` or `session` uses `measure`.
//! Errors are [`ViewerError`]s, one line each.

pub mod account;
pub mod cli;
pub mod clipboard;
pub mod connect;
pub mod error;
pub mod files;
pub mod measure;
pub mod session;
pub mod sound;
pub mod trust;
pub mod video;
pub mod window;

pub use error::ViewerError;
