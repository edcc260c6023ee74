//! The host's identity file: server URL (or several), device id, name and
//! the Ed25519 private key. Written once by `enroll` with mode 0600; read
//! by `run`.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use meshdesk_peer::{ServerList, ServerSetting};
use serde::{Deserialize, Serialize};

use super::metrics_config::MetricsConfig;
use super::AgentError;
use crate::consent::policy::{ConsentFloor, MAX_PROMPT_TIMEOUT_SECS};
use crate::files::FilesConfig;

/// Default frame-rate cap when the file does not say.
const DEFAULT_MAX_FPS: u32 = 30;

/// The identity file as stored (TOML).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`, or a list of
    /// them (the nodes of a cluster), tried in order: the agent moves to
    /// the next when a connection fails or drops. No default: `enroll`
    /// writes it.
    pub server: ServerSetting,
    /// PEM file with the CA that signed the server's certificate (or the
    /// self-signed certificate itself) for `https://` servers. Default
    /// none: the system's trusted CAs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The SHA-256 fingerprint the server printed at start; only that
    /// certificate is accepted. Default none. Not with `ca_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_fingerprint: Option<String>,
    /// The id the server gave this device at enrollment.
    pub device_id: String,
    /// Name shown to users.
    pub name: String,
    /// Ed25519 private key (32 bytes, standard base64). Never share it.
    pub private_key: String,
    /// Most frames per second to send (default 30).
    #[serde(default = "default_fps")]
    pub max_fps: u32,
    /// Target video bitrate in kbit/s (default 4000).
    #[serde(default = "default_bitrate")]
    pub bitrate_kbps: u32,
    /// H.264's deblocking filter (default off: text stays sharper and
    /// decoding is quicker; on suits a screen that mostly plays video).
    #[serde(default)]
    pub deblocking: bool,
    /// Whether each session's bandwidth estimate lowers the bitrate and
    /// frame rate when its path carries less than `bitrate_kbps` (default
    /// on; off sends at `bitrate_kbps` whatever the path).
    #[serde(default = "default_true")]
    pub adaptive_quality: bool,
    /// `[consent]`: the least consent this PC requires, whatever the server
    /// says (default: none beyond the server's), and the prompt's timeout.
    #[serde(default, skip_serializing_if = "ConsentFloor::is_default")]
    pub consent: ConsentFloor,
    /// `[metrics]`: `listen` (default none: not served) and `token`.
    #[serde(default, skip_serializing_if = "MetricsConfig::is_off")]
    pub metrics: MetricsConfig,
    /// `[files]`: `receive_dir` (default `~/Downloads/Meshdesk`) and
    /// `shared` (folders viewers may browse; default none).
    #[serde(default, skip_serializing_if = "FilesConfig::is_default")]
    pub files: FilesConfig,
    /// `[clipboard]`: `max_bytes` (default 16 MiB).
    #[serde(default, skip_serializing_if = "ClipboardConfig::is_default")]
    pub clipboard: ClipboardConfig,
}

/// `[clipboard]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipboardConfig {
    /// Largest content shared either way; larger is not sent and the
    /// other side is told why.
    #[serde(default = "default_clip_max")]
    pub max_bytes: u64,
}

impl Default for ClipboardConfig {
    fn default() -> Self {
        Self {
            max_bytes: default_clip_max(),
        }
    }
}

impl ClipboardConfig {
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

fn default_clip_max() -> u64 {
    meshdesk_protocol::clipboard::DEFAULT_MAX_CLIP_BYTES
}

fn default_fps() -> u32 {
    DEFAULT_MAX_FPS
}

fn default_bitrate() -> u32 {
    4000
}

fn default_true() -> bool {
    true
}

impl std::fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostConfig")
            .field("server", &self.server)
            .field("ca_file", &self.ca_file)
            .field("server_fingerprint", &self.server_fingerprint)
            .field("device_id", &self.device_id)
            .field("name", &self.name)
            .field("private_key", &"***")
            .field("max_fps", &self.max_fps)
            .field("bitrate_kbps", &self.bitrate_kbps)
            .field("deblocking", &self.deblocking)
            .field("adaptive_quality", &self.adaptive_quality)
            .field("consent", &self.consent)
            .field("metrics", &self.metrics)
            .finish()
    }
}

/// A TOML error with the line it is about, so that it names the field.
fn where_in(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return error.message().to_string();
    };
    let line = text[..span.start.min(text.len())].matches('\n').count();
    match text.lines().nth(line) {
        Some(source) => format!("{} (line {}: {})", error.message(), line + 1, source.trim()),
        None => error.message().to_string(),
    }
}

/// `$XDG_CONFIG_HOME/meshdesk/host.toml`, or `~/.config/meshdesk/host.toml`.
pub fn default_path() -> PathBuf {
    meshdesk_peer::server_url::config_path("host.toml")
}

