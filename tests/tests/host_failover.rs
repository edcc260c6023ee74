//! A real `meshdesk-host` with several servers in host.toml (`enroll
//! --server A --server B`): one whose first server is down comes online
//! through the next; and on a two-node cluster (one PostgreSQL, one
//! nats-server), a host whose node is killed with SIGKILL is back online
//! through the other node within 10 s. "Through the other node" is what
//! the agent's own status says (`online via URL`); that node then brokers
//! a session and the host answers with an offer.

use std::time::{Duration, Instant};

use meshdesk_protocol::signal::{ErrorCode, ServerToViewer, ViewerToServer};
use meshdesk_tests::nats::NatsServer;
use meshdesk_tests::postgres::PgServer;
use meshdesk_tests::server::dead_url;
use meshdesk_tests::viewer::wait_online;
use meshdesk_tests::{wait_until, Api, Host, Server, ViewerConn, Xvfb, WAIT};

/// The bound on getting back online after a node dies (issue 23).
const FAILOVER_BOUND: Duration = Duration::from_secs(10);

/// The `server = ...` line of the host's identity file.
fn server_line(host: &Host) -> String {
    let text = std::fs::read_to_string(&host.config).expect("host.toml");
    text.lines()
        .find(|l| l.starts_with("server = "))
        .expect("a server line")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_first_server_is_down_comes_online_through_the_next() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dead = dead_url();
    let code = api.code(&alice).await;
    // Enrollment skips the dead server too, and keeps both, in order.
    let mut host = Host::enroll_at(&server, &[&dead, &server.base], &code, "two-servers-pc");
    let line = server_line(&host);
    assert_eq!(
        line,
        format!("server = [\"{dead}\", \"{}\"]", server.base),
        "both kept in order"
    );

    let x = Xvfb::start(640, 360);
    host.run(&x);
    wait_online(&api, &alice, &host.device_id).await;
    let log = host.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("cannot connect") && l.contains(&dead)),
        "the dead server was tried first: {log}"
    );
    let via = format!("online via {} (agent pid", server.base);
    wait_until("status to say which server", WAIT, || {
        host.status().contains(&via)
    });
}

/// Ask `node` (through `viewer`) for a session on `device_id`: its id, or
/// the error code it refused with.
async fn request_session(viewer: &mut ViewerConn, device_id: &str) -> Result<String, ErrorCode> {
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: device_id.into(),
            request_id: Some("failover".into()),
            screen: None,
            files_only: false,
        })
        .await;
    let answer = viewer
        .wait_for("the answer to the session request", |m| match m {
            ServerToViewer::SessionCreated { request_id, .. } => {
                request_id.as_deref() == Some("failover")
            }
            ServerToViewer::Error(e) => e.request_id.as_deref() == Some("failover"),
            _ => false,
        })
        .await;
    match answer {
        ServerToViewer::SessionCreated { session_id, .. } => Ok(session_id),
        ServerToViewer::Error(e) => Err(e.code),
        other => panic!("not an answer: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_node_is_killed_is_online_through_the_other_node_within_10_s() {
    let pg = PgServer::start();
    let nats = NatsServer::start();
    let mut a = Server::start_cluster_node(&pg.url(), &nats.url());
    let b = Server::start_cluster_node(&pg.url(), &nats.url());
    let api_a = Api::new(&a);
    let alice = api_a.user("alice").await;
    let code = api_a.code(&alice).await;
    let x = Xvfb::start(640, 360);
    let mut host = Host::enroll_at(&a, &[&a.base, &b.base], &code, "cluster-pc");
    host.run(&x);
    wait_online(&api_a, &alice, &host.device_id).await;
    let via_a = format!("online via {} (agent pid", a.base);
    wait_until("the host on node A", WAIT, || {
        host.status().contains(&via_a)
    });

    let mut viewer = ViewerConn::connect(&b, &alice).await;
    a.kill();
    let killed = Instant::now();
    // The agent's own word for where it is: its status names the node.
    let via_b = format!("online via {} (agent pid", b.base);
    wait_until("the host on node B", FAILOVER_BOUND, || {
        host.status().contains(&via_b)
    });
    let back_after = killed.elapsed();
    eprintln!("online through B {back_after:?} after A was killed");

    // B brokers a session for it, and the real agent offers through B.
    let session_id = request_session(&mut viewer, &host.device_id)
        .await
        .expect("B grants a session");
    // The real agent got the grant through B and offers.
    viewer
        .wait_for(
            "the host's offer through B",
            |m| matches!(m, ServerToViewer::Offer(o) if o.session_id == session_id),
        )
        .await;
    assert!(Api::new(&b).online(&alice, &host.device_id).await);
}
