//! Durable state survives a restart: accounts, tokens, devices, shares and
//! the feed are in the database (the SQLite file, or PostgreSQL), not in
//! memory.

use meshdesk_client::rest::SharePermission;
use meshdesk_client::EventsQuery;
use meshdesk_tests::{Api, HostConn, Server, TestDevice};

#[tokio::test]
async fn data_written_before_a_restart_is_there_after_it() {
    let mut server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    api.user("bob").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    api.share(&alice, &dev.id, "bob", "control").await;
    let all = EventsQuery::new().limit(200);
    let before = api.client(&alice).events_page(&all).await.expect("events");

    assert!(server.stop(), "graceful shutdown on SIGTERM exits 0");
    server.restart();
    assert!(server.postgres.is_some() || server.db_path().exists());
    let api = Api::new(&server);
    let client = api.client(&alice);

    // The old token still works; the device, its share and the feed remain.
    let list = client.devices().await.expect("devices with the old token");
    assert_eq!(list[0].name, "office-pc");
    assert!(!list[0].online, "presence is live state, not restored");
    let shares = client.shares(&dev.id).await.expect("shares");
    assert_eq!(shares[0].permission, SharePermission::Control);
    let after = client.events_page(&all).await.expect("events");
    assert_eq!(after, before);
    // Passwords still verify and the device key still authenticates.
    api.login("bob").await;
    let _host = HostConn::connect(&server, &dev).await;
}
