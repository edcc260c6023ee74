//! W3C `KeyboardEvent.code` to the keys the host injects.
//!
//! A `code` names a physical key by its position on a US keyboard
//! (`KeyQ` is the key right of Tab whatever the viewer's layout prints on
//! it). The host presses the same physical key; what it produces is up to
//! the host's own layout, as with Chrome Remote Desktop and RDP. So the
//! keys whose meaning depends on the layout (letters, digits, punctuation,
//! and AltGr) are injected by X keycode ([`HostKey::Code`]): the same key
//! on the host's keyboard, read by the host's layout. A German user on a
//! German host gets `z` from the key labelled Z (`KeyY`), `ß` from the
//! key right of 0 and `@` from AltGr+Q. (Injecting the US character
//! instead, as before, made that key type `y`: the host looked up which of
//! its keys carries `y`.) The keycodes are those of X servers with evdev
//! keycodes (Linux keycode + 8), which every current X server uses.
//!
//! The other keys mean the same on every layout and are injected by keysym
//! ([`HostKey::Sym`]); keys enigo has no variant for are given as X
//! keysyms (`Key::Other`): this table is for the X11 host. A code missing
//! here is not an error by itself: the session types the key's `text`
//! instead (see [`KeyAction`]).

use enigo::Key;
use xkeysym::key as sym;

/// A key as the host injects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKey {
    /// Found by what it means (an enigo key or X keysym): the same key on
    /// every layout.
    Sym(Key),
    /// Found by where it is: an X keycode, read by the host's layout.
    Code(u8),
}

/// What to do for a key event, decided from its `code` and `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Press or release this key.
    Key(HostKey),
    /// The code is unknown; type this text on key down.
    Text(String),
    /// The code is unknown and there is no text: nothing can be done.
    Unknown,
}

/// Decide what a key event means: a known physical key, text to type, or
/// nothing. Control characters in `text` are never typed.
pub fn resolve(code: &str, text: Option<&str>) -> KeyAction {
    if let Some(key) = key_for_code(code) {
        return KeyAction::Key(key);
    }
    let printable: String = text
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if printable.is_empty() {
        KeyAction::Unknown
    } else {
        KeyAction::Text(printable)
    }
}

/// The key for a W3C `KeyboardEvent.code`, or `None` if unknown.
pub fn key_for_code(code: &str) -> Option<HostKey> {
    if let Some(keycode) = layout_keycode(code) {
        return Some(HostKey::Code(keycode));
    }
    function_key(code)
        .or_else(|| modifier_key(code))
        .or_else(|| editing_key(code))
        .or_else(|| numpad_key(code))
        .or_else(|| media_key(code))
        .map(HostKey::Sym)
}

/// The X keycode (evdev) of a key whose character depends on the layout:
/// letters, digits, punctuation, the ISO key left of Z, and AltGr.
fn layout_keycode(code: &str) -> Option<u8> {
    /// The letter rows, each with the keycode of its first key.
    const ROWS: [(&str, u8); 3] = [("QWERTYUIOP", 24), ("ASDFGHJKL", 38), ("ZXCVBNM", 52)];
    if let Some(letter) = code.strip_prefix("Key").and_then(single_char) {
        return ROWS.iter().find_map(|(row, first)| {
            let at = row.find(letter)?;
            u8::try_from(at).ok().map(|at| first + at)
        });
    }
    if let Some(digit) = code.strip_prefix("Digit").and_then(single_char) {
        // 1 to 9 are keycodes 10 to 18, and 0 comes after 9.
        return digit
            .to_digit(10)
            .and_then(|d| u8::try_from((d + 9) % 10).ok())
            .map(|i| 10 + i);
    }
    Some(match code {
        "Backquote" => 49,
        "Minus" => 20,
        "Equal" => 21,
        "BracketLeft" => 34,
        "BracketRight" => 35,
        "Backslash" => 51,
        "Semicolon" => 47,
        "Quote" => 48,
        "Comma" => 59,
        "Period" => 60,
        "Slash" => 61,
        // The extra key left of Z on ISO keyboards (`<` on a German one).
        "IntlBackslash" => 94,
        // AltGr on most layouts: its place, not the Alt_R keysym, which
        // such layouts do not have on any key.
        "AltRight" => 108,
        _ => return None,
    })
}

/// `F1` to `F24`.
fn function_key(code: &str) -> Option<Key> {
    let n: u8 = code.strip_prefix('F')?.parse().ok()?;
    const KEYS: [Key; 24] = [
        Key::F1,
        Key::F2,
        Key::F3,
        Key::F4,
        Key::F5,
        Key::F6,
        Key::F7,
        Key::F8,
        Key::F9,
        Key::F10,
        Key::F11,
        Key::F12,
        Key::F13,
        Key::F14,
        Key::F15,
        Key::F16,
        Key::F17,
        Key::F18,
        Key::F19,
        Key::F20,
        Key::F21,
        Key::F22,
        Key::F23,
        Key::F24,
    ];
    // `parse` accepts "F01"; only the canonical spelling is a W3C code.
    if code.len() != 1 + n.to_string().len() {
        return None;
    }
    KEYS.get(usize::from(n).checked_sub(1)?).copied()
}

