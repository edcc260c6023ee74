//! W3C `KeyboardEvent.code` to enigo keys.
//!
//! A `code` names a physical key by its position on a US keyboard
//! (`KeyQ` is the key right of Tab whatever the viewer's layout prints on
//! it). The host presses the same physical key; what it produces is up to
//! the host's own layout. So character keys map to the character that key
//! gives on a US layout without Shift (`Semicolon` to `;`); enigo finds the
//! keycode carrying that keysym in the host's keyboard map.
//!
//! Keys enigo has no variant for are given as X keysyms (`Key::Other`),
//! which is what enigo's X11 backend expects: this table is for the X11
//! host. A code missing here is not an error by itself: the session types
//! the key's `text` instead, which is how characters of non-US layouts
//! arrive (see [`KeyAction`]).

use enigo::Key;
use xkeysym::key as sym;

/// What to do for a key event, decided from its `code` and `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Press or release this key.
    Key(Key),
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

/// The enigo key for a W3C `KeyboardEvent.code`, or `None` if unknown.
pub fn key_for_code(code: &str) -> Option<Key> {
    character_key(code)
        .or_else(|| function_key(code))
        .or_else(|| modifier_key(code))
        .or_else(|| editing_key(code))
        .or_else(|| numpad_key(code))
        .or_else(|| media_key(code))
}

/// Letters, digits and US-layout punctuation, by physical key.
fn character_key(code: &str) -> Option<Key> {
    if let Some(letter) = code.strip_prefix("Key") {
        return single_char(letter)
            .filter(char::is_ascii_uppercase)
            .map(|c| Key::Unicode(c.to_ascii_lowercase()));
    }
    if let Some(digit) = code.strip_prefix("Digit") {
        return single_char(digit)
            .filter(char::is_ascii_digit)
            .map(Key::Unicode);
    }
    let c = match code {
        "Backquote" => '`',
        "Minus" => '-',
        "Equal" => '=',
        "BracketLeft" => '[',
        "BracketRight" => ']',
        "Backslash" => '\\',
        "Semicolon" => ';',
        "Quote" => '\'',
        "Comma" => ',',
        "Period" => '.',
        "Slash" => '/',
        "Space" => return Some(Key::Space),
        // The extra key left of Z on ISO keyboards; `<` on an X US layout.
        "IntlBackslash" => return Some(Key::Other(sym::less)),
        _ => return None,
    };
    Some(Key::Unicode(c))
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

/// Shift, Control, Alt and Meta, left and right, and the lock keys.
fn modifier_key(code: &str) -> Option<Key> {
    Some(match code {
        "ShiftLeft" => Key::LShift,
        "ShiftRight" => Key::RShift,
        "ControlLeft" => Key::LControl,
        "ControlRight" => Key::RControl,
        "AltLeft" => Key::Alt,
        "AltRight" => Key::Other(sym::Alt_R),
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

    #[test]
    fn letters_and_digits_map_to_unshifted_characters() {
        assert_eq!(key_for_code("KeyA"), Some(Key::Unicode('a')));
        assert_eq!(key_for_code("KeyZ"), Some(Key::Unicode('z')));
        assert_eq!(key_for_code("Digit0"), Some(Key::Unicode('0')));
        assert_eq!(key_for_code("Digit9"), Some(Key::Unicode('9')));
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
        assert_eq!(key_for_code("F1"), Some(Key::F1));
        assert_eq!(key_for_code("F12"), Some(Key::F12));
        assert_eq!(key_for_code("F24"), Some(Key::F24));
        for bad in ["F0", "F25", "F01", "F", "Fx", "F+1"] {
            assert_eq!(key_for_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn modifiers_keep_their_side() {
        assert_eq!(key_for_code("ShiftLeft"), Some(Key::LShift));
        assert_eq!(key_for_code("ShiftRight"), Some(Key::RShift));
        assert_eq!(key_for_code("ControlLeft"), Some(Key::LControl));
        assert_eq!(key_for_code("ControlRight"), Some(Key::RControl));
        assert_eq!(key_for_code("AltLeft"), Some(Key::Alt));
        assert_eq!(key_for_code("AltRight"), Some(Key::Other(sym::Alt_R)));
        assert_eq!(key_for_code("MetaLeft"), Some(Key::Meta));
        assert_eq!(key_for_code("MetaRight"), Some(Key::Other(sym::Super_R)));
    }

    #[test]
    fn punctuation_is_by_physical_key_on_us_layout() {
        let expected = [
            ("Backquote", '`'),
            ("Minus", '-'),
            ("Equal", '='),
            ("BracketLeft", '['),
            ("BracketRight", ']'),
            ("Backslash", '\\'),
            ("Semicolon", ';'),
            ("Quote", '\''),
            ("Comma", ','),
            ("Period", '.'),
            ("Slash", '/'),
        ];
        for (code, c) in expected {
            assert_eq!(key_for_code(code), Some(Key::Unicode(c)), "{code}");
        }
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
            KeyAction::Key(Key::Unicode('q'))
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
