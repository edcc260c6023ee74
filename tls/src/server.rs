//! The server's TLS config: a certificate chain and its key, from PEM
//! files (`[tls] cert`, `key`) or made by [`crate::self_signed`].

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{pem, Fingerprint, TlsError};

/// What the server serves HTTPS with.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// For the acceptor.
    pub config: Arc<rustls::ServerConfig>,
    /// The leaf certificate's fingerprint, printed at start for pinning.
    pub fingerprint: Fingerprint,
    /// For a self-signed certificate only: its public key's pin in curl's
    /// `--pinnedpubkey` form (`sha256//BASE64` of the SubjectPublicKeyInfo),
    /// so the one-line installer can fetch from this server. `None` for a
    /// certificate from files, which clients check against their CAs.
    pub spki_pin: Option<String>,
}

/// Load `cert` (a PEM chain, leaf first) and `key`, and check they match.
pub fn server_config(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
    from_der(pem::certificates(cert)?, pem::private_key(key)?)
}

/// A config from a chain and key already in memory.
pub(crate) fn from_der(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerTls, TlsError> {
    // `pem::certificates` never returns an empty chain.
    let fingerprint = Fingerprint::of(chain.first().map(|c| c.as_ref()).unwrap_or_default());
    let mut config = rustls::ServerConfig::builder_with_provider(crate::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Setup(format!("the key does not fit the certificate: {e}")))?;
    // HTTP/1.1 only: WebSockets upgrade over it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        fingerprint,
        spki_pin: None,
    })
}
