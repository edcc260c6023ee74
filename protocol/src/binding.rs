//! Binding a session's DTLS connection to the device's enrolled Ed25519 key,
//! so a viewer can tell it talks to the PC itself and not to whoever relays
//! the SDP (docs/protocol.md, "Verifying the remote PC").
//!
//! - [`sdp_fingerprint`] takes the `a=fingerprint` of an SDP, normalised;
//! - [`dtls_binding_payload`] is what the host signs once it has the
//!   viewer's answer;
//! - [`HostControlMsg::Binding`] carries the signature to the viewer on the
//!   `control` data channel;
//! - [`safety_code`] is the short code users compare between the session
//!   view and `meshdesk-host status`.
//!
//! Pure: the signing and the verification are the host's and the viewer's.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{decode_limited, DecodeError};
use crate::input::MAX_INPUT_BYTES;

/// Context line that starts every binding payload.
pub const DTLS_BINDING_CONTEXT: &str = "meshdesk-dtls-binding-v1";

/// Longest fingerprint value accepted (sha-512 is 64 pairs: 191 bytes).
const MAX_FINGERPRINT_LEN: usize = 256;

/// A control-channel message from the host to the viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostControlMsg {
    /// The device key's Ed25519 signature (standard base64) over
    /// [`dtls_binding_payload`] of this session.
    Binding { signature: String },
    /// The host's screens, primary first, and the one this session shows:
    /// sent when the channels open, after each `select_screen` and when
    /// the monitors change.
    Screens {
        screens: Vec<crate::signal::Screen>,
        current: String,
    },
    /// Whether this session carries the device's sound (an Opus audio
    /// track), sent when the channels open. `reason` says why not: no
    /// sound server on the host, or the owner turned sound off.
    Sound {
        available: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// What the video aims at and why: sent when the encoder's bitrate or
    /// frame rate changes and about once a second while the estimate
    /// moves (docs/protocol.md, "Adaptive quality").
    Quality(VideoQuality),
}

/// The video's quality in one session, for the viewer's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VideoQuality {
    /// What the host estimates the path to this viewer carries, kbit/s
    /// (none before the viewer's first congestion feedback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_kbps: Option<u32>,
    /// Share of packets the viewer reported lost (0..=1), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// The encoder's target bitrate, kbit/s: the lowest of the estimates
    /// of every session on this screen, at most the configured bitrate.
    pub bitrate_kbps: u32,
    /// The most frames a second the encoder plans for.
    pub fps: u32,
    /// Screen pixels per picture pixel, across and down: 1 at full size,
    /// 2 when the link is too slow even at a low frame rate.
    #[serde(default = "full_size")]
    pub scale: u32,
    /// Whether the host follows the estimate (`adaptive_quality` in its
    /// configuration); when off it sends at the configured bitrate.
    pub adaptive: bool,
}

fn full_size() -> u32 {
    1
}

impl HostControlMsg {
    /// Decode one message from untrusted text.
    pub fn decode(text: &str) -> Result<HostControlMsg, DecodeError> {
        decode_limited(text, MAX_INPUT_BYTES)
    }
}

/// The exact bytes the host signs: the context, the session id, the host's
/// and the viewer's fingerprints (normalised with [`normalize_fingerprint`]),
/// one per line: `"meshdesk-dtls-binding-v1\n" + session_id + "\n" + host_fp
/// + "\n" + viewer_fp`.
pub fn dtls_binding_payload(session_id: &str, host_fp: &str, viewer_fp: &str) -> Vec<u8> {
    [DTLS_BINDING_CONTEXT, session_id, host_fp, viewer_fp]
        .join("\n")
        .into_bytes()
}

