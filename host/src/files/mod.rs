//! This PC's files for its sessions: the `files` channel
//! ([`channel::serve`]), the receive folder, the shared folders
//! ([`Roots`]) and their changes for the feed ([`watch`]).
//!
//! Everything a viewer names is checked before use: a file name is one
//! path component ([`meshdesk_protocol::files::check_name`]), a path must
//! resolve, symlinks followed, inside a shared folder, and a received file
//! never overwrites one that exists.

mod channel;
mod config;
mod error;
mod incoming;
mod names;
mod outgoing;
mod prefix;
mod roots;
pub mod watch;

pub use channel::{serve, FilesGrant, FilesSetup};
pub use config::FilesConfig;
pub use error::FilesError;
pub use roots::{Root, Roots};
