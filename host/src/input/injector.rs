//! Where input goes: the [`InputSink`] trait and its implementations.
//!
//! The session decides *what* to inject; a sink only performs primitive
//! events in absolute screen pixels. [`EnigoSink`] injects into an X display
//! through XTEST (enigo's pure-Rust x11rb backend). [`RecordingSink`] keeps
//! the events in memory for unit tests. Another platform gets another sink
//! with the same trait, never a `cfg` inside it.

use enigo::{Axis, Button, Coordinate, Direction, Enigo, Keyboard, Mouse, Settings};
use meshdesk_protocol::input::MouseButton;

use super::keymap::HostKey;
use super::InputError;

/// Scroll direction of a wheel step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollAxis {
    Vertical,
    Horizontal,
}

/// Press or release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    Down,
    Up,
}

/// A target for primitive input events. Coordinates are absolute pixels of
/// the whole screen, already clamped by the caller.
pub trait InputSink {
    /// Move the pointer to `(x, y)`.
    fn move_to(&mut self, x: i32, y: i32) -> Result<(), InputError>;
    /// Press or release a mouse button where the pointer is.
    fn button(&mut self, button: MouseButton, press: Press) -> Result<(), InputError>;
    /// Scroll by `steps` wheel clicks; positive is down or right.
    fn scroll(&mut self, steps: i32, axis: ScrollAxis) -> Result<(), InputError>;
    /// Press or release one key.
    fn key(&mut self, key: HostKey, press: Press) -> Result<(), InputError>;
    /// Type `text` (press and release each character).
    fn text(&mut self, text: &str) -> Result<(), InputError>;
}

/// Injects into an X display with enigo (XTEST), without delays.
pub struct EnigoSink {
    /// The connection; enigo also releases keys it pressed when dropped,
    /// a second line of defence behind the session's own release-all.
    enigo: Enigo,
}

impl std::fmt::Debug for EnigoSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnigoSink").finish_non_exhaustive()
    }
}

impl EnigoSink {
    /// Connect to `display` (like `:0`), or to `$DISPLAY` when `None`.
    pub fn connect(display: Option<&str>) -> Result<EnigoSink, InputError> {
        if let Some(name) = display.filter(|name| !display_number_fits(name)) {
            return Err(InputError::Connect {
                display: name.to_owned(),
                source: enigo::NewConError::EstablishCon("display number out of range"),
            });
        }
        let settings = Settings {
            // The default 12 ms per event doubles click latency for nothing.
            linux_delay: 0,
            x11_display: display.map(str::to_owned),
            release_keys_when_dropped: true,
            open_prompt_to_get_permissions: false,
            ..Settings::default()
        };
        let enigo = Enigo::new(&settings).map_err(|source| InputError::Connect {
            display: display.map_or_else(
                || std::env::var("DISPLAY").unwrap_or_else(|_| "$DISPLAY (unset)".into()),
                str::to_owned,
            ),
            source,
        })?;
        Ok(EnigoSink { enigo })
    }
}

/// Whether the display number in `name` (`host:N.S`) is one X11 can have:
/// its TCP port 6000 + N must fit in 16 bits. x11rb 0.13 overflows (and
/// panics in debug builds) on larger numbers, so they are refused here.
fn display_number_fits(name: &str) -> bool {
    let Some((_, rest)) = name.rsplit_once(':') else {
        return true; // not a `host:N` name; x11rb judges it
    };
    let number = rest.split('.').next().unwrap_or_default();
    match number.parse::<u32>() {
        Ok(n) => n <= u32::from(u16::MAX) - 6000,
        Err(_) => true,
    }
}

fn inject(action: &'static str) -> impl FnOnce(enigo::InputError) -> InputError {
    move |source| InputError::Inject { action, source }
}

fn direction(press: Press) -> Direction {
    match press {
        Press::Down => Direction::Press,
        Press::Up => Direction::Release,
    }
}

impl InputSink for EnigoSink {
    fn move_to(&mut self, x: i32, y: i32) -> Result<(), InputError> {
        self.enigo
            .move_mouse(x, y, Coordinate::Abs)
            .map_err(inject("pointer move"))
    }

    fn button(&mut self, button: MouseButton, press: Press) -> Result<(), InputError> {
        let button = match button {
            MouseButton::Left => Button::Left,
            MouseButton::Middle => Button::Middle,
            MouseButton::Right => Button::Right,
            MouseButton::Back => Button::Back,
            MouseButton::Forward => Button::Forward,
        };
        self.enigo
            .button(button, direction(press))
            .map_err(inject("mouse button"))
    }

