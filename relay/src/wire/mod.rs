//! STUN and TURN wire formats (RFC 5389, RFC 5766 / RFC 8656): messages
//! with their attributes, MESSAGE-INTEGRITY and FINGERPRINT, ChannelData,
//! and the framing of both over TCP.
//!
//! Pure codecs with no I/O. Every decoder rejects bad input with a
//! [`WireError`], never a panic: these bytes come from anyone on the
//! network.

pub mod attr;
pub mod channel_data;
pub mod message;
#[cfg(test)]
mod proptests;

pub use channel_data::ChannelData;
pub use message::{Builder, Class, Message, Method};

/// The fixed value in every STUN header (RFC 5389 §6).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// The 96-bit transaction id that pairs a response with its request.
pub type TransactionId = [u8; 12];

/// Why a datagram or TCP frame could not be decoded. The relay drops such
/// input (and closes a TCP connection whose framing is lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the header or a length field announces.
    #[error("truncated")]
    Truncated,
    /// Neither a STUN message nor ChannelData (first bits, magic cookie).
    #[error("not a STUN message or ChannelData")]
    NotStun,
    /// A length that is not a multiple of 4, or longer than the datagram.
    #[error("bad length")]
    BadLength,
    /// The FINGERPRINT attribute does not match the message.
    #[error("bad fingerprint")]
    BadFingerprint,
    /// A ChannelData number outside 0x4000..=0x7FFF.
    #[error("bad channel number")]
    BadChannel,
}
