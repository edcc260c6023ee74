//! Random secrets (login tokens, enrollment codes, nonces) and their hashes.
//!
//! A [`Secret`] never prints its value: `Debug` and `Display` show `***`,
//! so a token cannot reach a log by accident.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A secret string handed to a client once; only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value received from a client.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// A fresh random token: a prefix plus 32 random bytes, base64url.
    pub fn generate(prefix: &str) -> Secret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A short human-typable enrollment code: 4 groups of 4 characters from
    /// an alphabet without look-alikes (about 80 bits).
    pub fn generate_code() -> Secret {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
        Secret(groups.join("-"))
    }

    /// The value, for sending to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the value: what the database keeps.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// Hash of an enrollment code, ignoring case, spaces and dashes so a
    /// code typed by hand still matches.
    pub fn code_hash(&self) -> [u8; 32] {
        let normal: String = self
            .0
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Sha256::digest(normal.as_bytes()).into()
    }
}

/// A secret as a plain string on the wire between a cluster's nodes (a
/// session handed to another node keeps its resume secret): for
/// `#[serde(with = "crate::auth::secret::plain")]`.
pub mod plain {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Secret;

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Secret, D::Error> {
        String::deserialize(de).map(Secret::new)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::generate("mdt_");
        assert!(s.expose().starts_with("mdt_"));
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }

    #[test]
    fn codes_match_however_typed() {
        let c = Secret::generate_code();
        assert_eq!(c.expose().len(), 19);
        let typed = Secret::new(c.expose().to_lowercase().replace('-', " "));
        assert_eq!(typed.code_hash(), c.code_hash());
        assert_ne!(Secret::generate_code().code_hash(), c.code_hash());
    }
}
