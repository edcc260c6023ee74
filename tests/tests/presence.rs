//! Presence: watchers learn at once when a device connects or its socket
//! closes, and within the heartbeat bound when it goes silent. A second
//! connection replaces the first cleanly.

use std::time::{Duration, Instant};

use meshdesk_protocol::signal::{HostToServer, ServerToHost, ServerToViewer};
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn};

fn presence_of(m: &ServerToViewer, id: &str, want: bool) -> bool {
    matches!(m, ServerToViewer::Presence { device_id, online, .. } if device_id == id && *online == want)
}

#[tokio::test]
async fn watchers_see_online_and_offline_on_close() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let carol = api.user("carol").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    api.share(&alice, &dev.id, "bob", "view").await;

    let mut owner = ViewerConn::connect(&server, &alice).await;
    owner
        .wait_for("initial presence", |m| presence_of(m, &dev.id, false))
        .await;
    let mut shared = ViewerConn::connect(&server, &bob).await;
    shared
        .wait_for("initial presence", |m| presence_of(m, &dev.id, false))
        .await;
    let mut stranger = ViewerConn::connect(&server, &carol).await;

    let host = HostConn::connect(&server, &dev).await;
    owner
        .wait_for("online", |m| presence_of(m, &dev.id, true))
        .await;
    shared
        .wait_for("online", |m| presence_of(m, &dev.id, true))
        .await;
    let (_, list) = api.call("GET", "/devices", Some(&alice), None).await;
    assert_eq!(list[0]["online"], true);

    drop(host);
    owner
        .wait_for("offline", |m| presence_of(m, &dev.id, false))
        .await;
    shared
        .wait_for("offline", |m| presence_of(m, &dev.id, false))
        .await;

    // The stranger heard nothing about the device: next is our pong.
    stranger
        .send(&meshdesk_protocol::signal::ViewerToServer::Ping)
        .await;
    assert_eq!(stranger.recv().await, ServerToViewer::Pong);

    let (_, page) = api.call("GET", "/events", Some(&alice), None).await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(&kinds[..2], ["device_offline", "device_online"]);
}

#[tokio::test]
async fn silent_host_goes_offline_within_the_heartbeat_bound() {
    let server =
        Server::start_with("signup = \"open\"\nheartbeat_secs = 1\nheartbeat_timeout_secs = 2\n");
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "quiet-pc").await;
    let mut watcher = ViewerConn::connect(&server, &alice).await;

    // A host that heartbeats stays online past the timeout...
    let mut host = HostConn::connect(&server, &dev).await;
    watcher
        .wait_for("online", |m| presence_of(m, &dev.id, true))
        .await;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        host.send(&HostToServer::Ping).await;
        assert_eq!(host.recv().await, ServerToHost::Pong);
        tokio::time::sleep(Duration::from_millis(500)).await; // the heartbeat interval itself
    }
    let (_, d) = api
        .call("GET", &format!("/devices/{}", dev.id), Some(&alice), None)
        .await;
    assert_eq!(d["online"], true, "heartbeating host stayed online");

    // ...and one that goes silent with its socket open is dropped in time.
    let silent_at = Instant::now();
    watcher
        .wait_for("offline", |m| presence_of(m, &dev.id, false))
        .await;
    let took = silent_at.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "offline after {took:?}, bound is 2 s + slack"
    );
    assert_eq!(
        host.recv_or_closed().await,
        None,
        "server closed the silent socket"
    );
}

#[tokio::test]
async fn second_connection_replaces_the_first() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "pc").await;
    let mut watcher = ViewerConn::connect(&server, &alice).await;
    let mut first = HostConn::connect(&server, &dev).await;
    watcher
        .wait_for("online", |m| presence_of(m, &dev.id, true))
        .await;

    let mut second = HostConn::connect(&server, &dev).await;
    // The first is told why and closed.
    let m = first.recv_or_closed().await;
    assert!(
        matches!(m, Some(ServerToHost::Error(ref e)) if e.message.contains("replaced")),
        "{m:?}"
    );
    assert_eq!(first.recv_or_closed().await, None);
    // The device stayed online throughout: no offline was announced.
    watcher
        .send(&meshdesk_protocol::signal::ViewerToServer::Ping)
        .await;
    // Everything up to our pong: no offline among it.
    loop {
        let m = watcher.recv().await;
        assert!(
            !presence_of(&m, &dev.id, false),
            "presence flapped on replacement"
        );
        if m == ServerToViewer::Pong {
            break;
        }
    }
    second.send(&HostToServer::Ping).await;
    assert_eq!(second.recv().await, ServerToHost::Pong);
    let (_, d) = api
        .call("GET", &format!("/devices/{}", dev.id), Some(&alice), None)
        .await;
    assert_eq!(d["online"], true);
}

#[tokio::test]
async fn removing_a_device_closes_it_and_its_key_is_dead() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "stolen-laptop").await;
    let mut host = HostConn::connect(&server, &dev).await;
    let (s, _) = api
        .call(
            "DELETE",
            &format!("/devices/{}", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::NO_CONTENT);
    let m = host.recv_or_closed().await;
    assert!(matches!(m, Some(ServerToHost::Error(_))), "{m:?}");
    assert_eq!(host.recv_or_closed().await, None, "closed at once");

    // It cannot come back: neither by connecting nor by enrolling again.
    let (mut again, nonce) = HostConn::open(&server).await;
    again
        .send(&HostToServer::Auth {
            protocol: meshdesk_protocol::PROTOCOL_VERSION,
            device_id: dev.id.clone(),
            signature: dev.sign(&nonce),
            info: Default::default(),
        })
        .await;
    let m = again.recv_or_closed().await;
    assert!(
        matches!(m, Some(ServerToHost::Error(ref e)) if e.code == meshdesk_protocol::signal::ErrorCode::Unauthorized),
        "{m:?}"
    );
    let (s, _) = TestDevice::enroll_raw(&api, &api.code(&alice).await, "back", &dev.key).await;
    assert_eq!(s, reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn those_who_lose_sight_of_a_device_see_it_go_offline() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    api.share(&alice, &dev.id, "bob", "view").await;
    let _host = HostConn::connect(&server, &dev).await;
    let mut owner = ViewerConn::connect(&server, &alice).await;
    owner
        .wait_for("online", |m| presence_of(m, &dev.id, true))
        .await;
    let mut shared = ViewerConn::connect(&server, &bob).await;
    shared
        .wait_for("online", |m| presence_of(m, &dev.id, true))
        .await;

    // A revoked share: the former holder sees the device go.
    let (status, _) = api
        .call(
            "DELETE",
            &format!("/devices/{}/shares/bob", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 204);
    shared
        .wait_for("offline after the revoke", |m| {
            presence_of(m, &dev.id, false)
        })
        .await;

    // A removed device: its owner sees it go.
    let (status, _) = api
        .call(
            "DELETE",
            &format!("/devices/{}", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let gone = owner
        .wait_for("offline after the removal", |m| {
            presence_of(m, &dev.id, false)
        })
        .await;
    assert!(matches!(gone, ServerToViewer::Presence { name, .. } if name == "office-pc"));
}
