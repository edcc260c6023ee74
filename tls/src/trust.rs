//! How a client trusts the server: [`Trust`] (plain data from a config
//! file or flags) and [`client_config`], the rustls config that enforces
//! it. There is no "accept anything".

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::RootCertStore;

use crate::verify::{Explained, Pinned};
use crate::{pem, Fingerprint, TlsError};

/// What a client checks the server's certificate against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's trusted CAs (`/etc/ssl/certs` on Debian).
    #[default]
    System,
    /// The CAs in this PEM file (a private CA, or a self-signed
    /// certificate itself).
    CaFile(PathBuf),
    /// Exactly the certificate with this SHA-256 fingerprint, whoever
    /// signed it and whatever names it has (a LAN server's self-signed
    /// certificate).
    Pinned(Fingerprint),
}

impl Trust {
    /// From the two optional settings (`ca_file`, `server_fingerprint`):
    /// at most one may be given; neither means the system roots.
    pub fn from_options(
        ca_file: Option<PathBuf>,
        fingerprint: Option<&str>,
    ) -> Result<Trust, TlsError> {
        match (ca_file, fingerprint) {
            (Some(_), Some(_)) => Err(TlsError::TwoTrusts),
            (Some(path), None) => Ok(Trust::CaFile(path)),
            (None, Some(fp)) => Ok(Trust::Pinned(fp.parse()?)),
            (None, None) => Ok(Trust::System),
        }
    }

    /// The CA file, if that is how the server is trusted.
    pub fn ca_file(&self) -> Option<&PathBuf> {
        match self {
            Trust::CaFile(p) => Some(p),
            _ => None,
        }
    }

    /// The pinned fingerprint, if that is how the server is trusted.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Trust::Pinned(fp) => Some(*fp),
            _ => None,
        }
    }
}

/// The rustls client config that verifies the server as `trust` says.
/// Reads the CA file or the system's store once, now.
pub fn client_config(trust: &Trust) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = crate::provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .dangerous();
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = match trust {
        Trust::Pinned(pin) => Arc::new(Pinned::new(*pin, provider)),
        Trust::System => explained(system_roots(), "the system's trusted CAs".into(), provider)?,
        Trust::CaFile(path) => {
            let mut roots = RootCertStore::empty();
            for cert in pem::certificates(path)? {
                roots.add(cert).map_err(|e| TlsError::File {
                    path: path.clone(),
                    reason: format!("not a usable CA certificate ({e})"),
                })?;
            }
            explained(roots, format!("the CA file {}", path.display()), provider)?
        }
    };
    let mut config = builder
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The standard web PKI check against `roots`, with errors that say what
/// the server presented.
fn explained(
    roots: RootCertStore,
    checked_against: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, TlsError> {
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    Ok(Arc::new(Explained::new(inner, checked_against)))
}

/// The system's trusted CAs; certificates it cannot parse are skipped
/// (and logged), as browsers do.
fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "skipping a system CA certificate");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "system CA certificates loaded");
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trust_at_most_and_system_by_default() {
        assert_eq!(Trust::from_options(None, None).expect("ok"), Trust::System);
        let fp = Fingerprint::of(b"c");
        assert_eq!(
            Trust::from_options(None, Some(&fp.to_string())).expect("ok"),
            Trust::Pinned(fp)
        );
        assert_eq!(
            Trust::from_options(Some("ca.pem".into()), None).expect("ok"),
            Trust::CaFile("ca.pem".into())
        );
        let both = Trust::from_options(Some("ca.pem".into()), Some(&fp.to_string()));
        assert!(matches!(both, Err(TlsError::TwoTrusts)));
        let bad = Trust::from_options(None, Some("nope")).expect_err("bad");
        assert!(bad.to_string().contains("nope"), "{bad}");
    }

    #[test]
    fn every_trust_builds_a_config() {
        client_config(&Trust::System).expect("system roots");
        client_config(&Trust::Pinned(Fingerprint::of(b"c"))).expect("pinned");
        let e = client_config(&Trust::CaFile("/nonexistent/ca.pem".into()))
            .expect_err("missing file")
            .to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