    fn scroll(&mut self, steps: i32, axis: ScrollAxis) -> Result<(), InputError> {
        let axis = match axis {
            ScrollAxis::Vertical => Axis::Vertical,
            ScrollAxis::Horizontal => Axis::Horizontal,
        };
        self.enigo.scroll(steps, axis).map_err(inject("wheel"))
    }

    fn key(&mut self, key: HostKey, press: Press) -> Result<(), InputError> {
        let result = match key {
            HostKey::Sym(key) => self.enigo.key(key, direction(press)),
            HostKey::Code(keycode) => self.enigo.raw(u16::from(keycode), direction(press)),
        };
        result.map_err(inject("key"))
    }

    fn text(&mut self, text: &str) -> Result<(), InputError> {
        self.enigo.text(text).map_err(inject("text"))
    }
}

/// One primitive event, as a [`RecordingSink`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkEvent {
    MoveTo(i32, i32),
    Button(MouseButton, Press),
    Scroll(i32, ScrollAxis),
    Key(HostKey, Press),
    Text(String),
}

/// Records every event instead of injecting it; for tests. Can be told to
/// fail, to exercise error paths.
#[derive(Debug, Default, Clone)]
pub struct RecordingSink {
    /// Everything injected so far, oldest first.
    pub events: Vec<SinkEvent>,
    /// When set, every call fails (and records nothing).
    pub fail: bool,
}

impl RecordingSink {
    /// An empty recorder that succeeds.
    pub fn new() -> RecordingSink {
        RecordingSink::default()
    }

    fn record(&mut self, event: SinkEvent) -> Result<(), InputError> {
        if self.fail {
            return Err(InputError::Inject {
                action: "recording",
                source: enigo::InputError::Simulate("recording sink told to fail"),
            });
        }
        self.events.push(event);
        Ok(())
    }
}

impl InputSink for RecordingSink {
    fn move_to(&mut self, x: i32, y: i32) -> Result<(), InputError> {
        self.record(SinkEvent::MoveTo(x, y))
    }

    fn button(&mut self, button: MouseButton, press: Press) -> Result<(), InputError> {
        self.record(SinkEvent::Button(button, press))
    }

    fn scroll(&mut self, steps: i32, axis: ScrollAxis) -> Result<(), InputError> {
        self.record(SinkEvent::Scroll(steps, axis))
    }

    fn key(&mut self, key: HostKey, press: Press) -> Result<(), InputError> {
        self.record(SinkEvent::Key(key, press))
    }

    fn text(&mut self, text: &str) -> Result<(), InputError> {
        self.record(SinkEvent::Text(text.to_owned()))
    }
}

/// A sink reached through a mutable reference is a sink too, so tests and
/// drivers can keep ownership while a session uses it.
impl<S: InputSink + ?Sized> InputSink for &mut S {
    fn move_to(&mut self, x: i32, y: i32) -> Result<(), InputError> {
        (**self).move_to(x, y)
    }

    fn button(&mut self, button: MouseButton, press: Press) -> Result<(), InputError> {
        (**self).button(button, press)
    }

    fn scroll(&mut self, steps: i32, axis: ScrollAxis) -> Result<(), InputError> {
        (**self).scroll(steps, axis)
    }

    fn key(&mut self, key: HostKey, press: Press) -> Result<(), InputError> {
        (**self).key(key, press)
    }

    fn text(&mut self, text: &str) -> Result<(), InputError> {
        (**self).text(text)
    }
}

/// Boxed sinks, so a driver can choose the sink at run time.
impl<S: InputSink + ?Sized> InputSink for Box<S> {
    fn move_to(&mut self, x: i32, y: i32) -> Result<(), InputError> {
        (**self).move_to(x, y)
    }

    fn button(&mut self, button: MouseButton, press: Press) -> Result<(), InputError> {
        (**self).button(button, press)
    }

    fn scroll(&mut self, steps: i32, axis: ScrollAxis) -> Result<(), InputError> {
        (**self).scroll(steps, axis)
    }

    fn key(&mut self, key: HostKey, press: Press) -> Result<(), InputError> {
        (**self).key(key, press)
    }

    fn text(&mut self, text: &str) -> Result<(), InputError> {
        (**self).text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::display_number_fits;

    #[test]
    fn display_numbers_beyond_the_tcp_port_range_are_refused() {
        assert!(display_number_fits(":0"));
        assert!(display_number_fits("localhost:59535.0"));
        assert!(display_number_fits("/tmp/.X11-unix/X0"));
        assert!(!display_number_fits(":59536"));
        assert!(!display_number_fits(":65000.1"));
    }
}
