//! `Meshdesk-Signature: t=UNIX,v1=HEX`: HMAC-SHA256 keyed with the
//! webhook's secret over `"{t}.{body}"`, as Stripe signs its webhooks.
//! The timestamp is signed too, so a receiver that rejects old `t` values
//! (docs/webhooks.md: 5 minutes) cannot be fed a replayed delivery.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header's name.
pub const HEADER: &str = "Meshdesk-Signature";

/// The header's value for `body` sent at `t` (Unix seconds).
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

/// Whether `header` is a valid signature of `body` under `secret` (any
/// `v1` entry may match). What a receiver does, for tests and docs.
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    sigs.iter().any(|sig| {
        let mut m = keyed(secret);
        m.update(format!("{t}.").as_bytes());
        m.update(body);
        // Constant-time comparison.
        m.verify_slice(sig).is_ok()
    })
}

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length")
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Vec<u8> {
    let mut m = keyed(secret);
    m.update(format!("{t}.").as_bytes());
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_plain_hmac_sha256_in_hex() {
        // The MAC is plain HMAC-SHA256: RFC 4231 test case 2.
        let mut m = keyed(b"Jefe");
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(m.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let header = sign(b"whsec_x", 1700000000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
    }

    #[test]
    fn verifies_its_own_and_nothing_else() {
        let header = sign(b"secret", 42, b"body");
        assert!(verify(b"secret", &header, b"body"));
        assert!(!verify(b"secret", &header, b"body!"));
        assert!(!verify(b"other", &header, b"body"));
        assert!(!verify(b"secret", &header.replace("t=42", "t=43"), b"body"));
        assert!(!verify(b"secret", "v1=00", b"body"));
    }
}