/// Shift, Control, Alt (left) and Meta, and the lock keys.
fn modifier_key(code: &str) -> Option<Key> {
    Some(match code {
        "ShiftLeft" => Key::LShift,
        "ShiftRight" => Key::RShift,
        "ControlLeft" => Key::LControl,
        "ControlRight" => Key::RControl,
        "AltLeft" => Key::Alt,
        // Older browsers call the Windows/Super keys `OSLeft`/`OSRight`.
        "MetaLeft" | "OSLeft" => Key::Meta,
        "MetaRight" | "OSRight" => Key::Other(sym::Super_R),
        "CapsLock" => Key::CapsLock,
        "NumLock" => Key::Numlock,
        "ScrollLock" => Key::ScrollLock,
        _ => return None,
    })
}

/// Arrows, navigation, editing, and the keys of the function row.
fn editing_key(code: &str) -> Option<Key> {
    Some(match code {
        "Space" => Key::Space,
        "ArrowUp" => Key::UpArrow,
        "ArrowDown" => Key::DownArrow,
        "ArrowLeft" => Key::LeftArrow,
        "ArrowRight" => Key::RightArrow,
        "Home" => Key::Home,
        "End" => Key::End,
        "PageUp" => Key::PageUp,
        "PageDown" => Key::PageDown,
        "Insert" => Key::Insert,
        "Delete" => Key::Delete,
        "Backspace" => Key::Backspace,
        "Enter" => Key::Return,
        "Tab" => Key::Tab,
        "Escape" => Key::Escape,
        "PrintScreen" => Key::PrintScr,
        "Pause" => Key::Pause,
        "ContextMenu" => Key::LMenu,
        "Help" => Key::Help,
        "Undo" => Key::Undo,
        "Again" => Key::Redo,
        "Find" => Key::Find,
        "Select" => Key::Select,
        "Copy" => Key::Other(sym::XF86_Copy),
        "Cut" => Key::Other(sym::XF86_Cut),
        "Paste" => Key::Other(sym::XF86_Paste),
        "Open" => Key::Other(sym::XF86_Open),
        // Input-method keys of Korean and Japanese keyboards.
        "Lang1" => Key::Hangul,
        "Lang2" => Key::Hanja,
        "Convert" => Key::Other(sym::Henkan),
        "NonConvert" => Key::Other(sym::Muhenkan),
        "KanaMode" => Key::Other(sym::Hiragana_Katakana),
        _ => return None,
    })
}

/// The numeric keypad.
fn numpad_key(code: &str) -> Option<Key> {
    let rest = code.strip_prefix("Numpad")?;
    if let Some(d) = single_char(rest).filter(char::is_ascii_digit) {
        const DIGITS: [Key; 10] = [
            Key::Numpad0,
            Key::Numpad1,
            Key::Numpad2,
            Key::Numpad3,
            Key::Numpad4,
            Key::Numpad5,
            Key::Numpad6,
            Key::Numpad7,
            Key::Numpad8,
            Key::Numpad9,
        ];
        // `d` is an ASCII digit, so its value indexes the ten entries.
        return d.to_digit(10).and_then(|i| DIGITS.get(i as usize)).copied();
    }
    Some(match rest {
        "Add" => Key::Add,
        "Subtract" => Key::Subtract,
        "Multiply" => Key::Multiply,
        "Divide" => Key::Divide,
        "Decimal" => Key::Decimal,
        "Enter" => Key::Other(sym::KP_Enter),
        "Equal" => Key::Other(sym::KP_Equal),
        "Comma" => Key::Other(sym::KP_Separator),
        _ => return None,
    })
}

/// Media, volume, browser and power keys.
fn media_key(code: &str) -> Option<Key> {
    Some(match code {
        "MediaPlayPause" => Key::MediaPlayPause,
        "MediaStop" => Key::MediaStop,
        "MediaTrackNext" => Key::MediaNextTrack,
        "MediaTrackPrevious" => Key::MediaPrevTrack,
        "MediaSelect" | "LaunchMediaPlayer" => Key::Other(sym::XF86_AudioMedia),
        // Firefox and old Chrome use the names without `Audio`.
        "AudioVolumeMute" | "VolumeMute" => Key::VolumeMute,
        "AudioVolumeDown" | "VolumeDown" => Key::VolumeDown,
        "AudioVolumeUp" | "VolumeUp" => Key::VolumeUp,
        "BrowserBack" => Key::Other(sym::XF86_Back),
        "BrowserForward" => Key::Other(sym::XF86_Forward),
        "BrowserRefresh" => Key::Other(sym::XF86_Refresh),
        "BrowserStop" => Key::Other(sym::XF86_Stop),
        "BrowserSearch" => Key::Other(sym::XF86_Search),
        "BrowserHome" => Key::Other(sym::XF86_HomePage),
        "BrowserFavorites" => Key::Other(sym::XF86_Favorites),
        "LaunchMail" => Key::Other(sym::XF86_Mail),
        "LaunchApp1" => Key::Other(sym::XF86_MyComputer),
        "LaunchApp2" => Key::Other(sym::XF86_Calculator),
        "Power" => Key::Other(sym::XF86_PowerOff),
        "Sleep" => Key::Other(sym::XF86_Sleep),
        "WakeUp" => Key::Other(sym::XF86_WakeUp),
        "Eject" => Key::Other(sym::XF86_Eject),
        _ => return None,
    })
}

