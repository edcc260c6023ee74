//! Data-channel messages from a viewer to a host.
//!
//! The `input` channel carries [`InputMsg`]; the `control` channel carries
//! [`ControlMsg`]. Browser and native viewers send exactly the same JSON.
//! Pointer positions are absolute and normalized to the captured screen
//! (0.0 top/left to 1.0 bottom/right), so the viewer's window size does not
//! matter. Keys carry the W3C `KeyboardEvent.code` of the physical key.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codec::{decode_limited, DecodeError};

/// How often a viewer with control sends something on the `input`
/// channel, a [`InputMsg::Heartbeat`] when it has nothing else.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// Input silence after which a host releases what the session holds:
/// three missed heartbeats.
pub const HOLD_SILENCE: Duration = Duration::from_millis(1500);

/// Largest input message a host accepts (a key with its text is tiny).
pub const MAX_INPUT_BYTES: usize = 1024;

/// Longest `code` (W3C codes are short names like `ShiftLeft`).
const MAX_CODE_LEN: usize = 32;
/// Longest `text` a key press may carry.
const MAX_TEXT_LEN: usize = 64;

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MouseButton {
    Left,
    Middle,
    Right,
    Back,
    Forward,
}

/// One input event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputMsg {
    /// Move the pointer to an absolute normalized position.
    PointerMove { x: f64, y: f64 },
    /// Press or release a button, at an absolute normalized position.
    PointerButton {
        button: MouseButton,
        down: bool,
        x: f64,
        y: f64,
    },
    /// Scroll, in lines (positive `dy` scrolls down, positive `dx` right).
    Wheel { dx: f64, dy: f64 },
    /// Press or release a key. `code` is the W3C `KeyboardEvent.code`;
    /// `text` is what the press produced, if anything.
    Key {
        code: String,
        down: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Release every key and button this session holds (sent on blur).
    ReleaseAll,
    /// Nothing else to send: the viewer is still here. A viewer with
    /// control sends some input message at least every 500 ms; a host that
    /// hears nothing for 1.5 s releases everything the session holds (a
    /// viewer killed, or its network pulled, with a key down).
    Heartbeat,
}

/// One control message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlMsg {
    /// Ask the host for a fresh keyframe (IDR).
    RequestKeyframe,
    /// Whether the host acts on RTCP keyframe requests (PLI/FIR) for this
    /// session; on by default. A viewer that decodes frames itself (the
    /// browser's WebCodecs path) turns them off: the browser's idle media
    /// pipeline would otherwise ask for a keyframe several times a second.
    /// It then asks with `request_keyframe` when it needs one.
    RtcpKeyframeRequests { enabled: bool },
    /// Show screen `id` (a [`crate::signal::Screen::id`]) from now on, in
    /// the same session; the host answers with `screens`.
    SelectScreen { id: String },
    /// Send the sound on the `sound` data channel instead of the audio
    /// track (or back on the track): a browser that decodes and plays it
    /// itself (WebCodecs and an AudioWorklet) skips its jitter buffer.
    SoundChannel { enabled: bool },
}

impl InputMsg {
    /// Decode and validate one input message from untrusted text.
    pub fn decode(text: &str) -> Result<InputMsg, DecodeError> {
        let msg: InputMsg = decode_limited(text, MAX_INPUT_BYTES)?;
        msg.validate()?;
        Ok(msg)
    }

    /// Check ranges that serde cannot: finite normalized coordinates,
    /// bounded wheel deltas, short key codes.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            InputMsg::PointerMove { x, y } | InputMsg::PointerButton { x, y, .. } => {
                check_unit("x", *x)?;
                check_unit("y", *y)
            }
            InputMsg::Wheel { dx, dy } => {
                check_wheel("dx", *dx)?;
                check_wheel("dy", *dy)
            }
            InputMsg::Key { code, text, .. } => {
                if code.is_empty() || code.len() > MAX_CODE_LEN {
                    return Err(DecodeError::Invalid(format!(
                        "key code must be 1 to {MAX_CODE_LEN} bytes"
                    )));
                }
                if !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(DecodeError::Invalid("key code must be alphanumeric".into()));
                }
                match text {
                    Some(t) if t.len() > MAX_TEXT_LEN => Err(DecodeError::Invalid(format!(
                        "key text must be at most {MAX_TEXT_LEN} bytes"
                    ))),
                    _ => Ok(()),
                }
            }
            InputMsg::ReleaseAll | InputMsg::Heartbeat => Ok(()),
        }
    }
}

impl ControlMsg {
    /// Decode one control message from untrusted text.
    pub fn decode(text: &str) -> Result<ControlMsg, DecodeError> {
        let msg = decode_limited(text, MAX_INPUT_BYTES)?;
        if let ControlMsg::SelectScreen { id } = &msg {
            crate::signal::check_screen_id(id)?;
        }
        Ok(msg)
    }
}

fn check_unit(name: &str, v: f64) -> Result<(), DecodeError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(DecodeError::Invalid(format!(
            "{name} must be within 0.0 and 1.0"
        )))
    }
}

fn check_wheel(name: &str, v: f64) -> Result<(), DecodeError> {
    if v.is_finite() && v.abs() <= 1000.0 {
        Ok(())
    } else {
        Err(DecodeError::Invalid(format!(
            "{name} must be finite and at most 1000 lines"
        )))
    }
}
