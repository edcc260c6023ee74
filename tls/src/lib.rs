//! TLS for Meshdesk, on rustls (ring as the crypto provider).
//!
//! - [`Fingerprint`]: a certificate's SHA-256, in the form the server
//!   prints and clients pin (`AB:CD:...`).
//! - [`Trust`]: how a client verifies the server (system roots, a CA
//!   file, or a pinned fingerprint), and [`client_config`] to build the
//!   rustls config for it. Verification is never skipped.
//! - [`refusal`]: the certificate refusal inside a failed connection's
//!   error, to show it plainly.
//! - [`server_config`] and [`self_signed`]: the server's side, from PEM
//!   files or a self-signed certificate kept in the data directory.

mod error;
mod fingerprint;
mod pem;
mod refusal;
pub mod self_signed;
mod server;
mod trust;
mod verify;

use std::sync::Arc;

pub use error::TlsError;
pub use fingerprint::Fingerprint;
pub use refusal::refusal;
pub use server::{server_config, ServerTls};
pub use trust::{client_config, Trust};

/// Re-exported so users need no rustls dependency of their own.
pub use rustls;

/// The crypto provider every config here uses: one, named, so that no
/// process-wide default has to be installed.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