/// Normalise one `a=fingerprint` value (`ALGORITHM HEX:HEX:...`): the
/// algorithm in lower case, one space, upper-case hex pairs joined by `:`.
pub fn normalize_fingerprint(value: &str) -> Result<String, DecodeError> {
    let invalid = |why: &str| DecodeError::Invalid(format!("DTLS fingerprint {why}"));
    if value.len() > MAX_FINGERPRINT_LEN {
        return Err(invalid("is too long"));
    }
    let mut parts = value.split_whitespace();
    let (Some(algorithm), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("must be an algorithm and hex pairs"));
    };
    let pairs: Vec<&str> = hex.split(':').collect();
    let well_formed = pairs
        .iter()
        .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(invalid("must be hex pairs joined by ':'"));
    }
    Ok(format!(
        "{} {}",
        algorithm.to_ascii_lowercase(),
        hex.to_ascii_uppercase()
    ))
}

/// The normalised sha-256 `a=fingerprint` of an SDP (session or media
/// level; with several lines, the sha-256 one).
pub fn sdp_fingerprint(sdp: &str) -> Result<String, DecodeError> {
    let mut found = Vec::new();
    for line in sdp.lines() {
        if let Some(value) = line.trim_end().strip_prefix("a=fingerprint:") {
            found.push(normalize_fingerprint(value)?);
        }
    }
    found
        .into_iter()
        .find(|fp| fp.starts_with("sha-256 "))
        .ok_or_else(|| DecodeError::Invalid("the SDP has no sha-256 DTLS fingerprint".into()))
}

/// The device key's safety code: SHA-256 of the 32 raw key bytes, the first
/// 8 bytes as a big-endian u64, modulo 10^12, as 12 digits in three groups
/// of four (`1234 5678 9012`).
pub fn safety_code(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let digits = format!("{:012}", u64::from_be_bytes(first) % 1_000_000_000_000);
    format!("{} {} {}", &digits[..4], &digits[4..8], &digits[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_four_lines() {
        let p = dtls_binding_payload("s1", "sha-256 AA:BB", "sha-256 CC:DD");
        assert_eq!(
            p,
            b"meshdesk-dtls-binding-v1\ns1\nsha-256 AA:BB\nsha-256 CC:DD".to_vec()
        );
    }

    #[test]
    fn fingerprints_are_normalised() {
        assert_eq!(
            normalize_fingerprint("SHA-256  ab:cd:0f").unwrap(),
            "sha-256 AB:CD:0F"
        );
        assert!(normalize_fingerprint("sha-256").is_err());
        assert!(normalize_fingerprint("sha-256 abc:de").is_err());
        assert!(normalize_fingerprint("sha-256 zz:de").is_err());
        assert!(normalize_fingerprint("sha-256 ab cd").is_err());
    }

    #[test]
    fn the_sha256_line_is_taken() {
        let sdp =
            "v=0\r\na=fingerprint:sha-1 11:22\r\nm=video 9\r\na=fingerprint:sha-256 ab:cd\r\n";
        assert_eq!(sdp_fingerprint(sdp).unwrap(), "sha-256 AB:CD");
        assert!(sdp_fingerprint("v=0\r\na=fingerprint:sha-1 11:22\r\n").is_err());
        assert!(sdp_fingerprint("v=0\r\n").is_err());
    }

    #[test]
    fn safety_code_of_a_fixed_key() {
        // SHA-256 of 32 zero bytes starts 66 68 7a ad f8 62 bd 77;
        // 0x66687aadf862bd77 % 10^12 = 877061709175.
        assert_eq!(safety_code(&[0u8; 32]), "8770 6170 9175");
        assert_ne!(safety_code(&[1u8; 32]), safety_code(&[0u8; 32]));
    }

    #[test]
    fn binding_message_round_trips() {
        let msg = HostControlMsg::Binding {
            signature: "QUJD".into(),
        };
        let text = crate::encode(&msg);
        assert_eq!(text, r#"{"type":"binding","signature":"QUJD"}"#);
        assert_eq!(HostControlMsg::decode(&text).unwrap(), msg);
        assert!(HostControlMsg::decode(r#"{"type":"request_keyframe"}"#).is_err());
    }
}
