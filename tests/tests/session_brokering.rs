//! Session brokering between a test host and test viewers: grant with the
//! right permission, relay of offer/answer/ICE between the two parties only,
//! ends from either side, and the feed's record of who and how long.

use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::*;
use meshdesk_tests::conn::ice;
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn};

struct Setup {
    server: Server,
    api: Api,
    alice: String,
    bob: String,
    dev: TestDevice,
}

async fn setup() -> Setup {
    let server = Server::start_with(
        "signup = \"open\"\n[[ice_servers]]\nurls = [\"stun:127.0.0.1:3478\"]\n",
    );
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    Setup {
        server,
        api,
        alice,
        bob,
        dev,
    }
}

/// Request a session and have the host accept it; returns the session id.
async fn open_session(
    viewer: &mut ViewerConn,
    host: &mut HostConn,
    device_id: &str,
    want: Permission,
) -> String {
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: device_id.into(),
            request_id: Some("r1".into()),
            screen: None,
            files_only: false,
        })
        .await;
    let created = viewer
        .wait_for("session_created", |m| {
            matches!(m, ServerToViewer::SessionCreated { .. })
        })
        .await;
    let ServerToViewer::SessionCreated {
        session_id,
        permission,
        ice_servers,
        request_id,
        device_name,
        ..
    } = created
    else {
        unreachable!()
    };
    assert_eq!(permission, want);
    assert_eq!(request_id.as_deref(), Some("r1"));
    assert_eq!(device_name.as_deref(), Some("office-pc"));
    assert_eq!(ice_servers[0].urls, ["stun:127.0.0.1:3478"]);
    let grant = host
        .wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await;
    let ServerToHost::SessionGrant {
        session_id: sid,
        permission: p,
        ..
    } = grant
    else {
        unreachable!()
    };
    assert_eq!((sid.as_str(), p), (session_id.as_str(), want));
    host.send(&HostToServer::SessionAccept {
        session_id: session_id.clone(),
    })
    .await;
    let acc = viewer
        .wait_for("accepted", |m| {
            matches!(m, ServerToViewer::SessionAccepted { .. })
        })
        .await;
    assert_eq!(
        acc,
        ServerToViewer::SessionAccepted {
            session_id: session_id.clone()
        }
    );
    session_id
}

#[tokio::test]
async fn full_session_is_relayed_and_recorded() {
    let s = setup().await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut viewer = ViewerConn::connect(&s.server, &s.alice).await;
    let sid = open_session(&mut viewer, &mut host, &s.dev.id, Permission::Owner).await;

    host.send(&HostToServer::Offer(SdpMsg {
        session_id: sid.clone(),
        sdp: "v=0 offer".into(),
    }))
    .await;
    let m = viewer
        .wait_for("offer", |m| matches!(m, ServerToViewer::Offer(_)))
        .await;
    assert_eq!(
        m,
        ServerToViewer::Offer(SdpMsg {
            session_id: sid.clone(),
            sdp: "v=0 offer".into()
        })
    );
    viewer
        .send(&ViewerToServer::Answer(SdpMsg {
            session_id: sid.clone(),
            sdp: "v=0 answer".into(),
        }))
        .await;
    let m = host
        .wait_for("answer", |m| matches!(m, ServerToHost::Answer(_)))
        .await;
    assert_eq!(
        m,
        ServerToHost::Answer(SdpMsg {
            session_id: sid.clone(),
            sdp: "v=0 answer".into()
        })
    );
    viewer
        .send(&ViewerToServer::Ice(ice(&sid, "candidate:v")))
        .await;
    assert_eq!(
        host.recv().await,
        ServerToHost::Ice(ice(&sid, "candidate:v"))
    );
    host.send(&HostToServer::Ice(ice(&sid, "candidate:h")))
        .await;
    // Feed events (session started) may come in between: they fan out on
    // their own path.
    let m = viewer
        .wait_for("ice", |m| matches!(m, ServerToViewer::Ice(_)))
        .await;
    assert_eq!(m, ServerToViewer::Ice(ice(&sid, "candidate:h")));

    viewer
        .send(&ViewerToServer::SessionEnd(SessionEndMsg::new(
            sid.clone(),
            EndReason::ViewerClosed,
        )))
        .await;
    let m = host
        .wait_for("end", |m| matches!(m, ServerToHost::SessionEnd(_)))
        .await;
    assert_eq!(
        m,
        ServerToHost::SessionEnd(SessionEndMsg::new(sid.clone(), EndReason::ViewerClosed))
    );

    // Relaying on the ended session is refused.
    viewer.send(&ViewerToServer::Ice(ice(&sid, "late"))).await;
    let m = viewer
        .wait_for("error", |m| matches!(m, ServerToViewer::Error(_)))
        .await;
    assert!(
        matches!(m, ServerToViewer::Error(ref e) if e.code == ErrorCode::NotFound),
        "{m:?}"
    );

    let (_, page) = s.api.call("GET", "/events", Some(&s.alice), None).await;
    let ended = &page["events"][0];
    assert_eq!(ended["kind"], "session_ended");
    assert_eq!(ended["actor"], "alice");
    assert_eq!(ended["device_name"], "office-pc");
    assert!(ended["duration_ms"].as_i64().expect("duration") >= 0);
    assert_eq!(page["events"][1]["kind"], "session_started");
}

