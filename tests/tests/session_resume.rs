//! Session resume: a viewer whose WebSocket drops keeps its accepted
//! session for the grace period, unknown to the host, and takes it back
//! from a new connection; the host's messages meanwhile are handed over.
//! Only the same user may resume, never from under a live connection, and
//! a session nobody resumes ends once, as before, when the grace runs out.

use std::time::{Duration, Instant};

use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::*;
use meshdesk_tests::conn::ice;
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn};
use serde_json::Value;

struct Setup {
    server: Server,
    api: Api,
    alice: String,
    dev: TestDevice,
}

async fn setup(grace_secs: u64) -> Setup {
    let server = Server::start_with(&format!(
        "signup = \"open\"\nsession_resume_grace_secs = {grace_secs}\n"
    ));
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    Setup {
        server,
        api,
        alice,
        dev,
    }
}

fn sdp(session_id: &str, sdp: &str) -> SdpMsg {
    SdpMsg {
        session_id: session_id.into(),
        sdp: sdp.into(),
    }
}

/// Request a session and have the host accept it; returns its id.
async fn open_session(viewer: &mut ViewerConn, host: &mut HostConn, device_id: &str) -> String {
    open_session_with_secret(viewer, host, device_id).await.0
}

/// [`open_session`], also returning the resume secret `session_created`
/// gave the viewer.
async fn open_session_with_secret(
    viewer: &mut ViewerConn,
    host: &mut HostConn,
    device_id: &str,
) -> (String, String) {
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: device_id.into(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    let ServerToViewer::SessionCreated {
        resume_secret: Some(secret),
        ..
    } = viewer
        .wait_for("created", |m| {
            matches!(m, ServerToViewer::SessionCreated { .. })
        })
        .await
    else {
        panic!("session_created without a resume secret")
    };
    let ServerToHost::SessionGrant { session_id, .. } = host
        .wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await
    else {
        unreachable!()
    };
    host.send(&HostToServer::SessionAccept {
        session_id: session_id.clone(),
    })
    .await;
    viewer
        .wait_for("accepted", |m| {
            matches!(m, ServerToViewer::SessionAccepted { .. })
        })
        .await;
    (session_id, secret)
}

/// The next message that is not presence or a feed event.
async fn next_session_msg(viewer: &mut ViewerConn) -> ServerToViewer {
    viewer
        .wait_for("a session message", |m| {
            !matches!(
                m,
                ServerToViewer::Presence { .. } | ServerToViewer::Event { .. }
            )
        })
        .await
}

/// Resume `session_id` on `viewer`; returns the reply.
async fn resume(viewer: &mut ViewerConn, session_id: &str) -> ServerToViewer {
    resume_with(viewer, session_id, None).await
}

/// Resume with the session's secret (or another one).
async fn resume_with(
    viewer: &mut ViewerConn,
    session_id: &str,
    secret: Option<&str>,
) -> ServerToViewer {
    viewer
        .send(&ViewerToServer::SessionResume {
            session_id: session_id.into(),
            resume_secret: secret.map(Into::into),
        })
        .await;
    next_session_msg(viewer).await
}

fn assert_error(m: &ServerToViewer, code: ErrorCode, session_id: &str) {
    assert!(
        matches!(m, ServerToViewer::Error(e) if e.code == code && e.session_id.as_deref() == Some(session_id)),
        "expected {code:?} for {session_id}, got {m:?}"
    );
}

/// The feed entries about one session, newest first.
async fn session_events(api: &Api, token: &str, session_id: &str) -> Vec<Value> {
    let (_, page) = api.call("GET", "/events", Some(token), None).await;
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["session_id"] == session_id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_dropped_viewer_resumes_and_gets_the_hosts_next_messages() {
    let s = setup(30).await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut first = ViewerConn::connect(&s.server, &s.alice).await;
    let sid = open_session(&mut first, &mut host, &s.dev.id).await;

    // The viewer's connection drops without a word (no close frame).
    drop(first);
    s.server.wait_for_log("session detached", 1).await;
    host.assert_quiet().await;

    // The host restarts ICE twice meanwhile: only the latest offer and
    // what follows it are kept, and the host is not told anything is wrong.
    host.send(&HostToServer::Offer(sdp(&sid, "restart-1")))
        .await;
    host.send(&HostToServer::Ice(ice(&sid, "stale"))).await;
    host.send(&HostToServer::Offer(sdp(&sid, "restart-2")))
        .await;
    host.send(&HostToServer::Ice(ice(&sid, "c1"))).await;
    host.assert_quiet().await;

    let mut second = ViewerConn::connect(&s.server, &s.alice).await;
    assert_eq!(
        resume(&mut second, &sid).await,
        ServerToViewer::SessionResumed {
            session_id: sid.clone(),
            device_id: s.dev.id.clone(),
            permission: Permission::Owner,
        }
    );
    assert_eq!(
        next_session_msg(&mut second).await,
        ServerToViewer::Offer(sdp(&sid, "restart-2"))
    );
    assert_eq!(
        next_session_msg(&mut second).await,
        ServerToViewer::Ice(ice(&sid, "c1"))
    );

    // From now on both directions flow through the new connection.
    host.send(&HostToServer::Ice(ice(&sid, "c2"))).await;
    assert_eq!(
        next_session_msg(&mut second).await,
        ServerToViewer::Ice(ice(&sid, "c2"))
    );
    second
        .send(&ViewerToServer::Answer(sdp(&sid, "answer-2")))
        .await;
    assert_eq!(
        host.recv().await,
        ServerToHost::Answer(sdp(&sid, "answer-2"))
    );
    // Resuming again from the same connection is harmless.
    assert!(matches!(
        resume(&mut second, &sid).await,
        ServerToViewer::SessionResumed { .. }
    ));
    host.assert_quiet().await;

    // The session started once and has not ended.
    let events = session_events(&s.api, &s.alice, &sid).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["session_started"]);

    // It ends as usual, once.
    second
        .send(&ViewerToServer::SessionEnd(SessionEndMsg::new(
            sid.clone(),
            EndReason::ViewerClosed,
        )))
        .await;
    assert_eq!(
        host.recv().await,
        ServerToHost::SessionEnd(SessionEndMsg::new(sid.clone(), EndReason::ViewerClosed))
    );
    let events = session_events(&s.api, &s.alice, &sid).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["session_ended", "session_started"]);
    assert_eq!(events[0]["detail"], "closed by the viewer");
}

