//! The `clipboard` data channel: both sides tell each other when their
//! clipboard changes, as an [`ClipMsg::Offer`] followed by its data in
//! binary messages of at most [`CLIP_CHUNK_BYTES`] (the channel is ordered
//! and reliable). Content the other side set is never offered back.

use serde::{Deserialize, Serialize};

use crate::codec::{decode_limited, DecodeError};

/// Data bytes in one binary message.
pub const CLIP_CHUNK_BYTES: usize = 32 * 1024;
/// The default largest content sent (`[clipboard] max_bytes`).
pub const DEFAULT_MAX_CLIP_BYTES: u64 = 16 * 1024 * 1024;
/// Largest text message on the channel.
const MAX_CLIP_TEXT_BYTES: usize = 4096;

/// What the content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClipKind {
    /// UTF-8 text.
    #[serde(rename = "text/plain")]
    Text,
    /// A PNG image.
    #[serde(rename = "image/png")]
    Png,
}

/// One clipboard message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClipMsg {
    /// The sender's clipboard now holds `size` bytes of `mime`; the data
    /// follows in binary messages.
    Offer { mime: ClipKind, size: u64 },
    /// Why the sender's clipboard, or what was offered, is not shared
    /// (too large, a view session, a permission refused). Shown once.
    Notice { message: String },
}

/// Decode a clipboard message from untrusted text.
pub fn decode_clip(text: &str) -> Result<ClipMsg, DecodeError> {
    decode_limited(text, MAX_CLIP_TEXT_BYTES)
}

/// Why content of `size` bytes is not sent, if it is over `max`.
pub fn too_large(size: u64, max: u64) -> Option<String> {
    (size > max).then(|| {
        format!(
            "the clipboard holds {} and is not shared: the limit is {}",
            human_bytes(size),
            human_bytes(max)
        )
    })
}

/// A size for people: `2.1 MB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_decode_with_their_mime() {
        let msg = decode_clip(r#"{"type":"offer","mime":"image/png","size":10}"#);
        assert_eq!(
            msg,
            Ok(ClipMsg::Offer {
                mime: ClipKind::Png,
                size: 10
            })
        );
        assert!(decode_clip(r#"{"type":"offer","mime":"text/html","size":1}"#).is_err());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2_100_000), "2.1 MB");
        assert!(too_large(10, 10).is_none());
        assert!(too_large(17 << 20, 16 << 20).unwrap().contains("16.8 MB"));
    }
}