#[tokio::test]
async fn foreign_session_ids_are_refused_and_nothing_leaks() {
    let s = setup().await;
    s.api.share(&s.alice, &s.dev.id, "bob", "view").await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut alice = ViewerConn::connect(&s.server, &s.alice).await;
    let mut bob = ViewerConn::connect(&s.server, &s.bob).await;
    let sid = open_session(&mut alice, &mut host, &s.dev.id, Permission::Owner).await;

    // Bob knows Alice's session id but is not its viewer.
    for msg in [
        ViewerToServer::Offer(SdpMsg {
            session_id: sid.clone(),
            sdp: "x".into(),
        }),
        ViewerToServer::Answer(SdpMsg {
            session_id: sid.clone(),
            sdp: "x".into(),
        }),
        ViewerToServer::Ice(ice(&sid, "x")),
        ViewerToServer::SessionEnd(SessionEndMsg::new(sid.clone(), EndReason::ViewerClosed)),
        ViewerToServer::Ice(ice("ses_made_up", "x")),
    ] {
        bob.send(&msg).await;
        let m = bob
            .wait_for("error", |m| matches!(m, ServerToViewer::Error(_)))
            .await;
        assert!(
            matches!(m, ServerToViewer::Error(ref e) if e.code == ErrorCode::NotFound),
            "{m:?}"
        );
    }
    // The host got none of it: its next message answers its own ping.
    host.send(&HostToServer::Ping).await;
    assert_eq!(host.recv().await, ServerToHost::Pong);

    // A second device's host cannot answer for the first device's session.
    let other = TestDevice::enroll(&s.api, &s.api.code(&s.alice).await, "other-pc").await;
    let mut intruder = HostConn::connect(&s.server, &other).await;
    intruder
        .send(&HostToServer::Offer(SdpMsg {
            session_id: sid.clone(),
            sdp: "evil".into(),
        }))
        .await;
    let m = intruder.recv().await;
    assert!(
        matches!(m, ServerToHost::Error(ref e) if e.code == ErrorCode::NotFound),
        "{m:?}"
    );
    intruder
        .send(&HostToServer::SessionAccept {
            session_id: sid.clone(),
        })
        .await;
    assert!(matches!(intruder.recv().await, ServerToHost::Error(_)));
    alice.send(&ViewerToServer::Ping).await;
    let m = alice
        .wait_for("pong", |m| {
            !matches!(
                m,
                ServerToViewer::Presence { .. } | ServerToViewer::Event { .. }
            )
        })
        .await;
    assert_eq!(
        m,
        ServerToViewer::Pong,
        "alice received nothing from the intruder"
    );

    // Bob's own view-only session is granted as view.
    let bob_sid = open_session(&mut bob, &mut host, &s.dev.id, Permission::View).await;
    assert_ne!(bob_sid, sid);
}

#[tokio::test]
async fn host_rejects_and_viewer_disconnect_ends_pending_sessions() {
    let s = setup().await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut viewer = ViewerConn::connect(&s.server, &s.alice).await;

    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: s.dev.id.clone(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    viewer
        .wait_for("created", |m| {
            matches!(m, ServerToViewer::SessionCreated { .. })
        })
        .await;
    let ServerToHost::SessionGrant { session_id, .. } = host
        .wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await
    else {
        unreachable!()
    };
    // The host's own words reach the viewer, made fit to show.
    host.send(&HostToServer::SessionReject {
        session_id: session_id.clone(),
        reason: "  too many sessions\u{7} on this host\n".into(),
    })
    .await;
    let m = viewer
        .wait_for("end", |m| matches!(m, ServerToViewer::SessionEnd(_)))
        .await;
    assert_eq!(
        m,
        ServerToViewer::SessionEnd(SessionEndMsg {
            session_id,
            reason: EndReason::Rejected,
            detail: Some("too many sessions on this host".into()),
        })
    );

    // A session the host has not accepted yet ends with its viewer's
    // connection. (An accepted one waits for a resume: session_resume.rs.)
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: s.dev.id.clone(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    let ServerToHost::SessionGrant { session_id, .. } = host
        .wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await
    else {
        unreachable!()
    };
    drop(viewer);
    let m = host
        .wait_for("end", |m| matches!(m, ServerToHost::SessionEnd(_)))
        .await;
    assert_eq!(
        m,
        ServerToHost::SessionEnd(SessionEndMsg::new(session_id, EndReason::PeerGone))
    );
}

#[tokio::test]
async fn offline_and_unknown_devices_are_clear_errors() {
    let s = setup().await;
    let mut viewer = ViewerConn::connect(&s.server, &s.alice).await;
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: s.dev.id.clone(),
            request_id: Some("a".into()),
            screen: None,
            files_only: false,
        })
        .await;
    let m = viewer
        .wait_for("error", |m| matches!(m, ServerToViewer::Error(_)))
        .await;
    assert!(
        matches!(m, ServerToViewer::Error(ref e) if e.code == ErrorCode::Offline && e.request_id.as_deref() == Some("a")),
        "{m:?}"
    );
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: "dev_nope".into(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    let m = viewer
        .wait_for("error", |m| matches!(m, ServerToViewer::Error(_)))
        .await;
    assert!(
        matches!(m, ServerToViewer::Error(ref e) if e.code == ErrorCode::NotFound),
        "{m:?}"
    );
    // A stranger cannot tell an existing device from a missing one.
    let mut bob = ViewerConn::connect(&s.server, &s.bob).await;
    let _host = HostConn::connect(&s.server, &s.dev).await;
    bob.send(&ViewerToServer::SessionRequest {
        device_id: s.dev.id.clone(),
        request_id: None,
        screen: None,
        files_only: false,
    })
    .await;
    let m = bob
        .wait_for("error", |m| matches!(m, ServerToViewer::Error(_)))
        .await;
    assert!(
        matches!(m, ServerToViewer::Error(ref e) if e.code == ErrorCode::NotFound),
        "{m:?}"
    );
}
