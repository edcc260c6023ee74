//! The `[metrics]` table: whether and where `GET /metrics` is served, and
//! the bearer token it wants.

use std::net::SocketAddr;

use meshdesk_exporter::Token;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The environment variable that sets (or overrides) `metrics.token`.
pub const TOKEN_ENV: &str = "MESHDESK_METRICS_TOKEN";

/// `[metrics]` as written by an operator.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    /// Serve `GET /metrics`. Default false (404).
    pub enabled: Option<bool>,
    /// Serve it on this address instead of the main listener (which then
    /// answers 404). Setting it turns metrics on. Default none.
    pub listen: Option<String>,
    /// Require `Authorization: Bearer TOKEN` (else 401). Default none; the
    /// environment variable `MESHDESK_METRICS_TOKEN` overrides it.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsFile")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Where metrics are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsPlace {
    /// Not at all: `/metrics` is a 404.
    Off,
    /// On the main listener.
    Main,
    /// On a listener of its own.
    Own(SocketAddr),
}

/// Validated `[metrics]`.
#[derive(Debug, Clone)]
pub struct MetricsSettings {
    pub place: MetricsPlace,
    /// Required from scrapers, when set.
    pub token: Option<Token>,
}

impl MetricsSettings {
    pub fn from_file(f: MetricsFile) -> Result<MetricsSettings> {
        let place = match (f.enabled, f.listen) {
            (Some(false), Some(_)) => {
                return Err(Error::Config(
                    "metrics.listen: set, but metrics.enabled is false".into(),
                ))
            }
            (_, Some(text)) => MetricsPlace::Own(text.parse().map_err(|_| {
                Error::Config(format!(
                    "metrics.listen: `{text}` is not an address like 127.0.0.1:9090"
                ))
            })?),
            (Some(true), None) => MetricsPlace::Main,
            (_, None) => MetricsPlace::Off,
        };
        let token = f
            .token
            .map(Token::new)
            .transpose()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(MetricsSettings { place, token })
    }
}

/// `MESHDESK_METRICS_TOKEN`, when set, replaces the file's token.
pub fn apply_env(file: &mut MetricsFile, env: impl Fn(&str) -> Option<String>) {
    if let Some(v) = env(TOKEN_ENV) {
        file.token = Some(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MetricsSettings> {
        MetricsSettings::from_file(toml::from_str(text).expect("parses"))
    }

    #[test]
    fn off_by_default_main_when_enabled_own_when_listen_is_set() {
        assert_eq!(parse("").expect("valid").place, MetricsPlace::Off);
        assert_eq!(
            parse("enabled = true").expect("valid").place,
            MetricsPlace::Main
        );
        let own = parse("listen = \"127.0.0.1:9090\"").expect("valid").place;
        assert_eq!(
            own,
            MetricsPlace::Own("127.0.0.1:9090".parse().expect("addr"))
        );
    }

    #[test]
    fn bad_fields_are_named_and_the_token_is_not_printed() {
        let e = parse("listen = \"nope\"").expect_err("bad address");
        assert!(e.to_string().contains("metrics.listen"), "{e}");
        let e = parse("enabled = false\nlisten = \"127.0.0.1:1\"").expect_err("contradiction");
        assert!(e.to_string().contains("metrics.enabled"), "{e}");
        let e = parse("enabled = true\ntoken = \"\"").expect_err("empty token");
        assert!(e.to_string().contains("metrics.token"), "{e}");
        let f: MetricsFile = toml::from_str("token = \"hunter2\"").expect("parses");
        assert!(!format!("{f:?}").contains("hunter2"));
        let s = MetricsSettings::from_file(f).expect("valid");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
