//! Server configuration: CLI flags, a TOML file and environment variables,
//! validated once at start-up into a [`Config`].
//!
//! Precedence: CLI flag, then environment variable, then file, then default.
//! `meshdesk-signaling.example.toml` documents every field.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use meshdesk_protocol::rest::IceServer;
use serde::Deserialize;

use meshdesk_relay::settings::{self as relay_settings, RelayFile};
use meshdesk_relay::RelaySettings;

use crate::error::{Error, Result};

mod checks;
mod database;
mod downloads;
mod events;
mod metrics;
mod public_url;
mod tls;
mod turn_external;
mod webhooks;

use checks::positive;

pub use database::{DatabaseFile, DatabaseSettings, DatabaseUrl};
pub use downloads::{DownloadsFile, DownloadsSettings};
pub use events::{EventsFile, EventsSettings};
pub use metrics::{MetricsFile, MetricsPlace, MetricsSettings};
pub use tls::{TlsFile, TlsMode, TlsSettings};
pub use turn_external::{TurnExternal, TurnExternalFile};
pub use webhooks::{WebhookSettings, WebhooksFile};

/// Default `max_connections`: a household's or a small company's hosts and
/// viewers many times over, well inside a default open-file limit (1024
/// soft on many systems: raise it with the limit).
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignupPolicy {
    /// Anyone may sign up.
    Open,
    /// Only the first account (which becomes the admin) may be created.
    FirstUserOnly,
    /// Nobody may sign up.
    Closed,
}

/// The TOML file as written by an operator. Every field is optional; the
/// documented default applies when it is missing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// Directory for the SQLite database. Default `./meshdesk-data`.
    pub data_dir: Option<PathBuf>,
    /// `open`, `first-user-only` or `closed`. Default `first-user-only`.
    pub signup: Option<SignupPolicy>,
    /// Lifetime of a login token in hours. Default 720 (30 days).
    pub token_ttl_hours: Option<u64>,
    /// Lifetime of an enrollment code in minutes. Default 15.
    pub enrollment_code_ttl_minutes: Option<u64>,
    /// Set the `Secure` flag on the session cookie (behind HTTPS). Default
    /// false; always on when the server serves HTTPS (`[tls]`) or
    /// `public_url` is `https://`.
    pub cookie_secure: Option<bool>,
    /// Extra browser origins allowed to open WebSockets and use the cookie,
    /// besides the server's own origin. Default none.
    pub allowed_origins: Option<Vec<String>>,
    /// Reverse proxies whose `X-Forwarded-For` is trusted. Default none.
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// The URL users open the web app at (`https://desk.example.com`):
    /// passkeys belong to its host. Default none: the page's own origin.
    pub public_url: Option<String>,
    /// Seconds between host heartbeats. Default 10.
    pub heartbeat_secs: Option<u32>,
    /// Seconds of host silence after which it is offline. Default 25.
    pub heartbeat_timeout_secs: Option<u64>,
    /// Largest REST request body in bytes. Default 65536.
    pub max_body_bytes: Option<usize>,
    /// Concurrent HTTP and WebSocket connections; beyond them new ones
    /// are answered 503. Default 1024.
    pub max_connections: Option<usize>,
    /// Sustained WebSocket messages per second per connection. Default 50.
    pub ws_rate_per_sec: Option<u32>,
    /// WebSocket message burst per connection. Default 200.
    pub ws_rate_burst: Option<u32>,
    /// Failed logins allowed per account or address before delays start. Default 5.
    pub login_free_failures: Option<u32>,
    /// Longest delay between login attempts after failures, seconds. Default 300.
    pub login_max_delay_secs: Option<u64>,
    /// Seconds an accepted session outlives its viewer's lost WebSocket,
    /// waiting for the viewer to resume it from a new connection; 0 ends it
    /// at once. At most 3600. Default 30.
    pub session_resume_grace_secs: Option<u64>,
    /// ICE servers handed to both sides of a session. Default none.
    #[serde(default)]
    pub ice_servers: Vec<IceServerConfig>,
    /// The embedded STUN/TURN relay. Default: on, `0.0.0.0:3478`.
    #[serde(default)]
    pub relay: RelayFile,
    /// An external TURN server (coturn) to mint credentials for. Default none.
    pub turn_external: Option<TurnExternalFile>,
    /// Webhook deliveries: allowed receivers, retries, disabling.
    #[serde(default)]
    pub webhooks: WebhooksFile,
    /// The activity feed: `retention_days` (default 30).
    #[serde(default)]
    pub events: EventsFile,
    /// HTTPS served by the server itself. Default: plain HTTP.
    #[serde(default)]
    pub tls: TlsFile,
    /// `GET /metrics`: off unless `enabled` or `listen`; optional `token`.
    #[serde(default)]
    pub metrics: MetricsFile,
    /// `[downloads]`: what `/downloads/` offers.
    #[serde(default)]
    pub downloads: DownloadsFile,
    /// `[database]`: `url` keeps state in PostgreSQL. Default: SQLite in
    /// the data dir.
    #[serde(default)]
    pub database: DatabaseFile,
    /// `[cluster]`: `nats_url` joins this node to others on one NATS
    /// server. Default: a single node.
    #[serde(default)]
    pub cluster: crate::cluster::ClusterFile,
}

