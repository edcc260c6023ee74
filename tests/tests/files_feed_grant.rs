//! What the server tells a host about a session's files and clipboard:
//! the owner's `view_may_copy` switch (only the owner may turn it, like
//! `sound`) reaches the host in each `session_grant`, and so does a
//! viewer's request for a files-only session.

use meshdesk_protocol::signal::{ServerToHost, ServerToViewer, ViewerToServer};
use meshdesk_tests::clients::assert_error;
use meshdesk_tests::{FeedWorld, HostConn, ViewerConn};
use reqwest::StatusCode;
use serde_json::json;

/// `PATCH /devices/{id}` with `view_may_copy` as `token`'s user.
async fn switch(f: &FeedWorld, token: &str, on: bool) -> (StatusCode, serde_json::Value) {
    let path = format!("/devices/{}", f.shared.id);
    let body = json!({ "view_may_copy": on });
    f.api.call("PATCH", &path, Some(token), Some(body)).await
}

/// Ask for a session on the shared device and read the host's grant:
/// its `(files_only, view_may_copy)`.
async fn grant(
    host: &mut HostConn,
    viewer: &mut ViewerConn,
    device: &str,
    files_only: bool,
) -> (bool, bool) {
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: device.into(),
            request_id: None,
            screen: None,
            files_only,
        })
        .await;
    viewer
        .wait_for("session_created", |m| {
            matches!(m, ServerToViewer::SessionCreated { .. })
        })
        .await;
    match host
        .wait_for("session_grant", |m| {
            matches!(m, ServerToHost::SessionGrant { .. })
        })
        .await
    {
        ServerToHost::SessionGrant {
            files_only,
            view_may_copy,
            ..
        } => (files_only, view_may_copy),
        _ => unreachable!("matched above"),
    }
}

#[tokio::test]
async fn only_the_owner_turns_view_copying_on_and_it_is_off_until_then() {
    let f = FeedWorld::start().await;
    let path = format!("/devices/{}", f.shared.id);
    let (s, device) = f.api.call("GET", &path, Some(&f.owner), None).await;
    assert_eq!(s, StatusCode::OK, "{device}");
    assert_eq!(device["view_may_copy"], false, "off by default");

    let (s, device) = switch(&f, &f.owner, true).await;
    assert_eq!(s, StatusCode::OK, "{device}");
    assert_eq!(device["view_may_copy"], true);
    let (_, seen) = f.api.call("GET", &path, Some(&f.looker), None).await;
    assert_eq!(seen["view_may_copy"], true, "share holders see the switch");

    assert_error(
        switch(&f, &f.looker, false).await,
        403,
        "only the device's owner may do this",
    );
    assert_error(
        switch(&f, &f.stranger, false).await,
        404,
        "device not found",
    );
    let (_, device) = f.api.call("GET", &path, Some(&f.owner), None).await;
    assert_eq!(device["view_may_copy"], true, "unchanged by the refusals");
}

#[tokio::test]
async fn a_grant_carries_files_only_and_the_owners_view_copying_switch() {
    let f = FeedWorld::start().await;
    let mut host = HostConn::connect(&f.server, &f.shared).await;
    let mut viewer = ViewerConn::connect(&f.server, &f.looker).await;
    let device = f.shared.id.clone();
    assert_eq!(
        grant(&mut host, &mut viewer, &device, false).await,
        (false, false)
    );
    let (s, body) = switch(&f, &f.owner, true).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        grant(&mut host, &mut viewer, &device, true).await,
        (true, true)
    );
    assert_eq!(
        grant(&mut host, &mut viewer, &device, false).await,
        (false, true)
    );
}
