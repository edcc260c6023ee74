//! Sessions across the nodes of a cluster (one PostgreSQL, one
//! nats-server): a viewer connected to node B and a host connected to
//! node A get every brokering step through the bus; the real
//! `meshdesk-viewer` on B decodes frames of the real `meshdesk-host` on
//! A; a share revoked and a device removed through A end the session held
//! through B; signing out on A closes the viewer's connection to B.

use std::process::Stdio;

use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::*;
use meshdesk_tests::conn::ice;
use meshdesk_tests::nats::NatsServer;
use meshdesk_tests::postgres::PgServer;
use meshdesk_tests::viewer::{wait_online, Running, ViewerHome};
use meshdesk_tests::{Api, Host, HostConn, Server, TestDevice, ViewerConn, Xvfb, WAIT};
use meshdesk_xtest::wait_for;
use reqwest::StatusCode;

/// The password `Api::user` signs up with.
const PASSWORD: &str = "password-123";

/// Two nodes on one store and one bus.
struct Cluster {
    _pg: PgServer,
    _nats: NatsServer,
    pg_url: String,
    nats_url: String,
    a: Server,
    b: Server,
}

fn cluster() -> Cluster {
    let pg = PgServer::start();
    let nats = NatsServer::start();
    let a = Server::start_cluster_node(&pg.url(), &nats.url());
    let b = Server::start_cluster_node(&pg.url(), &nats.url());
    Cluster {
        pg_url: pg.url(),
        nats_url: nats.url(),
        _pg: pg,
        _nats: nats,
        a,
        b,
    }
}

fn online(m: &ServerToViewer, id: &str) -> bool {
    matches!(m, ServerToViewer::Presence { device_id, online: true, .. } if device_id == id)
}

/// Alice's device, shared with bob for control; its host connected to
/// node A and bob's viewer to node B, which has seen the host online.
struct Parties {
    api: Api,
    alice: String,
    bob: String,
    dev: TestDevice,
    host: HostConn,
    viewer: ViewerConn,
}

async fn parties(c: &Cluster) -> Parties {
    let api = Api::new(&c.a);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    api.share(&alice, &dev.id, "bob", "control").await;
    let mut viewer = ViewerConn::connect(&c.b, &bob).await;
    let host = HostConn::connect(&c.a, &dev).await;
    viewer
        .wait_for("the host online through the bus", |m| online(m, &dev.id))
        .await;
    Parties {
        api,
        alice,
        bob,
        dev,
        host,
        viewer,
    }
}

/// A host's report of a finished transfer of `name` in the session.
fn report(session_id: &str, name: &str) -> HostToServer {
    HostToServer::FileTransfer(FileTransferMsg {
        session_id: session_id.into(),
        outcome: TransferOutcome::Sent,
        name: name.into(),
        size: 1000,
        upload: true,
        error: None,
    })
}

/// Bob's session on `device_id`, asked for on `viewer` and accepted by
/// `host`, wherever each is connected; returns its id and resume secret.
async fn open_session(
    viewer: &mut ViewerConn,
    host: &mut HostConn,
    device_id: &str,
    want: Permission,
) -> (String, String) {
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
        resume_secret,
        ..
    } = created
    else {
        unreachable!()
    };
    let grant = host
        .wait_for("the grant from the viewer's node", |m| {
            matches!(m, ServerToHost::SessionGrant { .. })
        })
        .await;
    let ServerToHost::SessionGrant {
        session_id: granted,
        permission,
        user,
        ..
    } = grant
    else {
        unreachable!()
    };
    assert_eq!(
        (granted.as_str(), permission, user.as_str()),
        (session_id.as_str(), want, "bob")
    );
    host.send(&HostToServer::SessionAccept {
        session_id: session_id.clone(),
    })
    .await;
    viewer
        .wait_for(
            "accepted",
            |m| matches!(m, ServerToViewer::SessionAccepted { session_id: s } if *s == session_id),
        )
        .await;
    (session_id, resume_secret.expect("a resume secret"))
}

/// The feed page of `kind` once it has an event (at most [`WAIT`]).
async fn events_of(api: &Api, token: &str, kind: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, page) = api
            .call("GET", &format!("/events?kind={kind}"), Some(token), None)
            .await;
        if page["events"][0].is_object() || std::time::Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The next message about a session (feed entries and presence skipped).
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

