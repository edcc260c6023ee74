//! The shared secret TURN credentials are derived from (coturn's
//! `static-auth-secret`). It never prints: `Debug` and `Display` show
//! `***`, so it cannot reach a log by accident.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// A TURN shared secret, known to the relay and to whoever issues its
/// credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(String);

impl SharedSecret {
    /// Wrap a configured value.
    pub fn new(value: String) -> SharedSecret {
        SharedSecret(value)
    }

    /// A fresh random secret: 32 random bytes, base64url (43 characters).
    pub fn generate() -> SharedSecret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SharedSecret(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value, for computing credentials and writing the secret file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(***)")
    }
}

impl std::fmt::Display for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = SharedSecret::generate();
        assert_eq!(s.expose().len(), 43);
        assert_ne!(s, SharedSecret::generate());
        assert_eq!(format!("{s:?} {s}"), "SharedSecret(***) ***");
    }
}
