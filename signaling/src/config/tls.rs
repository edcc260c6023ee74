//! The `[tls]` table: whether the server serves HTTPS itself, with which
//! certificate, and HSTS. Checked here without touching the files; the
//! certificate is loaded at start-up (`crate::tls`), where a bad file is
//! also a config error naming its field.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// `[tls]` as written by an operator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// PEM certificate chain (leaf first). Default none: plain HTTP.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`. Needed with `cert`.
    pub key: Option<PathBuf>,
    /// Make (once) and keep a self-signed certificate in the data dir,
    /// for a LAN; its fingerprint is printed at start. The same as
    /// `--tls-self-signed`. Default false.
    pub self_signed: Option<bool>,
    /// Send `Strict-Transport-Security: max-age=N` on every response.
    /// Needs HTTPS served by this server. Default none (no HSTS).
    pub hsts_max_age_secs: Option<u64>,
}

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP (loopback, or behind a reverse proxy doing TLS).
    Off,
    /// `[tls] cert` and `key`.
    Files { cert: PathBuf, key: PathBuf },
    /// A self-signed certificate kept in the data dir.
    SelfSigned,
}

/// Validated `[tls]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// HSTS max-age in seconds, when configured.
    pub hsts_max_age_secs: Option<u64>,
}

impl TlsSettings {
    /// Check the table; `cli_self_signed` is `--tls-self-signed`.
    pub fn from_file(f: TlsFile, cli_self_signed: bool) -> Result<TlsSettings> {
        let bad = |msg: &str| Err(Error::Config(msg.to_string()));
        let self_signed = cli_self_signed || f.self_signed.unwrap_or(false);
        let mode = match (f.cert, f.key, self_signed) {
            (Some(_), _, true) | (_, Some(_), true) => {
                return bad("tls.self_signed: cannot be combined with tls.cert and tls.key")
            }
            (Some(cert), Some(key), false) => TlsMode::Files { cert, key },
            (Some(_), None, false) => return bad("tls.key: needed with tls.cert"),
            (None, Some(_), false) => return bad("tls.cert: needed with tls.key"),
            (None, None, true) => TlsMode::SelfSigned,
            (None, None, false) => TlsMode::Off,
        };
        match f.hsts_max_age_secs {
            Some(_) if mode == TlsMode::Off => {
                return bad("tls.hsts_max_age_secs: needs HTTPS served by this server \
                     (tls.cert and tls.key, or tls.self_signed); behind a proxy, \
                     let the proxy send HSTS")
            }
            Some(0) => return bad("tls.hsts_max_age_secs: must be greater than 0"),
            _ => {}
        }
        Ok(TlsSettings {
            mode,
            hsts_max_age_secs: f.hsts_max_age_secs,
        })
    }

    /// Whether the server serves HTTPS itself.
    pub fn enabled(&self) -> bool {
        self.mode != TlsMode::Off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, cli: bool) -> Result<TlsSettings> {
        TlsSettings::from_file(toml::from_str(text).expect("parses"), cli)
    }

    #[test]
    fn off_files_or_self_signed() {
        assert_eq!(parse("", false).expect("ok").mode, TlsMode::Off);
        let s = parse("cert = \"c.pem\"\nkey = \"k.pem\"", false).expect("ok");
        assert!(matches!(s.mode, TlsMode::Files { .. }));
        assert!(s.enabled());
        assert_eq!(
            parse("self_signed = true", false).expect("ok").mode,
            TlsMode::SelfSigned
        );
        assert_eq!(parse("", true).expect("ok").mode, TlsMode::SelfSigned);
        let s = parse("self_signed = true\nhsts_max_age_secs = 60", false).expect("ok");
        assert_eq!(s.hsts_max_age_secs, Some(60));
    }

    #[test]
    fn contradictions_name_the_field() {
        for (text, cli, field) in [
            ("cert = \"c.pem\"", false, "tls.key"),
            ("key = \"k.pem\"", false, "tls.cert"),
            ("cert = \"c.pem\"\nkey = \"k.pem\"", true, "tls.self_signed"),
            ("hsts_max_age_secs = 60", false, "tls.hsts_max_age_secs"),
            (
                "self_signed = true\nhsts_max_age_secs = 0",
                false,
                "tls.hsts_max_age_secs",
            ),
        ] {
            let e = parse(text, cli).expect_err(text).to_string();
            assert!(e.contains(&format!("{field}:")), "{text}: {e}");
        }
    }
}