#[tokio::test]
async fn every_step_of_a_session_crosses_between_the_nodes() {
    let c = cluster();
    let Parties {
        api,
        alice,
        dev,
        mut host,
        mut viewer,
        ..
    } = parties(&c).await;

    let (session_id, _) = open_session(&mut viewer, &mut host, &dev.id, Permission::Control).await;

    // SDP and ICE both ways, in order.
    let sdp = |text: &str| SdpMsg {
        session_id: session_id.clone(),
        sdp: text.into(),
    };
    host.send(&HostToServer::Offer(sdp("v=0 offer"))).await;
    host.send(&HostToServer::Ice(ice(&session_id, "candidate:1")))
        .await;
    host.send(&HostToServer::Ice(ice(&session_id, "candidate:2")))
        .await;
    assert_eq!(
        viewer
            .wait_for("offer", |m| matches!(m, ServerToViewer::Offer(_)))
            .await,
        ServerToViewer::Offer(sdp("v=0 offer"))
    );
    for want in ["candidate:1", "candidate:2"] {
        let got = viewer
            .wait_for("ice", |m| matches!(m, ServerToViewer::Ice(_)))
            .await;
        assert_eq!(got, ServerToViewer::Ice(ice(&session_id, want)));
    }
    viewer
        .send(&ViewerToServer::Answer(sdp("v=0 answer")))
        .await;
    viewer
        .send(&ViewerToServer::Ice(ice(&session_id, "candidate:3")))
        .await;
    viewer
        .send(&ViewerToServer::RestartIce {
            session_id: session_id.clone(),
        })
        .await;
    assert_eq!(
        host.wait_for("answer", |m| matches!(m, ServerToHost::Answer(_)))
            .await,
        ServerToHost::Answer(sdp("v=0 answer"))
    );
    assert_eq!(
        host.wait_for("ice", |m| matches!(m, ServerToHost::Ice(_)))
            .await,
        ServerToHost::Ice(ice(&session_id, "candidate:3"))
    );
    host.wait_for("restart", |m| matches!(m, ServerToHost::RestartIce { .. }))
        .await;

    // A host's report the brokering node refuses is answered, through the
    // bus, on the host's own connection; a good one reaches the feed.
    host.send(&report(&session_id, "bad\u{7}name")).await;
    let refused = host.expect_error(ErrorCode::Invalid).await;
    assert_eq!(refused.session_id.as_deref(), Some(session_id.as_str()));
    host.send(&report(&session_id, "notes.txt")).await;

    // The viewer ends it; the host hears, and the feed (kept by node B in
    // the shared store) has the session from start to end.
    viewer
        .send(&ViewerToServer::SessionEnd(SessionEndMsg::new(
            &session_id,
            EndReason::ViewerClosed,
        )))
        .await;
    let end = host
        .wait_for("the end", |m| matches!(m, ServerToHost::SessionEnd(_)))
        .await;
    assert_eq!(
        end,
        ServerToHost::SessionEnd(SessionEndMsg::new(&session_id, EndReason::ViewerClosed))
    );
    // B tells the parties first and records the end just after.
    let feed = events_of(&api, &alice, "session_ended").await;
    assert_eq!(
        feed["events"][0]["session_id"],
        session_id.as_str(),
        "{feed}"
    );
    assert_eq!(feed["events"][0]["actor"], "bob", "{feed}");
    let sent = events_of(&api, &alice, "file_sent").await;
    assert_eq!(sent["events"][0]["file"]["path"], "notes.txt", "{sent}");

    // After the end, a host's message about it is refused by node B, as
    // a lone server refuses it, and reaches no viewer.
    host.send(&HostToServer::Offer(sdp("v=0 late"))).await;
    let late = host.expect_error(ErrorCode::NotFound).await;
    assert_eq!(late.session_id.as_deref(), Some(session_id.as_str()));
    viewer.send(&ViewerToServer::Ping).await;
    loop {
        match viewer.recv().await {
            ServerToViewer::Pong => break,
            ServerToViewer::Event { .. } => {}
            other => panic!("the viewer got {other:?}"),
        }
    }
}

/// A refused report, answered by the brokering node through the bus:
/// once the host has the answer, that node has handled every message the
/// host sent before it.
async fn flush(host: &mut HostConn, session_id: &str) {
    host.send(&report(session_id, "")).await;
    host.expect_error(ErrorCode::Invalid).await;
}

