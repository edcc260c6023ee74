//! The ICE servers handed to clients: the static `[[ice_servers]]` first,
//! then the embedded relay's STUN and TURN URLs and any `[turn_external]`
//! (coturn) URLs, each TURN entry with fresh time-limited credentials for
//! one session or one user (see [`meshdesk_relay::credentials`]).

use std::net::SocketAddr;
use std::time::Duration;

use meshdesk_protocol::rest::IceServer;
use meshdesk_relay::credentials;
use meshdesk_relay::SharedSecret;

/// A TURN server whose credentials this server can mint.
#[derive(Debug, Clone)]
struct TurnSource {
    /// `stun:` URLs (no credentials needed).
    stun_urls: Vec<String>,
    /// `turn:`/`turns:` URLs (credentials attached).
    turn_urls: Vec<String>,
    secret: SharedSecret,
    ttl: Duration,
}

/// Builds the ICE server list for a session or a user.
#[derive(Debug, Clone, Default)]
pub struct IceIssuer {
    static_servers: Vec<IceServer>,
    turn: Vec<TurnSource>,
}

impl IceIssuer {
    pub fn new(static_servers: Vec<IceServer>) -> IceIssuer {
        IceIssuer {
            static_servers,
            turn: Vec::new(),
        }
    }

    /// Add the embedded relay reachable at `public` (UDP, and TCP if
    /// `tcp`).
    pub fn with_relay(
        mut self,
        public: SocketAddr,
        tcp: bool,
        secret: SharedSecret,
        ttl: Duration,
    ) -> Self {
        // SocketAddr's Display brackets IPv6, as URLs need.
        let mut turn_urls = vec![format!("turn:{public}?transport=udp")];
        if tcp {
            turn_urls.push(format!("turn:{public}?transport=tcp"));
        }
        self.turn.push(TurnSource {
            stun_urls: vec![format!("stun:{public}")],
            turn_urls,
            secret,
            ttl,
        });
        self
    }

    /// Add an external server (coturn with `use-auth-secret`).
    pub fn with_external(mut self, urls: &[String], secret: SharedSecret, ttl: Duration) -> Self {
        let (stun_urls, turn_urls) = urls.iter().cloned().partition(|u| u.starts_with("stun:"));
        self.turn.push(TurnSource {
            stun_urls,
            turn_urls,
            secret,
            ttl,
        });
        self
    }

    /// The list for `id` (a session id, or a username) at `now_unix`.
    pub fn issue(&self, id: &str, now_unix: u64) -> Vec<IceServer> {
        let mut list = self.static_servers.clone();
        for t in &self.turn {
            if !t.stun_urls.is_empty() {
                list.push(IceServer {
                    urls: t.stun_urls.clone(),
                    username: None,
                    credential: None,
                });
            }
            if !t.turn_urls.is_empty() {
                let c =
                    credentials::issue(t.secret.expose().as_bytes(), id, now_unix, t.ttl.as_secs());
                list.push(IceServer {
                    urls: t.turn_urls.clone(),
                    username: Some(c.username),
                    credential: Some(c.password),
                });
            }
        }
        list
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_get_static_servers_then_fresh_turn_credentials() {
        let stun = IceServer {
            urls: vec!["stun:stun.example.com:3478".into()],
            username: None,
            credential: None,
        };
        let issuer = IceIssuer::new(vec![stun.clone()]).with_relay(
            "203.0.113.5:3478".parse().expect("addr"),
            true,
            SharedSecret::new("meshdesk-test-secret".into()),
            Duration::from_secs(60),
        );
        let list = issuer.issue("ses_0123", 1_700_000_000 - 60);
        assert_eq!(list[0], stun);
        assert_eq!(list[1].urls, ["stun:203.0.113.5:3478"]);
        assert_eq!(
            list[2].urls,
            [
                "turn:203.0.113.5:3478?transport=udp",
                "turn:203.0.113.5:3478?transport=tcp"
            ]
        );
        assert_eq!(list[2].username.as_deref(), Some("1700000000:ses_0123"));
        assert_eq!(
            list[2].credential.as_deref(),
            Some("5vmD3WlN++OB4BdKZLIZBEC1WMA=")
        );
    }

    #[test]
    fn external_servers_share_the_scheme_and_ipv6_is_bracketed() {
        let issuer = IceIssuer::default()
            .with_external(
                &[
                    "stun:turn.example.com".into(),
                    "turns:turn.example.com:5349".into(),
                ],
                SharedSecret::new("coturn".into()),
                Duration::from_secs(10),
            )
            .with_relay(
                "[2001:db8::1]:3478".parse().expect("addr"),
                false,
                SharedSecret::new("x".repeat(16)),
                Duration::from_secs(10),
            );
        let list = issuer.issue("alice", 100);
        assert_eq!(list[0].urls, ["stun:turn.example.com"]);
        assert_eq!(list[1].username.as_deref(), Some("110:alice"));
        assert_eq!(
            list[1].credential.as_deref(),
            Some(credentials::password(b"coturn", "110:alice").as_str())
        );
        assert_eq!(list[2].urls, ["stun:[2001:db8::1]:3478"]);
        assert_eq!(list[3].urls, ["turn:[2001:db8::1]:3478?transport=udp"]);
    }
}
