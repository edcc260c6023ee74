//! Meshdesk wire types and codecs.
//!
//! Everything that crosses a process boundary is defined here, once:
//! - [`rest`]: JSON bodies of the REST API under `/api/v1`;
//! - [`signal`]: WebSocket messages between the server and hosts or viewers;
//! - [`input`]: data-channel messages from a viewer to a host;
//! - [`turn_tcp`]: how TURN messages are framed on a TCP stream;
//! - [`binding`]: the DTLS binding to the device key and its safety code;
//! - [`files`] and [`clipboard`]: the `files` and `clipboard` data channels.
//!
//! The crate is pure: no I/O, no clock, no randomness. Every decoder takes
//! untrusted text and returns a [`DecodeError`] instead of panicking.
//! See `docs/protocol.md` for the prose version of this contract.

pub mod binding;
pub mod clipboard;
pub mod codec;
pub mod files;
pub mod input;
pub mod rest;
pub mod signal;
pub mod turn_tcp;

pub use binding::{dtls_binding_payload, safety_code, sdp_fingerprint};
pub use codec::{decode, encode, DecodeError, MAX_MESSAGE_BYTES};

/// Version of the WebSocket protocol spoken by this crate. Bumped on any
/// incompatible change; peers announce it in their first message.
pub const PROTOCOL_VERSION: u32 = 1;

/// Context string a device signs together with the server's nonce, so a
/// signature made for Meshdesk device auth can never be replayed elsewhere.
pub const DEVICE_AUTH_CONTEXT: &str = "meshdesk-device-auth-v1:";

/// The exact bytes a device signs to authenticate a WebSocket connection:
/// the context string followed by the nonce as sent by the server.
pub fn device_auth_payload(nonce: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(DEVICE_AUTH_CONTEXT.len() + nonce.len());
    payload.extend_from_slice(DEVICE_AUTH_CONTEXT.as_bytes());
    payload.extend_from_slice(nonce.as_bytes());
    payload
}
