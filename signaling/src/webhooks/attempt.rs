//! One delivery attempt over HTTP: resolve the receiver's name, check
//! every address against the [`AddressPolicy`], then POST to exactly the
//! checked address (the client is built for this attempt with the name
//! pinned to it, so a second lookup cannot swap in another address).
//! Redirects are not followed; the whole attempt has one deadline.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

use super::address_policy::AddressPolicy;

/// The `User-Agent` of every delivery.
pub const USER_AGENT: &str = "Meshdesk-Webhooks";

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered(u16),
    /// Anything else: another status (`status_code`), or no answer at all.
    Failed {
        status_code: Option<u16>,
        error: String,
    },
}

impl Outcome {
    fn failed(error: impl Into<String>) -> Outcome {
        Outcome::Failed {
            status_code: None,
            error: error.into(),
        }
    }
}

/// A POST of `body` (JSON) with `headers` to `url`, within `timeout`.
pub async fn post(
    policy: &AddressPolicy,
    timeout: Duration,
    url: &str,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
) -> Outcome {
    let work = async {
        let url = Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
        let (name, addr) = resolve(policy, &url).await?;
        send(&url, name, addr, timeout, body, headers).await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => Outcome::failed(error),
        Err(_) => Outcome::failed(format!("no answer within {} s", timeout.as_secs_f32())),
    }
}

/// The address to connect to, checked; with the name to pin it to when
/// the URL names a host rather than an address.
async fn resolve(
    policy: &AddressPolicy,
    url: &Url,
) -> Result<(Option<String>, SocketAddr), String> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "URL has no port".to_string())?;
    let (name, addrs): (Option<String>, Vec<SocketAddr>) = match url.host() {
        Some(Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(Host::Ipv6(ip)) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(Host::Domain(d)) => {
            let found = tokio::net::lookup_host((d, port))
                .await
                .map_err(|e| format!("cannot resolve {d}: {e}"))?;
            (Some(d.to_string()), found.collect())
        }
        None => return Err("URL has no host".into()),
    };
    // Every address must pass: a name that resolves to a public and a
    // private address could otherwise be aimed inside by the resolver.
    for a in &addrs {
        if let Err(why) = policy.check(a.ip()) {
            return Err(format!("refused: {} is {why}", a.ip()));
        }
    }
    let first = addrs
        .first()
        .copied()
        .ok_or_else(|| "the name resolves to no address".to_string())?;
    Ok((name, first))
}

async fn send(
    url: &Url,
    name: Option<String>,
    addr: SocketAddr,
    timeout: Duration,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
) -> Result<Outcome, String> {
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(USER_AGENT)
        .no_proxy();
    if let Some(name) = &name {
        client = client.resolve(name, addr);
    }
    let client = client
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut req = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    // Errors without the URL: its query string may hold the receiver's
    // own secret, and the message is stored and shown.
    let resp = req.send().await.map_err(|e| describe(&e.without_url()))?;
    let code = resp.status().as_u16();
    Ok(if resp.status().is_success() {
        Outcome::Delivered(code)
    } else {
        Outcome::Failed {
            status_code: Some(code),
            error: format!("the receiver answered {code}"),
        }
    })
}

/// A transport error as one line, with its causes.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_addresses_are_never_contacted() {
        let policy = AddressPolicy::default();
        let t = Duration::from_secs(5);
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]:9/",
            "http://localhost:9/",
            "http://10.0.0.1/",
        ] {
            match post(&policy, t, url, b"{}".to_vec(), &[]).await {
                Outcome::Failed {
                    status_code: None,
                    error,
                } => {
                    assert!(error.starts_with("refused: "), "{url}: {error}")
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn urls_without_a_host_fail_clearly() {
        let got = post(
            &AddressPolicy::default(),
            Duration::from_secs(1),
            "nope",
            vec![],
            &[],
        )
        .await;
        assert!(
            matches!(got, Outcome::Failed { ref error, .. } if error.starts_with("bad URL")),
            "{got:?}"
        );
    }
}
