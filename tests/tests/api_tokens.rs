//! Personal API tokens: each scope's allowed and refused calls, the
//! user's own rights still apply, expiry, "last used", and revocation
//! that ends what the token opened (feed streams, viewer connections).

use std::time::Duration;

use meshdesk_protocol::signal::ServerToViewer;
use meshdesk_tests::{Api, FeedStream, Server, TestDevice, ViewerConn, WAIT};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Create an API token with `scopes` as the signed-in `session`.
async fn token(api: &Api, session: &str, scopes: &[&str]) -> (i64, String) {
    let body = json!({"name": format!("test {}", scopes.len()), "scopes": scopes});
    let (s, b) = api.call("POST", "/tokens", Some(session), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let secret = b["token"].as_str().expect("token").to_string();
    assert!(secret.starts_with("mdp_"), "{secret}");
    (b["id"].as_i64().expect("id"), secret)
}

/// A 4xx reply whose `error` text mentions `about`.
fn refused(got: (StatusCode, Value), status: u16, about: &str) {
    assert_eq!(got.0.as_u16(), status, "status; body {}", got.1);
    let text = got.1["error"].as_str().unwrap_or_default();
    assert!(
        text.contains(about),
        "error {:?} should mention {about}",
        got.1
    );
}

async fn status(api: &Api, method: &str, path: &str, token: &str, body: Option<Value>) -> u16 {
    api.call(method, path, Some(token), body).await.0.as_u16()
}

struct World {
    _server: Server,
    api: Api,
    alice: String,
    device: TestDevice,
    bobs: TestDevice,
}

async fn world() -> World {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    api.user("carol").await;
    let device = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    let bobs = TestDevice::enroll(&api, &api.code(&bob).await, "bobs-pc").await;
    World {
        _server: server,
        api,
        alice,
        device,
        bobs,
    }
}

#[tokio::test]
async fn each_scope_allows_its_calls_and_nothing_else() {
    let w = world().await;
    let (api, dev) = (&w.api, &w.device.id);
    let (_, devices) = token(api, &w.alice, &["devices:read"]).await;
    let (_, events) = token(api, &w.alice, &["events:read"]).await;
    let (_, shares) = token(api, &w.alice, &["shares:write"]).await;
    let (_, connect) = token(api, &w.alice, &["sessions:connect"]).await;
    let one = format!("/devices/{dev}");
    let share_list = format!("/devices/{dev}/shares");
    let share_one = format!("/devices/{dev}/shares/carol");
    let grant = || Some(json!({"username": "carol", "permission": "view"}));

    // devices:read
    assert_eq!(status(api, "GET", "/devices", &devices, None).await, 200);
    assert_eq!(status(api, "GET", &one, &devices, None).await, 200);
    assert_eq!(status(api, "GET", &share_list, &devices, None).await, 200);
    assert_eq!(status(api, "GET", "/events", &devices, None).await, 403);
    assert_eq!(
        status(api, "POST", &share_list, &devices, grant()).await,
        403
    );
    // events:read
    assert_eq!(status(api, "GET", "/events", &events, None).await, 200);
    refused(
        api.call("GET", "/devices", Some(&events), None).await,
        403,
        "devices:read",
    );
    // shares:write
    assert_eq!(
        status(api, "POST", &share_list, &shares, grant()).await,
        201
    );
    assert_eq!(status(api, "DELETE", &share_one, &shares, None).await, 204);
    assert_eq!(status(api, "GET", "/devices", &shares, None).await, 403);
    // sessions:connect
    assert_eq!(
        status(api, "GET", "/ice-servers", &connect, None).await,
        200
    );
    assert_eq!(status(api, "GET", "/ice-servers", &events, None).await, 403);
    assert_eq!(status(api, "GET", "/devices", &connect, None).await, 403);

    // What no token may do, whatever its scopes: manage the account.
    let all = token(
        api,
        &w.alice,
        &[
            "devices:read",
            "events:read",
            "shares:write",
            "sessions:connect",
        ],
    )
    .await
    .1;
    let rename = Some(json!({"name": "renamed"}));
    let new_token = Some(json!({"name": "x", "scopes": ["events:read"]}));
    assert_eq!(status(api, "PATCH", &one, &all, rename).await, 403);
    assert_eq!(status(api, "DELETE", &one, &all, None).await, 403);
    assert_eq!(status(api, "POST", "/tokens", &all, new_token).await, 403);
    assert_eq!(status(api, "GET", "/tokens", &all, None).await, 403);
    assert_eq!(
        status(api, "POST", "/enrollment-codes", &all, None).await,
        403
    );
    assert_eq!(status(api, "POST", "/logout", &all, None).await, 403);
    assert_eq!(status(api, "GET", "/webhooks", &all, None).await, 403);
    let hook = Some(json!({"url": "https://example.com/hook"}));
    assert_eq!(status(api, "POST", "/webhooks", &all, hook).await, 403);
    assert_eq!(status(api, "GET", "/me", &all, None).await, 200);
    // ...nor anything its user may not: bob's device stays invisible.
    let bobs = format!("/devices/{}", w.bobs.id);
    assert_eq!(status(api, "GET", &bobs, &all, None).await, 404);
}

#[tokio::test]
async fn the_viewer_connection_needs_sessions_connect_and_gets_the_feed_only_with_events_read() {
    let w = world().await;
    let api = &w.api;
    let (_, devices) = token(api, &w.alice, &["devices:read"]).await;
    let (_, connect) = token(api, &w.alice, &["sessions:connect"]).await;
    let (_, both) = token(api, &w.alice, &["sessions:connect", "events:read"]).await;
    let refused = ViewerConn::try_connect(&w._server, &devices, None).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("403")),
        "{:?}",
        refused.map(|_| ())
    );
    let mut plain = ViewerConn::connect(&w._server, &connect).await;
    let mut feed = ViewerConn::connect(&w._server, &both).await;
    let body = Some(json!({"name": "renamed-pc"}));
    let path = format!("/devices/{}", w.device.id);
    assert_eq!(status(api, "PATCH", &path, &w.alice, body).await, 200);
    // The rename's feed event is published before its presence update.
    feed.wait_for("the rename event", |m| {
        matches!(m, ServerToViewer::Event { .. })
    })
    .await;
    let renamed = |m: &ServerToViewer| matches!(m, ServerToViewer::Presence { name, .. } if name == "renamed-pc");
    loop {
        let m = plain.recv().await;
        assert!(
            !matches!(m, ServerToViewer::Event { .. }),
            "a token without events:read got a feed event: {m:?}"
        );
        if renamed(&m) {
            break;
        }
    }
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_and_record_their_last_use() {
    let w = world().await;
    let api = &w.api;
    let (id, secret) = token(
        api,
        &w.alice,
        &["events:read", "devices:read", "events:read"],
    )
    .await;
    let list = |api: &Api| {
        let alice = w.alice.clone();
        let api = api.clone();
        async move {
            let (s, b) = api.call("GET", "/tokens", Some(&alice), None).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            b
        }
    };
    let before = list(api).await;
    let t = &before.as_array().expect("list")[0];
    assert_eq!(t["id"], id);
    assert_eq!(t["scopes"], json!(["devices:read", "events:read"]));
    assert_eq!(t["last_used_at"], Value::Null);
    assert!(
        !before.to_string().contains(&secret),
        "the list shows a secret"
    );
    assert_eq!(status(api, "GET", "/devices", &secret, None).await, 200);
    let after = list(api).await;
    assert!(after[0]["last_used_at"].as_i64().is_some(), "{after}");
}

