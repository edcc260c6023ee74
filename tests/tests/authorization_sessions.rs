//! Authorization of every WebSocket message kind in session brokering:
//! who may open a session with which permission, and that SDP, ICE and
//! session ends are relayed only between a session's two parties.

use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::{
    EndReason, ErrorCode, ErrorMsg, HostToServer, IceCandidate, IceMsg, SdpMsg, ServerToHost,
    ServerToViewer, SessionEndMsg, ViewerToServer,
};
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn};
use reqwest::StatusCode;

fn sdp(sid: &str) -> SdpMsg {
    SdpMsg {
        session_id: sid.into(),
        sdp: "v=0\r\n".into(),
    }
}

fn ice(sid: &str) -> IceMsg {
    IceMsg {
        session_id: sid.into(),
        candidate: IceCandidate {
            candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        },
    }
}

/// Every session-scoped message a viewer can send.
fn viewer_relays(sid: &str) -> Vec<ViewerToServer> {
    vec![
        ViewerToServer::Offer(sdp(sid)),
        ViewerToServer::Answer(sdp(sid)),
        ViewerToServer::Ice(ice(sid)),
        ViewerToServer::RestartIce {
            session_id: sid.to_string(),
        },
        ViewerToServer::SessionEnd(SessionEndMsg::new(sid, EndReason::ViewerClosed)),
    ]
}

/// Every session-scoped message a host can send.
fn host_relays(sid: &str) -> Vec<HostToServer> {
    vec![
        HostToServer::SessionAccept {
            session_id: sid.into(),
        },
        HostToServer::SessionReject {
            session_id: sid.into(),
            reason: "no".into(),
        },
        HostToServer::Offer(sdp(sid)),
        HostToServer::Answer(sdp(sid)),
        HostToServer::Ice(ice(sid)),
        HostToServer::SessionEnd(SessionEndMsg::new(sid, EndReason::HostClosed)),
    ]
}

fn not_found(sid: &str) -> ErrorMsg {
    ErrorMsg {
        code: ErrorCode::NotFound,
        message: "no such session".into(),
        session_id: Some(sid.into()),
        request_id: None,
    }
}

/// A server with an online device shared with `ctl` (control) and `looker`
/// (view), plus a signed-in `stranger`.
struct Stage {
    server: Server,
    api: Api,
    owner: String,
    control: String,
    view: String,
    stranger: String,
    dev: TestDevice,
    host: HostConn,
}

async fn stage() -> Stage {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let control = api.user("ctl").await;
    let view = api.user("looker").await;
    let stranger = api.user("stranger").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    api.share(&owner, &dev.id, "ctl", "control").await;
    api.share(&owner, &dev.id, "looker", "view").await;
    let host = HostConn::connect(&server, &dev).await;
    Stage {
        server,
        api,
        owner,
        control,
        view,
        stranger,
        dev,
        host,
    }
}

/// A viewer whose start-up messages (presence snapshot) are consumed.
async fn viewer(server: &Server, token: &str) -> ViewerConn {
    let mut v = ViewerConn::connect(server, token).await;
    v.sync().await;
    v
}

/// Ask for a session; returns the direct reply.
async fn request(v: &mut ViewerConn, device_id: &str, request_id: &str) -> ServerToViewer {
    v.send(&ViewerToServer::SessionRequest {
        device_id: device_id.into(),
        request_id: Some(request_id.into()),
        screen: None,
        files_only: false,
    })
    .await;
    v.recv().await
}

/// Open a session and read the host's grant; returns the session id.
async fn open_session(v: &mut ViewerConn, host: &mut HostConn, device_id: &str) -> String {
    let sid = match request(v, device_id, "open").await {
        ServerToViewer::SessionCreated { session_id, .. } => session_id,
        other => panic!("expected session_created, got {other:?}"),
    };
    match host.recv().await {
        ServerToHost::SessionGrant { session_id, .. } => assert_eq!(session_id, sid),
        other => panic!("expected session_grant, got {other:?}"),
    }
    sid
}

