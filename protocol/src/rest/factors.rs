//! Second factors: TOTP enrollment, recovery codes, passkeys (WebAuthn),
//! and the sign-in body that carries them.
//!
//! WebAuthn payloads (`PublicKeyCredentialCreationOptions` and the
//! browser's credential, in their JSON form) are passed through as JSON
//! values: the server checks them, clients only carry them.

use serde::{Deserialize, Serialize};

/// A second factor an account can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    /// A time-based code (RFC 6238) or one of the recovery codes.
    Totp,
    /// A passkey.
    Webauthn,
}

/// `POST /login`: a password, and a second factor when the account has
/// one (`totp` or `webauthn`, not both).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignIn {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
    /// A current 6-digit code, or an unused recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub totp: Option<String>,
    /// The passkey's assertion (`PublicKeyCredential.toJSON()`) answering
    /// the challenge from `POST /account/webauthn/login/start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub webauthn: Option<serde_json::Value>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("username", &self.username)
            .field("password", &"***")
            .field("totp", &self.totp.as_ref().map(|_| "***"))
            .field("webauthn", &self.webauthn.is_some())
            .finish()
    }
}

/// The 401 of `POST /login`. With `second_factor`, the password was right
/// and a second factor is needed (or the one given was wrong); without it,
/// the username or password was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecondFactorRequired {
    pub error: String,
    /// The factors this account has; any one of them signs in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub second_factor: Vec<SecondFactor>,
}

/// Reply to `POST /account/totp`: a new secret, not yet in force.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollment {
    /// The shared secret, base32 (RFC 4648, no padding).
    pub secret: String,
    /// `otpauth://totp/...` for authenticator apps.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment { .. }")
    }
}

/// `POST /account/totp/confirm` and `DELETE /account/totp`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpCode {
    /// A current 6-digit code (for `DELETE`, a recovery code works too).
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: String,
}

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode { code: *** }")
    }
}

/// Reply to `POST /account/totp/confirm`: shown once, stored hashed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    /// Ten single-use codes, each accepted once in place of a TOTP code.
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.recovery_codes.len())
    }
}

/// Reply to `GET /account/factors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Factors {
    /// Whether TOTP is on.
    pub totp: bool,
    /// Unused recovery codes (0 without TOTP).
    pub recovery_codes_left: u32,
    /// The account's passkeys.
    pub passkeys: Vec<PasskeyInfo>,
}

/// One registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyInfo {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    /// Last sign-in with it (null if never).
    pub last_used_at: Option<i64>,
}

/// `POST /account/webauthn/register/finish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPasskey {
    /// 1 to 64 characters, e.g. "Laptop".
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// The new credential (`PublicKeyCredential.toJSON()` of
    /// `navigator.credentials.create`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

/// `POST /account/webauthn/login/start`: the password first, so a
/// challenge is only handed out to someone who knows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyLoginStart {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
}

impl std::fmt::Debug for PasskeyLoginStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyLoginStart")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// A WebAuthn challenge: `{"publicKey": {...}}` in the JSON form of the
/// options that `PublicKeyCredential.parseCreationOptionsFromJSON` (or
/// `parseRequestOptionsFromJSON`) reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebauthnChallenge {
    #[serde(rename = "publicKey")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_reads_without_factors_and_hides_secrets() {
        let s: SignIn =
            serde_json::from_str(r#"{"username":"a","password":"secret pw"}"#).expect("json");
        assert_eq!(s.totp, None);
        let s: SignIn =
            serde_json::from_str(r#"{"username":"a","password":"secret pw","totp":"123456"}"#)
                .expect("json");
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret pw") && !shown.contains("123456"));
    }

    #[test]
    fn factors_are_named_as_on_the_wire() {
        let body = SecondFactorRequired {
            error: "x".into(),
            second_factor: vec![SecondFactor::Totp, SecondFactor::Webauthn],
        };
        assert_eq!(
            serde_json::to_string(&body).expect("json"),
            r#"{"error":"x","second_factor":["totp","webauthn"]}"#
        );
    }
}