#[tokio::test]
async fn a_viewer_that_closes_its_connection_ends_its_sessions_at_once() {
    // A page closed, reloaded or navigated away sends a close frame: its
    // sessions end now, not after the resume grace, so the host frees them.
    let s = setup(30).await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut viewer = ViewerConn::connect(&s.server, &s.alice).await;
    let sid = open_session(&mut viewer, &mut host, &s.dev.id).await;
    viewer.close().await;
    assert_eq!(
        host.recv().await,
        ServerToHost::SessionEnd(SessionEndMsg::new(sid.clone(), EndReason::ViewerClosed))
    );
    let mut again = ViewerConn::connect(&s.server, &s.alice).await;
    assert!(
        matches!(resume(&mut again, &sid).await, ServerToViewer::Error(_)),
        "an ended session is not resumed"
    );
    let events = session_events(&s.api, &s.alice, &sid).await;
    assert_eq!(events[0]["kind"], "session_ended");
    assert_eq!(events[0]["detail"], "closed by the viewer");
}

#[tokio::test]
async fn the_viewer_with_the_sessions_secret_takes_it_over_at_once() {
    // After a network change the old connection may still look alive to
    // the server for seconds. The viewer that asked for the session shows
    // its secret and moves the session to its new connection at once.
    let s = setup(30).await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut first = ViewerConn::connect(&s.server, &s.alice).await;
    let (sid, secret) = open_session_with_secret(&mut first, &mut host, &s.dev.id).await;

    // The first connection is still open. Without the secret, or with a
    // wrong one, the session stays where it is.
    let mut second = ViewerConn::connect(&s.server, &s.alice).await;
    let wrong = format!("{secret}x");
    for guess in [None, Some(wrong.as_str())] {
        assert_error(
            &resume_with(&mut second, &sid, guess).await,
            ErrorCode::Forbidden,
            &sid,
        );
    }
    let mut third = ViewerConn::connect(&s.server, &s.alice).await;
    assert!(matches!(
        resume_with(&mut third, &sid, Some(&secret)).await,
        ServerToViewer::SessionResumed { .. }
    ));
    // The host's messages now go to the new connection, and the old one
    // may no longer speak for the session.
    host.send(&HostToServer::Offer(sdp(&sid, "restart"))).await;
    assert_eq!(
        next_session_msg(&mut third).await,
        ServerToViewer::Offer(sdp(&sid, "restart"))
    );
    first
        .send(&ViewerToServer::Answer(sdp(&sid, "stale")))
        .await;
    first
        .wait_for("the stale answer refused", |m| {
            matches!(m, ServerToViewer::Error(e) if e.code == ErrorCode::NotFound && e.session_id.as_deref() == Some(sid.as_str()))
        })
        .await;
    third
        .send(&ViewerToServer::Answer(sdp(&sid, "fresh")))
        .await;
    assert_eq!(host.recv().await, ServerToHost::Answer(sdp(&sid, "fresh")));
}