#[tokio::test]
async fn session_requests_carry_the_callers_right() {
    let mut st = stage().await;
    let cases = [
        (&st.owner, "owner", Permission::Owner),
        (&st.control, "ctl", Permission::Control),
        (&st.view, "looker", Permission::View),
    ];
    // Viewers stay connected: a viewer that leaves ends its session.
    let mut viewers = Vec::new();
    for (token, username, want) in cases {
        viewers.push(viewer(&st.server, token).await);
        let v = viewers.last_mut().expect("just pushed");
        let (session_id, device_id, permission, request_id) =
            match request(v, &st.dev.id, username).await {
                ServerToViewer::SessionCreated {
                    session_id,
                    device_id,
                    permission,
                    request_id,
                    ..
                } => (session_id, device_id, permission, request_id),
                other => panic!("{username}: expected session_created, got {other:?}"),
            };
        assert_eq!(
            (device_id.as_str(), permission, request_id.as_deref()),
            (st.dev.id.as_str(), want, Some(username))
        );
        match st.host.recv().await {
            ServerToHost::SessionGrant {
                session_id: granted,
                user,
                permission,
                ..
            } => assert_eq!(
                (granted, user.as_str(), permission),
                (session_id, username, want)
            ),
            other => panic!("{username}: expected session_grant, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn strangers_and_unknown_devices_get_not_found_and_the_host_hears_nothing() {
    let mut st = stage().await;
    let offline = TestDevice::enroll(&st.api, &st.api.code(&st.owner).await, "offline pc").await;
    let mut stranger = viewer(&st.server, &st.stranger).await;
    // An online device, an offline one and one that never existed look alike.
    for device in [st.dev.id.as_str(), offline.id.as_str(), "dev_000000000000"] {
        let reply = request(&mut stranger, device, "r1").await;
        let want = ErrorMsg {
            code: ErrorCode::NotFound,
            message: "no such device".into(),
            session_id: None,
            request_id: Some("r1".into()),
        };
        assert_eq!(reply, ServerToViewer::Error(want), "stranger on {device}");
    }
    st.host.assert_quiet().await;
    // The owner is told the truth about its offline device.
    let mut owner = viewer(&st.server, &st.owner).await;
    match request(&mut owner, &offline.id, "r2").await {
        ServerToViewer::Error(e) => assert_eq!(
            (e.code, e.request_id.as_deref()),
            (ErrorCode::Offline, Some("r2"))
        ),
        other => panic!("expected offline, got {other:?}"),
    }
}

#[tokio::test]
async fn foreign_and_random_session_ids_are_refused_and_parties_hear_nothing() {
    let mut st = stage().await;
    let mut owner = viewer(&st.server, &st.owner).await;
    let sid = open_session(&mut owner, &mut st.host, &st.dev.id).await;
    // A control holder of the same device, a stranger, and the owner's own
    // second connection: none of them is this session's viewer.
    let mut others = vec![
        viewer(&st.server, &st.control).await,
        viewer(&st.server, &st.stranger).await,
        viewer(&st.server, &st.owner).await,
    ];
    for other in &mut others {
        for id in [sid.as_str(), "ses_0000000000000000"] {
            for msg in viewer_relays(id) {
                other.send(&msg).await;
                assert_eq!(
                    other.recv().await,
                    ServerToViewer::Error(not_found(id)),
                    "{msg:?}"
                );
            }
        }
    }
    st.host.assert_quiet().await;
    owner.assert_quiet().await;
    // The session itself is intact and relays between its parties.
    owner.send(&ViewerToServer::Offer(sdp(&sid))).await;
    assert_eq!(st.host.recv().await, ServerToHost::Offer(sdp(&sid)));
    st.host.send(&HostToServer::Answer(sdp(&sid))).await;
    assert_eq!(owner.recv().await, ServerToViewer::Answer(sdp(&sid)));
    st.host.send(&HostToServer::Ice(ice(&sid))).await;
    assert_eq!(owner.recv().await, ServerToViewer::Ice(ice(&sid)));
    let restart = |id: &str| ViewerToServer::RestartIce {
        session_id: id.to_string(),
    };
    owner.send(&restart(&sid)).await;
    assert_eq!(
        st.host.recv().await,
        ServerToHost::RestartIce {
            session_id: sid.clone()
        }
    );
}

#[tokio::test]
async fn a_host_cannot_touch_another_devices_session() {
    let mut st = stage().await;
    let other_dev = TestDevice::enroll(&st.api, &st.api.code(&st.owner).await, "other pc").await;
    let mut other_host = HostConn::connect(&st.server, &other_dev).await;
    // A device of another account too.
    let foreign_dev =
        TestDevice::enroll(&st.api, &st.api.code(&st.stranger).await, "foreign").await;
    let mut foreign_host = HostConn::connect(&st.server, &foreign_dev).await;
    let mut owner = viewer(&st.server, &st.owner).await;
    let sid = open_session(&mut owner, &mut st.host, &st.dev.id).await;
    for h in [&mut other_host, &mut foreign_host] {
        h.sync().await;
        for id in [sid.as_str(), "ses_0000000000000000"] {
            for msg in host_relays(id) {
                h.send(&msg).await;
                assert_eq!(
                    h.recv().await,
                    ServerToHost::Error(not_found(id)),
                    "{msg:?}"
                );
            }
        }
    }
    st.host.assert_quiet().await;
    owner.assert_quiet().await;
    // The right host still serves the session.
    st.host
        .send(&HostToServer::SessionAccept {
            session_id: sid.clone(),
        })
        .await;
    assert_eq!(
        owner.recv().await,
        ServerToViewer::SessionAccepted {
            session_id: sid.clone()
        }
    );
    st.host.send(&HostToServer::Offer(sdp(&sid))).await;
    owner
        .wait_for("offer", |m| *m == ServerToViewer::Offer(sdp(&sid)))
        .await;
}

#[tokio::test]
async fn message_kinds_of_the_other_role_are_unknown_types() {
    let mut st = stage().await;
    let mut v = viewer(&st.server, &st.owner).await;
    st.host.sync().await;
    let to_host = [
        r#"{"type":"session_request","device_id":"dev_x"}"#,
        r#"{"type":"challenge","protocol":1,"nonce":"x"}"#,
        r#"{"type":"session_grant","session_id":"s","user":"u","permission":"owner","ice_servers":[]}"#,
        r#"{"type":"welcome","device_id":"d","name":"n","heartbeat_secs":1}"#,
    ];
    for raw in to_host {
        st.host.send_raw(raw).await;
        let e = st.host.expect_error(ErrorCode::UnknownType).await;
        assert!(
            e.message.starts_with("unknown message type: "),
            "{raw}: {}",
            e.message
        );
    }
    let info = r#"{"os":"x","screens":[],"agent_version":"1"}"#;
    let to_viewer = [
        format!(r#"{{"type":"auth","protocol":1,"device_id":"{}","signature":"AA==","info":{info}}}"#, st.dev.id),
        format!(r#"{{"type":"info","info":{info}}}"#),
        r#"{"type":"session_accept","session_id":"ses_x"}"#.to_string(),
        r#"{"type":"session_reject","session_id":"ses_x","reason":"no"}"#.to_string(),
        r#"{"type":"session_created","session_id":"s","device_id":"d","permission":"owner","ice_servers":[]}"#.into(),
        r#"{"type":"presence","device_id":"d","name":"n","online":true}"#.to_string(),
    ];
    for raw in &to_viewer {
        v.send_raw(raw).await;
        let e = v.expect_error(ErrorCode::UnknownType).await;
        assert!(
            e.message.starts_with("unknown message type: "),
            "{raw}: {}",
            e.message
        );
    }
    // Both connections stay up and nothing leaked to the other side.
    st.host.assert_quiet().await;
    v.assert_quiet().await;
    // A second auth on an authenticated host connection is refused as invalid.
    st.host.send_raw(&to_viewer[0]).await;
    assert_eq!(
        st.host.expect_error(ErrorCode::Invalid).await.message,
        "already authenticated"
    );
}

#[tokio::test]
async fn revoking_a_share_ends_that_users_sessions_only() {
    let mut st = stage().await;
    let mut ctl = viewer(&st.server, &st.control).await;
    let mut looker = viewer(&st.server, &st.view).await;
    let mut owner = viewer(&st.server, &st.owner).await;
    let ctl_sid = open_session(&mut ctl, &mut st.host, &st.dev.id).await;
    let view_sid = open_session(&mut looker, &mut st.host, &st.dev.id).await;
    let owner_sid = open_session(&mut owner, &mut st.host, &st.dev.id).await;
    st.host
        .send(&HostToServer::SessionAccept {
            session_id: ctl_sid.clone(),
        })
        .await;
    ctl.wait_for("accepted", |m| {
        matches!(m, ServerToViewer::SessionAccepted { .. })
    })
    .await;

    let (s, _) = st
        .api
        .call(
            "DELETE",
            &format!("/devices/{}/shares/ctl", st.dev.id),
            Some(&st.owner),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let ended = ServerToViewer::SessionEnd(SessionEndMsg::new(&ctl_sid, EndReason::Revoked));
    ctl.wait_for("session_end revoked", |m| *m == ended).await;
    let ended = ServerToHost::SessionEnd(SessionEndMsg::new(&ctl_sid, EndReason::Revoked));
    st.host
        .wait_for("session_end revoked", |m| *m == ended)
        .await;
    // The session is gone for its former viewer, and so is the device.
    ctl.sync().await;
    ctl.send(&ViewerToServer::Offer(sdp(&ctl_sid))).await;
    assert_eq!(ctl.recv().await, ServerToViewer::Error(not_found(&ctl_sid)));
    match request(&mut ctl, &st.dev.id, "again").await {
        ServerToViewer::Error(e) => assert_eq!(e.code, ErrorCode::NotFound),
        other => panic!("expected not_found, got {other:?}"),
    }

    // A downgrade from control to view ends control sessions only.
    st.api
        .share(&st.owner, &st.dev.id, "looker", "control")
        .await;
    looker.sync().await;
    let looker_ctl = open_session(&mut looker, &mut st.host, &st.dev.id).await;
    st.api.share(&st.owner, &st.dev.id, "looker", "view").await;
    let ended = ServerToViewer::SessionEnd(SessionEndMsg::new(&looker_ctl, EndReason::Revoked));
    looker
        .wait_for("session_end revoked", |m| *m == ended)
        .await;
    st.host
        .wait_for(
            "session_end revoked",
            |m| matches!(m, ServerToHost::SessionEnd(e) if e.session_id == looker_ctl),
        )
        .await;

    // The sessions of the others still relay.
    st.host.sync().await;
    for (v, sid) in [(&mut looker, &view_sid), (&mut owner, &owner_sid)] {
        v.sync().await;
        v.send(&ViewerToServer::Offer(sdp(sid))).await;
        assert_eq!(st.host.recv().await, ServerToHost::Offer(sdp(sid)));
    }
}