/// One `[[ice_servers]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerConfig {
    /// `stun:` or `turn:`/`turns:` URLs.
    pub urls: Vec<String>,
    /// Static TURN username (time-limited credentials come later).
    pub username: Option<String>,
    /// Static TURN credential.
    pub credential: Option<String>,
}

/// Values from the command line (each overrides the file and env).
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// `--tls-self-signed`.
    pub tls_self_signed: bool,
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub signup: SignupPolicy,
    pub token_ttl: Duration,
    pub enrollment_code_ttl: Duration,
    pub cookie_secure: bool,
    pub allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<IpAddr>,
    /// The passkey relying party, when fixed by `public_url`.
    pub public_url: Option<url::Url>,
    pub heartbeat_secs: u32,
    pub heartbeat_timeout: Duration,
    pub max_body_bytes: usize,
    /// Concurrent connections (HTTP and WebSocket) before new ones get 503.
    pub max_connections: usize,
    pub ws_rate_per_sec: u32,
    pub ws_rate_burst: u32,
    pub login_free_failures: u32,
    pub login_max_delay: Duration,
    /// How long a session waits, detached, for its viewer to resume it.
    pub session_resume_grace: Duration,
    pub ice_servers: Vec<IceServer>,
    pub relay: RelaySettings,
    pub turn_external: Option<TurnExternal>,
    pub webhooks: WebhookSettings,
    /// The activity feed's retention.
    pub events: EventsSettings,
    /// HTTPS served by the server itself, and HSTS.
    pub tls: TlsSettings,
    /// Where `GET /metrics` is served, and its token.
    pub metrics: MetricsSettings,
    /// The directory served at `/downloads/`.
    pub downloads: DownloadsSettings,
    /// Where the state lives: SQLite in the data dir, or PostgreSQL.
    pub database: DatabaseSettings,
    /// A single node, or one of several on a NATS server.
    pub cluster: crate::cluster::ClusterSettings,
}

