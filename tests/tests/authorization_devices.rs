//! Device authentication on the host WebSocket: only the holder of an
//! enrolled key gets in, every failure is `unauthorized` (or
//! `unsupported_version`) followed by a close, and a removed device can
//! neither reconnect nor enroll its old key again.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::Signer;
use meshdesk_protocol::signal::{
    DeviceInfo, EndReason, ErrorCode, ErrorMsg, HostToServer, ServerToHost, ServerToViewer,
    SessionEndMsg, ViewerToServer,
};
use meshdesk_protocol::{device_auth_payload, PROTOCOL_VERSION};
use meshdesk_tests::clients::assert_error;
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn};
use reqwest::StatusCode;

fn auth(device_id: &str, signature: String, protocol: u32) -> HostToServer {
    HostToServer::Auth {
        protocol,
        device_id: device_id.into(),
        signature,
        info: DeviceInfo::default(),
    }
}

fn refused(code: ErrorCode, message: &str) -> ServerToHost {
    ServerToHost::Error(ErrorMsg {
        code,
        message: message.into(),
        session_id: None,
        request_id: None,
    })
}

/// The first message after the challenge is `first`; the server must answer
/// with exactly `want` and then close the connection.
async fn expect_refused(
    server: &Server,
    first: impl FnOnce(&str) -> HostToServer,
    want: ServerToHost,
) {
    let (mut c, nonce) = HostConn::open(server).await;
    c.send(&first(&nonce)).await;
    assert_eq!(c.recv().await, want);
    assert_eq!(
        c.recv_or_closed().await,
        None,
        "connection must close after {want:?}"
    );
}

