//! `meshdesk-host enroll`: make a key pair, redeem the enrollment code on
//! the first server that answers, and save the identity with every server
//! given.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use meshdesk_peer::server_list::{worth_another, Next};
use meshdesk_peer::{server_url, ServerList, ServerSetting};
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
/// checked for writability before the one-time code is spent. `servers`
/// are tried in order until one answers (a node that cannot be reached is
/// skipped; a refusal is final), and all of them are kept in the file for
/// `run`. `trust` (how the server's certificate is verified) is kept too.
pub async fn enroll(
    servers: &[String],
    code: &str,
    name: &str,
    path: &Path,
    trust: &Trust,
) -> Result<HostConfig, AgentError> {
    let servers = servers
        .iter()
        .map(|s| normalise_server(s))
        .collect::<Result<Vec<String>, AgentError>>()?;
    let mut list = ServerList::new(servers.clone())
        .ok_or_else(|| AgentError::BadUrl("(none given)".into()))?;
    check_writable(path)?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let body = EnrollRequest {
        code: code.to_string(),
        public_key: STANDARD.encode(key.verifying_key().to_bytes()),
        name: name.to_string(),
        os: os_description(),
    };
    let http = tls::http_client(trust)?;
    let ok = redeem(&http, &mut list, &body).await?;
    let cfg = HostConfig {
        server: ServerSetting::from_urls(servers),
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

/// `POST /api/v1/enroll` on each server in turn until one answers; the
/// next is tried only when nobody answered (or a gateway said its node is
/// gone), never after a refusal: the code is spent or wrong everywhere.
async fn redeem(
    http: &reqwest::Client,
    list: &mut ServerList,
    body: &EnrollRequest,
) -> Result<EnrollResponse, AgentError> {
    let mut unreachable = Vec::new();
    loop {
        let server = list.current().to_string();
        let sent = http
            .post(format!("{server}/api/v1/enroll"))
            .json(body)
            .send()
            .await;
        let failure = match sent {
            Ok(resp) if !worth_another(Some(resp.status().as_u16())) => {
                return read_reply(resp).await
            }
            Ok(resp) => format!("HTTP {}", resp.status()),
            Err(e) => root_cause(&e),
        };
        tracing::warn!(%server, reason = %failure, "cannot enroll there");
        unreachable.push((server, failure));
        if list.failed() == Next::RoundOver {
            return Err(all_unreachable(unreachable));
        }
    }
}

/// The enrollment's answer: the device, or why it was refused.
async fn read_reply(resp: reqwest::Response) -> Result<EnrollResponse, AgentError> {
    let status = resp.status();
    if !status.is_success() {
        let msg = resp
            .json::<ErrorBody>()
            .await
            .map(|b| b.error)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(AgentError::EnrollRefused(msg));
    }
    resp.json()
        .await
        .map_err(|e| AgentError::Protocol(format!("enroll reply: {e}")))
}

/// No server could be reached: one as before, several each with its reason.
fn all_unreachable(mut failures: Vec<(String, String)>) -> AgentError {
    if failures.len() == 1 {
        let (url, reason) = failures.remove(0);
        return AgentError::Unreachable { url, reason };
    }
    let urls: Vec<&str> = failures.iter().map(|(u, _)| u.as_str()).collect();
    let reasons: Vec<String> = failures.iter().map(|(u, r)| format!("{u}: {r}")).collect();
    AgentError::Unreachable {
        url: format!("any of {}", urls.join(", ")),
        reason: reasons.join("; "),
    }
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

    #[test]
    fn unreachable_servers_are_each_named() {
        let one = all_unreachable(vec![("http://a".into(), "refused".into())]);
        assert_eq!(
            one.to_string(),
            "cannot reach the server at http://a: refused"
        );
        let two = all_unreachable(vec![
            ("http://a".into(), "refused".into()),
            ("http://b".into(), "HTTP 502 Bad Gateway".into()),
        ]);
        assert_eq!(
            two.to_string(),
            "cannot reach the server at any of http://a, http://b: \
             http://a: refused; http://b: HTTP 502 Bad Gateway"
        );
    }
}