impl HostConfig {
    /// Read and validate the file.
    pub fn load(path: &Path) -> Result<HostConfig, AgentError> {
        let text = std::fs::read_to_string(path).map_err(|e| AgentError::ConfigRead {
            path: path.to_path_buf(),
            reason: if e.kind() == std::io::ErrorKind::NotFound {
                "not found; enroll first with `meshdesk-host enroll --server URL --code CODE`"
                    .into()
            } else {
                e.to_string()
            },
        })?;
        let cfg: HostConfig = toml::from_str(&text).map_err(|e| AgentError::ConfigRead {
            path: path.to_path_buf(),
            reason: where_in(&text, &e),
        })?;
        cfg.signing_key(path)?;
        cfg.servers().map_err(|e| match e {
            meshdesk_peer::PeerError::BadServer { field, reason } => AgentError::ConfigInvalid {
                path: path.to_path_buf(),
                field,
                reason,
            },
            other => AgentError::BadUrl(other.to_string()),
        })?;
        super::tls::trust(&cfg, path)?;
        if cfg.max_fps == 0 || cfg.max_fps > 120 {
            return Err(AgentError::ConfigInvalid {
                path: path.to_path_buf(),
                field: "max_fps".into(),
                reason: "must be 1 to 120".into(),
            });
        }
        let secs = cfg.consent.prompt_timeout_secs;
        if secs == 0 || secs > MAX_PROMPT_TIMEOUT_SECS {
            return Err(AgentError::ConfigInvalid {
                path: path.to_path_buf(),
                field: "consent.prompt_timeout_secs".into(),
                reason: format!("must be 1 to {MAX_PROMPT_TIMEOUT_SECS}"),
            });
        }
        cfg.metrics.check(path)?;
        Ok(cfg)
    }

    /// The server URLs, checked and normalised, in the order they are
    /// tried; a bad one is named (`server[1]`).
    pub fn servers(&self) -> Result<ServerList, meshdesk_peer::PeerError> {
        self.server.list()
    }