#[tokio::test]
async fn only_the_same_user_resumes_and_never_from_a_live_connection() {
    let s = setup(30).await;
    let bob = s.api.user("bob").await;
    let carol = s.api.user("carol").await;
    // Bob may even open sessions on the device: still not Alice's.
    s.api.share(&s.alice, &s.dev.id, "bob", "control").await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut first = ViewerConn::connect(&s.server, &s.alice).await;
    let sid = open_session(&mut first, &mut host, &s.dev.id).await;

    // Attached to a live connection: a second connection of Alice's is
    // refused, and the first keeps the session (it answers the server's
    // liveness probe by reading).
    let mut second = ViewerConn::connect(&s.server, &s.alice).await;
    let m = resume(&mut second, &sid).await;
    assert_error(&m, ErrorCode::Forbidden, &sid);
    first.sync().await;
    host.send(&HostToServer::Ice(ice(&sid, "still-first")))
        .await;
    assert_eq!(
        next_session_msg(&mut first).await,
        ServerToViewer::Ice(ice(&sid, "still-first"))
    );
    second.assert_quiet().await;

    // Detached, it is still nobody else's.
    drop(first);
    s.server.wait_for_log("session detached", 1).await;
    let mut bob_conn = ViewerConn::connect(&s.server, &bob).await;
    let m = resume(&mut bob_conn, &sid).await;
    assert_error(&m, ErrorCode::NotFound, &sid);
    let mut carol_conn = ViewerConn::connect(&s.server, &carol).await;
    let m = resume(&mut carol_conn, &sid).await;
    assert_error(&m, ErrorCode::NotFound, &sid);
    let made_up = "ses_00000000000000000000000000000000";
    let m = resume(&mut second, made_up).await;
    assert_error(&m, ErrorCode::NotFound, made_up);
    // Bob cannot relay into it either.
    bob_conn
        .send(&ViewerToServer::Answer(sdp(&sid, "evil")))
        .await;
    assert_error(
        &next_session_msg(&mut bob_conn).await,
        ErrorCode::NotFound,
        &sid,
    );
    host.assert_quiet().await;

    // Alice's second connection takes it; then a third cannot.
    assert!(matches!(
        resume(&mut second, &sid).await,
        ServerToViewer::SessionResumed { .. }
    ));
    let mut third = ViewerConn::connect(&s.server, &s.alice).await;
    let m = resume(&mut third, &sid).await;
    assert_error(&m, ErrorCode::Forbidden, &sid);
    second.sync().await;
    host.send(&HostToServer::Ice(ice(&sid, "to-second"))).await;
    assert_eq!(
        next_session_msg(&mut second).await,
        ServerToViewer::Ice(ice(&sid, "to-second"))
    );
    let log = s.server.log_text();
    assert!(
        log.matches("session resume refused").count() >= 5,
        "every refused attempt is logged"
    );
}

