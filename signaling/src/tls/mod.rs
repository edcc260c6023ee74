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
                    // The key does not fit the certificate.
                    meshdesk_tls::TlsError::Setup(_) => "tls.key",
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::config::FileConfig;

    fn config(text: &str, dir: &std::path::Path) -> Config {
        let mut c = Config::from_file(toml::from_str(text).expect("parses")).expect("valid");
        c.data_dir = dir.to_path_buf();
        c
    }

    fn temp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("meshdesk-sig-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn bad_files_are_config_errors_naming_the_field() {
        let dir = temp("files");
        let missing = config(
            "[tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"",
            &dir,
        );
        let e = load(&missing).expect_err("missing").to_string();
        assert!(
            e.contains("tls.cert") && e.contains("/nonexistent/c.pem"),
            "{e}"
        );
        // A real certificate with a key that is not one.
        let made =
            meshdesk_tls::self_signed::load_or_create(&dir, &["localhost".into()]).expect("made");
        let junk = dir.join("junk.key");
        std::fs::write(&junk, "not a key").expect("write");
        let text = format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"",
            made.cert_path.display(),
            junk.display()
        );
        let e = load(&config(&text, &dir))
            .expect_err("junk key")
            .to_string();
        assert!(e.contains("tls.key"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn self_signed_is_made_once_and_plain_http_has_none() {
        let dir = temp("self");
        assert!(load(&config("", &dir)).expect("plain").is_none());
        let c = config("[tls]\nself_signed = true", &dir);
        let first = load(&c).expect("made").expect("tls");
        let again = load(&c).expect("kept").expect("tls");
        assert_eq!(first.fingerprint, again.fingerprint);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn tls_makes_cookies_secure() {
        let plain = Config::from_file(FileConfig::default()).expect("valid");
        assert!(!plain.cookie_secure);
        let dir = temp("cookie");
        assert!(config("[tls]\nself_signed = true", &dir).cookie_secure);
        assert!(config("public_url = \"https://desk.example.com\"", &dir).cookie_secure);
        let c = config("public_url = \"https://desk.example.com\"", &dir);
        assert!(c
            .allowed_origins
            .contains(&"https://desk.example.com".to_string()));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn hsts_only_when_configured() {
        let dir = temp("hsts");
        let router = || Router::new().route("/", get(|| async { "ok" }));
        let request = || {
            Request::builder()
                .uri("/")
                .body(Body::empty())
                .expect("request")
        };
        let with = config("[tls]\nself_signed = true\nhsts_max_age_secs = 600", &dir);
        let resp = hsts(router(), &with)
            .oneshot(request())
            .await
            .expect("infallible");
        assert_eq!(
            resp.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=600"
        );
        let without = config("[tls]\nself_signed = true", &dir);
        let resp = hsts(router(), &without)
            .oneshot(request())
            .await
            .expect("infallible");
        assert!(resp
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none());
        std::fs::remove_dir_all(&dir).ok();
    }
}
