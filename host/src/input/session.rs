//! One viewer's input, from wire messages to injected events.
//!
//! An [`InputSession`] belongs to one viewer session. It checks the grant,
//! maps keys, turns normalized positions into pixels, remembers what it
//! pressed, and releases exactly that on a release-all message, when the
//! grant drops to view-only, and when it is dropped. A driver drops the
//! session whenever the viewer's session ends, however it ends (closed,
//! failed, viewer vanished, host shutting down), so no key or button stays
//! pressed. It does no I/O of its own beyond the sink and reads no clock.

use meshdesk_protocol::input::{InputMsg, MouseButton};
use meshdesk_protocol::rest::Permission;
use tracing::{debug, warn};

use super::gate::{Gate, Regrant};
use super::geometry::ScreenRect;
use super::injector::{InputSink, Press, ScrollAxis};
use super::keymap::{self, KeyAction};
use super::outcome::{InputStats, Outcome, Rejection};
use super::state::{Down, HeldInput, Up};
use super::wheel::WheelAccumulator;
use super::InputError;

/// Input of one viewer session, injected into one sink.
#[derive(Debug)]
pub struct InputSession<S: InputSink> {
    /// The grant; a view-only session injects nothing.
    gate: Gate,
    /// The captured screen that normalized positions refer to.
    screen: ScreenRect,
    /// Where events go.
    sink: S,
    /// What we pressed and have not released.
    held: HeldInput,
    /// Wheel fractions not yet injected.
    wheel: WheelAccumulator,
    /// Outcomes so far.
    stats: InputStats,
}

impl<S: InputSink> InputSession<S> {
    /// A session with the server's `permission` for it, injecting into
    /// `sink` on the captured `screen`.
    pub fn new(permission: Permission, screen: ScreenRect, sink: S) -> InputSession<S> {
        InputSession {
            gate: Gate::new(permission),
            screen,
            sink,
            held: HeldInput::new(),
            wheel: WheelAccumulator::new(),
            stats: InputStats::default(),
        }
    }

    /// Decode one message from the `input` data channel and handle it.
    /// A malformed message is rejected and counted, never an error.
    pub fn handle_text(&mut self, text: &str) -> Result<Outcome, InputError> {
        match InputMsg::decode(text) {
            Ok(msg) => self.handle(msg),
            Err(err) => {
                let outcome = Outcome::Rejected(Rejection::Malformed);
                self.stats.count(outcome);
                if InputStats::should_log_rejection(self.stats.rejected) {
                    warn!(%err, rejected = self.stats.rejected, "malformed input message dropped");
                }
                Ok(outcome)
            }
        }
    }

    /// Handle one input message. `Err` means the display failed; the
    /// message is counted as failed and what is held stays recorded, so a
    /// later [`release_all`](Self::release_all) (or drop) still releases it.
    pub fn handle(&mut self, msg: InputMsg) -> Result<Outcome, InputError> {
        let result = self.dispatch(msg);
        match &result {
            Ok(outcome) => {
                self.stats.count(*outcome);
                if let Outcome::Rejected(reason) = outcome {
                    if InputStats::should_log_rejection(self.stats.rejected) {
                        warn!(
                            ?reason,
                            rejected = self.stats.rejected,
                            "input message dropped"
                        );
                    }
                }
            }
            Err(_) => self.stats.failed = self.stats.failed.saturating_add(1),
        }
        result
    }

    fn dispatch(&mut self, msg: InputMsg) -> Result<Outcome, InputError> {
        if !self.gate.admits_input() {
            return Ok(Outcome::DroppedViewOnly);
        }
        // Messages built in-process skip `decode`; check them the same way.
        if msg.validate().is_err() {
            return Ok(Outcome::Rejected(Rejection::Malformed));
        }
        match msg {
            InputMsg::PointerMove { x, y } => self.pointer_move(x, y),
            InputMsg::PointerButton { button, down, x, y } => {
                self.pointer_button(button, down, x, y)
            }
            InputMsg::Wheel { dx, dy } => self.wheel(dx, dy),
            InputMsg::Key { code, down, text } => self.key(&code, down, text.as_deref()),
            InputMsg::Heartbeat => Ok(Outcome::Ignored),
            InputMsg::ReleaseAll => {
                if self.held.is_empty() {
                    Ok(Outcome::Ignored)
                } else {
                    self.release_all().map(|()| Outcome::Injected)
                }
            }
        }
    }

    fn pointer_move(&mut self, x: f64, y: f64) -> Result<Outcome, InputError> {
        let (px, py) = self.screen.to_pixel(x, y);
        self.sink.move_to(px, py)?;
        Ok(Outcome::Injected)
    }

