//! Remote input: the viewer's mouse and keyboard, injected on the host.
//!
//! Messages arrive on the `input` data channel as
//! [`meshdesk_protocol::input::InputMsg`]. An [`InputSession`] per viewer
//! session enforces the grant (a `view` session never injects), maps W3C
//! key codes to keys ([`keymap`]), turns normalized positions into screen
//! pixels ([`ScreenRect`]), and remembers what it pressed ([`HeldInput`]) so
//! that everything is released when the session ends, however it ends.
//! Events go to an [`InputSink`]: [`EnigoSink`] for a real X display,
//! [`RecordingSink`] for tests.
//!
//! ```no_run
//! use meshdesk_host::input::{EnigoSink, InputSession, ScreenRect};
//! use meshdesk_protocol::rest::Permission;
//!
//! # fn main() -> Result<(), meshdesk_host::input::InputError> {
//! let sink = EnigoSink::connect(None)?; // $DISPLAY
//! let screen = ScreenRect::at_origin(1280, 720)?;
//! let mut session = InputSession::new(Permission::Control, screen, sink);
//! session.handle_text(r#"{"type":"pointer_move","x":0.25,"y":0.5}"#)?;
//! drop(session); // releases whatever the viewer still held
//! # Ok(())
//! # }
//! ```

mod error;
mod gate;
mod geometry;
mod injector;
pub mod keymap;
mod outcome;
mod session;
mod state;
mod wheel;

#[cfg(test)]
mod session_tests;

pub use enigo::Key;
pub use error::InputError;
pub use gate::{Gate, Regrant};
pub use geometry::ScreenRect;
pub use injector::{EnigoSink, InputSink, Press, RecordingSink, ScrollAxis, SinkEvent};
pub use keymap::HostKey;
pub use outcome::{InputStats, Outcome, Rejection};
pub use session::InputSession;
pub use state::{Down, HeldInput, Up};
pub use wheel::{WheelAccumulator, MAX_STEPS_PER_MESSAGE};
