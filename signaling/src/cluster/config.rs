//! The `[cluster] nats_url` setting: which NATS server joins this node to
//! the others. No URL: a single node, exactly today's behaviour.
//!
//! The URL may carry a user and password or a token, both secrets:
//! `Debug` and `Display` leave them out, and errors name the field
//! without echoing the URL.

use serde::Deserialize;

use crate::error::{Error, Result};

/// The environment variable that sets (or overrides) `cluster.nats_url`.
pub const URL_ENV: &str = "MESHDESK_NATS_URL";

/// `[cluster]` as written by an operator.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// `nats://[USER:PASSWORD@]HOST:PORT` (or `tls://`). Default none: a
    /// single node. `MESHDESK_NATS_URL` overrides it.
    pub nats_url: Option<String>,
}

impl std::fmt::Debug for ClusterFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterFile")
            .field("nats_url", &self.nats_url.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Whether and how this node joins a cluster.
#[derive(Debug, Clone, Default)]
pub enum ClusterSettings {
    /// One node: nothing is published, nothing arrives.
    #[default]
    Single,
    /// Nodes that share a NATS server.
    Nats(NatsUrl),
}

impl ClusterSettings {
    pub fn from_file(f: ClusterFile) -> Result<ClusterSettings> {
        match f.nats_url {
            None => Ok(ClusterSettings::Single),
            Some(text) => Ok(ClusterSettings::Nats(NatsUrl::parse(&text)?)),
        }
    }
}

/// A checked NATS server URL.
#[derive(Clone)]
pub struct NatsUrl {
    /// What the client connects with (credentials included).
    url: url::Url,
}

impl NatsUrl {
    /// Check `text`, naming `cluster.nats_url` (never echoing it) on error.
    pub fn parse(text: &str) -> Result<NatsUrl> {
        let bad = |why: &str| Error::Config(format!("cluster.nats_url: {why}"));
        // The parser's message may quote the URL; it is not passed on.
        let url =
            url::Url::parse(text).map_err(|_| bad("not a valid URL like nats://HOST:4222"))?;
        if !matches!(url.scheme(), "nats" | "tls") {
            return Err(bad(
                "must start with nats:// or tls:// (leave it out for a single node)",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("names no host"));
        }
        Ok(NatsUrl { url })
    }

    /// The URL to connect to, credentials included: for the client only.
    pub fn connect_to(&self) -> &str {
        self.url.as_str()
    }
}

impl std::fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NatsUrl({self})")
    }
}

/// `nats://HOST:PORT`: the URL without user, password or token.
impl std::fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.url.host_str().unwrap_or("");
        match self.url.port() {
            Some(p) => write!(f, "{}://{host}:{p}", self.url.scheme()),
            None => write!(f, "{}://{host}", self.url.scheme()),
        }
    }
}

/// `MESHDESK_NATS_URL`, when set, replaces the file's URL.
pub fn apply_env(file: &mut ClusterFile, env: impl Fn(&str) -> Option<String>) {
    if let Some(v) = env(URL_ENV) {
        file.nats_url = Some(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClusterSettings> {
        ClusterSettings::from_file(toml::from_str(text).expect("parses"))
    }

    #[test]
    fn no_url_is_a_single_node_and_a_nats_url_joins_a_cluster() {
        assert!(matches!(parse("").expect("valid"), ClusterSettings::Single));
        let c = parse("nats_url = \"nats://md:pw@bus.example:4333\"").expect("valid");
        let ClusterSettings::Nats(url) = c else {
            panic!("expected NATS, got {c:?}");
        };
        assert_eq!(url.to_string(), "nats://bus.example:4333");
        assert_eq!(url.connect_to(), "nats://md:pw@bus.example:4333");
    }

    #[test]
    fn bad_urls_name_the_field_and_credentials_are_never_shown() {
        for bad in [
            "http://md:hunter2@bus:4222",
            "nats://md:hunter2@bus:notaport",
            "hunter2",
            "nats://hunter2@",
        ] {
            let e = parse(&format!("nats_url = \"{bad}\"")).expect_err(bad);
            let text = e.to_string();
            assert!(text.contains("cluster.nats_url"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
        let f: ClusterFile =
            toml::from_str("nats_url = \"nats://hunter2@bus:4222\"").expect("parses");
        assert!(!format!("{f:?}").contains("hunter2"));
        let s = ClusterSettings::from_file(f).expect("valid");
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
    }

    #[test]
    fn the_environment_replaces_the_file() {
        let mut f = ClusterFile::default();
        apply_env(&mut f, |k| {
            (k == URL_ENV).then(|| "nats://127.0.0.1:1".into())
        });
        assert_eq!(f.nats_url.as_deref(), Some("nats://127.0.0.1:1"));
    }
}
