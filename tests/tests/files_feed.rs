//! A host's file reports in the activity feed: a finished transfer of one
//! of its sessions becomes `file_sent`, `file_received` or `file_failed`
//! for the session's people, even just after the session ended; a report
//! naming another device's session is ignored; a change in a shared folder
//! becomes `shared_file_changed` for everyone who may see the device, in
//! the history, live and on webhooks; bad names are refused and a flood
//! is cut to the host's rate, all without closing the host's connection.

use std::time::Duration;

use meshdesk_protocol::signal::{
    ErrorCode, FileChange, FileTransferMsg, HostToServer, ServerToHost, ServerToViewer,
    SessionEndMsg, TransferOutcome, ViewerToServer,
};
use meshdesk_tests::{
    Api, FeedStream, FeedWorld, HostConn, Receiver, Server, TestDevice, ViewerConn,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// `GET /events?kind=KIND` as `token`'s user.
async fn events(api: &Api, token: &str, kind: &str) -> Vec<Value> {
    let path = format!("/events?kind={kind}&limit=200");
    let (s, page) = api.call("GET", &path, Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["events"].as_array().expect("events").clone()
}

/// A session of `viewer` on the device of `host`, accepted by the host.
async fn session(host: &mut HostConn, viewer: &mut ViewerConn, device_id: &str) -> String {
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: device_id.into(),
            request_id: None,
            screen: None,
            files_only: true,
        })
        .await;
    let sid = match host
        .wait_for("session_grant", |m| {
            matches!(m, ServerToHost::SessionGrant { .. })
        })
        .await
    {
        ServerToHost::SessionGrant { session_id, .. } => session_id,
        _ => unreachable!("matched above"),
    };
    host.send(&HostToServer::SessionAccept {
        session_id: sid.clone(),
    })
    .await;
    viewer
        .wait_for("session_accepted", |m| {
            matches!(m, ServerToViewer::SessionAccepted { .. })
        })
        .await;
    sid
}

fn transfer(session_id: &str, outcome: TransferOutcome, upload: bool) -> HostToServer {
    HostToServer::FileTransfer(FileTransferMsg {
        session_id: session_id.into(),
        outcome,
        name: "report.pdf".into(),
        size: 2_100_000,
        upload,
        error: (outcome == TransferOutcome::Failed).then(|| "disk full".into()),
    })
}

fn changed(path: &str, change: FileChange) -> HostToServer {
    HostToServer::SharedFileChanged {
        path: path.into(),
        change,
    }
}

#[tokio::test]
async fn a_file_sent_in_a_session_is_a_file_sent_event_for_its_people() {
    let f = FeedWorld::start().await;
    let mut host = HostConn::connect(&f.server, &f.shared).await;
    let mut viewer = ViewerConn::connect(&f.server, &f.looker).await;
    let sid = session(&mut host, &mut viewer, &f.shared.id).await;
    host.send(&transfer(&sid, TransferOutcome::Sent, true))
        .await;
    // Reports are handled in order: after the pong, it is stored.
    host.assert_quiet().await;

    for who in [&f.looker, &f.owner] {
        let sent = events(&f.api, who, "file_sent").await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        let e = &sent[0];
        assert_eq!(e["kind"], "file_sent");
        assert_eq!(e["actor"], "looker");
        assert_eq!(e["device_id"], f.shared.id.as_str());
        assert_eq!(e["device_name"], "shared pc");
        assert_eq!(e["session_id"], sid.as_str());
        assert_eq!(e["permission"], "view");
        assert_eq!(e["detail"], "looker sent report.pdf (2.1 MB) to shared pc");
        assert_eq!(
            e["file"],
            json!({"path": "report.pdf", "size": 2_100_000, "upload": true, "change": null})
        );
    }
    assert!(events(&f.api, &f.stranger, "file_sent").await.is_empty());
    assert!(events(&f.api, &f.owner, "file_received").await.is_empty());
}

#[tokio::test]
async fn a_transfer_reported_just_after_its_session_ended_still_counts() {
    let f = FeedWorld::start().await;
    let mut host = HostConn::connect(&f.server, &f.shared).await;
    let mut viewer = ViewerConn::connect(&f.server, &f.looker).await;
    let sid = session(&mut host, &mut viewer, &f.shared.id).await;
    viewer
        .send(&ViewerToServer::SessionEnd(SessionEndMsg {
            session_id: sid.clone(),
            reason: meshdesk_protocol::signal::EndReason::ViewerClosed,
            detail: None,
        }))
        .await;
    host.wait_for("session_end", |m| matches!(m, ServerToHost::SessionEnd(_)))
        .await;
    host.send(&transfer(&sid, TransferOutcome::Received, false))
        .await;
    host.send(&transfer(&sid, TransferOutcome::Failed, true))
        .await;
    host.assert_quiet().await;
    let got = events(&f.api, &f.looker, "file_received").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0]["detail"],
        "looker received report.pdf (2.1 MB) from shared pc"
    );
    assert_eq!(got[0]["file"]["upload"], false);
    let failed = events(&f.api, &f.owner, "file_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["detail"],
        "looker's transfer of report.pdf to shared pc failed: disk full"
    );
}