impl Config {
    /// Load the file named on the command line (if any), apply environment
    /// variables (`MESHDESK_LISTEN`, `MESHDESK_DATA_DIR`, `MESHDESK_SIGNUP`,
    /// and the relay's, see [`relay_settings::apply_env`]) and CLI overrides, and
    /// validate.
    pub fn load(cli: &CliOverrides) -> Result<Config> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut file = file;
        if let Some(v) = env("MESHDESK_LISTEN") {
            file.listen = Some(v);
        }
        if let Some(v) = env("MESHDESK_DATA_DIR") {
            file.data_dir = Some(v.into());
        }
        if let Some(v) = env("MESHDESK_SIGNUP") {
            file.signup = Some(parse_signup(&v)?);
        }
        relay_settings::apply_env(&mut file.relay, env)?;
        turn_external::apply_env(&mut file.turn_external, env);
        metrics::apply_env(&mut file.metrics, env);
        database::apply_env(&mut file.database, env);
        crate::cluster::config::apply_env(&mut file.cluster, env);
        if let Some(v) = &cli.listen {
            file.listen = Some(v.clone());
        }
        if let Some(v) = &cli.data_dir {
            file.data_dir = Some(v.clone());
        }
        Config::from_file_with(file, cli.tls_self_signed)
    }

    /// Validate a parsed file into a config, naming the field on error.
    pub fn from_file(f: FileConfig) -> Result<Config> {
        Config::from_file_with(f, false)
    }

    /// [`Config::from_file`] with `--tls-self-signed` given or not.
    pub fn from_file_with(f: FileConfig, tls_self_signed: bool) -> Result<Config> {
        let tls = TlsSettings::from_file(f.tls, tls_self_signed)?;
        let public_url = public_url::check(f.public_url)?;
        public_url::check_with_tls(public_url.as_ref(), &tls)?;
        let cookie_secure = f.cookie_secure.unwrap_or(false)
            || tls.enabled()
            || public_url.as_ref().is_some_and(|u| u.scheme() == "https");
        let listen = checks::listen(f.listen)?;
        let (heartbeat_secs, heartbeat_timeout) =
            checks::heartbeats(f.heartbeat_secs, f.heartbeat_timeout_secs)?;
        let mut allowed_origins = checks::origins(f.allowed_origins.unwrap_or_default())?;
        // Behind a proxy the page's origin is `public_url`'s, whatever
        // `Host` the proxy passes on.
        if let Some(origin) = public_url
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
        {
            if !allowed_origins.contains(&origin) {
                allowed_origins.push(origin);
            }
        }
        let ice_servers = checks::ice_servers(f.ice_servers)?;
        let session_resume_grace = checks::resume_grace(f.session_resume_grace_secs)?;
        let hours = positive("token_ttl_hours", f.token_ttl_hours.unwrap_or(720))?;
        let minutes = positive(
            "enrollment_code_ttl_minutes",
            f.enrollment_code_ttl_minutes.unwrap_or(15),
        )?;
        let max_body_bytes = positive("max_body_bytes", f.max_body_bytes.unwrap_or(65536))?;
        let max_connections = positive(
            "max_connections",
            f.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
        )?;
        let ws_rate_per_sec = positive("ws_rate_per_sec", f.ws_rate_per_sec.unwrap_or(50))?;
        let ws_rate_burst = positive("ws_rate_burst", f.ws_rate_burst.unwrap_or(200))?;
        let login_max_delay = positive(
            "login_max_delay_secs",
            f.login_max_delay_secs.unwrap_or(300),
        )?;
        let data_dir = f.data_dir.unwrap_or_else(|| PathBuf::from("meshdesk-data"));
        Ok(Config {
            listen,
            downloads: DownloadsSettings::from_file(f.downloads, &data_dir),
            data_dir,
            signup: f.signup.unwrap_or(SignupPolicy::FirstUserOnly),
            token_ttl: Duration::from_secs(3600 * hours),
            enrollment_code_ttl: Duration::from_secs(60 * minutes),
            cookie_secure,
            allowed_origins,
            trusted_proxies: f.trusted_proxies.unwrap_or_default(),
            public_url,
            heartbeat_secs,
            heartbeat_timeout,
            max_body_bytes,
            max_connections,
            ws_rate_per_sec,
            ws_rate_burst,
            login_free_failures: f.login_free_failures.unwrap_or(5),
            login_max_delay: Duration::from_secs(login_max_delay),
            session_resume_grace,
            ice_servers,
            relay: RelaySettings::from_file(f.relay)?,
            turn_external: TurnExternal::from_file(f.turn_external)?,
            webhooks: WebhookSettings::from_file(f.webhooks)?,
            events: EventsSettings::from_file(f.events)?,
            tls,
            metrics: MetricsSettings::from_file(f.metrics)?,
            database: DatabaseSettings::from_file(f.database)?,
            cluster: crate::cluster::ClusterSettings::from_file(f.cluster)?,
        })
    }

    /// The default configuration (what `meshdesk-signaling` runs with when
    /// given nothing), minus the relay so tests can run side by side.
    pub fn default_for_tests(data_dir: &Path) -> Config {
        let mut c = Config::from_file(FileConfig::default())
            .unwrap_or_else(|e| panic!("defaults are valid: {e}"));
        c.data_dir = data_dir.to_path_buf();
        c.downloads = DownloadsSettings::from_file(DownloadsFile::default(), data_dir);
        c.relay.enabled = false;
        c
    }
}

