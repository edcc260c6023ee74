//! The `[relay]` table of the server's config file, its environment
//! overrides, and its validation into [`RelaySettings`]. Errors name the
//! field (`relay.listen: ...`), like the rest of the server's config.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::secret::SharedSecret;

/// `[relay]` as written by an operator; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayFile {
    /// Run the embedded STUN/TURN relay. Default true.
    pub enabled: Option<bool>,
    /// UDP (and TCP) address. Default `0.0.0.0:3478`; port 0 picks one.
    pub listen: Option<String>,
    /// Also accept TURN over TCP on the same port. Default true.
    pub tcp: Option<bool>,
    /// Address clients reach the relay at. Default: the listen IP, or the
    /// machine's outbound IP when listening on 0.0.0.0.
    pub public_ip: Option<String>,
    /// Long-term credential realm. Default `meshdesk`.
    pub realm: Option<String>,
    /// Shared secret for credentials. Default: generated at first start and
    /// kept in `DATA_DIR/relay-secret`.
    pub secret: Option<String>,
    /// Lifetime of handed-out credentials, seconds. Default 43200 (12 h).
    pub credential_ttl_secs: Option<u64>,
    /// CIDRs relayed to despite being loopback/private/link-local. Default none.
    pub allowed_peer_ranges: Option<Vec<String>>,
    /// `MIN-MAX` ports for relayed addresses. Default: any free port.
    pub relay_port_range: Option<String>,
    /// Allocations at once, in total. Default 1000.
    pub max_allocations: Option<usize>,
    /// Allocations at once per credential id (session or user). Default 20.
    pub max_allocations_per_user: Option<usize>,
    /// Relayed kbit/s per allocation, both directions; 0 unlimited. Default 20000.
    pub allocation_bandwidth_kbps: Option<u64>,
    /// Relayed kbit/s over all allocations; 0 unlimited. Default 200000.
    pub total_bandwidth_kbps: Option<u64>,
}

/// Limits on what clients may take from the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_allocations: usize,
    pub max_allocations_per_user: usize,
    /// Bytes per second per allocation (0: unlimited).
    pub allocation_bytes_per_sec: u64,
    /// Bytes per second over all allocations (0: unlimited).
    pub total_bytes_per_sec: u64,
}

/// The validated `[relay]` table.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    pub enabled: bool,
    pub listen: SocketAddr,
    pub tcp: bool,
    pub public_ip: Option<IpAddr>,
    pub realm: String,
    /// `None`: read or create `DATA_DIR/relay-secret` at start.
    pub secret: Option<SharedSecret>,
    pub credential_ttl: Duration,
    pub allowed_peer_ranges: Vec<IpNet>,
    pub port_range: Option<(u16, u16)>,
    pub limits: Limits,
}

/// Default credential lifetime: longer than any plausible session.
const DEFAULT_TTL_SECS: u64 = 12 * 3600;

/// Apply `MESHDESK_RELAY` (true/false), `MESHDESK_RELAY_LISTEN`,
/// `MESHDESK_RELAY_PUBLIC_IP` and `MESHDESK_RELAY_SECRET` over the file.
pub fn apply_env(relay: &mut RelayFile, env: impl Fn(&str) -> Option<String>) -> Result<()> {
    if let Some(v) = env("MESHDESK_RELAY") {
        relay.enabled = Some(match v.as_str() {
            "1" | "true" | "on" | "yes" => true,
            "0" | "false" | "off" | "no" => false,
            other => {
                return Err(Error::Config(format!(
                    "MESHDESK_RELAY: `{other}` is not true or false"
                )))
            }
        });
    }
    if let Some(v) = env("MESHDESK_RELAY_LISTEN") {
        relay.listen = Some(v);
    }
    if let Some(v) = env("MESHDESK_RELAY_PUBLIC_IP") {
        relay.public_ip = Some(v);
    }
    if let Some(v) = env("MESHDESK_RELAY_SECRET") {
        relay.secret = Some(v);
    }
    Ok(())
}

fn err(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::field(field, msg)
}

/// A credential lifetime in seconds, [`DEFAULT_TTL_SECS`] when absent.
pub fn ttl(field: &str, v: Option<u64>) -> Result<Duration> {
    match v.unwrap_or(DEFAULT_TTL_SECS) {
        0 => Err(err(field, "must be greater than 0")),
        s => Ok(Duration::from_secs(s)),
    }
}

