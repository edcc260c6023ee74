//! Two signaling nodes on one PostgreSQL and one NATS server: a host
//! connected to node A is seen online, live, by viewers connected to node
//! B, and offline when its connection ends; a node that joins later
//! learns who is online from the others.

use meshdesk_protocol::signal::ServerToViewer;
use meshdesk_tests::nats::NatsServer;
use meshdesk_tests::postgres::PgServer;
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn};

fn presence_of(m: &ServerToViewer, id: &str, want: bool) -> bool {
    matches!(m, ServerToViewer::Presence { device_id, online, .. } if device_id == id && *online == want)
}

#[tokio::test]
async fn a_host_on_one_node_is_seen_live_by_viewers_on_another() {
    let pg = PgServer::start();
    let nats = NatsServer::start();
    let a = Server::start_cluster_node(&pg.url(), &nats.url());
    let b = Server::start_cluster_node(&pg.url(), &nats.url());
    let api_a = Api::new(&a);
    let api_b = Api::new(&b);
    let alice = api_a.user("alice").await;
    let bob = api_a.user("bob").await;
    let dev = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "office-pc").await;
    api_a.share(&alice, &dev.id, "bob", "view").await;

    // Bob watches through node B; the token issued by A is good there.
    let mut watcher = ViewerConn::connect(&b, &bob).await;
    watcher
        .wait_for("initial presence", |m| presence_of(m, &dev.id, false))
        .await;

    let host = HostConn::connect(&a, &dev).await;
    watcher
        .wait_for("online through the bus", |m| presence_of(m, &dev.id, true))
        .await;
    assert!(api_b.online(&alice, &dev.id).await, "B's REST API agrees");

    // A node started now hears from A who is online.
    let c = Server::start_cluster_node(&pg.url(), &nats.url());
    let mut late = ViewerConn::connect(&c, &alice).await;
    late.wait_for("online on a later node", |m| presence_of(m, &dev.id, true))
        .await;

    drop(host);
    watcher
        .wait_for("offline through the bus", |m| {
            presence_of(m, &dev.id, false)
        })
        .await;
    late.wait_for("offline on the later node", |m| {
        presence_of(m, &dev.id, false)
    })
    .await;
    assert!(!api_b.online(&alice, &dev.id).await);
}

#[tokio::test]
async fn a_host_moving_to_another_node_stays_online() {
    let pg = PgServer::start();
    let nats = NatsServer::start();
    let a = Server::start_cluster_node(&pg.url(), &nats.url());
    let b = Server::start_cluster_node(&pg.url(), &nats.url());
    let api_a = Api::new(&a);
    let alice = api_a.user("alice").await;
    let dev = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "laptop").await;
    let mut watcher = ViewerConn::connect(&a, &alice).await;
    let on_a = HostConn::connect(&a, &dev).await;
    watcher
        .wait_for("online", |m| presence_of(m, &dev.id, true))
        .await;

    // The host reaches B before A sees its old connection end.
    let on_b = HostConn::connect(&b, &dev).await;
    let api_b = Api::new(&b);
    meshdesk_tests::wait_until(
        "A to hear that B holds the host",
        meshdesk_tests::WAIT,
        || a.log_text().contains("presence elsewhere changed"),
    );
    drop(on_a);
    meshdesk_tests::wait_until("A to let go of the host", meshdesk_tests::WAIT, || {
        a.log_text()
            .contains("device now connected to another node")
    });
    assert!(api_b.online(&alice, &dev.id).await);
    assert!(
        Api::new(&a).online(&alice, &dev.id).await,
        "A still sees it online"
    );

    // Nothing told the watcher it went offline before our pong.
    watcher
        .send(&meshdesk_protocol::signal::ViewerToServer::Ping)
        .await;
    loop {
        let m = watcher.recv().await;
        assert!(!presence_of(&m, &dev.id, false), "told offline: {m:?}");
        if m == ServerToViewer::Pong {
            break;
        }
    }
    drop(on_b);
    watcher
        .wait_for("offline once it leaves B", |m| {
            presence_of(m, &dev.id, false)
        })
        .await;
}

#[tokio::test]
async fn after_the_bus_restarts_the_nodes_reconnect_and_repeat_what_was_missed() {
    let pg = PgServer::start();
    let mut nats = NatsServer::start();
    let a = Server::start_cluster_node(&pg.url(), &nats.url());
    let b = Server::start_cluster_node(&pg.url(), &nats.url());
    let api_a = Api::new(&a);
    let alice = api_a.user("alice").await;
    let first = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "desk").await;
    let second = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "laptop").await;
    let mut watcher = ViewerConn::connect(&b, &alice).await;
    let on_a = HostConn::connect(&a, &first).await;
    watcher
        .wait_for("online before the restart", |m| {
            presence_of(m, &first.id, true)
        })
        .await;

    // A host comes while the bus is down: A's announcement reaches
    // nobody, so A repeats what it holds once it is back on the bus.
    nats.stop();
    a.wait_for_log("lost the message bus", 1).await;
    let late = HostConn::connect(&a, &second).await;
    nats.start_again();
    watcher
        .wait_for("the host that came meanwhile, online", |m| {
            presence_of(m, &second.id, true)
        })
        .await;

    // And the bus carries changes again.
    drop(on_a);
    watcher
        .wait_for("offline after the restart", |m| {
            presence_of(m, &first.id, false)
        })
        .await;
    assert!(Api::new(&b).online(&alice, &second.id).await);
    drop(late);
}
