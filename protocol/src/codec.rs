//! Size-limited JSON encoding and decoding of wire messages.

use serde::{de::DeserializeOwned, Serialize};

/// Largest WebSocket or data-channel text message any Meshdesk peer accepts.
/// SDP offers with many candidates stay well below this.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Why untrusted input could not be decoded. Never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message is longer than [`MAX_MESSAGE_BYTES`].
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// Not JSON at all (syntax error or truncated input).
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but the `type` tag names no message this side accepts.
    #[error("unknown message type: {0}")]
    UnknownType(String),
    /// JSON with a known type but missing fields or wrong field types.
    #[error("invalid message: {0}")]
    Invalid(String),
}

impl DecodeError {
    /// A short stable code for error replies (`malformed`, `too_large`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Malformed(_) => "malformed",
            DecodeError::UnknownType(_) => "unknown_type",
            DecodeError::Invalid(_) => "invalid",
        }
    }
}

/// Decode one message from untrusted text, enforcing [`MAX_MESSAGE_BYTES`].
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    decode_limited(text, MAX_MESSAGE_BYTES)
}

/// Decode with an explicit size limit (for channels with tighter budgets).
pub fn decode_limited<T: DeserializeOwned>(text: &str, max: usize) -> Result<T, DecodeError> {
    if text.len() > max {
        return Err(DecodeError::TooLarge {
            len: text.len(),
            max,
        });
    }
    serde_json::from_str(text).map_err(|e| classify::<T>(e, text))
}

fn classify<T: DeserializeOwned>(err: serde_json::Error, text: &str) -> DecodeError {
    use serde_json::error::Category;
    let msg = err.to_string();
    match err.classify() {
        // serde_json reports an enum read from a number or an array as a
        // syntax error ("expected value"), and a number beyond f64 too: the
        // text is JSON all the same, just not a valid message.
        Category::Syntax | Category::Eof | Category::Io if !is_json(text) => {
            DecodeError::Malformed(msg)
        }
        _ => match type_tag(text) {
            // serde words an unknown `type` and an unknown name in any
            // other enum field alike; only the first is an unknown type.
            Some(tag) if unknown_tag::<T>(&tag) => DecodeError::UnknownType(tag),
            _ => DecodeError::Invalid(msg),
        },
    }
}

/// Whether `text` is one JSON value, whatever its shape.
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// The `type` of a JSON object, if it has a string one.
fn type_tag(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Tagged {
        #[serde(rename = "type")]
        tag: String,
    }
    serde_json::from_str::<Tagged>(text).ok().map(|t| t.tag)
}

/// Whether `tag` names no message of `T`: a message of that type and no
/// other fields fails on the tag itself, not on a missing field.
fn unknown_tag<T: DeserializeOwned>(tag: &str) -> bool {
    let bare = serde_json::json!({ "type": tag });
    serde_json::from_value::<T>(bare)
        .err()
        .is_some_and(|e| e.to_string().starts_with("unknown variant"))
}

/// Encode a message as JSON text. Our own types always serialize.
pub fn encode<T: Serialize>(msg: &T) -> String {
    // Serialization of plain data structs with string keys cannot fail.
    serde_json::to_string(msg).unwrap_or_else(|_| String::from("{}"))
}

/// `true`, for `#[serde(default = "crate::codec::yes")]` on switches that
/// are on unless turned off.
pub(crate) fn yes() -> bool {
    true
}
