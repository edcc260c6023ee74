//! A certificate's SHA-256 fingerprint: printed by the server at start,
//! pinned by hosts and viewers. The printed form is upper-case hex pairs
//! separated by colons (`AB:CD:...`, as `openssl x509 -fingerprint
//! -sha256` prints it); parsing also takes lower case, no colons, and an
//! optional `sha256:` prefix.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::TlsError;

/// The SHA-256 of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of(cert_der: &[u8]) -> Self {
        Self(Sha256::digest(cert_der).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = TlsError;

    fn from_str(text: &str) -> Result<Self, TlsError> {
        let bad = || TlsError::BadFingerprint(text.to_string());
        let trimmed = text.trim();
        let body = match trimmed.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("sha256:") => &trimmed[7..],
            _ => trimmed,
        };
        let digits: String = body.chars().filter(|c| *c != ':').collect();
        // Colons only between pairs, or none at all.
        if body.contains(':') && body.split(':').any(|pair| pair.len() != 2) {
            return Err(bad());
        }
        let bytes = hex::decode(&digits).map_err(|_| bad())?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_form_is_colon_separated_upper_hex_and_parses_back() {
        let fp = Fingerprint::of(b"certificate");
        let text = fp.to_string();
        assert_eq!(text.len(), 64 + 31);
        assert!(text
            .chars()
            .all(|c| c == ':' || c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_eq!(text.parse::<Fingerprint>().expect("parses"), fp);
    }

    #[test]
    fn other_spellings_of_the_same_fingerprint_parse() {
        let fp = Fingerprint::of(b"x");
        let plain = hex::encode(fp.as_bytes());
        for text in [
            plain.clone(),
            plain.to_uppercase(),
            format!("sha256:{plain}"),
            format!("SHA256:{fp}"),
            format!("  {}  ", fp.to_string().to_lowercase()),
        ] {
            assert_eq!(text.parse::<Fingerprint>().expect(&text), fp, "{text}");
        }
    }

    #[test]
    fn wrong_lengths_and_characters_are_refused_with_the_form_expected() {
        let fp = Fingerprint::of(b"x").to_string();
        for bad in [
            "",
            "AB:CD",
            &fp[3..],
            &format!("{fp}:00"),
            &fp.replace('A', "G"),
            "A:BCD",
            &format!("md5:{fp}"),
        ] {
            let e = bad.parse::<Fingerprint>().expect_err(bad).to_string();
            assert!(e.contains("64 hex digits"), "{e}");
        }
        // Colons in odd places (pairs of 1 and 3) are refused.
        let mut odd = hex::encode(Fingerprint::of(b"x").as_bytes());
        odd.insert(1, ':');
        assert!(odd.parse::<Fingerprint>().is_err());
    }
}
