//! How the viewer verifies an `https://` server: `--ca-file` or
//! `--server-fingerprint` at `login` (or `MESHDESK_CA_FILE`,
//! `MESHDESK_SERVER_FINGERPRINT`), remembered in the login file beside the
//! server URL; else the system's trusted CAs. Never skipped.

use std::path::PathBuf;
use std::sync::Arc;

use meshdesk_client::Trust;
use meshdesk_tls::rustls::ClientConfig;

use crate::account::login_file::Login;
use crate::ViewerError;

/// `login`'s trust options, as typed.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrustArgs {
    /// PEM file of the CA that signed the server's certificate (or the
    /// server's self-signed certificate) [default: the system's CAs]
    #[arg(long, env = "MESHDESK_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Accept only the server certificate with this SHA-256 fingerprint,
    /// as the server printed it at start
    #[arg(long, env = "MESHDESK_SERVER_FINGERPRINT", value_name = "SHA256")]
    pub server_fingerprint: Option<String>,
}

impl TrustArgs {
    /// Checked: at most one, a fingerprint that parses, a CA file kept
    /// as an absolute path.
    pub fn trust(&self) -> Result<Trust, ViewerError> {
        let ca_file = self
            .ca_file
            .clone()
            .map(|p| std::path::absolute(&p).unwrap_or(p));
        Trust::from_options(ca_file, self.server_fingerprint.as_deref())
            .map_err(|e| ViewerError::Tls(e.to_string()))
    }
}

/// The trust remembered in the login file.
pub fn of_login(login: &Login) -> Result<Trust, ViewerError> {
    Trust::from_options(login.ca_file.clone(), login.server_fingerprint.as_deref())
        .map_err(|e| ViewerError::Tls(e.to_string()))
}

/// The rustls config for the login's WebSocket (`wss://`).
pub fn client_config(login: &Login) -> Result<Arc<ClientConfig>, ViewerError> {
    meshdesk_tls::client_config(&of_login(login)?).map_err(|e| ViewerError::Tls(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_at_most_and_a_fingerprint_that_parses() {
        assert_eq!(TrustArgs::default().trust().expect("ok"), Trust::System);
        let bad = TrustArgs {
            server_fingerprint: Some("12:34".into()),
            ..Default::default()
        };
        let e = bad.trust().expect_err("bad").to_string();
        assert!(e.contains("12:34") && e.contains("64 hex digits"), "{e}");
        let ca = TrustArgs {
            ca_file: Some("ca.pem".into()),
            ..Default::default()
        };
        let Trust::CaFile(path) = ca.trust().expect("ok") else {
            panic!("a CA file")
        };
        assert!(path.is_absolute());
    }
}
