//! HTTPS served by the server itself (`[tls]`, `--tls-self-signed`):
//! loading the certificate at start-up ([`load`]), the listener that does
//! the TLS handshakes ([`listener::TlsListener`]), and HSTS ([`hsts`]).
//! With no `[tls]` the server speaks plain HTTP, as before.

pub mod listener;

use axum::http::{header, HeaderValue};
use axum::Router;
use meshdesk_tls::ServerTls;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{Config, TlsMode};
use crate::error::{Error, Result};

/// The server's certificate as configured, or `None` for plain HTTP. A
/// file that is missing or wrong is a config error naming its field.
pub fn load(config: &Config) -> Result<Option<ServerTls>> {
    match &config.tls.mode {
        TlsMode::Off => Ok(None),
        TlsMode::Files { cert, key } => {
            let field = |e: meshdesk_tls::TlsError| {
                let field = match &e {
                    meshdesk_tls::TlsError::File { path, .. } if path == key => "tls.key",
                    _ => "tls.cert",
                };
                Error::Config(format!("{field}: {e}"))
            };
            meshdesk_tls::server_config(cert, key)
                .map(Some)
                .map_err(field)
        }
        TlsMode::SelfSigned => self_signed(config).map(Some),
    }
}

/// The self-signed certificate kept in the data dir, made on first use.
fn self_signed(config: &Config) -> Result<ServerTls> {
    let names = meshdesk_tls::self_signed::names(
        &hostname(),
        config.listen.ip(),
        config.public_url.as_ref().and_then(|u| u.host_str()),
    );
    let loaded = meshdesk_tls::self_signed::load_or_create(&config.data_dir, &names)
        .map_err(|e| Error::Config(format!("tls.self_signed: {e}")))?;
    if loaded.created {
        tracing::info!(
            path = %loaded.cert_path.display(),
            names = ?names,
            "made a self-signed TLS certificate; it is kept for later starts"
        );
    }
    Ok(loaded.tls)
}

/// This machine's host name, for the self-signed certificate.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Add `Strict-Transport-Security` to every response, when configured.
/// Only for HTTPS served here: config validation refuses HSTS otherwise.
pub fn hsts<S: Clone + Send + Sync + 'static>(router: Router<S>, config: &Config) -> Router<S> {
    let Some(max_age) = config
        .tls
        .hsts_max_age_secs
        .filter(|_| config.tls.enabled())
    else {
        return router;
    };
    // A number and fixed text are always a valid header value.
    let value = HeaderValue::from_str(&format!("max-age={max_age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("max-age=31536000"));
    router.layer(SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        value,
    ))
}
