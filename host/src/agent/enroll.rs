//! `meshdesk-host enroll`: make a key pair, redeem the enrollment code, and
//! save the identity.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use meshdesk_peer::server_url;
use meshdesk_protocol::rest::{EnrollRequest, EnrollResponse, ErrorBody};

use meshdesk_tls::Trust;

use super::config::HostConfig;
use super::{tls, AgentError};

/// Check and normalise a server base URL (`http(s)://host[:port]`).
pub fn normalise_server(url: &str) -> Result<String, AgentError> {
    server_url::normalise_server(url).ok_or_else(|| AgentError::BadUrl(url.to_string()))
}

/// The OS description reported to the server.
pub fn os_description() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    pretty.unwrap_or_else(|| std::env::consts::OS.to_string())
}

/// This machine's host name, the default device name.
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "meshdesk-host".to_string())
}

/// Enroll with the server and write the config file. The config path is
/// checked for writability before the one-time code is spent. `trust`
/// (how the server's certificate is verified) is kept in the file.
pub async fn enroll(
    server: &str,
    code: &str,
    name: &str,
    path: &Path,
    trust: &Trust,
) -> Result<HostConfig, AgentError> {
    let server = normalise_server(server)?;
    check_writable(path)?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let body = EnrollRequest {
        code: code.to_string(),
        public_key: STANDARD.encode(key.verifying_key().to_bytes()),
        name: name.to_string(),
        os: os_description(),
    };
    let url = format!("{server}/api/v1/enroll");
    let resp = tls::http_client(trust)?
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| AgentError::Unreachable {
            url: server.clone(),
            reason: root_cause(&e),
        })?;
    let status = resp.status();
    if !status.is_success() {
        let msg = resp
            .json::<ErrorBody>()
            .await
            .map(|b| b.error)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(AgentError::EnrollRefused(msg));
    }
    let ok: EnrollResponse = resp
        .json()
        .await
        .map_err(|e| AgentError::Protocol(format!("enroll reply: {e}")))?;
    let cfg = HostConfig {
        server,
        ca_file: trust.ca_file().cloned().map(tls::absolute),
        server_fingerprint: trust.fingerprint().map(|f| f.to_string()),
        device_id: ok.device_id,
        name: ok.name,
        private_key: STANDARD.encode(key.to_bytes()),
        max_fps: 30,
        bitrate_kbps: 4000,
        deblocking: false,
        adaptive_quality: true,
        consent: Default::default(),
        metrics: Default::default(),
        files: Default::default(),
        clipboard: Default::default(),
    };
    cfg.save(path)?;
    Ok(cfg)
}

/// Fail early if the config cannot be written where asked.
fn check_writable(path: &Path) -> Result<(), AgentError> {
    let probe = path.with_extension("toml.probe");
    let r = (|| {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&probe, b"")?;
        std::fs::remove_file(&probe)
    })();
    r.map_err(|e| AgentError::ConfigWrite {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The innermost error message (reqwest wraps the useful part).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(refused) = meshdesk_tls::refusal(e) {
        return refused.to_string();
    }
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked() {
        assert_eq!(
            normalise_server("http://127.0.0.1:8080/").expect("ok"),
            "http://127.0.0.1:8080"
        );
        assert!(normalise_server("ftp://x").is_err());
        assert!(normalise_server("127.0.0.1:8080").is_err());
        assert!(normalise_server("http://").is_err());
    }
}
