//! Validation of the top-level fields of the config file, one function per
//! concern; every error names the field, as the rest of the config does.

use std::net::SocketAddr;
use std::time::Duration;

use meshdesk_protocol::rest::IceServer;

use super::IceServerConfig;
use crate::error::{Error, Result};

/// Longest `session_resume_grace_secs`: a detached session holds a relay
/// quota and the host's resources, so it must not linger.
pub const MAX_RESUME_GRACE_SECS: u64 = 3600;

/// `v`, unless it is 0.
pub fn positive<T: PartialEq + From<u8>>(name: &str, v: T) -> Result<T> {
    if v == T::from(0) {
        Err(Error::Config(format!("{name}: must be greater than 0")))
    } else {
        Ok(v)
    }
}

/// `listen`, default `127.0.0.1:8080`.
pub fn listen(text: Option<String>) -> Result<SocketAddr> {
    let text = text.unwrap_or_else(|| "127.0.0.1:8080".into());
    text.parse().map_err(|_| {
        Error::Config(format!(
            "listen: `{text}` is not an address like 127.0.0.1:8080"
        ))
    })
}

/// `heartbeat_secs` (default 10) and `heartbeat_timeout_secs` (default
/// 25), which must be the longer.
pub fn heartbeats(every: Option<u32>, timeout: Option<u64>) -> Result<(u32, Duration)> {
    let every = positive("heartbeat_secs", every.unwrap_or(10))?;
    let timeout = positive("heartbeat_timeout_secs", timeout.unwrap_or(25))?;
    if timeout <= u64::from(every) {
        return Err(Error::Config(
            "heartbeat_timeout_secs: must be longer than heartbeat_secs".into(),
        ));
    }
    Ok((every, Duration::from_secs(timeout)))
}

/// `allowed_origins`, without trailing slashes.
pub fn origins(origins: Vec<String>) -> Result<Vec<String>> {
    origins
        .into_iter()
        .map(|o| {
            let o = o.trim_end_matches('/').to_string();
            if o.starts_with("http://") || o.starts_with("https://") {
                Ok(o)
            } else {
                Err(Error::Config(format!(
                    "allowed_origins: `{o}` must start with http:// or https://"
                )))
            }
        })
        .collect()
}

/// `[[ice_servers]]`: each with at least one `stun:`/`turn:`/`turns:` URL.
pub fn ice_servers(servers: Vec<IceServerConfig>) -> Result<Vec<IceServer>> {
    let mut out = Vec::with_capacity(servers.len());
    for (i, s) in servers.into_iter().enumerate() {
        if s.urls.is_empty() {
            return Err(Error::Config(format!(
                "ice_servers[{i}].urls: must not be empty"
            )));
        }
        for u in &s.urls {
            if !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:")) {
                return Err(Error::Config(format!(
                    "ice_servers[{i}].urls: `{u}` must start with stun:, turn: or turns:"
                )));
            }
        }
        out.push(IceServer {
            urls: s.urls,
            username: s.username,
            credential: s.credential,
        });
    }
    Ok(out)
}

/// `session_resume_grace_secs`: default 30, 0 allowed, at most
/// [`MAX_RESUME_GRACE_SECS`].
pub fn resume_grace(secs: Option<u64>) -> Result<Duration> {
    let secs = secs.unwrap_or(30);
    if secs > MAX_RESUME_GRACE_SECS {
        return Err(Error::Config(format!(
            "session_resume_grace_secs: must be at most {MAX_RESUME_GRACE_SECS}"
        )));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_names_its_field() {
        assert!(positive("n", 0u32)
            .expect_err("zero")
            .to_string()
            .contains("n: "));
        assert_eq!(positive("n", 3usize).expect("valid"), 3);
        let e = heartbeats(Some(30), Some(25)).expect_err("shorter timeout");
        assert!(e.to_string().contains("heartbeat_timeout_secs"), "{e}");
        let e = origins(vec!["desk.example.com".into()]).expect_err("no scheme");
        assert!(e.to_string().contains("allowed_origins"), "{e}");
        assert_eq!(
            origins(vec!["https://desk.example.com/".into()]).expect("valid"),
            ["https://desk.example.com"]
        );
        let empty = IceServerConfig {
            urls: vec![],
            username: None,
            credential: None,
        };
        let e = ice_servers(vec![empty]).expect_err("no urls");
        assert!(e.to_string().contains("ice_servers[0].urls"), "{e}");
    }
}
