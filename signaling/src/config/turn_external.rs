//! `[turn_external]`: an external TURN server (coturn with
//! `use-auth-secret`) whose credentials this server hands out instead of,
//! or besides, the embedded relay's. Errors name the field.

use std::time::Duration;

use meshdesk_relay::settings::ttl;
use meshdesk_relay::SharedSecret;
use serde::Deserialize;

use crate::error::{Error, Result};

/// `[turn_external]` as written by an operator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnExternalFile {
    /// `stun:`/`turn:`/`turns:` URLs of the external server.
    pub urls: Option<Vec<String>>,
    /// coturn's `static-auth-secret`.
    pub shared_secret: Option<String>,
    /// Lifetime of handed-out credentials, seconds. Default 43200 (12 h).
    pub credential_ttl_secs: Option<u64>,
}

/// The validated `[turn_external]` table.
#[derive(Debug, Clone)]
pub struct TurnExternal {
    pub urls: Vec<String>,
    pub shared_secret: SharedSecret,
    pub credential_ttl: Duration,
}

/// Apply `MESHDESK_TURN_SHARED_SECRET` over the file (creating the table
/// when the file has none, so the URLs' absence is reported).
pub fn apply_env(external: &mut Option<TurnExternalFile>, env: impl Fn(&str) -> Option<String>) {
    if let Some(v) = env("MESHDESK_TURN_SHARED_SECRET") {
        external
            .get_or_insert_with(TurnExternalFile::default)
            .shared_secret = Some(v);
    }
}

fn err(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::Config(format!("{field}: {msg}"))
}

impl TurnExternal {
    /// Validate `[turn_external]`; `None` when the table is absent.
    pub fn from_file(f: Option<TurnExternalFile>) -> Result<Option<TurnExternal>> {
        let Some(f) = f else { return Ok(None) };
        let urls = f.urls.unwrap_or_default();
        if urls.is_empty() {
            return Err(err("turn_external.urls", "must not be empty"));
        }
        for u in &urls {
            if !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:")) {
                return Err(err(
                    "turn_external.urls",
                    format!("`{u}` must start with stun:, turn: or turns:"),
                ));
            }
        }
        let shared_secret = match f.shared_secret {
            Some(s) if !s.is_empty() => SharedSecret::new(s),
            _ => {
                return Err(err(
                    "turn_external.shared_secret",
                    "is required (coturn's static-auth-secret)",
                ))
            }
        };
        Ok(Some(TurnExternal {
            urls,
            shared_secret,
            credential_ttl: ttl("turn_external.credential_ttl_secs", f.credential_ttl_secs)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_turn_needs_urls_and_secret() {
        let ext = |t: &str| TurnExternal::from_file(Some(toml::from_str(t).expect("parses")));
        assert!(ext("shared_secret = \"s\"")
            .expect_err("no urls")
            .to_string()
            .contains("turn_external.urls"));
        assert!(ext("urls = [\"turn:t:3478\"]")
            .expect_err("no secret")
            .to_string()
            .contains("turn_external.shared_secret"));
        assert!(ext("urls = [\"http://t\"]\nshared_secret = \"s\"").is_err());
        let ok = ext("urls = [\"turn:t:3478\"]\nshared_secret = \"s\"")
            .expect("valid")
            .expect("some");
        assert_eq!(ok.credential_ttl, Duration::from_secs(43200));
        assert!(TurnExternal::from_file(None)
            .expect("absent is fine")
            .is_none());
    }

    #[test]
    fn env_sets_the_shared_secret() {
        let mut ext = None;
        apply_env(&mut ext, |k| {
            (k == "MESHDESK_TURN_SHARED_SECRET").then(|| "coturn-secret".to_string())
        });
        assert_eq!(
            ext.and_then(|e| e.shared_secret).as_deref(),
            Some("coturn-secret")
        );
    }
}
