//! TOTP (RFC 6238: 6 digits, 30 s steps, HMAC-SHA-1 as authenticator apps
//! expect) over totp-rs: new secrets, the `otpauth://` URI and its QR
//! code, and checking a code. Pure: the time is an argument.

use qrcode::render::svg;
use qrcode::QrCode;
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::error::{Error, Result};

/// Issuer shown by authenticator apps.
pub const ISSUER: &str = "Meshdesk";

/// Steps either side of now that a code may come from (clock drift).
const SKEW: u16 = 1;

/// A fresh 160-bit secret, base32 without padding.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::from(bytes).to_base32()
}

fn totp(secret_b32: &str, account: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|e| Error::Internal(format!("stored TOTP secret unreadable: {e}")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(SKEW)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| Error::Internal(format!("TOTP: {e}")))
}

/// The `otpauth://totp/...` URI that authenticator apps import.
pub fn uri(secret_b32: &str, account: &str) -> Result<String> {
    totp(secret_b32, account)?
        .to_url()
        .map_err(|e| Error::Internal(format!("TOTP URI: {e}")))
}

/// `uri` as a QR code, an SVG document drawn here.
pub fn qr_svg(uri: &str) -> Result<String> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| Error::Internal(format!("QR: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The time step `code` belongs to, if it is right at `unix_secs` (within
/// one step either side) and later than `after_step`, the last step
/// accepted: a code is accepted once.
pub fn check(secret_b32: &str, code: &str, unix_secs: u64, after_step: Option<u64>) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32, "x").ok()?;
    let now_step = unix_secs / 30;
    let first = now_step.saturating_sub(SKEW as u64);
    (first..=now_step + SKEW as u64)
        .filter(|s| after_step.is_none_or(|a| *s > a))
        .find(|s| t.check(code, s * 30 + 15).is_some_and(|m| m == *s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_at(secret: &str, unix_secs: u64) -> String {
        totp(secret, "x")
            .expect("totp")
            .generate(unix_secs)
            .to_string()
    }

    #[test]
    fn a_code_works_in_its_window_and_once() {
        let s = new_secret();
        let now = 1_800_000_015;
        let c = code_at(&s, now);
        let step = check(&s, &c, now, None).expect("current code");
        assert_eq!(step, now / 30);
        assert_eq!(check(&s, &c, now + 30, None), Some(step), "one step late");
        assert_eq!(check(&s, &c, now + 90, None), None, "too late");
        assert_eq!(check(&s, &c, now, Some(step)), None, "replayed");
        let next = code_at(&s, now + 30);
        assert_eq!(check(&s, &next, now, Some(step)), Some(step + 1));
    }

    #[test]
    fn junk_is_refused() {
        let s = new_secret();
        for c in ["", "12345", "1234567", "abcdef", "12 456"] {
            assert_eq!(check(&s, c, 1_800_000_000, None), None, "{c:?}");
        }
    }

    #[test]
    fn uri_and_qr_name_the_account() {
        let s = new_secret();
        let u = uri(&s, "alice").expect("uri");
        assert!(u.starts_with("otpauth://totp/Meshdesk:alice?"), "{u}");
        assert!(u.contains(&format!("secret={s}")));
        assert!(qr_svg(&u).expect("svg").contains("<svg"));
    }
}
