//! Stateless NONCE values for long-term credentials (RFC 5389 §10.2): the
//! time of issue and an HMAC of it under a per-process key. Checking needs
//! no table, so nonces cost no memory however many clients ask; after a
//! restart old nonces fail the check and clients get 438 and a new one.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// How long a nonce stays fresh before the client gets 438 Stale Nonce.
pub const LIFETIME_SECS: u64 = 600;
/// Bytes of HMAC kept in a nonce.
const MAC_LEN: usize = 12;

/// The key nonces are signed with; random per process.
pub struct NonceKey([u8; 32]);

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(***)")
    }
}

impl NonceKey {
    pub fn random() -> NonceKey {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        NonceKey(k)
    }

    /// A fixed key, for tests.
    pub fn from_bytes(k: [u8; 32]) -> NonceKey {
        NonceKey(k)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length: `new_from_slice` cannot fail.
        <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// A nonce issued at `now_unix`: 16 hex digits of time, 24 of MAC.
    pub fn issue(&self, now_unix: u64) -> String {
        let mut mac = self.mac();
        mac.update(&now_unix.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{now_unix:016x}{}", hex::encode(&tag[..MAC_LEN]))
    }

    /// Whether `nonce` was issued by this key no more than
    /// [`LIFETIME_SECS`] before `now_unix`.
    pub fn is_fresh(&self, nonce: &[u8], now_unix: u64) -> bool {
        if nonce.len() != 16 + 2 * MAC_LEN {
            return false;
        }
        let (Ok(ts), Ok(tag)) = (hex::decode(&nonce[..16]), hex::decode(&nonce[16..])) else {
            return false;
        };
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(&ts);
        let issued = u64::from_be_bytes(ts_bytes);
        let mut mac = self.mac();
        mac.update(&ts_bytes);
        mac.verify_truncated_left(&tag).is_ok()
            && issued <= now_unix
            && now_unix - issued <= LIFETIME_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_then_stale() {
        let k = NonceKey::from_bytes([7; 32]);
        let n = k.issue(1000);
        assert_eq!(n.len(), 40);
        assert!(k.is_fresh(n.as_bytes(), 1000));
        assert!(k.is_fresh(n.as_bytes(), 1000 + LIFETIME_SECS));
        assert!(!k.is_fresh(n.as_bytes(), 1001 + LIFETIME_SECS));
        assert!(!k.is_fresh(n.as_bytes(), 999), "from the future");
    }

    #[test]
    fn forged_or_foreign_nonces_fail() {
        let k = NonceKey::from_bytes([7; 32]);
        let other = NonceKey::from_bytes([8; 32]);
        assert!(!k.is_fresh(other.issue(1000).as_bytes(), 1000));
        let mut n = k.issue(1000).into_bytes();
        n[15] = b'1'; // claim another time with the old MAC
        assert!(!k.is_fresh(&n, 1000));
        for bad in [&b""[..], b"zz", &[b'x'; 40]] {
            assert!(!k.is_fresh(bad, 1000));
        }
    }
}