#[tokio::test]
async fn a_viewer_back_through_another_node_takes_its_session_along() {
    let c = cluster();
    let Parties {
        bob,
        dev,
        mut host,
        viewer: mut first,
        ..
    } = parties(&c).await;
    let (sid, secret) = open_session(&mut first, &mut host, &dev.id, Permission::Control).await;
    let sdp = |text: &str| SdpMsg {
        session_id: sid.clone(),
        sdp: text.into(),
    };
    let resumed = ServerToViewer::SessionResumed {
        session_id: sid.clone(),
        device_id: dev.id.clone(),
        permission: Permission::Control,
    };

    // Bob's connection to B drops; the host's offer waits there for him.
    drop(first);
    c.b.wait_for_log("session detached", 1).await;
    host.send(&HostToServer::Offer(sdp("restart-1"))).await;
    flush(&mut host, &sid).await;

    // He comes back through A, the host's node: the session moves there
    // with what was held.
    let mut second = ViewerConn::connect(&c.a, &bob).await;
    second
        .send(&ViewerToServer::SessionResume {
            session_id: sid.clone(),
            resume_secret: None,
        })
        .await;
    assert_eq!(next_session_msg(&mut second).await, resumed);
    assert_eq!(
        next_session_msg(&mut second).await,
        ServerToViewer::Offer(sdp("restart-1"))
    );
    host.send(&HostToServer::Ice(ice(&sid, "c1"))).await;
    assert_eq!(
        next_session_msg(&mut second).await,
        ServerToViewer::Ice(ice(&sid, "c1"))
    );

    // Still connected to A, he resumes through B with the secret (his
    // network changed): the session moves back, and the host's messages
    // follow it there.
    let mut third = ViewerConn::connect(&c.b, &bob).await;
    third
        .send(&ViewerToServer::SessionResume {
            session_id: sid.clone(),
            resume_secret: Some(secret),
        })
        .await;
    assert_eq!(next_session_msg(&mut third).await, resumed);
    host.send(&HostToServer::Ice(ice(&sid, "c2"))).await;
    assert_eq!(
        next_session_msg(&mut third).await,
        ServerToViewer::Ice(ice(&sid, "c2"))
    );
    third.send(&ViewerToServer::Ice(ice(&sid, "v1"))).await;
    assert_eq!(
        host.wait_for("ice", |m| matches!(m, ServerToHost::Ice(_)))
            .await,
        ServerToHost::Ice(ice(&sid, "v1"))
    );

    // Without the secret the live connection keeps it; a session no node
    // has is not found.
    let mut fourth = ViewerConn::connect(&c.a, &bob).await;
    for (id, code) in [
        (sid.as_str(), ErrorCode::Forbidden),
        ("ses_nowhere", ErrorCode::NotFound),
    ] {
        fourth
            .send(&ViewerToServer::SessionResume {
                session_id: id.into(),
                resume_secret: None,
            })
            .await;
        let reply = next_session_msg(&mut fourth).await;
        assert!(
            matches!(&reply, ServerToViewer::Error(e) if e.code == code && e.session_id.as_deref() == Some(id)),
            "{reply:?}"
        );
    }
}

