//! A right to a device ends on the real host at once: revoking a share,
//! removing the device, and a share that reaches its `expires_at` each end
//! the running session of the real `meshdesk-viewer` with the real
//! `meshdesk-host` on Xvfb (the host logs the end), tell the viewer why,
//! and, for a share, take the device off the former holder's list live
//! and say so in the owner's feed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use meshdesk_protocol::signal::ServerToViewer;
use meshdesk_tests::viewer::{wait_online, Running, ViewerHome};
use meshdesk_tests::{Api, Host, Server, ViewerConn, Xvfb, WAIT};
use meshdesk_xtest::wait_for;
use reqwest::StatusCode;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

/// The password `Api::user` signs up with.
const PASSWORD: &str = "password-123";

struct World {
    server: Server,
    api: Api,
    alice: String,
    bob: String,
    _x: Xvfb,
    host: Host,
}

async fn world() -> World {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let x = Xvfb::start(640, 360);
    let host = Host::start(&server, &api, &alice, &x, "studio-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    World {
        server,
        api,
        alice,
        bob,
        _x: x,
        host,
    }
}

/// `user`'s native viewer in a session on studio-pc until it ends; returns
/// once the host has that session's viewer connected.
fn connect(w: &World, user: &str, dir: &ViewerHome) -> Running {
    dir.login_ok(&w.server, user, PASSWORD);
    let connected_before = connections(&w.host);
    let log = dir.dir.0.join("viewer.log");
    let child = dir
        .command(&["connect", "studio-pc", "--headless"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start viewer");
    let running = Running {
        child,
        log,
        name: "viewer",
    };
    wait_for("the host's session", WAIT, || {
        (connections(&w.host) > connected_before).then_some(())
    });
    running
}

fn connections(host: &Host) -> usize {
    host.log_text().matches("viewer connected").count()
}

fn ended(host: &Host) -> usize {
    host.log_text().matches("session ended").count()
}

/// The viewer exits with a failure saying `why`, and the host ends the
/// session (one more end in its log than `ended_before`); returns how long
/// after `t0` the host had.
fn ends_on_both(
    w: &World,
    viewer: &mut Running,
    (t0, ended_before): (Instant, usize),
    why: &str,
) -> Duration {
    let taken = wait_for("the host to end the session", WAIT, || {
        (ended(&w.host) > ended_before).then(|| t0.elapsed())
    });
    let status = viewer.wait_exit();
    assert!(!status.success(), "the viewer should fail: {status}");
    let log = viewer.log_text();
    assert!(log.contains(why), "viewer log lacks {why:?}:\n{log}");
    taken
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_share_or_removing_the_device_ends_the_real_hosts_session() {
    let w = world().await;
    let device = w.host.device_id.clone();
    w.api.share(&w.alice, &device, "bob", "control").await;

    let bob_home = ViewerHome::new();
    let mut bob = connect(&w, "bob", &bob_home);
    let before = (Instant::now(), ended(&w.host));
    let path = format!("/devices/{device}/shares/bob");
    let (s, b) = w.api.call("DELETE", &path, Some(&w.alice), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let took = ends_on_both(&w, &mut bob, before, "revoked");
    eprintln!("host ended the session {took:?} after the revoke was sent");

    let alice_home = ViewerHome::new();
    let mut alice = connect(&w, "alice", &alice_home);
    let before = (Instant::now(), ended(&w.host));
    let path = format!("/devices/{device}");
    let (s, b) = w.api.call("DELETE", &path, Some(&w.alice), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let took = ends_on_both(&w, &mut alice, before, "removed");
    eprintln!("host ended the session {took:?} after the removal was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_that_expires_ends_its_session_and_leaves_the_list() {
    let w = world().await;
    let device = w.host.device_id.clone();
    let path = format!("/devices/{device}/shares");
    let at = |secs: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
            .format(&Rfc3339)
            .expect("format")
    };

    // Bad ends are refused, naming the field.
    for (bad, why) in [(at(-60), "in the future"), ("soon".into(), "RFC 3339")] {
        let body = json!({"username": "bob", "permission": "control", "expires_at": bad});
        let (s, b) = w.api.call("POST", &path, Some(&w.alice), Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        let e = b["error"].as_str().unwrap_or_default();
        assert!(e.contains("expires_at") && e.contains(why), "{e}");
    }

    // A share for a few seconds: listed with its end, usable until then.
    let ends = at(6);
    let body = json!({"username": "bob", "permission": "control", "expires_at": ends});
    let (s, b) = w.api.call("POST", &path, Some(&w.alice), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let end_ms = b["expires_at"].as_i64().expect("expires_at in the reply");
    let (_, list) = w.api.call("GET", &path, Some(&w.alice), None).await;
    assert_eq!(list[0]["expires_at"].as_i64(), Some(end_ms), "{list}");

    let mut bob_ws = ViewerConn::connect(&w.server, &w.bob).await;
    let bob_home = ViewerHome::new();
    let mut bob = connect(&w, "bob", &bob_home);
    let before = (Instant::now(), ended(&w.host));
    let took = ends_on_both(&w, &mut bob, before, "expired");
    eprintln!("host ended the session {took:?} after it was seen running");

    // Live: the device went away from bob's list...
    bob_ws
        .wait_for("the device gone for bob", |m| {
            matches!(m, ServerToViewer::Presence { device_id, online: false, .. } if *device_id == device)
        })
        .await;
    let (_, devices) = w.api.call("GET", "/devices", Some(&w.bob), None).await;
    assert_eq!(devices, json!([]), "bob still sees {devices}");
    let (s, _) = w
        .api
        .call("GET", &format!("/devices/{device}"), Some(&w.bob), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // ...not before its time, and the owner's feed says so.
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    assert!(now >= i128::from(end_ms), "ended before expires_at");
    let (_, list) = w.api.call("GET", &path, Some(&w.alice), None).await;
    assert_eq!(list, json!([]));
    let (_, feed) = w
        .api
        .call("GET", "/events?kind=share_expired", Some(&w.alice), None)
        .await;
    let events = feed["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{feed}");
    assert_eq!(events[0]["target_user"], "bob");
    assert_eq!(events[0]["device_id"], device.as_str());
    let (_, ends) = w
        .api
        .call("GET", "/events?kind=session_ended", Some(&w.alice), None)
        .await;
    assert!(
        ends["events"].to_string().contains("share expired"),
        "{ends}"
    );
}
