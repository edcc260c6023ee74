//! Who sees which activity-feed events: each user sees only events about
//! their own account and about devices they may see, in the paged history,
//! in the Server-Sent Events stream and on the viewer WebSocket.

use meshdesk_protocol::rest::EventKind;
use meshdesk_protocol::signal::ServerToViewer;
use meshdesk_tests::{Api, FeedStream, FeedWorld, HostConn, TestDevice, ViewerConn};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn events(api: &Api, token: &str) -> Vec<Value> {
    let (s, page) = api
        .call("GET", "/events?limit=200", Some(token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["events"].as_array().expect("events").clone()
}

async fn fail_login(api: &Api, username: &str) {
    let body = json!({"username": username, "password": "not-the-password"});
    let (s, _) = api.call("POST", "/login", None, Some(body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn rename(f: &FeedWorld, dev: &TestDevice, name: &str) {
    let body = json!({ "name": name });
    let (s, b) = f
        .api
        .call(
            "PATCH",
            &format!("/devices/{}", dev.id),
            Some(&f.owner),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

fn summary(e: &Value) -> (String, Option<String>, Option<String>) {
    let s = |k: &str| e[k].as_str().map(str::to_string);
    (
        s("kind").unwrap_or_default(),
        s("device_id"),
        s("actor").or_else(|| s("target_user")),
    )
}

#[tokio::test]
async fn paged_feed_shows_each_user_only_their_account_and_visible_devices() {
    let f = FeedWorld::start().await;
    let _host = HostConn::connect(&f.server, &f.shared).await;
    rename(&f, &f.private, "secret pc").await;
    fail_login(&f.api, "owner").await;
    fail_login(&f.api, "stranger").await;
    // Wait for the device_online event before reading.
    let online = |evs: &[Value]| evs.iter().any(|e| e["kind"] == "device_online");
    assert!(
        online(&events(&f.api, &f.owner).await),
        "device_online recorded before the host's welcome"
    );

    let stranger: Vec<_> = events(&f.api, &f.stranger)
        .await
        .iter()
        .map(summary)
        .collect();
    let mine = |kind: &str| (kind.to_string(), None, Some("stranger".to_string()));
    assert_eq!(stranger, [mine("login_failed"), mine("account_created")]);

    let looker = events(&f.api, &f.looker).await;
    for e in &looker {
        let about_shared = e["device_id"] == f.shared.id.as_str();
        let about_me =
            e["device_id"].is_null() && (e["actor"] == "looker" || e["target_user"] == "looker");
        assert!(about_shared || about_me, "looker must not see {e}");
    }
    let kinds: Vec<&str> = looker.iter().filter_map(|e| e["kind"].as_str()).collect();
    for k in [
        "account_created",
        "device_enrolled",
        "share_granted",
        "device_online",
    ] {
        assert!(kinds.contains(&k), "looker should see {k}: {kinds:?}");
    }

    let owner = events(&f.api, &f.owner).await;
    assert!(
        owner
            .iter()
            .all(|e| e["actor"] != "looker" && e["actor"] != "stranger"),
        "{owner:?}"
    );
    assert!(
        owner.iter().all(|e| e["target_user"] != "stranger"),
        "{owner:?}"
    );
    for (kind, dev) in [
        ("device_renamed", &f.private.id),
        ("device_online", &f.shared.id),
    ] {
        assert!(
            owner
                .iter()
                .any(|e| e["kind"] == kind && e["device_id"] == dev.as_str()),
            "owner misses {kind}"
        );
    }
    assert!(owner
        .iter()
        .any(|e| e["kind"] == "login_failed" && e["target_user"] == "owner"));
}

#[tokio::test]
async fn live_feed_reaches_only_those_who_may_see_it() {
    let f = FeedWorld::start().await;
    let mut stranger_sse = FeedStream::open(&f.api, &f.stranger).await;
    let mut looker_sse = FeedStream::open(&f.api, &f.looker).await;
    let mut stranger_ws = ViewerConn::connect(&f.server, &f.stranger).await;
    stranger_ws.sync().await;
    let mut looker_ws = ViewerConn::connect(&f.server, &f.looker).await;
    looker_ws.sync().await;

    // Owner-only, then shared, then stranger-only, then shared again.
    rename(&f, &f.private, "secret pc").await;
    rename(&f, &f.shared, "shared pc 2").await;
    fail_login(&f.api, "stranger").await;
    rename(&f, &f.shared, "shared pc 3").await;

    // The stranger's first event is its own failed sign-in: nothing before it.
    let e = stranger_sse.next().await;
    assert_eq!(
        (e["kind"].as_str(), e["target_user"].as_str()),
        (Some("login_failed"), Some("stranger"))
    );
    match stranger_ws.recv().await {
        ServerToViewer::Event { event } => {
            assert_eq!(
                (event.kind, event.target_user.as_deref()),
                (EventKind::LoginFailed, Some("stranger"))
            )
        }
        other => panic!("stranger expected its login_failed event first, got {other:?}"),
    }
    stranger_ws.assert_quiet().await;

    // The share holder sees exactly the two renames of the shared device.
    for name in ["shared pc 2", "shared pc 3"] {
        let e = looker_sse.next().await;
        assert_eq!(
            (e["kind"].as_str(), e["device_name"].as_str()),
            (Some("device_renamed"), Some(name))
        );
        assert_eq!(e["device_id"], f.shared.id.as_str());
        let event = looker_ws
            .wait_for("rename event", |m| {
                matches!(m, ServerToViewer::Event { .. })
            })
            .await;
        let ServerToViewer::Event { event } = event else {
            unreachable!("matched above")
        };
        assert_eq!(
            (event.kind, event.device_name.as_deref()),
            (EventKind::DeviceRenamed, Some(name))
        );
    }
}
