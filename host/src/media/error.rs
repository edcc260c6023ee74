//! The one error type of the media pipeline (capture, convert, encode).
//!
//! Every failure of a stage ends up here as a value; the pipeline's threads
//! store the first fatal one so that `subscribe()` and live subscriptions can
//! report why the stream stopped.

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The configuration was rejected before anything started.
    #[error("invalid media configuration: {0}")]
    InvalidConfig(String),

    /// Could not connect to the X display.
    #[error("cannot connect to X display {display:?}: {source}")]
    Connect {
        /// The display name we tried (`$DISPLAY` when none was configured).
        display: String,
        /// What x11rb reported.
        source: x11rb::errors::ConnectError,
    },

    /// The X server lacks an extension the capturer needs.
    #[error("X server lacks the {0} extension")]
    MissingExtension(&'static str),

    /// The connection to the X server failed while running.
    #[error("X11 connection failed: {0}")]
    X11Connection(#[from] x11rb::errors::ConnectionError),

    /// The X server answered a request with an error.
    #[error("X11 request failed: {0}")]
    X11Reply(#[from] x11rb::errors::ReplyError),

    /// The X server ran out of resource ids (practically never).
    #[error("X11 id allocation failed: {0}")]
    X11Id(#[from] x11rb::errors::ReplyOrIdError),

    /// The screen grabber (MIT-SHM) failed.
    #[error("screen capture failed: {0}")]
    Capture(#[source] std::io::Error),

    /// The grab's rectangle no longer lies inside the screen: the screen
    /// shrank, and the capture thread has not yet seen the resize event.
    #[error("the grabbed area lies outside the screen (it was resized)")]
    OffScreen,

    /// A screen under 2x2, or a picture whose planes do not match its size.
    #[error(
        "unsupported picture size {width}x{height} (at least 2x2, even, with planes to match)"
    )]
    UnsupportedSize {
        /// Width of the captured screen in pixels.
        width: u32,
        /// Height of the captured screen in pixels.
        height: u32,
    },

    /// BGRX to I420 conversion rejected its input.
    #[error("colour conversion failed: {0}")]
    Convert(#[from] yuvutils_rs::YuvError),

    /// An OpenH264 encoder call failed (`call` names it, `code` is its
    /// `CM_RETURN` value).
    #[error("H.264 encoding failed: {call} returned {code}")]
    EncoderCall { call: &'static str, code: i32 },

    /// A pipeline thread could not be started.
    #[error("cannot start media thread: {0}")]
    Spawn(#[source] std::io::Error),

    /// The pipeline is no longer running (it failed or was shut down).
    #[error("media pipeline stopped: {reason}")]
    Stopped {
        /// The failure that stopped it, or "shut down".
        reason: String,
    },
}
