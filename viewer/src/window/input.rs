//! Window input to wire messages (docs/protocol.md 11.1): pointer positions
//! normalized against the rectangle the picture is drawn in, buttons, wheel
//! in lines, keys by W3C code with their text. Remembers what is held so a
//! release is never lost and `release_all` resets everything. Pure: the
//! window loop feeds it plain values and sends what it returns.

use std::collections::HashSet;

use meshdesk_protocol::input::{InputMsg, MouseButton};
use winit::event::MouseButton as WinitButton;
use winit::keyboard::KeyCode;

use crate::window::keymap::{w3c_code, UNIDENTIFIED};
use crate::window::letterbox::{to_remote, to_remote_clamped, Rect};

/// Pixels of a touchpad scroll that make one line (browsers use about 40).
const PIXELS_PER_LINE: f64 = 40.0;
/// Largest wheel delta the host accepts, in lines.
const MAX_WHEEL_LINES: f64 = 1000.0;

/// Translates window input into [`InputMsg`]s.
#[derive(Debug, Default)]
pub struct InputMapper {
    /// Where the picture is drawn in the window.
    picture: Rect,
    /// Last pointer position in window pixels.
    cursor: Option<(f64, f64)>,
    /// Buttons pressed through us and not released yet.
    buttons: HashSet<MouseButton>,
    /// Keys pressed through us and not released yet.
    keys: HashSet<&'static str>,
}

impl InputMapper {
    pub fn new() -> Self {
        Self::default()
    }

    /// The picture moved or was resized (window resize, new stream size).
    pub fn set_picture(&mut self, picture: Rect) {
        self.picture = picture;
    }

    /// The pointer moved to window position `(x, y)`.
    pub fn pointer_moved(&mut self, x: f64, y: f64) -> Option<InputMsg> {
        self.cursor = Some((x, y));
        let (x, y) = self.remote_position()?;
        Some(InputMsg::PointerMove { x, y })
    }

    /// The pointer left the window: forget where it was.
    pub fn pointer_left(&mut self) {
        self.cursor = None;
    }

    /// A button changed. Presses count only over the picture; a release is
    /// always sent for a button pressed through us.
    pub fn button(&mut self, button: WinitButton, down: bool) -> Option<InputMsg> {
        let button = map_button(button)?;
        if down {
            let (x, y) = self.remote_position()?;
            self.buttons.insert(button);
            Some(InputMsg::PointerButton { button, down, x, y })
        } else {
            if !self.buttons.remove(&button) {
                return None;
            }
            let (x, y) = self.remote_position().unwrap_or((0.5, 0.5));
            Some(InputMsg::PointerButton { button, down, x, y })
        }
    }

    /// A wheel turn in lines (winit: positive `dy` is away from the user,
    /// which scrolls up; on the wire positive `dy` scrolls down).
    pub fn wheel_lines(&mut self, dx: f64, dy: f64) -> Option<InputMsg> {
        self.remote_position()?;
        let clamp = |v: f64| (-v).clamp(-MAX_WHEEL_LINES, MAX_WHEEL_LINES);
        if !(dx.is_finite() && dy.is_finite()) || (dx == 0.0 && dy == 0.0) {
            return None;
        }
        Some(InputMsg::Wheel {
            dx: clamp(dx),
            dy: clamp(dy),
        })
    }

    /// A touchpad scroll in pixels.
    pub fn wheel_pixels(&mut self, dx: f64, dy: f64) -> Option<InputMsg> {
        self.wheel_lines(dx / PIXELS_PER_LINE, dy / PIXELS_PER_LINE)
    }

    /// A key changed. `text` is what a press produced (ignored on release
    /// and when it is a control character).
    pub fn key(
        &mut self,
        key: Option<KeyCode>,
        down: bool,
        text: Option<&str>,
    ) -> Option<InputMsg> {
        let text = text
            .filter(|_| down)
            .map(|t| t.chars().filter(|c| !c.is_control()).collect::<String>())
            .filter(|t| !t.is_empty() && t.len() <= 64);
        let code = match key.and_then(w3c_code) {
            Some(code) => code,
            // No code: only useful when it typed something.
            None if text.is_some() => UNIDENTIFIED,
            None => return None,
        };
        if down {
            self.keys.insert(code);
        } else if !self.keys.remove(code) {
            return None; // Pressed before we had focus: not ours to release.
        }
        Some(InputMsg::Key {
            code: code.to_string(),
            down,
            text,
        })
    }

    /// Release everything (focus lost, window closing). Always returns the
    /// message: the host may hold keys we no longer know about.
    pub fn release_all(&mut self) -> InputMsg {
        self.buttons.clear();
        self.keys.clear();
        InputMsg::ReleaseAll
    }