/// The only character of `s`, if it has exactly one.
fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(key: Key) -> Option<HostKey> {
        Some(HostKey::Sym(key))
    }

    #[test]
    fn letters_and_digits_are_keys_by_place() {
        // evdev keycodes + 8, as `xmodmap -pk` shows them on Xvfb.
        let expected = [
            ("KeyQ", 24),
            ("KeyP", 33),
            ("KeyA", 38),
            ("KeyL", 46),
            ("KeyY", 29),
            ("KeyZ", 52),
            ("KeyM", 58),
            ("Digit1", 10),
            ("Digit9", 18),
            ("Digit0", 19),
        ];
        for (code, keycode) in expected {
            assert_eq!(key_for_code(code), Some(HostKey::Code(keycode)), "{code}");
        }
        for bad in ["Key", "Keya", "KeyAB", "Key1", "Digit", "DigitA", "Digit10"] {
            assert_eq!(key_for_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_letter_and_digit_is_known() {
        for c in 'A'..='Z' {
            assert!(key_for_code(&format!("Key{c}")).is_some(), "Key{c}");
        }
        for d in 0..10 {
            assert!(key_for_code(&format!("Digit{d}")).is_some());
            assert!(key_for_code(&format!("Numpad{d}")).is_some());
        }
    }

    #[test]
    fn function_keys_one_to_twenty_four() {
        assert_eq!(key_for_code("F1"), sym(Key::F1));
        assert_eq!(key_for_code("F12"), sym(Key::F12));
        assert_eq!(key_for_code("F24"), sym(Key::F24));
        for bad in ["F0", "F25", "F01", "F", "Fx", "F+1"] {
            assert_eq!(key_for_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn modifiers_keep_their_side() {
        assert_eq!(key_for_code("ShiftLeft"), sym(Key::LShift));
        assert_eq!(key_for_code("ShiftRight"), sym(Key::RShift));
        assert_eq!(key_for_code("ControlLeft"), sym(Key::LControl));
        assert_eq!(key_for_code("ControlRight"), sym(Key::RControl));
        assert_eq!(key_for_code("AltLeft"), sym(Key::Alt));
        // AltGr by place: the layout decides what it is.
        assert_eq!(key_for_code("AltRight"), Some(HostKey::Code(108)));
        assert_eq!(key_for_code("MetaLeft"), sym(Key::Meta));
        assert_eq!(key_for_code("MetaRight"), sym(Key::Other(sym::Super_R)));
    }

    #[test]
    fn punctuation_is_by_physical_key() {
        let expected = [
            ("Backquote", 49),
            ("Minus", 20),
            ("Equal", 21),
            ("BracketLeft", 34),
            ("BracketRight", 35),
            ("Backslash", 51),
            ("Semicolon", 47),
            ("Quote", 48),
            ("Comma", 59),
            ("Period", 60),
            ("Slash", 61),
            ("IntlBackslash", 94),
        ];
        for (code, keycode) in expected {
            assert_eq!(key_for_code(code), Some(HostKey::Code(keycode)), "{code}");
        }
        assert_eq!(key_for_code("Space"), sym(Key::Space));
    }

    #[test]
    fn a_full_pc_keyboard_is_known() {
        let codes = "Escape Tab CapsLock Enter Backspace Space Insert Delete Home End \
            PageUp PageDown ArrowUp ArrowDown ArrowLeft ArrowRight PrintScreen ScrollLock \
            Pause ContextMenu NumLock NumpadAdd NumpadSubtract NumpadMultiply NumpadDivide \
            NumpadDecimal NumpadEnter NumpadEqual IntlBackslash AudioVolumeUp \
            MediaPlayPause MediaTrackNext BrowserBack";
        for code in codes.split_whitespace() {
            assert!(key_for_code(code).is_some(), "{code}");
        }
    }

    #[test]
    fn unknown_code_types_its_text() {
        assert_eq!(
            resolve("IntlRo", Some("ろ")),
            KeyAction::Text("ろ".to_string())
        );
        assert_eq!(resolve("IntlYen", None), KeyAction::Unknown);
        assert_eq!(resolve("Nonsense", Some("")), KeyAction::Unknown);
    }

    #[test]
    fn known_code_wins_over_text() {
        // A French viewer's `KeyQ` prints `a`: the host presses the same key.
        assert_eq!(
            resolve("KeyQ", Some("a")),
            KeyAction::Key(HostKey::Code(24))
        );
    }

    #[test]
    fn control_characters_are_never_typed() {
        assert_eq!(resolve("Unknown1", Some("\u{7}\r")), KeyAction::Unknown);
        assert_eq!(
            resolve("Unknown1", Some("é\n")),
            KeyAction::Text("é".to_string())
        );
    }
}
