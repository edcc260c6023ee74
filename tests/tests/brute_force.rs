//! Brute-force protection end to end, from many source addresses: the
//! server trusts one proxy (127.0.0.1, the harness's forwarding proxy,
//! which adds `X-Forwarded-For`); clients bind to 127.0.0.2, 127.0.0.3, ...
//! on loopback. The backoff engages per account (many addresses, one
//! account) and per address (one address, many accounts), and a forged
//! `X-Forwarded-For` changes nothing, sent straight to the server from an
//! untrusted address or through the proxy.

use std::net::{IpAddr, SocketAddr};

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::forwarding_proxy::ForwardingProxy;
use meshdesk_tests::{Api, Server};
use reqwest::StatusCode;
use serde_json::json;

/// Three free failures, then waits long enough to outlast the test.
const CONFIG: &str = "signup = \"open\"\ntrusted_proxies = [\"127.0.0.1\"]\n\
    login_free_failures = 3\nlogin_max_delay_secs = 600\n";

/// Where a sign-in attempt goes.
#[derive(Debug, Clone, Copy)]
enum Via {
    Proxy,
    Direct,
}

struct World {
    server: Server,
    proxy: ForwardingProxy,
}

impl World {
    async fn start(accounts: &[&str]) -> World {
        let server = Server::start_with(CONFIG);
        let api = Api::new(&server);
        for a in accounts {
            api.user(a).await;
        }
        let upstream: SocketAddr = server
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("server address");
        let proxy = ForwardingProxy::start(upstream).await;
        World { server, proxy }
    }

    /// One `POST /login` from 127.0.0.`last`, with `forged` as its own
    /// `X-Forwarded-For` when given; returns the status.
    async fn attempt(&self, via: Via, last: u8, forged: Option<&str>, user: &str, pw: &str) -> u16 {
        let from = IpAddr::from([127, 0, 0, last]);
        let client = reqwest::Client::builder()
            .local_address(from)
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let base = match via {
            Via::Proxy => self.proxy.base(),
            Via::Direct => self.server.base.clone(),
        };
        let mut req = client
            .post(format!("{base}/api/v1/login"))
            .header("connection", "close")
            .json(&json!({"username": user, "password": pw}));
        if let Some(f) = forged {
            req = req.header("x-forwarded-for", f);
        }
        let resp = req.send().await.expect("login request");
        resp.status().as_u16()
    }
}

const WRONG: &str = "not-the-password";

#[tokio::test]
async fn backoff_per_account_from_many_addresses() {
    let w = World::start(&["victim", "bystander"]).await;
    for last in 2..=5 {
        let got = w.attempt(Via::Proxy, last, None, "victim", WRONG).await;
        assert_eq!(got, 401, "guess from 127.0.0.{last}");
    }
    let right = w.attempt(Via::Proxy, 6, None, "victim", PASSWORD).await;
    assert_eq!(right, 429, "the account is in backoff, from any address");
    let other = w.attempt(Via::Proxy, 6, None, "bystander", PASSWORD).await;
    assert_eq!(other, 200, "other accounts sign in from a fresh address");
    let log = w.server.log_text();
    assert!(
        log.contains("127.0.0.2"),
        "failures logged with the client address"
    );
}

#[tokio::test]
async fn backoff_per_address_across_accounts() {
    let names = ["a1", "a2", "a3", "a4", "fresh"];
    let w = World::start(&names).await;
    for user in &names[..4] {
        let got = w.attempt(Via::Proxy, 7, None, user, WRONG).await;
        assert_eq!(got, 401, "guess at {user}");
    }
    let blocked = w.attempt(Via::Proxy, 7, None, "fresh", PASSWORD).await;
    assert_eq!(blocked, 429, "the address is in backoff for every account");
    let elsewhere = w.attempt(Via::Proxy, 8, None, "fresh", PASSWORD).await;
    assert_eq!(elsewhere, 200, "another address is not");
    let (s, _) = Api::new(&w.server)
        .call(
            "POST",
            "/login",
            None,
            Some(json!({"username": "a1", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the proxy's own address was not blamed");
}

#[tokio::test]
async fn a_forged_forwarded_for_changes_nothing() {
    let names = ["b1", "b2", "b3", "b4", "b5", "c1", "c2", "c3", "c4", "c5"];
    let w = World::start(&names).await;
    // Straight to the server from an untrusted address: the header is
    // ignored, every guess counts against 127.0.0.9.
    for (i, user) in names[..4].iter().enumerate() {
        let forged = format!("10.9.9.{i}");
        let got = w.attempt(Via::Direct, 9, Some(&forged), user, WRONG).await;
        assert_eq!(got, 401, "guess at {user}");
    }
    let got = w
        .attempt(Via::Direct, 9, Some("10.9.9.99"), "b5", PASSWORD)
        .await;
    assert_eq!(got, 429, "a new forged address does not escape the backoff");
    // Through the proxy, which appends the real address after the forged
    // one: the server takes the last untrusted entry, the real one.
    for (i, user) in names[5..9].iter().enumerate() {
        let forged = format!("10.8.8.{i}");
        let got = w.attempt(Via::Proxy, 10, Some(&forged), user, WRONG).await;
        assert_eq!(got, 401, "guess at {user}");
    }
    let got = w
        .attempt(Via::Proxy, 10, Some("10.8.8.99"), "c5", PASSWORD)
        .await;
    assert_eq!(
        got, 429,
        "forging through the proxy does not escape it either"
    );
    let got = w
        .attempt(Via::Proxy, 11, Some("127.0.0.10"), "c5", PASSWORD)
        .await;
    assert_eq!(got, 200, "nor can one address frame another");
}
