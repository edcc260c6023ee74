//! How the agent verifies the server's certificate over `https://` and
//! `wss://`: `ca_file` or `server_fingerprint` in host.toml (given at
//! `enroll` with `--ca-file` or `--server-fingerprint`), else the system's
//! trusted CAs. Never skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use meshdesk_tls::rustls::ClientConfig;
use meshdesk_tls::Trust;

use super::config::HostConfig;
use super::AgentError;

/// The trust host.toml asks for.
pub fn trust(cfg: &HostConfig, path: &Path) -> Result<Trust, AgentError> {
    Trust::from_options(cfg.ca_file.clone(), cfg.server_fingerprint.as_deref()).map_err(|e| {
        AgentError::ConfigInvalid {
            path: path.to_path_buf(),
            field: if cfg.server_fingerprint.is_some() && cfg.ca_file.is_none() {
                "server_fingerprint".into()
            } else {
                "ca_file".into()
            },
            reason: e.to_string(),
        }
    })
}

/// The rustls config for `trust` (reads the CA file or the system store).
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, AgentError> {
    meshdesk_tls::client_config(trust).map_err(|e| AgentError::Tls(e.to_string()))
}

/// The signaling connection's options: the server verified as host.toml
/// says (already checked by [`HostConfig::load`]).
pub fn signal_options(cfg: &HostConfig) -> Result<meshdesk_peer::ConnectOptions, AgentError> {
    let trust = Trust::from_options(cfg.ca_file.clone(), cfg.server_fingerprint.as_deref())
        .map_err(|e| AgentError::Tls(e.to_string()))?;
    Ok(meshdesk_peer::ConnectOptions::default().with_tls(client_config(&trust)?))
}

/// An HTTP client verifying the server as `trust` says.
pub fn http_client(trust: &Trust) -> Result<reqwest::Client, AgentError> {
    let config = client_config(trust)?;
    reqwest::Client::builder()
        .use_preconfigured_tls(ClientConfig::clone(&config))
        .build()
        .map_err(|e| AgentError::Tls(e.to_string()))
}

/// The CA file as it is kept in host.toml: absolute, so that `run` finds
/// it from any directory.
pub fn absolute(ca_file: PathBuf) -> PathBuf {
    std::path::absolute(&ca_file).unwrap_or(ca_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> HostConfig {
        toml::from_str(&format!(
            "server = \"https://s\"\ndevice_id = \"d\"\nname = \"pc\"\nprivate_key = \"x\"\n{extra}"
        ))
        .expect("parses")
    }

    #[test]
    fn host_toml_names_the_trust_and_bad_values_their_field() {
        let p = Path::new("host.toml");
        assert_eq!(trust(&cfg(""), p).expect("ok"), Trust::System);
        let fp = meshdesk_tls::Fingerprint::of(b"c");
        let pinned = cfg(&format!("server_fingerprint = \"{fp}\""));
        assert_eq!(trust(&pinned, p).expect("ok"), Trust::Pinned(fp));
        let e = trust(&cfg("server_fingerprint = \"AB:CD\""), p).expect_err("bad");
        assert!(e.to_string().contains("server_fingerprint"), "{e}");
        let both = cfg(&format!(
            "ca_file = \"ca.pem\"\nserver_fingerprint = \"{fp}\""
        ));
        assert!(trust(&both, p).is_err());
    }
}
