//! host.toml's `[metrics]` table: where the host serves its figures, and
//! the bearer token it wants. Off unless `listen` is set.

use std::net::SocketAddr;
use std::path::Path;

use meshdesk_exporter::Token;
use serde::{Deserialize, Serialize};

use super::AgentError;

/// `[metrics]` as written in host.toml.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `GET /metrics` on this address, e.g. `127.0.0.1:9091`.
    /// Default none: not served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Require `Authorization: Bearer TOKEN`. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Validated `[metrics]`, when served.
#[derive(Debug, Clone)]
pub struct MetricsServe {
    pub listen: SocketAddr,
    pub token: Option<Token>,
}

impl MetricsConfig {
    /// Whether nothing is set (the table is then left out of the file).
    pub fn is_off(&self) -> bool {
        self == &MetricsConfig::default()
    }

    /// Where and how to serve, naming the field on error.
    pub fn check(&self, path: &Path) -> Result<Option<MetricsServe>, AgentError> {
        let invalid = |field: &'static str, reason: String| AgentError::ConfigInvalid {
            path: path.to_path_buf(),
            field: field.into(),
            reason,
        };
        let token = self
            .token
            .clone()
            .map(Token::new)
            .transpose()
            .map_err(|e| invalid("metrics.token", e.to_string()))?;
        let Some(text) = &self.listen else {
            if token.is_some() {
                return Err(invalid(
                    "metrics.token",
                    "set, but metrics.listen is not".into(),
                ));
            }
            return Ok(None);
        };
        let listen = text.parse().map_err(|_| {
            invalid(
                "metrics.listen",
                format!("`{text}` is not an address like 127.0.0.1:9091"),
            )
        })?;
        Ok(Some(MetricsServe { listen, token }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        listen: Option<&str>,
        token: Option<&str>,
    ) -> Result<Option<MetricsServe>, AgentError> {
        MetricsConfig {
            listen: listen.map(str::to_string),
            token: token.map(str::to_string),
        }
        .check(Path::new("host.toml"))
    }

    #[test]
    fn off_unless_listen_is_set_and_fields_are_named() {
        assert!(check(None, None).expect("valid").is_none());
        let on = check(Some("127.0.0.1:0"), Some("t"))
            .expect("valid")
            .expect("on");
        assert_eq!(on.listen.port(), 0);
        let e = check(Some("nope"), None).expect_err("bad").to_string();
        assert!(e.contains("metrics.listen"), "{e}");
        let e = check(None, Some("t")).expect_err("token alone").to_string();
        assert!(e.contains("metrics.token"), "{e}");
        let c = MetricsConfig {
            listen: None,
            token: Some("hunter2".into()),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