    /// The pointer in normalized remote coordinates: over the picture, or
    /// anywhere in the window while a button is held (a drag).
    fn remote_position(&self) -> Option<(f64, f64)> {
        let (x, y) = self.cursor?;
        if self.buttons.is_empty() {
            to_remote(self.picture, x, y)
        } else {
            to_remote_clamped(self.picture, x, y)
        }
    }
}

fn map_button(button: WinitButton) -> Option<MouseButton> {
    match button {
        WinitButton::Left => Some(MouseButton::Left),
        WinitButton::Middle => Some(MouseButton::Middle),
        WinitButton::Right => Some(MouseButton::Right),
        WinitButton::Back => Some(MouseButton::Back),
        WinitButton::Forward => Some(MouseButton::Forward),
        WinitButton::Other(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::letterbox::fit;

    /// 1280x720 remote in a 640x600 window: picture at y 120..480.
    fn mapper() -> InputMapper {
        let mut m = InputMapper::new();
        m.set_picture(fit(1280, 720, 640, 600));
        m
    }

    #[test]
    fn moves_are_normalized_against_the_picture() {
        let mut m = mapper();
        let Some(InputMsg::PointerMove { x, y }) = m.pointer_moved(320.0, 300.0) else {
            panic!("move expected")
        };
        assert!((x - 0.5).abs() < 0.01 && (y - 0.5).abs() < 0.01);
        assert_eq!(m.pointer_moved(320.0, 50.0), None, "over the bar");
        assert!(m.validate_all());
    }

    #[test]
    fn a_drag_keeps_going_outside_and_always_releases() {
        let mut m = mapper();
        m.pointer_moved(10.0, 200.0);
        assert!(matches!(
            m.button(WinitButton::Left, true),
            Some(InputMsg::PointerButton { down: true, .. })
        ));
        let Some(InputMsg::PointerMove { y, .. }) = m.pointer_moved(10.0, 20.0) else {
            panic!("drag continues over the bar")
        };
        assert_eq!(y, 0.0);
        assert!(matches!(
            m.button(WinitButton::Left, false),
            Some(InputMsg::PointerButton { down: false, .. })
        ));
        assert_eq!(m.button(WinitButton::Left, false), None, "released once");
        m.pointer_moved(10.0, 20.0);
        assert_eq!(m.button(WinitButton::Right, true), None, "press on the bar");
    }

    #[test]
    fn wheel_flips_to_the_wire_direction() {
        let mut m = mapper();
        assert_eq!(m.wheel_lines(0.0, 1.0), None, "no pointer yet");
        m.pointer_moved(320.0, 300.0);
        assert_eq!(
            m.wheel_lines(0.0, 1.0),
            Some(InputMsg::Wheel { dx: -0.0, dy: -1.0 })
        );
        assert_eq!(
            m.wheel_pixels(0.0, -80.0),
            Some(InputMsg::Wheel { dx: -0.0, dy: 2.0 })
        );
        assert_eq!(m.wheel_lines(0.0, 0.0), None);
    }

    #[test]
    fn keys_carry_code_and_text_on_press_only() {
        let mut m = mapper();
        assert_eq!(
            m.key(Some(KeyCode::KeyA), true, Some("a")),
            Some(InputMsg::Key {
                code: "KeyA".into(),
                down: true,
                text: Some("a".into())
            })
        );
        assert_eq!(
            m.key(Some(KeyCode::KeyA), false, Some("a")),
            Some(InputMsg::Key {
                code: "KeyA".into(),
                down: false,
                text: None
            })
        );
        // Ctrl+A produces a control character: never sent as text.
        let Some(InputMsg::Key { text, .. }) = m.key(Some(KeyCode::KeyA), true, Some("\u{1}"))
        else {
            panic!("key expected")
        };
        assert_eq!(text, None);
        assert_eq!(
            m.key(Some(KeyCode::KeyB), false, None),
            None,
            "never pressed"
        );
        assert_eq!(m.key(None, true, None), None);
        assert!(matches!(
            m.key(None, true, Some("é")),
            Some(InputMsg::Key { code, .. }) if code == UNIDENTIFIED
        ));
    }

    #[test]
    fn release_all_forgets_held_input() {
        let mut m = mapper();
        m.key(Some(KeyCode::ShiftLeft), true, None);
        assert_eq!(m.release_all(), InputMsg::ReleaseAll);
        assert_eq!(m.key(Some(KeyCode::ShiftLeft), false, None), None);
    }

    impl InputMapper {
        /// Every message a fresh sequence produces passes the host's checks.
        fn validate_all(&mut self) -> bool {
            [(0.0, 120.0), (639.0, 479.0), (320.0, 300.0)]
                .iter()
                .filter_map(|&(x, y)| self.pointer_moved(x, y))
                .all(|m| m.validate().is_ok())
        }
    }
}