async fn online(api: &Api, token: &str, id: &str) -> bool {
    let (s, d) = api
        .call("GET", &format!("/devices/{id}"), Some(token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    d["online"].as_bool().expect("online")
}

#[tokio::test]
async fn only_the_enrolled_key_signing_this_nonce_gets_in() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    let intruder = TestDevice::key();
    let failed = refused(ErrorCode::Unauthorized, "device authentication failed");

    // Signed with another key.
    let sign_other = |n: &str| STANDARD.encode(intruder.sign(&device_auth_payload(n)).to_bytes());
    expect_refused(
        &server,
        |n| auth(&dev.id, sign_other(n), PROTOCOL_VERSION),
        failed.clone(),
    )
    .await;
    // A device id that does not exist.
    expect_refused(
        &server,
        |n| auth("dev_000000000000", dev.sign(n), PROTOCOL_VERSION),
        failed.clone(),
    )
    .await;
    // Not base64, and base64 of the wrong length.
    expect_refused(
        &server,
        |_| auth(&dev.id, "!!not base64!!".into(), PROTOCOL_VERSION),
        failed.clone(),
    )
    .await;
    expect_refused(
        &server,
        |_| auth(&dev.id, STANDARD.encode([7u8; 12]), PROTOCOL_VERSION),
        failed.clone(),
    )
    .await;
    // The right key, but over the bare nonce without the context string.
    let bare = |n: &str| STANDARD.encode(dev.key.sign(n.as_bytes()).to_bytes());
    expect_refused(
        &server,
        |n| auth(&dev.id, bare(n), PROTOCOL_VERSION),
        failed.clone(),
    )
    .await;
    // A signature of an earlier connection's nonce (replay).
    let (_old, old_nonce) = HostConn::open(&server).await;
    let replay = dev.sign(&old_nonce);
    expect_refused(
        &server,
        |_| auth(&dev.id, replay, PROTOCOL_VERSION),
        failed.clone(),
    )
    .await;
    // Anything but auth first.
    expect_refused(
        &server,
        |_| HostToServer::Ping,
        refused(ErrorCode::Unauthorized, "authenticate first"),
    )
    .await;
    // Another protocol version.
    let version = refused(
        ErrorCode::UnsupportedVersion,
        &format!("server speaks protocol {PROTOCOL_VERSION}"),
    );
    expect_refused(
        &server,
        |n| auth(&dev.id, dev.sign(n), PROTOCOL_VERSION + 1),
        version,
    )
    .await;

    // None of that brought the device online; the real key does.
    assert!(!online(&api, &owner, &dev.id).await);
    let mut host = HostConn::connect(&server, &dev).await;
    assert!(online(&api, &owner, &dev.id).await);
    // A failed attempt under its id does not disturb the real connection.
    expect_refused(
        &server,
        |n| auth(&dev.id, sign_other(n), PROTOCOL_VERSION),
        failed,
    )
    .await;
    host.assert_quiet().await;
    assert!(online(&api, &owner, &dev.id).await);
}

#[tokio::test]
async fn a_removed_device_is_cut_off_and_can_never_return() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let ctl = api.user("ctl").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    api.share(&owner, &dev.id, "ctl", "control").await;
    let mut host = HostConn::connect(&server, &dev).await;
    let mut viewer = ViewerConn::connect(&server, &ctl).await;
    viewer.sync().await;
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: dev.id.clone(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    let sid = match viewer.recv().await {
        ServerToViewer::SessionCreated { session_id, .. } => session_id,
        other => panic!("expected session_created, got {other:?}"),
    };
    host.wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await;

    // Share holders cannot remove it; the owner can.
    let path = format!("/devices/{}", dev.id);
    assert_error(
        api.call("DELETE", &path, Some(&ctl), None).await,
        403,
        "only the device's owner may do this",
    );
    assert_eq!(
        api.call("DELETE", &path, Some(&owner), None).await.0,
        StatusCode::NO_CONTENT
    );

    // Both parties learn the session ended; the host is told why and closed.
    let ended = SessionEndMsg::new(sid.clone(), EndReason::DeviceRemoved);
    assert_eq!(host.recv().await, ServerToHost::SessionEnd(ended.clone()));
    assert_eq!(
        host.recv().await,
        refused(ErrorCode::Unauthorized, "device removed")
    );
    assert_eq!(host.recv_or_closed().await, None);
    viewer
        .wait_for("session_end", |m| {
            *m == ServerToViewer::SessionEnd(ended.clone())
        })
        .await;
    let gone = ServerToViewer::Presence {
        device_id: dev.id.clone(),
        name: dev.name.clone(),
        online: false,
    };
    viewer.wait_for("offline", |m| *m == gone).await;

    // It no longer exists for anyone.
    assert_error(
        api.call("GET", &path, Some(&owner), None).await,
        404,
        "device not found",
    );
    assert_error(
        api.call("GET", &path, Some(&ctl), None).await,
        404,
        "device not found",
    );
    // Its key opens nothing.
    let failed = refused(ErrorCode::Unauthorized, "device authentication failed");
    expect_refused(
        &server,
        |n| auth(&dev.id, dev.sign(n), PROTOCOL_VERSION),
        failed,
    )
    .await;
    // Nor can it enroll again, even with a fresh code; the code stays unused.
    let code = api.code(&owner).await;
    let again = TestDevice::enroll_raw(&api, &code, "pc again", &dev.key).await;
    assert_error(
        again,
        403,
        "this device key was removed and cannot enroll again",
    );
    let fresh = TestDevice::enroll(&api, &code, "new pc").await;
    assert_ne!(fresh.id, dev.id);
}

#[tokio::test]
async fn enrollment_codes_are_single_use_and_keys_unique() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let code = api.code(&owner).await;
    let dev = TestDevice::enroll(&api, &code, "pc").await;
    // The same code again, with a new key.
    let again = TestDevice::enroll_raw(&api, &code, "pc2", &TestDevice::key()).await;
    assert_error(again, 401, "enrollment code was already used");
    // A new code with an already enrolled key.
    let code = api.code(&owner).await;
    let dup = TestDevice::enroll_raw(&api, &code, "pc2", &dev.key).await;
    assert_error(dup, 409, "this device key is already enrolled");
    // Codes match however they are typed, and the device is the code owner's.
    let code = api.code(&owner).await.to_lowercase().replace('-', " ");
    let typed = TestDevice::enroll(&api, &code, "typed").await;
    let (s, d) = api
        .call("GET", &format!("/devices/{}", typed.id), Some(&owner), None)
        .await;
    assert_eq!((s, d["owner"].as_str()), (StatusCode::OK, Some("owner")));
}
