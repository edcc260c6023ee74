//! Keeps remote input away from the consent windows.
//!
//! The prompt and the notice are ordinary X windows on the captured
//! display, and XTEST input (what a remote viewer's clicks become) is
//! indistinguishable from the local user's once the X server delivers it.
//! So the line is drawn before injection, in the injector itself: every
//! session's sink is a [`ShieldedSink`], which asks the shared [`Shield`]
//! before it passes an event on.
//!
//! - While a prompt is up (it is raised in the shield *before* the window
//!   is mapped and lowered only after it is gone), no session may press a
//!   button, a key, or type: a viewer can neither click "Allow" nor press
//!   Enter, Tab or Escape on it. Pointer moves and releases still pass, so
//!   nothing stays held.
//! - While the notice is up, a press whose position lies inside the
//!   notice's rectangle is dropped, so a viewer cannot click
//!   "Disconnect" (its own session's or another's).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use meshdesk_protocol::input::MouseButton;

use crate::input::{HostKey, InputError, InputSink, Press, ScrollAxis};

/// A rectangle of the screen: x, y, width, height in pixels.
pub type Rect = (i32, i32, u32, u32);

/// What the consent windows cover right now; shared by the X driver (which
/// sets it) and every session's sink (which reads it).
#[derive(Debug, Default)]
pub struct Shield {
    /// Prompts being shown (or about to be).
    prompts: AtomicUsize,
    /// Where the notice is, if it is shown.
    notice: Mutex<Option<Rect>>,
}

impl Shield {
    /// A prompt is about to be mapped.
    pub fn prompt_raised(&self) {
        self.prompts.fetch_add(1, Ordering::SeqCst);
    }

    /// A prompt was unmapped.
    pub fn prompt_lowered(&self) {
        let _ = self
            .prompts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// Where the notice is now (`None`: not shown).
    pub fn set_notice(&self, rect: Option<Rect>) {
        *self.notice.lock().unwrap_or_else(|e| e.into_inner()) = rect;
    }

    /// Whether any prompt is up.
    pub fn prompt_up(&self) -> bool {
        self.prompts.load(Ordering::SeqCst) > 0
    }

    /// Whether a press at `(x, y)` must be dropped.
    pub fn blocks_press_at(&self, x: i32, y: i32) -> bool {
        if self.prompt_up() {
            return true;
        }
        let notice = *self.notice.lock().unwrap_or_else(|e| e.into_inner());
        notice.is_some_and(|(nx, ny, w, h)| {
            x >= nx
                && y >= ny
                && i64::from(x) < i64::from(nx) + i64::from(w)
                && i64::from(y) < i64::from(ny) + i64::from(h)
        })
    }
}

/// A sink that drops what the [`Shield`] forbids and passes the rest on.
#[derive(Debug)]
pub struct ShieldedSink<S> {
    inner: S,
    shield: std::sync::Arc<Shield>,
    /// Where this session last moved the pointer: where a press lands.
    at: (i32, i32),
}

impl<S: InputSink> ShieldedSink<S> {
    pub fn new(inner: S, shield: std::sync::Arc<Shield>) -> ShieldedSink<S> {
        ShieldedSink {
            inner,
            shield,
            at: (0, 0),
        }
    }

    /// The sink inside (for tests).
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: InputSink> InputSink for ShieldedSink<S> {
    fn move_to(&mut self, x: i32, y: i32) -> Result<(), InputError> {
        self.at = (x, y);
        self.inner.move_to(x, y)
    }

    fn button(&mut self, button: MouseButton, press: Press) -> Result<(), InputError> {
        if press == Press::Down && self.shield.blocks_press_at(self.at.0, self.at.1) {
            tracing::info!(
                x = self.at.0,
                y = self.at.1,
                "press on a consent window dropped"
            );
            return Ok(());
        }
        self.inner.button(button, press)
    }

    fn scroll(&mut self, steps: i32, axis: ScrollAxis) -> Result<(), InputError> {
        if self.shield.prompt_up() {
            return Ok(());
        }
        self.inner.scroll(steps, axis)
    }

    fn key(&mut self, key: HostKey, press: Press) -> Result<(), InputError> {
        if press == Press::Down && self.shield.prompt_up() {
            tracing::info!("key press during a consent prompt dropped");
            return Ok(());
        }
        self.inner.key(key, press)
    }

    fn text(&mut self, text: &str) -> Result<(), InputError> {
        if self.shield.prompt_up() {
            return Ok(());
        }
        self.inner.text(text)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::input::{RecordingSink, SinkEvent};

    #[test]
    fn a_prompt_stops_presses_and_keys_but_not_moves_or_releases() {
        let shield = Arc::new(Shield::default());
        let mut sink = ShieldedSink::new(RecordingSink::new(), Arc::clone(&shield));
        shield.prompt_raised();
        sink.move_to(10, 10).expect("move");
        sink.button(MouseButton::Left, Press::Down).expect("down");
        sink.button(MouseButton::Left, Press::Up).expect("up");
        sink.text("y").expect("text");
        assert_eq!(
            sink.inner().events,
            [
                SinkEvent::MoveTo(10, 10),
                SinkEvent::Button(MouseButton::Left, Press::Up)
            ]
        );
        shield.prompt_lowered();
        shield.prompt_lowered(); // never below zero
        sink.button(MouseButton::Left, Press::Down).expect("down");
        assert_eq!(sink.inner().events.len(), 3);
    }

    #[test]
    fn the_notice_stops_presses_inside_it_only() {
        let shield = Arc::new(Shield::default());
        let mut sink = ShieldedSink::new(RecordingSink::new(), Arc::clone(&shield));
        shield.set_notice(Some((100, 0, 50, 20)));
        sink.move_to(120, 10).expect("move");
        sink.button(MouseButton::Left, Press::Down).expect("inside");
        sink.move_to(150, 10).expect("move");
        sink.button(MouseButton::Left, Press::Down)
            .expect("outside");
        let presses = sink
            .inner()
            .events
            .iter()
            .filter(|e| matches!(e, SinkEvent::Button(_, Press::Down)))
            .count();
        assert_eq!(presses, 1);
    }
}