#[tokio::test]
async fn a_silent_connection_loses_its_session_to_a_resume_after_the_probe() {
    let s = setup(30).await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    // The first connection stays open but never reads again, like a
    // socket on a network that is gone (half-open).
    let mut first = ViewerConn::connect(&s.server, &s.alice).await;
    let sid = open_session(&mut first, &mut host, &s.dev.id).await;

    let mut second = ViewerConn::connect(&s.server, &s.alice).await;
    let m = resume(&mut second, &sid).await;
    assert_error(&m, ErrorCode::Forbidden, &sid);
    // It does not answer the probe: the server closes it and detaches the
    // session, and a retry succeeds.
    s.server.wait_for_log("session detached", 1).await;
    assert!(matches!(
        resume(&mut second, &sid).await,
        ServerToViewer::SessionResumed { .. }
    ));
    host.assert_quiet().await;
    drop(first);
}

#[tokio::test]
async fn an_unresumed_session_ends_once_when_the_grace_period_is_over() {
    let s = setup(1).await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut viewer = ViewerConn::connect(&s.server, &s.alice).await;
    let sid = open_session(&mut viewer, &mut host, &s.dev.id).await;
    // A session never accepted ends at once, as before.
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: s.dev.id.clone(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    let ServerToHost::SessionGrant {
        session_id: pending,
        ..
    } = host
        .wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await
    else {
        unreachable!()
    };

    let dropped = Instant::now();
    drop(viewer);
    assert_eq!(
        host.recv().await,
        ServerToHost::SessionEnd(SessionEndMsg::new(pending, EndReason::PeerGone))
    );
    // The accepted one ends when the grace period is over, with the host
    // told exactly as before resume existed.
    assert_eq!(
        host.recv().await,
        ServerToHost::SessionEnd(SessionEndMsg::new(sid.clone(), EndReason::PeerGone))
    );
    let waited = dropped.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "ended after {waited:?}, before the grace period"
    );
    host.assert_quiet().await;

    let events = session_events(&s.api, &s.alice, &sid).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["session_ended", "session_started"], "{events:?}");
    assert_eq!(events[0]["detail"], "the other side disconnected");
    assert!(events[0]["duration_ms"].as_i64().expect("duration") >= 1_000);

    // Too late to resume.
    let mut again = ViewerConn::connect(&s.server, &s.alice).await;
    let m = resume(&mut again, &sid).await;
    assert_error(&m, ErrorCode::NotFound, &sid);
}

#[tokio::test]
async fn signing_out_ends_the_sessions_at_once() {
    let s = setup(30).await;
    let token = s.api.login("alice").await;
    let mut host = HostConn::connect(&s.server, &s.dev).await;
    let mut viewer = ViewerConn::connect(&s.server, &token).await;
    let sid = open_session(&mut viewer, &mut host, &s.dev.id).await;
    let (status, _) = s.api.call("POST", "/logout", Some(&token), None).await;
    assert!(status.is_success());
    assert_eq!(
        host.recv().await,
        ServerToHost::SessionEnd(SessionEndMsg::new(sid, EndReason::PeerGone))
    );
}

#[tokio::test]
async fn session_created_says_how_long_the_server_keeps_a_lost_session() {
    for grace in [7, 0] {
        let s = setup(grace).await;
        let _host = HostConn::connect(&s.server, &s.dev).await;
        let mut viewer = ViewerConn::connect(&s.server, &s.alice).await;
        viewer
            .send(&ViewerToServer::SessionRequest {
                device_id: s.dev.id.clone(),
                request_id: Some("r1".into()),
                screen: None,
                files_only: false,
            })
            .await;
        let created = viewer
            .wait_for("created", |m| {
                matches!(m, ServerToViewer::SessionCreated { .. })
            })
            .await;
        let ServerToViewer::SessionCreated {
            resume_grace_secs,
            request_id,
            ..
        } = created
        else {
            unreachable!()
        };
        assert_eq!(resume_grace_secs, Some(grace));
        assert_eq!(request_id.as_deref(), Some("r1"));
    }
}