#[tokio::test]
async fn a_transfer_naming_another_devices_session_is_ignored() {
    let f = FeedWorld::start().await;
    let mut shared = HostConn::connect(&f.server, &f.shared).await;
    let mut private = HostConn::connect(&f.server, &f.private).await;
    let mut viewer = ViewerConn::connect(&f.server, &f.owner).await;
    let theirs = session(&mut private, &mut viewer, &f.private.id).await;
    for report in [
        transfer(&theirs, TransferOutcome::Sent, true),
        transfer(
            "ses_00000000000000000000000000000000",
            TransferOutcome::Sent,
            true,
        ),
    ] {
        shared.send(&report).await;
        // No answer (it would tell the host the session exists), and the
        // connection stays up.
        shared.assert_quiet().await;
    }
    for who in [&f.owner, &f.looker] {
        let all = events(&f.api, who, "file_sent&kind=file_received&kind=file_failed").await;
        assert!(all.is_empty(), "{all:?}");
    }
    // The private device's own host may report it.
    private
        .send(&transfer(&theirs, TransferOutcome::Sent, true))
        .await;
    private.assert_quiet().await;
    let sent = events(&f.api, &f.owner, "file_sent").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["device_id"], f.private.id.as_str());
}

#[tokio::test]
async fn a_shared_file_change_is_seen_by_those_the_device_is_shared_with() {
    let f = FeedWorld::start().await;
    let mut looker_live = FeedStream::open(&f.api, &f.looker).await;
    let mut host = HostConn::connect(&f.server, &f.shared).await;
    host.send(&changed("Documents/report.pdf", FileChange::Modified))
        .await;
    host.send(&changed("Documents/new.txt", FileChange::Created))
        .await;
    host.assert_quiet().await;

    let live = looker_live
        .next_where("shared_file_changed", |e| {
            e["kind"] == "shared_file_changed"
        })
        .await;
    assert_eq!(live["detail"], "Documents/report.pdf changed on shared pc");
    for who in [&f.looker, &f.owner] {
        let got = events(&f.api, who, "shared_file_changed").await;
        let shown: Vec<(&str, &str)> = got
            .iter()
            .map(|e| {
                (
                    e["file"]["path"].as_str().unwrap_or(""),
                    e["file"]["change"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("Documents/new.txt", "created"),
                ("Documents/report.pdf", "modified")
            ]
        );
        assert_eq!(
            got[0]["detail"],
            "Documents/new.txt was created on shared pc"
        );
        assert_eq!(got[0]["actor"], Value::Null);
        assert_eq!(got[0]["file"]["size"], Value::Null);
        assert_eq!(got[0]["file"]["upload"], Value::Null);
    }
    assert!(events(&f.api, &f.stranger, "shared_file_changed")
        .await
        .is_empty());
}

#[tokio::test]
async fn bad_paths_are_refused_and_a_flood_is_cut_to_the_hosts_rate() {
    let f = FeedWorld::start().await;
    let mut host = HostConn::connect(&f.server, &f.shared).await;
    for bad in ["a\nb.txt".to_string(), String::new(), "x".repeat(1025)] {
        host.send(&changed(&bad, FileChange::Created)).await;
        let e = host.expect_error(ErrorCode::Invalid).await;
        assert!(e.message.starts_with("path "), "{e:?}");
    }
    let sent = 150;
    for i in 0..sent {
        host.send(&changed(&format!("Documents/{i}.txt"), FileChange::Created))
            .await;
    }
    host.assert_quiet().await;
    let kept = events(&f.api, &f.owner, "shared_file_changed").await.len();
    // A burst of 100, plus 20 a second for the time the sending took.
    assert!((100..sent).contains(&kept), "kept {kept} of {sent}");
}

#[tokio::test]
async fn file_events_reach_the_webhooks_that_want_them() {
    let server = Server::start_with("signup = \"open\"\n[webhooks]\nallow_loopback = true\n");
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let rx = Receiver::start().await;
    let body = json!({"url": rx.url, "kinds": ["shared_file_changed"]});
    let (s, b) = api
        .call("POST", "/webhooks", Some(&alice), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    let mut host = HostConn::connect(&server, &dev).await;
    host.send(&changed("Documents/report.pdf", FileChange::Deleted))
        .await;
    host.assert_quiet().await;
    rx.wait("the change's delivery", Duration::from_secs(20), |got| {
        !got.is_empty()
    })
    .await;
    let payload = rx.received()[0].payload();
    let e = &payload["event"];
    assert_eq!(e["kind"], "shared_file_changed");
    assert_eq!(e["device_id"], dev.id.as_str());
    assert_eq!(e["detail"], "Documents/report.pdf was deleted on office-pc");
    assert_eq!(e["file"]["change"], "deleted");
}
