//! Time-limited TURN credentials in coturn's `use-auth-secret` scheme
//! (the "TURN REST API" draft), so one shared secret works with the
//! embedded relay and with coturn:
//!
//! - username = `EXPIRY:ID`, EXPIRY in Unix seconds, ID who it is for;
//! - password = base64(HMAC-SHA1(secret, username));
//! - long-term key = MD5(username ":" realm ":" password) (RFC 5389 §15.4).
//!
//! Nothing is stored: the relay recomputes the password from the username.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

/// A username and password handed to one client.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// A MESSAGE-INTEGRITY key; `Debug` does not show it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IntegrityKey(pub [u8; 16]);

impl AsRef<[u8]> for IntegrityKey {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntegrityKey(***)")
    }
}

/// Why a username cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not `EXPIRY[:ID]` with EXPIRY a number.
    Malformed,
    /// EXPIRY is in the past.
    Expired,
}

/// Credentials for `id` valid until `now_unix + ttl_secs`.
pub fn issue(secret: &[u8], id: &str, now_unix: u64, ttl_secs: u64) -> Issued {
    let username = format!("{}:{id}", now_unix.saturating_add(ttl_secs));
    let password = password(secret, &username);
    Issued { username, password }
}

/// base64(HMAC-SHA1(secret, username)).
pub fn password(secret: &[u8], username: &str) -> String {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha1>>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Split `EXPIRY:ID` (or a bare `EXPIRY`) into its parts.
pub fn parse(username: &str) -> Option<(u64, &str)> {
    let (expiry, id) = username.split_once(':').unwrap_or((username, ""));
    if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((expiry.parse().ok()?, id))
}

/// MD5(username:realm:password), the MESSAGE-INTEGRITY key.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> IntegrityKey {
    let mut h = Md5::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    IntegrityKey(h.finalize().into())
}

/// The integrity key and credential id for a username presented at
/// `now_unix`, or why it is refused. Whether the client actually knows the
/// password shows when its MESSAGE-INTEGRITY is checked with this key.
pub fn key_for<'u>(
    secret: &[u8],
    realm: &str,
    username: &'u str,
    now_unix: u64,
) -> Result<(IntegrityKey, &'u str), Refusal> {
    let (expiry, id) = parse(username).ok_or(Refusal::Malformed)?;
    if expiry < now_unix {
        return Err(Refusal::Expired);
    }
    Ok((
        long_term_key(username, realm, &password(secret, username)),
        id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently:
    //   echo -n '1700000000:ses_0123' |
    //     openssl dgst -sha1 -hmac meshdesk-test-secret -binary | base64
    // and hashlib.md5(b'1700000000:ses_0123:meshdesk:' + password).
    const SECRET: &[u8] = b"meshdesk-test-secret";
    const USERNAME: &str = "1700000000:ses_0123";
    const PASSWORD: &str = "5vmD3WlN++OB4BdKZLIZBEC1WMA=";
    const KEY: &str = "8d74350001c5a7720fc304818f55c7f3";

    #[test]
    fn known_vector() {
        assert_eq!(password(SECRET, USERNAME), PASSWORD);
        assert_eq!(
            hex::encode(long_term_key(USERNAME, "meshdesk", PASSWORD).0),
            KEY
        );
        let (key, id) = key_for(SECRET, "meshdesk", USERNAME, 1_699_999_999).expect("valid");
        assert_eq!((hex::encode(key.0).as_str(), id), (KEY, "ses_0123"));
        assert_eq!(format!("{key:?}"), "IntegrityKey(***)");
    }

    #[test]
    fn issued_credentials_verify_until_expiry() {
        let c = issue(SECRET, "ses_0123", 1_700_000_000 - 60, 60);
        assert_eq!(c.username, USERNAME);
        assert_eq!(c.password, PASSWORD);
        assert!(key_for(SECRET, "meshdesk", &c.username, 1_700_000_000).is_ok());
        assert_eq!(
            key_for(SECRET, "meshdesk", &c.username, 1_700_000_001),
            Err(Refusal::Expired)
        );
        assert!(!format!("{c:?}").contains(PASSWORD));
    }

    #[test]
    fn usernames_parse() {
        assert_eq!(parse("12:a:b"), Some((12, "a:b")));
        assert_eq!(parse("12"), Some((12, "")));
        for bad in [
            "",
            ":x",
            "x:12",
            "-1:x",
            "1e3:x",
            "99999999999999999999999:x",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_different_secret_gives_a_different_key() {
        let (good, _) = key_for(SECRET, "meshdesk", USERNAME, 0).expect("valid");
        let (other, _) = key_for(b"guess", "meshdesk", USERNAME, 0).expect("valid");
        assert_ne!(good, other);
    }
}