#[tokio::test]
async fn bad_token_requests_say_what_is_wrong() {
    let w = world().await;
    let api = &w.api;
    let post = |body: Value| api.call("POST", "/tokens", Some(&w.alice), Some(body));
    refused(
        post(json!({"name": "x", "scopes": []})).await,
        400,
        "scopes",
    );
    refused(
        post(json!({"name": "x", "scopes": ["admin:all"]})).await,
        400,
        "scopes",
    );
    refused(
        post(json!({"name": "", "scopes": ["events:read"]})).await,
        400,
        "name",
    );
    let past =
        json!({"name": "x", "scopes": ["events:read"], "expires_at": "2001-01-01T00:00:00Z"});
    refused(post(past).await, 400, "future");
    let garbled = json!({"name": "x", "scopes": ["events:read"], "expires_at": "next week"});
    refused(post(garbled).await, 400, "expires_at");
    // Another user's token cannot be revoked (or told apart from none).
    let (id, _) = token(api, &w.alice, &["events:read"]).await;
    let bob = api.login("bob").await;
    let path = format!("/tokens/{id}");
    assert_eq!(status(api, "DELETE", &path, &bob, None).await, 404);
}

#[tokio::test]
async fn a_token_stops_working_when_it_expires() {
    let w = world().await;
    let api = &w.api;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let at = soon
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let body = json!({"name": "short", "scopes": ["devices:read"], "expires_at": at});
    let (s, b) = api
        .call("POST", "/tokens", Some(&w.alice), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let secret = b["token"].as_str().expect("token");
    assert_eq!(status(api, "GET", "/devices", secret, None).await, 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    while status(api, "GET", "/devices", secret, None).await != 401 {
        assert!(tokio::time::Instant::now() < deadline, "token still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_revoked_token_stops_at_once_its_stream_and_connection_included() {
    let w = world().await;
    let api = &w.api;
    let (id, secret) = token(api, &w.alice, &["events:read", "sessions:connect"]).await;
    let mut stream = FeedStream::open(api, &secret).await;
    let mut viewer = ViewerConn::connect(&w._server, &secret).await;
    let path = format!("/tokens/{id}");
    assert_eq!(status(api, "DELETE", &path, &w.alice, None).await, 204);
    assert!(
        stream.ends_within(Duration::from_secs(5)).await,
        "the feed stream outlived its token"
    );
    let closed = tokio::time::timeout(WAIT, async {
        while viewer.recv_or_closed().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "the viewer connection outlived its token");
    assert_eq!(status(api, "GET", "/events", &secret, None).await, 401);
    assert_eq!(status(api, "DELETE", &path, &w.alice, None).await, 404);
}