impl RelaySettings {
    /// Validate `[relay]`.
    pub fn from_file(f: RelayFile) -> Result<RelaySettings> {
        let listen_text = f.listen.unwrap_or_else(|| "0.0.0.0:3478".into());
        let listen = listen_text.parse().map_err(|_| {
            err(
                "relay.listen",
                format!("`{listen_text}` is not an address like 0.0.0.0:3478"),
            )
        })?;
        let public_ip = public_ip(f.public_ip)?;
        let realm = realm(f.realm)?;
        let secret = match f.secret {
            Some(s) if s.len() < 16 => {
                return Err(err("relay.secret", "must be at least 16 characters"))
            }
            s => s.map(SharedSecret::new),
        };
        let allowed_peer_ranges = allowed_ranges(f.allowed_peer_ranges.unwrap_or_default())?;
        let port_range = port_range(f.relay_port_range)?;
        let count = |name: &str, v: Option<usize>, default: usize| match v.unwrap_or(default) {
            0 => Err(err(&format!("relay.{name}"), "must be greater than 0")),
            n => Ok(n),
        };
        let kbps = |v: Option<u64>, default: u64| v.unwrap_or(default).saturating_mul(1000) / 8;
        let limits = Limits {
            max_allocations: count("max_allocations", f.max_allocations, 1000)?,
            max_allocations_per_user: count(
                "max_allocations_per_user",
                f.max_allocations_per_user,
                20,
            )?,
            allocation_bytes_per_sec: kbps(f.allocation_bandwidth_kbps, 20_000),
            total_bytes_per_sec: kbps(f.total_bandwidth_kbps, 200_000),
        };
        Ok(RelaySettings {
            enabled: f.enabled.unwrap_or(true),
            listen,
            tcp: f.tcp.unwrap_or(true),
            public_ip,
            realm,
            secret,
            credential_ttl: ttl("relay.credential_ttl_secs", f.credential_ttl_secs)?,
            allowed_peer_ranges,
            port_range,
            limits,
        })
    }
}

/// `relay.public_ip`: an address clients can reach, not 0.0.0.0 or `::`.
fn public_ip(text: Option<String>) -> Result<Option<IpAddr>> {
    let Some(t) = text else { return Ok(None) };
    let ip = t
        .parse::<IpAddr>()
        .map_err(|_| err("relay.public_ip", format!("`{t}` is not an IP address")))?;
    if ip.is_unspecified() {
        return Err(err("relay.public_ip", "must not be unspecified"));
    }
    Ok(Some(ip))
}

/// `relay.realm`, default `meshdesk`.
fn realm(text: Option<String>) -> Result<String> {
    let realm = text.unwrap_or_else(|| "meshdesk".into());
    if realm.is_empty() || realm.len() > 127 || realm.chars().any(|c| c.is_control()) {
        return Err(err("relay.realm", "must be 1 to 127 printable characters"));
    }
    Ok(realm)
}

/// `relay.allowed_peer_ranges`, each a CIDR or a bare address.
fn allowed_ranges(ranges: Vec<String>) -> Result<Vec<IpNet>> {
    ranges
        .iter()
        .enumerate()
        .map(|(i, r)| {
            parse_range(r).ok_or_else(|| {
                err(
                    &format!("relay.allowed_peer_ranges[{i}]"),
                    format!("`{r}` is not a CIDR like 10.0.0.0/8 or an IP address"),
                )
            })
        })
        .collect()
}

/// `relay.relay_port_range`, `MIN-MAX`.
fn port_range(text: Option<String>) -> Result<Option<(u16, u16)>> {
    let Some(t) = text else { return Ok(None) };
    let range = parse_ports(&t).ok_or_else(|| {
        err(
            "relay.relay_port_range",
            format!("`{t}` is not MIN-MAX with 1 <= MIN <= MAX <= 65535"),
        )
    })?;
    Ok(Some(range))
}

/// `10.0.0.0/8`, or a bare address meaning just that address.
fn parse_range(t: &str) -> Option<IpNet> {
    if let Ok(n) = t.parse::<IpNet>() {
        return Some(n.trunc());
    }
    t.parse::<IpAddr>().ok().map(IpNet::from)
}

