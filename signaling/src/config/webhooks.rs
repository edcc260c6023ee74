//! The `[webhooks]` table: where deliveries may go, how often they are
//! retried and when a webhook is turned off. Every error names its field.

use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::checks::positive;
use crate::error::{Error, Result};

/// `[webhooks]` as written in the file; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFile {
    /// Allow deliveries to 127.0.0.0/8 and ::1 (same-machine receivers,
    /// tests). Default false.
    pub allow_loopback: Option<bool>,
    /// Private ranges (CIDRs such as "10.0.0.0/8") deliveries may go to.
    /// Default none.
    pub allow_private: Option<Vec<String>>,
    /// Failed attempts in a row (across deliveries) after which a webhook
    /// is disabled. Default 50.
    pub disable_after: Option<u32>,
    /// First retry delay in milliseconds; each further retry doubles it
    /// (with jitter, at most an hour). Default 30000.
    pub retry_base_ms: Option<u64>,
    /// Time one attempt may take, seconds. Default 10.
    pub timeout_secs: Option<u64>,
}

/// The validated `[webhooks]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whether 127.0.0.0/8 and ::1 are allowed receivers.
    pub allow_loopback: bool,
    /// Private ranges that are allowed receivers.
    pub allow_private: Vec<IpNet>,
    /// Run of failed attempts that disables a webhook.
    pub disable_after: u32,
    /// First retry delay.
    pub retry_base: Duration,
    /// Bound on one attempt (resolving, connecting, the whole answer).
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_loopback: false,
            allow_private: Vec::new(),
            disable_after: 50,
            retry_base: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSettings {
    /// Validate the table, naming `webhooks.FIELD` on error.
    pub fn from_file(f: WebhooksFile) -> Result<WebhookSettings> {
        let d = WebhookSettings::default();
        let allow_private = f
            .allow_private
            .unwrap_or_default()
            .iter()
            .map(|s| {
                s.parse::<IpNet>().map_err(|_| {
                    Error::Config(format!(
                        "webhooks.allow_private: `{s}` is not a CIDR like 10.0.0.0/8"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let disable_after = f.disable_after.unwrap_or(d.disable_after);
        let retry_ms = f.retry_base_ms.unwrap_or(30_000);
        let timeout = f.timeout_secs.unwrap_or(10);
        Ok(WebhookSettings {
            allow_loopback: f.allow_loopback.unwrap_or(false),
            allow_private,
            disable_after: positive("webhooks.disable_after", disable_after)?,
            retry_base: Duration::from_millis(positive("webhooks.retry_base_ms", retry_ms)?),
            timeout: Duration::from_secs(positive("webhooks.timeout_secs", timeout)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebhookSettings> {
        WebhookSettings::from_file(toml::from_str(text).expect("parses"))
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse("").expect("valid"), WebhookSettings::default());
        let s =
            parse("allow_loopback = true\nallow_private = [\"10.0.0.0/8\"]\nretry_base_ms = 200")
                .expect("valid");
        assert!(s.allow_loopback);
        assert_eq!(
            s.allow_private,
            ["10.0.0.0/8".parse::<IpNet>().expect("net")]
        );
        assert_eq!(s.retry_base, Duration::from_millis(200));
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = parse("allow_private = [\"10.0.0.0\"]").expect_err("no prefix");
        assert!(e.to_string().contains("webhooks.allow_private"), "{e}");
        let e = parse("disable_after = 0").expect_err("zero");
        assert!(e.to_string().contains("webhooks.disable_after"), "{e}");
        let e = parse("timeout_secs = 0").expect_err("zero");
        assert!(e.to_string().contains("webhooks.timeout_secs"), "{e}");
    }
}
