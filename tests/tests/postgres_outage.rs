//! PostgreSQL going away is not fatal: while it is down, requests that
//! need it fail with 503 and a JSON body saying the database is
//! unavailable; once it is back, the same requests succeed again.

use std::time::{Duration, Instant};

use meshdesk_tests::{Api, Server};

/// What the server tells clients while the database is away.
const UNAVAILABLE: &str = "the database is unavailable; try again shortly";

/// `GET /api/v1/devices` with `token`: the status and the JSON body.
async fn devices(server: &Server, token: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/devices", server.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn requests_fail_with_503_while_postgres_is_down_and_succeed_after() {
    let mut server = Server::start_on_postgres();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    assert_eq!(devices(&server, &alice).await.0, 200);

    server.postgres.as_mut().expect("on PostgreSQL").stop();
    let (status, body) = devices(&server, &alice).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], UNAVAILABLE, "{body}");
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz answers");
    assert_eq!(health.status().as_u16(), 503);

    server
        .postgres
        .as_mut()
        .expect("on PostgreSQL")
        .start_again();
    // The pool drops the connections the old server closed and opens new
    // ones; the first request after the return may still meet a dead one.
    let start = Instant::now();
    loop {
        let (status, body) = devices(&server, &alice).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "only unavailable meanwhile: {body}");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still failing 10 s after PostgreSQL returned: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = devices(&server, &alice).await;
    assert_eq!((status, body), (200, serde_json::json!([])));
}
