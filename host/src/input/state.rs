//! What this session holds pressed on the host: keys and mouse buttons.
//!
//! A pure record, no I/O. The session consults it before every press and
//! release so that it injects only meaningful transitions, and empties it
//! on release-all so that exactly what we pressed gets released: no key is
//! left stuck, and no key someone at the host holds is released by us.
//!
//! Keys are recorded as the [`HostKey`] that was injected, not the `code` that
//! asked for it, so two codes for one key (`VolumeUp`, `AudioVolumeUp`)
//! stay one held key.

use meshdesk_protocol::input::MouseButton;

use super::keymap::HostKey;

/// What a key or button down means given what is already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    /// Not held before: press it.
    Pressed,
    /// Already held: for a key this is auto-repeat (press again); for a
    /// button it is a duplicate and changes nothing.
    AlreadyHeld,
}

/// What a key or button up means given what is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Up {
    /// It was held: release it.
    Released,
    /// We never pressed it (or already released it): ignore.
    NotHeld,
}

/// Keys and buttons pressed by this session and not yet released, in the
/// order they were pressed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeldInput {
    /// Held keys, oldest first (a handful at most; a Vec keeps the order
    /// so release-all can undo presses in reverse).
    keys: Vec<HostKey>,
    /// Held mouse buttons, oldest first.
    buttons: Vec<MouseButton>,
}

impl HeldInput {
    /// Nothing held.
    pub fn new() -> HeldInput {
        HeldInput::default()
    }

    /// Record a key down.
    pub fn key_down(&mut self, key: HostKey) -> Down {
        if self.keys.contains(&key) {
            Down::AlreadyHeld
        } else {
            self.keys.push(key);
            Down::Pressed
        }
    }

    /// Record a key up.
    pub fn key_up(&mut self, key: HostKey) -> Up {
        remove(&mut self.keys, &key)
    }

    /// Record a button down.
    pub fn button_down(&mut self, button: MouseButton) -> Down {
        if self.buttons.contains(&button) {
            Down::AlreadyHeld
        } else {
            self.buttons.push(button);
            Down::Pressed
        }
    }

    /// Record a button up.
    pub fn button_up(&mut self, button: MouseButton) -> Up {
        remove(&mut self.buttons, &button)
    }

    /// Whether this key is held.
    pub fn is_key_held(&self, key: HostKey) -> bool {
        self.keys.contains(&key)
    }

    /// Whether this button is held.
    pub fn is_button_held(&self, button: MouseButton) -> bool {
        self.buttons.contains(&button)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.buttons.is_empty()
    }

    /// Held keys, oldest first.
    pub fn keys(&self) -> &[HostKey] {
        &self.keys
    }

    /// Held buttons, oldest first.
    pub fn buttons(&self) -> &[MouseButton] {
        &self.buttons
    }

    /// Forget everything and return what was held, in release order:
    /// buttons first (a drag ends before its modifiers do), then keys,
    /// newest first.
    pub fn take_all(&mut self) -> (Vec<MouseButton>, Vec<HostKey>) {
        let mut buttons = std::mem::take(&mut self.buttons);
        let mut keys = std::mem::take(&mut self.keys);
        buttons.reverse();
        keys.reverse();
        (buttons, keys)
    }
}

fn remove<T: PartialEq>(held: &mut Vec<T>, item: &T) -> Up {
    match held.iter().position(|h| h == item) {
        Some(i) => {
            held.remove(i);
            Up::Released
        }
        None => Up::NotHeld,
    }
}

#[cfg(test)]
mod tests {
    use enigo::Key;

    use super::*;

    #[test]
    fn down_then_up_releases() {
        let mut held = HeldInput::new();
        assert_eq!(held.key_down(HostKey::Sym(Key::LShift)), Down::Pressed);
        assert!(held.is_key_held(HostKey::Sym(Key::LShift)));
        assert_eq!(held.key_up(HostKey::Sym(Key::LShift)), Up::Released);
        assert!(held.is_empty());
    }

    #[test]
    fn repeated_down_is_a_repeat_and_one_up_releases() {
        let mut held = HeldInput::new();
        assert_eq!(held.key_down(HostKey::Code(38)), Down::Pressed);
        assert_eq!(held.key_down(HostKey::Code(38)), Down::AlreadyHeld);
        assert_eq!(held.key_down(HostKey::Code(38)), Down::AlreadyHeld);
        assert_eq!(held.keys(), &[HostKey::Code(38)]);
        assert_eq!(held.key_up(HostKey::Code(38)), Up::Released);
        assert_eq!(held.key_up(HostKey::Code(38)), Up::NotHeld);
        assert!(held.is_empty());
    }

    #[test]
    fn up_for_a_key_never_pressed_is_ignored() {
        let mut held = HeldInput::new();
        held.key_down(HostKey::Sym(Key::LControl));
        assert_eq!(held.key_up(HostKey::Sym(Key::LShift)), Up::NotHeld);
        assert_eq!(held.button_up(MouseButton::Left), Up::NotHeld);
        assert_eq!(held.keys(), &[HostKey::Sym(Key::LControl)]);
    }

    #[test]
    fn buttons_are_tracked_apart_from_keys() {
        let mut held = HeldInput::new();
        assert_eq!(held.button_down(MouseButton::Left), Down::Pressed);
        assert_eq!(held.button_down(MouseButton::Left), Down::AlreadyHeld);
        assert_eq!(held.button_down(MouseButton::Right), Down::Pressed);
        assert!(held.is_button_held(MouseButton::Left));
        assert_eq!(held.button_up(MouseButton::Left), Up::Released);
        assert_eq!(held.buttons(), &[MouseButton::Right]);
        assert!(held.keys().is_empty());
    }

    #[test]
    fn take_all_returns_newest_first_and_empties() {
        let mut held = HeldInput::new();
        held.key_down(HostKey::Sym(Key::LControl));
        held.key_down(HostKey::Sym(Key::LShift));
        held.key_down(HostKey::Code(28));
        held.button_down(MouseButton::Left);
        held.button_down(MouseButton::Middle);
        let (buttons, keys) = held.take_all();
        assert_eq!(buttons, vec![MouseButton::Middle, MouseButton::Left]);
        assert_eq!(
            keys,
            vec![
                HostKey::Code(28),
                HostKey::Sym(Key::LShift),
                HostKey::Sym(Key::LControl)
            ]
        );
        assert!(held.is_empty());
        assert_eq!(held.take_all(), (vec![], vec![]));
    }

    #[test]
    fn released_key_can_be_pressed_again() {
        let mut held = HeldInput::new();
        held.key_down(HostKey::Sym(Key::LShift));
        held.key_up(HostKey::Sym(Key::LShift));
        assert_eq!(held.key_down(HostKey::Sym(Key::LShift)), Down::Pressed);
    }
}
