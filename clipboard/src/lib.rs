//! Clipboard sharing for a session, the same on the host and in the
//! native viewer: [`X11Clipboard`] watches the X CLIPBOARD selection
//! (XFixes tells when its owner changes; no polling) and serves what the
//! other side copied to X programs that paste (arboard); [`serve`] carries
//! changes both ways over the session's `clipboard` channel; [`ClipSync`]
//! (pure) decides what crosses: the grant, the size limit, and never
//! echoing back what came from the other side.

mod channel;
mod content;
mod error;
mod sync;
mod x11;

pub use channel::serve;
pub use content::Content;
pub use error::ClipboardError;
pub use sync::{ClipSync, Rights};
pub use x11::X11Clipboard;
