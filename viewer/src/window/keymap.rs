//! winit physical keys to W3C `KeyboardEvent.code` names, the key names on
//! the wire (docs/protocol.md 11.1), so the native viewer sends exactly what
//! the browser sends for the same key.
//!
//! winit names its `KeyCode` variants after the W3C codes, with three
//! exceptions: the Windows/Super keys are `MetaLeft`/`MetaRight` in W3C,
//! and winit's `Meta`, `Hyper`, `Turbo` and F25 to F35 have no W3C code.

use winit::keyboard::KeyCode;

/// Expands to a match of every listed variant to its own name.
macro_rules! w3c_names {
    ($code:expr; $($same:ident),* $(,)?) => {
        match $code {
            $(KeyCode::$same => Some(stringify!($same)),)*
            KeyCode::SuperLeft => Some("MetaLeft"),
            KeyCode::SuperRight => Some("MetaRight"),
            _ => None,
        }
    };
}

/// The W3C `code` of a physical key, or `None` when it has none.
pub fn w3c_code(code: KeyCode) -> Option<&'static str> {
    w3c_names!(code;
        Backquote, Backslash, BracketLeft, BracketRight, Comma, Digit0, Digit1, Digit2,
        Digit3, Digit4, Digit5, Digit6, Digit7, Digit8, Digit9, Equal, IntlBackslash,
        IntlRo, IntlYen, KeyA, KeyB, KeyC, KeyD, KeyE, KeyF, KeyG, KeyH, KeyI, KeyJ,
        KeyK, KeyL, KeyM, KeyN, KeyO, KeyP, KeyQ, KeyR, KeyS, KeyT, KeyU, KeyV, KeyW,
        KeyX, KeyY, KeyZ, Minus, Period, Quote, Semicolon, Slash, AltLeft, AltRight,
        Backspace, CapsLock, ContextMenu, ControlLeft, ControlRight, Enter, ShiftLeft,
        ShiftRight, Space, Tab, Convert, KanaMode, Lang1, Lang2, Lang3, Lang4, Lang5,
        NonConvert, Delete, End, Help, Home, Insert, PageDown, PageUp, ArrowDown,
        ArrowLeft, ArrowRight, ArrowUp, NumLock, Numpad0, Numpad1, Numpad2, Numpad3,
        Numpad4, Numpad5, Numpad6, Numpad7, Numpad8, Numpad9, NumpadAdd,
        NumpadBackspace, NumpadClear, NumpadClearEntry, NumpadComma, NumpadDecimal,
        NumpadDivide, NumpadEnter, NumpadEqual, NumpadHash, NumpadMemoryAdd,
        NumpadMemoryClear, NumpadMemoryRecall, NumpadMemoryStore, NumpadMemorySubtract,
        NumpadMultiply, NumpadParenLeft, NumpadParenRight, NumpadStar, NumpadSubtract,
        Escape, Fn, FnLock, PrintScreen, ScrollLock, Pause, BrowserBack,
        BrowserFavorites, BrowserForward, BrowserHome, BrowserRefresh, BrowserSearch,
        BrowserStop, Eject, LaunchApp1, LaunchApp2, LaunchMail, MediaPlayPause,
        MediaSelect, MediaStop, MediaTrackNext, MediaTrackPrevious, Power, Sleep,
        AudioVolumeDown, AudioVolumeMute, AudioVolumeUp, WakeUp, Abort, Resume,
        Suspend, Again, Copy, Cut, Find, Open, Paste, Props, Select, Undo, Hiragana,
        Katakana, F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13, F14, F15,
        F16, F17, F18, F19, F20, F21, F22, F23, F24,
    )
}

/// The code sent for a key without a W3C code that produced text: the host
/// does not know it and types the text instead.
pub const UNIDENTIFIED: &str = "Unidentified";

#[cfg(test)]
mod tests {
    use meshdesk_protocol::input::InputMsg;

    use super::*;

    #[test]
    fn common_keys_keep_their_w3c_names() {
        let cases = [
            (KeyCode::KeyA, "KeyA"),
            (KeyCode::Digit1, "Digit1"),
            (KeyCode::ShiftLeft, "ShiftLeft"),
            (KeyCode::Enter, "Enter"),
            (KeyCode::ArrowUp, "ArrowUp"),
            (KeyCode::F5, "F5"),
            (KeyCode::Numpad0, "Numpad0"),
            (KeyCode::Backquote, "Backquote"),
            (KeyCode::ControlRight, "ControlRight"),
        ];
        for (key, name) in cases {
            assert_eq!(w3c_code(key), Some(name));
        }
    }

    #[test]
    fn super_keys_are_meta_and_unknown_keys_have_no_code() {
        assert_eq!(w3c_code(KeyCode::SuperLeft), Some("MetaLeft"));
        assert_eq!(w3c_code(KeyCode::SuperRight), Some("MetaRight"));
        assert_eq!(w3c_code(KeyCode::Hyper), None);
        assert_eq!(w3c_code(KeyCode::F30), None);
    }

    #[test]
    fn every_name_is_valid_on_the_wire() {
        for name in ["MetaLeft", UNIDENTIFIED, "NumpadMemorySubtract"] {
            let msg = InputMsg::Key {
                code: name.into(),
                down: true,
                text: None,
            };
            assert!(msg.validate().is_ok(), "{name}");
        }
    }
}
