//! The one error type of input injection.
//!
//! Only failures of the host itself are errors: the display is gone, the
//! screen geometry is unusable, an event could not be injected. Bad or
//! forbidden input from a viewer is not an error: the session drops it,
//! counts it and carries on (see [`super::Outcome`]).

/// Why input injection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// No connection to the X display (missing `$DISPLAY`, server gone, or
    /// no XTEST extension).
    #[error("cannot connect to X display {display} for input: {source}")]
    Connect {
        /// The display name asked for, or `$DISPLAY`.
        display: String,
        source: enigo::NewConError,
    },
    /// The display refused or lost an injected event.
    #[error("injecting {action} failed: {source}")]
    Inject {
        /// What was being injected, for the log (never key text).
        action: &'static str,
        source: enigo::InputError,
    },
    /// The captured screen cannot be addressed with X11's 16-bit
    /// coordinates, or is empty.
    #[error("screen {width}x{height} at ({x}, {y}) does not fit X11 coordinates")]
    ScreenGeometry {
        x: i32,
        y: i32,
        width: u32,
        height: u32,
    },
}
