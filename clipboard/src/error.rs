//! The one error type of this crate.

/// What can go wrong with the clipboard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClipboardError {
    /// No X display, or XFixes is missing.
    #[error("the X clipboard is not available: {0}")]
    Unavailable(String),
    /// The clipboard could not be read or written.
    #[error("clipboard: {0}")]
    Access(String),
    /// An image that is not a PNG we can read.
    #[error("not a usable PNG image: {0}")]
    BadImage(String),
}
