//! Durable state survives a restart: accounts, tokens, devices, shares and
//! the feed are in the SQLite file, not in memory.

use meshdesk_tests::{Api, HostConn, Server, TestDevice};
use reqwest::StatusCode;

#[tokio::test]
async fn data_written_before_a_restart_is_there_after_it() {
    let mut server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    api.user("bob").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    api.share(&alice, &dev.id, "bob", "control").await;
    let (_, before) = api
        .call("GET", "/events?limit=200", Some(&alice), None)
        .await;

    assert!(server.stop(), "graceful shutdown on SIGTERM exits 0");
    server.restart();
    assert!(server.db_path().exists());
    let api = Api::new(&server);

    // The old token still works; the device, its share and the feed remain.
    let (s, list) = api.call("GET", "/devices", Some(&alice), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list[0]["name"], "office-pc");
    assert_eq!(
        list[0]["online"], false,
        "presence is live state, not restored"
    );
    let (_, shares) = api
        .call(
            "GET",
            &format!("/devices/{}/shares", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(shares[0]["permission"], "control");
    let (_, after) = api
        .call("GET", "/events?limit=200", Some(&alice), None)
        .await;
    assert_eq!(after, before);
    // Passwords still verify and the device key still authenticates.
    api.login("bob").await;
    let _host = HostConn::connect(&server, &dev).await;
}