    /// The device key.
    pub fn signing_key(&self, path: &Path) -> Result<SigningKey, AgentError> {
        let invalid = |reason: &str| AgentError::ConfigInvalid {
            path: path.to_path_buf(),
            field: "private_key".into(),
            reason: reason.into(),
        };
        let bytes = STANDARD
            .decode(&self.private_key)
            .map_err(|_| invalid("not base64"))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| invalid("must be 32 bytes"))?;
        Ok(SigningKey::from_bytes(&arr))
    }

    /// Write the file readable by its owner only (0600), creating parent
    /// directories (0700).
    pub fn save(&self, path: &Path) -> Result<(), AgentError> {
        let werr = |e: std::io::Error| AgentError::ConfigWrite {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(werr)?;
        }
        let text = toml::to_string(self).map_err(|e| AgentError::ConfigWrite {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let tmp = path.with_extension("toml.tmp");
        let mut f = open_private(&tmp).map_err(werr)?;
        f.write_all(text.as_bytes()).map_err(werr)?;
        f.sync_all().map_err(werr)?;
        std::fs::rename(&tmp, path).map_err(werr)?;
        Ok(())
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HostConfig {
        HostConfig {
            server: ServerSetting::One("http://127.0.0.1:1".into()),
            ca_file: None,
            server_fingerprint: None,
            device_id: "dev_x".into(),
            name: "pc".into(),
            private_key: STANDARD.encode([7u8; 32]),
            max_fps: 30,
            bitrate_kbps: 4000,
            deblocking: false,
            adaptive_quality: true,
            consent: ConsentFloor::default(),
            metrics: MetricsConfig::default(),
            files: FilesConfig::default(),
            clipboard: ClipboardConfig::default(),
        }
    }

    #[test]
    fn files_and_clipboard_read_back_and_a_bad_key_is_named() {
        let text = format!(
            "{}\n[files]\nreceive_dir = \"/tmp/in\"\nshared = [\"~/Documents\"]\n[clipboard]\nmax_bytes = 1024\n",
            toml::to_string(&sample()).unwrap()
        );
        let cfg: HostConfig = toml::from_str(&text).expect("parses");
        assert_eq!(cfg.files.receive_dir.as_deref(), Some("/tmp/in"));
        assert_eq!(cfg.files.shared, ["~/Documents"]);
        assert_eq!(cfg.clipboard.max_bytes, 1024);
        let bad = format!(
            "{}\n[files]\nrecieve_dir = \"x\"\n",
            toml::to_string(&sample()).unwrap()
        );
        let err = toml::from_str::<HostConfig>(&bad)
            .expect_err("refused")
            .to_string();
        assert!(err.contains("recieve_dir"), "{err}");
    }

    #[test]
    fn saves_owner_only_and_loads_back() {
        let dir = std::env::temp_dir().join(format!("mdh-cfg-{}", std::process::id()));
        let path = dir.join("sub").join("host.toml");
        sample().save(&path).expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back = HostConfig::load(&path).expect("load");
        assert_eq!(back.device_id, "dev_x");
        assert!(
            !format!("{back:?}").contains(&back.private_key),
            "key never printed"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_key_names_the_field() {
        let dir = std::env::temp_dir().join(format!("mdh-cfg-bad-{}", std::process::id()));
        let path = dir.join("host.toml");
        let mut c = sample();
        c.private_key = "short".into();
        c.save(&path).expect("save");
        let err = HostConfig::load(&path).expect_err("invalid").to_string();
        assert!(err.contains("private_key"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn deblocking_is_off_unless_the_file_turns_it_on() {
        let dir = std::env::temp_dir().join(format!("mdh-cfg-deblock-{}", std::process::id()));
        let path = dir.join("host.toml");
        sample().save(&path).expect("save");
        assert!(!HostConfig::load(&path).expect("load").deblocking);
        // A file from before the setting existed: off.
        let text = std::fs::read_to_string(&path).expect("read");
        let older: String = text
            .lines()
            .filter(|l| !l.starts_with("deblocking"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, &older).expect("write");
        assert!(!HostConfig::load(&path).expect("load").deblocking);
        std::fs::write(&path, format!("{older}deblocking = true\n")).expect("write");
        assert!(HostConfig::load(&path).expect("load").deblocking);
        std::fs::write(&path, format!("{older}deblocking = \"yes\"\n")).expect("write");
        let err = HostConfig::load(&path).expect_err("not a boolean");
        assert!(err.to_string().contains("deblocking"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn adaptive_quality_is_on_unless_the_file_turns_it_off() {
        let dir = std::env::temp_dir().join(format!("mdh-cfg-adapt-{}", std::process::id()));
        let path = dir.join("host.toml");
        sample().save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        let older: String = text
            .lines()
            .filter(|l| !l.starts_with("adaptive_quality"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, &older).expect("write");
        assert!(HostConfig::load(&path).expect("load").adaptive_quality);
        std::fs::write(&path, format!("adaptive_quality = false\n{older}")).expect("write");
        assert!(!HostConfig::load(&path).expect("load").adaptive_quality);
        std::fs::write(&path, format!("adaptive_quality = 1\n{older}")).expect("write");
        let err = HostConfig::load(&path).expect_err("not a boolean");
        assert!(err.to_string().contains("adaptive_quality"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_consent_floor_reads_back_and_a_bad_value_names_the_field() {
        let dir = std::env::temp_dir().join(format!("mdh-cfg-consent-{}", std::process::id()));
        let path = dir.join("host.toml");
        sample().save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("[consent]"), "the default is left out");
        let with = |extra: &str| {
            std::fs::write(&path, format!("{text}{extra}")).expect("write");
            HostConfig::load(&path)
        };
        let cfg = with("[consent]\nshared = \"prompt\"\n").expect("load");
        assert_eq!(
            cfg.consent.shared,
            meshdesk_protocol::rest::ConsentPolicy::Prompt
        );
        let err = with("[consent]\nshared = \"always\"\n").expect_err("bad policy");
        assert!(err.to_string().contains("shared"), "{err}");
        let err = with("[consent]\nprompt_timeout_secs = 0\n").expect_err("bad timeout");
        assert!(
            err.to_string().contains("consent.prompt_timeout_secs"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn server_is_one_url_or_a_list_and_a_bad_entry_is_named() {
        let dir = std::env::temp_dir().join(format!("mdh-cfg-servers-{}", std::process::id()));
        let path = dir.join("host.toml");
        sample().save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.starts_with("server = \"http://127.0.0.1:1\"\n"),
            "one URL stays a string: {text}"
        );
        let rest: String = text
            .lines()
            .filter(|l| !l.starts_with("server ="))
            .map(|l| format!("{l}\n"))
            .collect();
        let with = |server: &str| {
            std::fs::write(&path, format!("server = {server}\n{rest}")).expect("write");
            HostConfig::load(&path)
        };
        let cfg = with("[\"http://a:1/\", \"https://b\"]").expect("a list");
        let servers = cfg.servers().expect("checked at load");
        assert_eq!(servers.urls(), ["http://a:1", "https://b"]);
        assert_eq!(cfg.server.to_string(), "http://a:1/, https://b");

        let err = with("[\"http://a:1\", \"b:2\"]").expect_err("bad second entry");
        assert!(err.to_string().contains(": server[1]: `b:2`"), "{err}");
        let err = with("\"ftp://x\"").expect_err("bad URL");
        assert!(err.to_string().contains(": server: `ftp://x`"), "{err}");
        let err = with("[]").expect_err("empty list");
        assert!(
            err.to_string().contains("server: the list is empty"),
            "{err}"
        );
        let err = with("5").expect_err("not a URL");
        assert!(err.to_string().contains("server = 5"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