fn parse_ports(t: &str) -> Option<(u16, u16)> {
    let (a, b) = t.split_once('-')?;
    let (a, b) = (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?);
    (a >= 1 && a <= b).then_some((a, b))
}

/// The relay secret from `DATA_DIR/relay-secret`, created (random, mode
/// 0600) at first start so credentials survive restarts.
pub fn load_or_create_secret(data_dir: &Path) -> Result<SharedSecret> {
    let path = data_dir.join("relay-secret");
    let fail = |e: std::io::Error| {
        Error::Config(format!("relay.secret: cannot use {}: {e}", path.display()))
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 16 => {
            return Ok(SharedSecret::new(text.trim().to_string()))
        }
        Ok(_) => {
            return Err(Error::Config(format!(
                "relay.secret: {} is shorter than 16 characters",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let secret = SharedSecret::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(fail)?;
    std::io::Write::write_all(&mut file, secret.expose().as_bytes()).map_err(fail)?;
    tracing::info!(path = %path.display(), "generated the relay secret");
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(toml_text: &str) -> Result<RelaySettings> {
        RelaySettings::from_file(toml::from_str(toml_text).expect("parses"))
    }

    #[test]
    fn defaults() {
        let r = relay("").expect("defaults valid");
        assert!(r.enabled && r.tcp);
        assert_eq!(r.listen.to_string(), "0.0.0.0:3478");
        assert_eq!(r.realm, "meshdesk");
        assert_eq!(r.credential_ttl, Duration::from_secs(43200));
        assert_eq!(r.limits.max_allocations, 1000);
        assert_eq!(r.limits.max_allocations_per_user, 20);
        assert_eq!(r.limits.allocation_bytes_per_sec, 2_500_000);
        assert_eq!(r.limits.total_bytes_per_sec, 25_000_000);
        assert!(r.port_range.is_none() && r.public_ip.is_none() && r.secret.is_none());
    }

    #[test]
    fn bad_fields_are_named() {
        for (text, field) in [
            ("listen = \"x\"", "relay.listen"),
            ("public_ip = \"nope\"", "relay.public_ip"),
            ("public_ip = \"0.0.0.0\"", "relay.public_ip"),
            ("realm = \"\"", "relay.realm"),
            ("secret = \"short\"", "relay.secret"),
            (
                "allowed_peer_ranges = [\"10.0.0.0/8\", \"bad\"]",
                "relay.allowed_peer_ranges[1]",
            ),
            ("relay_port_range = \"9-1\"", "relay.relay_port_range"),
            ("max_allocations = 0", "relay.max_allocations"),
            ("credential_ttl_secs = 0", "relay.credential_ttl_secs"),
        ] {
            let e = relay(text).expect_err(text).to_string();
            assert!(e.contains(field), "{text}: {e}");
        }
    }

    #[test]
    fn ranges_and_ports_parse() {
        let r = relay(
            "allowed_peer_ranges = [\"127.0.0.0/8\", \"10.1.2.3\", \"fd00::/8\"]\nrelay_port_range = \"49152-49200\"",
        )
        .expect("valid");
        assert_eq!(r.allowed_peer_ranges.len(), 3);
        assert_eq!(r.allowed_peer_ranges[1].to_string(), "10.1.2.3/32");
        assert_eq!(r.port_range, Some((49152, 49200)));
    }

    #[test]
    fn env_overrides_the_file() {
        let mut r = RelayFile::default();
        let env = |k: &str| match k {
            "MESHDESK_RELAY" => Some("false".to_string()),
            "MESHDESK_RELAY_SECRET" => Some("relay-secret-from-env".to_string()),
            _ => None,
        };
        apply_env(&mut r, env).expect("valid");
        assert_eq!(r.enabled, Some(false));
        assert_eq!(r.secret.as_deref(), Some("relay-secret-from-env"));
        let bad = apply_env(&mut r, |_| Some("maybe".into()));
        assert!(bad
            .expect_err("invalid")
            .to_string()
            .contains("MESHDESK_RELAY"));
    }

    #[test]
    fn secret_is_created_once_and_kept() {
        let dir =
            std::env::temp_dir().join(format!("meshdesk-relay-secret-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let a = load_or_create_secret(&dir).expect("created");
        let b = load_or_create_secret(&dir).expect("read back");
        assert_eq!(a.expose(), b.expose());
        assert!(a.expose().len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("relay-secret"))
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