#[tokio::test]
async fn a_session_outlives_the_node_that_brokered_it() {
    let mut c = cluster();
    let Parties {
        api,
        alice,
        bob,
        dev,
        mut host,
        viewer: mut first,
    } = parties(&c).await;
    let (sid, secret) = open_session(&mut first, &mut host, &dev.id, Permission::Control).await;
    // A third node, for the viewer to come back through.
    let third = Server::start_cluster_node(&c.pg_url, &c.nats_url);
    let mut back = ViewerConn::connect(&third, &bob).await;
    back.wait_for("the host online there too", |m| online(m, &dev.id))
        .await;

    // The broker dies with the session's state; the host's node (A)
    // knows the grant, and the third node takes the session over.
    c.b.kill();
    back.send(&ViewerToServer::SessionResume {
        session_id: sid.clone(),
        resume_secret: Some(secret),
    })
    .await;
    assert_eq!(
        next_session_msg(&mut back).await,
        ServerToViewer::SessionResumed {
            session_id: sid.clone(),
            device_id: dev.id.clone(),
            permission: Permission::Control,
        }
    );
    third.wait_for_log("session taken over", 1).await;
    c.a.wait_for_log("session now brokered by another node", 1)
        .await;

    // Both ways through the new broker.
    host.send(&HostToServer::Ice(ice(&sid, "after"))).await;
    assert_eq!(
        next_session_msg(&mut back).await,
        ServerToViewer::Ice(ice(&sid, "after"))
    );
    back.send(&ViewerToServer::Ice(ice(&sid, "v-after"))).await;
    assert_eq!(
        host.wait_for("ice", |m| matches!(m, ServerToHost::Ice(_)))
            .await,
        ServerToHost::Ice(ice(&sid, "v-after"))
    );

    // And a share revoked through A still ends it, on the host too.
    let (s, b) = api
        .call(
            "DELETE",
            &format!("/devices/{}/shares/bob", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let end = host
        .wait_for("the end", |m| matches!(m, ServerToHost::SessionEnd(_)))
        .await;
    assert_eq!(
        end,
        ServerToHost::SessionEnd(SessionEndMsg::new(&sid, EndReason::Revoked))
    );
    drop(first);
}

#[tokio::test]
async fn signing_out_on_one_node_closes_the_connections_to_another() {
    let c = cluster();
    let api = Api::new(&c.a);
    let token = api.user("alice").await;
    let mut viewer = ViewerConn::connect(&c.b, &token).await;
    viewer.sync().await;
    let (s, b) = api.call("POST", "/logout", Some(&token), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    tokio::time::timeout(WAIT, async {
        while viewer.recv_or_closed().await.is_some() {}
    })
    .await
    .expect("node B closes the signed-out connection");
}

/// `user`'s native viewer, signed in to node B, in a session on
/// studio-pc until it ends; returns once the host has its viewer.
fn connect_through(b: &Server, host: &Host, user: &str, home: &ViewerHome) -> Running {
    home.login_ok(b, user, PASSWORD);
    let before = host.log_text().matches("viewer connected").count();
    let log = home.dir.0.join("viewer.log");
    let child = home
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
        (host.log_text().matches("viewer connected").count() > before).then_some(())
    });
    running
}

/// The viewer exits failing with `why` in its log, and the host logs one
/// more session end than `ended_before`.
fn ends_on_both(host: &Host, viewer: &mut Running, ended_before: usize, why: &str) {
    wait_for("the host to end the session", WAIT, || {
        (host.log_text().matches("session ended").count() > ended_before).then_some(())
    });
    let status = viewer.wait_exit();
    assert!(!status.success(), "the viewer should fail: {status}");
    let log = viewer.log_text();
    assert!(log.contains(why), "viewer log lacks {why:?}:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_session_through_two_nodes_ends_when_node_a_revokes_it() {
    let c = cluster();
    let api_a = Api::new(&c.a);
    let alice = api_a.user("alice").await;
    api_a.user("bob").await;
    let x = Xvfb::start(640, 360);
    let host = Host::start(&c.a, &api_a, &alice, &x, "studio-pc").await;
    wait_online(&api_a, &alice, &host.device_id).await;
    let device = host.device_id.clone();
    api_a.share(&alice, &device, "bob", "control").await;

    // Frames decoded by bob's viewer signed in to node B.
    let home = ViewerHome::new();
    home.login_ok(&c.b, "bob", PASSWORD);
    let stats = home.connect_stats("studio-pc", &["--duration", "2"]);
    assert!(stats["frames_decoded"].as_u64().unwrap_or(0) > 0, "{stats}");

    // Revoked through A: the session held through B ends on both sides.
    let mut bob = connect_through(&c.b, &host, "bob", &home);
    let ended = host.log_text().matches("session ended").count();
    let path = format!("/devices/{device}/shares/bob");
    let (s, b) = api_a.call("DELETE", &path, Some(&alice), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    ends_on_both(&host, &mut bob, ended, "revoked");

    // Removed through A: alice's session through B ends, and the host's
    // connection to A closes.
    let alice_home = ViewerHome::new();
    let mut viewer = connect_through(&c.b, &host, "alice", &alice_home);
    let ended = host.log_text().matches("session ended").count();
    let (s, b) = api_a
        .call("DELETE", &format!("/devices/{device}"), Some(&alice), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    ends_on_both(&host, &mut viewer, ended, "removed");
}