fn parse_signup(v: &str) -> Result<SignupPolicy> {
    match v {
        "open" => Ok(SignupPolicy::Open),
        "first-user-only" => Ok(SignupPolicy::FirstUserOnly),
        "closed" => Ok(SignupPolicy::Closed),
        other => Err(Error::Config(format!(
            "signup: `{other}` is not one of open, first-user-only, closed"
        ))),
    }
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let c = Config::from_file(FileConfig::default()).expect("defaults valid");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.signup, SignupPolicy::FirstUserOnly);
        assert_eq!(c.enrollment_code_ttl, Duration::from_secs(900));
        assert_eq!(c.session_resume_grace, Duration::from_secs(30));
        assert_eq!(c.max_connections, 1024);
        assert_eq!(c.events.retention, Duration::from_secs(30 * 86_400));
    }

    #[test]
    fn resume_grace_may_be_off_but_not_endless() {
        let f: FileConfig = toml::from_str("session_resume_grace_secs = 0").expect("parses");
        let c = Config::from_file(f).expect("0 is valid");
        assert_eq!(c.session_resume_grace, Duration::ZERO);
        let f: FileConfig = toml::from_str("session_resume_grace_secs = 3601").expect("parses");
        let err = Config::from_file(f).expect_err("too long").to_string();
        assert!(err.contains("session_resume_grace_secs"), "{err}");
    }

    #[test]
    fn bad_fields_are_named() {
        let f: FileConfig = toml::from_str("listen = \"nope\"").expect("parses");
        let err = Config::from_file(f).expect_err("invalid").to_string();
        assert!(err.contains("listen"), "{err}");
        let f: FileConfig = toml::from_str("max_connections = 0").expect("parses");
        let err = Config::from_file(f).expect_err("invalid").to_string();
        assert!(
            err.contains("max_connections: must be greater than 0"),
            "{err}"
        );
        let err = toml::from_str::<FileConfig>("max_connections = -1").expect_err("negative");
        assert!(err.to_string().contains("max_connections"), "{err}");
        let err = toml::from_str::<FileConfig>("lisen = \"x\"").expect_err("unknown field");
        assert!(err.to_string().contains("lisen"), "{err}");
        let f: FileConfig =
            toml::from_str("[[ice_servers]]\nurls = [\"http://x\"]").expect("parses");
        let err = Config::from_file(f).expect_err("invalid").to_string();
        assert!(err.contains("ice_servers[0].urls"), "{err}");
        let f: FileConfig = toml::from_str("[relay]\nlisten = \"x\"").expect("parses");
        let err = Config::from_file(f).expect_err("invalid").to_string();
        assert!(err.contains("relay.listen"), "{err}");
        let err = toml::from_str::<FileConfig>("[relay]\nenable = true").expect_err("unknown");
        assert!(err.to_string().contains("enable"), "{err}");
        let f: FileConfig = toml::from_str("[events]\nretention_days = 0").expect("parses");
        let err = Config::from_file(f).expect_err("invalid").to_string();
        assert!(err.contains("events.retention_days"), "{err}");
        let err = toml::from_str::<FileConfig>("[events]\nretention_days = -1").expect_err("neg");
        assert!(err.to_string().contains("retention_days"), "{err}");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../meshdesk-signaling.example.toml");
        let f: FileConfig = toml::from_str(text).expect("example parses");
        Config::from_file(f).expect("example is valid");
    }
}