    fn pointer_button(
        &mut self,
        button: MouseButton,
        down: bool,
        x: f64,
        y: f64,
    ) -> Result<Outcome, InputError> {
        self.pointer_move(x, y)?;
        if down {
            if self.held.button_down(button) == Down::Pressed {
                // Recorded before injecting: if the press fails halfway,
                // release-all still sends the matching release.
                self.sink.button(button, Press::Down)?;
            }
        } else if self.held.button_up(button) == Up::Released {
            if let Err(err) = self.sink.button(button, Press::Up) {
                self.held.button_down(button);
                return Err(err);
            }
        }
        // The pointer moved either way.
        Ok(Outcome::Injected)
    }

    fn wheel(&mut self, dx: f64, dy: f64) -> Result<Outcome, InputError> {
        let (steps_x, steps_y) = self.wheel.add(dx, dy);
        if steps_x == 0 && steps_y == 0 {
            return Ok(Outcome::Ignored);
        }
        if steps_y != 0 {
            self.sink.scroll(steps_y, ScrollAxis::Vertical)?;
        }
        if steps_x != 0 {
            self.sink.scroll(steps_x, ScrollAxis::Horizontal)?;
        }
        Ok(Outcome::Injected)
    }

    fn key(&mut self, code: &str, down: bool, text: Option<&str>) -> Result<Outcome, InputError> {
        match keymap::resolve(code, text) {
            KeyAction::Key(key) if down => {
                // A down for a held key is auto-repeat: press it again.
                self.held.key_down(key);
                self.sink.key(key, Press::Down)?;
                Ok(Outcome::Injected)
            }
            KeyAction::Key(key) => match self.held.key_up(key) {
                Up::Released => {
                    if let Err(err) = self.sink.key(key, Press::Up) {
                        self.held.key_down(key);
                        return Err(err);
                    }
                    Ok(Outcome::Injected)
                }
                Up::NotHeld => Ok(Outcome::Ignored),
            },
            KeyAction::Text(text) if down => {
                self.sink.text(&text)?;
                Ok(Outcome::Injected)
            }
            // The text was typed, press and release, on key down.
            KeyAction::Text(_) => Ok(Outcome::Ignored),
            KeyAction::Unknown if down => {
                debug!(code, "unknown key code without text");
                Ok(Outcome::Rejected(Rejection::UnknownKey))
            }
            // Its down was rejected, so nothing is held.
            KeyAction::Unknown => Ok(Outcome::Ignored),
        }
    }

    /// Release every key and button this session holds, buttons first,
    /// then keys newest first. Everything is attempted even if some
    /// releases fail, and the record is emptied either way (the display is
    /// most likely gone); the first failure is returned.
    pub fn release_all(&mut self) -> Result<(), InputError> {
        let (buttons, keys) = self.held.take_all();
        self.wheel.reset();
        let mut first_err = None;
        for button in buttons {
            if let Err(err) = self.sink.button(button, Press::Up) {
                warn!(?button, %err, "could not release mouse button");
                first_err.get_or_insert(err);
            }
        }
        for key in keys {
            if let Err(err) = self.sink.key(key, Press::Up) {
                warn!(?key, %err, "could not release key");
                first_err.get_or_insert(err);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Apply a new grant from the server. Losing control releases
    /// everything held first.
    pub fn set_permission(&mut self, permission: Permission) -> Result<(), InputError> {
        match self.gate.regrant(permission) {
            Regrant::ControlLost => self.release_all(),
            Regrant::Unchanged => Ok(()),
        }
    }

    /// The captured screen changed (resolution, or another monitor).
    pub fn set_screen(&mut self, screen: ScreenRect) {
        self.screen = screen;
    }

    /// The current grant.
    pub fn permission(&self) -> Permission {
        self.gate.permission()
    }

    /// Counts of outcomes so far.
    pub fn stats(&self) -> InputStats {
        self.stats
    }

    /// What this session holds pressed right now.
    pub fn held(&self) -> &HeldInput {
        &self.held
    }

    /// The sink, to inspect it (tests read a [`RecordingSink`] here).
    ///
    /// [`RecordingSink`]: super::RecordingSink
    pub fn sink(&self) -> &S {
        &self.sink
    }
}

impl<S: InputSink> Drop for InputSession<S> {
    /// No stuck modifiers, ever: whatever ends the session, release what
    /// it holds. Failures can only be logged here.
    fn drop(&mut self) {
        if self.held.is_empty() {
            return;
        }
        if let Err(err) = self.release_all() {
            warn!(%err, "releasing held input at session end failed");
        }
    }
}
