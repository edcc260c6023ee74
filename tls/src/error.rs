//! The crate's one error type.

use std::path::PathBuf;

/// What setting up TLS can fail with. Each says which file or value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    File {
        /// The file named in the configuration.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A fingerprint that is not 32 bytes of hex.
    #[error(
        "`{0}` is not a SHA-256 fingerprint: expected 64 hex digits, \
         in pairs separated by colons or not (as the server prints it)"
    )]
    BadFingerprint(String),
    /// Both a CA file and a fingerprint were given.
    #[error("give a CA file or a pinned fingerprint, not both")]
    TwoTrusts,
    /// rustls refused the certificates or key.
    #[error("TLS setup: {0}")]
    Setup(String),
    /// The server presented another certificate than the one pinned.
    #[error(
        "the server's certificate does not match the pinned fingerprint: \
         expected {expected}, the server presented {seen}"
    )]
    PinMismatch {
        /// The pinned fingerprint.
        expected: crate::Fingerprint,
        /// What the server presented.
        seen: crate::Fingerprint,
    },
    /// The server's certificate is not signed by a trusted CA (or not for
    /// its name, or expired).
    #[error(
        "the server's certificate (SHA-256 fingerprint {seen}) is not trusted: {reason}; \
         checked against {checked_against}. Give the CA that signed it (ca_file) or pin \
         the fingerprint the server printed (server_fingerprint)"
    )]
    Untrusted {
        /// The fingerprint of what the server presented.
        seen: crate::Fingerprint,
        /// rustls's reason (unknown issuer, wrong name, expired).
        reason: String,
        /// The system roots, or the CA file.
        checked_against: String,
    },
    /// A self-signed certificate could not be made.
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
}
