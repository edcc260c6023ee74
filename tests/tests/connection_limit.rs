//! `max_connections`: a server with a small limit answers connections
//! beyond it, HTTP requests and WebSocket upgrades alike, with 503 and a
//! JSON error, logs that once rather than per connection, and accepts new
//! connections again as soon as some close.

use std::time::{Duration, Instant};

use meshdesk_tests::{Api, Server, ViewerConn, WAIT};
use reqwest::StatusCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Error as WsError;

const LIMIT: usize = 4;
const REFUSAL: &str = "the server is at its connection limit; try again later";

/// An HTTP client that keeps no connection open between requests, so that
/// only the test's WebSockets hold places.
fn unpooled() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

/// Try one viewer WebSocket: the connection, or the refusal's status and
/// body.
async fn try_viewer(server: &Server, token: &str) -> Result<ViewerConn, (u16, Value)> {
    match ViewerConn::try_upgrade(server, token, None).await {
        Ok(conn) => Ok(conn),
        Err(WsError::Http(resp)) => {
            let body = resp.body().clone().unwrap_or_default();
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Err((resp.status().as_u16(), json))
        }
        Err(e) => panic!("upgrade failed otherwise: {e}"),
    }
}

/// Open viewer WebSockets until one is refused; returns those held and
/// the refusal.
async fn fill(server: &Server, token: &str) -> (Vec<ViewerConn>, (u16, Value)) {
    let mut held = Vec::new();
    loop {
        match try_viewer(server, token).await {
            Ok(c) => held.push(c),
            Err(refusal) => return (held, refusal),
        }
        assert!(
            held.len() <= LIMIT,
            "more than {LIMIT} connections admitted"
        );
    }
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_until_some_close() {
    let server = Server::start_with(&format!("signup = \"open\"\nmax_connections = {LIMIT}\n"));
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    // Its pooled connection closes with it; the server frees that place
    // once it notices, which `fill` waits for.
    drop(api);

    let deadline = Instant::now() + WAIT;
    let (mut held, refusal) = loop {
        let (held, refusal) = fill(&server, &alice).await;
        if held.len() == LIMIT || Instant::now() > deadline {
            break (held, refusal);
        }
        drop(held);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(held.len(), LIMIT, "exactly max_connections are admitted");
    assert_eq!(refusal.0, 503, "{refusal:?}");
    assert_eq!(refusal.1["error"], REFUSAL, "{refusal:?}");

    // Plain HTTP is refused the same way, and told to close.
    let http = unpooled();
    let resp = http
        .get(format!("{}/api/v1/devices", server.base))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("a response, not a reset");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["connection"], "close");
    let body: Value = resp.json().await.expect("JSON body");
    assert_eq!(body["error"], REFUSAL);

    // Two leave; two new connections get in, and HTTP works again.
    for c in held.drain(..2) {
        c.close().await;
    }
    let back = Instant::now() + WAIT;
    let mut admitted = Vec::new();
    while admitted.len() < 2 {
        match try_viewer(&server, &alice).await {
            Ok(c) => admitted.push(c),
            Err(refusal) => {
                assert!(Instant::now() < back, "still refused: {refusal:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(admitted);
    let ok = Instant::now() + WAIT;
    loop {
        let resp = http
            .get(format!("{}/api/v1/devices", server.base))
            .bearer_auth(&alice)
            .send()
            .await
            .expect("response");
        if resp.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < ok, "HTTP still refused: {}", resp.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Several refusals within seconds: one line in the log, not one each.
    let log = server.log_text();
    let lines = log.matches("connection limit reached").count();
    assert_eq!(lines, 1, "{log}");
}
