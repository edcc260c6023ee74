//! Two cluster nodes (one PostgreSQL, one nats-server) behind HAProxy
//! configured by the README's example (`docs/examples/haproxy.cfg`),
//! serving HTTPS: a real `meshdesk-host` and a real `meshdesk-viewer` that
//! know only the proxy's URL sign in, come online and hold a session; the
//! node holding the host is killed with SIGKILL, the proxy's health check
//! takes it out, the host is online again through the other node within
//! 10 s, and the session, its media peer to peer and its broker alive,
//! runs on to its end with pictures throughout (no pause over 2 s); or
//! the session's broker is killed, the viewer resumes through the proxy
//! on the host's node, which takes the session over, and it runs on the
//! same way.

use std::process::Stdio;
use std::time::{Duration, Instant};

use meshdesk_tests::nats::NatsServer;
use meshdesk_tests::postgres::PgServer;
use meshdesk_tests::require;
use meshdesk_tests::reverse_proxy::{self, free_port, Proxy};
use meshdesk_tests::tls::TestCa;
use meshdesk_tests::viewer::{motion, wait_online, Running, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb, WAIT};
use meshdesk_xtest::wait_for;

/// The password `Api::user` signs up with.
const PASSWORD: &str = "password-123";
/// How soon a killed node's hosts must be online again (issue 23).
const BACK_ONLINE: Duration = Duration::from_secs(10);
/// Longest pause in the pictures that still counts as running on: far
/// beyond a frame interval, far below what a stall through a reconnect
/// would leave.
const MAX_FREEZE_MS: f64 = 2_000.0;
/// How long the viewer's session runs; the kill comes early in it.
const SESSION_SECS: &str = "7";

/// `http://HOST:PORT` to `HOST:PORT`.
fn upstream(server: &Server) -> String {
    server
        .base
        .strip_prefix("http://")
        .expect("the node speaks plain HTTP")
        .to_string()
}

/// Two nodes behind HAProxy, a host and a running session through it.
struct World {
    _pg: PgServer,
    _nats: NatsServer,
    _proxy: Proxy,
    _x: Xvfb,
    _motion: Running,
    _home: ViewerHome,
    nodes: [Server; 2],
    host: Host,
    viewer: Running,
    /// The node holding the host's connection; the other brokers the
    /// session.
    holder: usize,
    api: Api,
    alice: String,
}

async fn session_behind_haproxy() -> World {
    let pg = PgServer::start();
    let nats = NatsServer::start();
    let port = free_port();
    let behind =
        format!("public_url = \"https://localhost:{port}\"\ntrusted_proxies = [\"127.0.0.1\"]");
    let mut nodes = [
        Server::start_cluster_node_with(&pg.url(), &nats.url(), &behind),
        Server::start_cluster_node_with(&pg.url(), &nats.url(), &behind),
    ];
    let ca = TestCa::new();
    let cert = ca.issue("proxy", &["localhost"]);
    let upstreams = [upstream(&nodes[0]), upstream(&nodes[1])];
    let proxy = Proxy::haproxy(
        port,
        [upstreams[0].as_str(), upstreams[1].as_str()],
        &cert,
        &ca.ca_file,
    );

    // Clients know only the proxy: node 0's record, with the proxy's URL
    // (its process and log stay node 0's).
    nodes[0].base = proxy.url.clone();
    nodes[0].ca_file = Some(proxy.ca_file.clone());
    let api = Api::with_trust(
        &nodes[0],
        &meshdesk_client::Trust::CaFile(proxy.ca_file.clone()),
    );
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 360);
    let home = ViewerHome::new();
    // Pictures change all the time, so a stall would show as a freeze.
    let motion = motion(&x, &home.dir.0);
    let host = Host::start(&nodes[0], &api, &alice, &x, "studio-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    let holder = wait_for("a node to hold the host", WAIT, || {
        nodes
            .iter()
            .position(|n| n.log_text().contains("device online"))
    });

    // A session through the proxy; least-connections puts the viewer's
    // WebSocket on the node without the host.
    let login = home
        .command(&[
            "login",
            "--server",
            &proxy.url,
            "--username",
            "alice",
            "--ca-file",
            &proxy.ca_file.display().to_string(),
        ])
        .env("MESHDESK_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run login");
    assert!(
        login.status.success(),
        "login through the proxy: {}",
        String::from_utf8_lossy(&login.stderr)
    );
    let log = home.dir.0.join("viewer.log");
    let child = home
        .command(&[
            "connect",
            "studio-pc",
            "--headless",
            "--stats-json",
            "--duration",
            SESSION_SECS,
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start viewer");
    let viewer = Running {
        child,
        log,
        name: "viewer",
    };
    wait_for("the host's session", WAIT, || {
        host.log_text().contains("viewer connected").then_some(())
    });
    assert!(
        nodes[1 - holder].log_text().contains("session requested"),
        "the other node brokers the session"
    );
    World {
        _pg: pg,
        _nats: nats,
        _proxy: proxy,
        _x: x,
        _motion: motion,
        _home: home,
        nodes,
        host,
        viewer,
        holder,
        api,
        alice,
    }
}

/// The session runs to its end with pictures throughout.
fn runs_on(w: &mut World) {
    let status = w.viewer.wait_exit();
    assert!(
        status.success(),
        "viewer: {status}\n{}",
        w.viewer.log_text()
    );
    let mut out = String::new();
    if let Some(mut stdout) = w.viewer.child.stdout.take() {
        use std::io::Read;
        stdout.read_to_string(&mut out).expect("stats");
    }
    let stats: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert!(stats["frames_decoded"].as_u64().unwrap_or(0) > 0, "{stats}");
    let freeze = stats["longest_freeze_ms"].as_f64().unwrap_or(f64::INFINITY);
    eprintln!("longest freeze {freeze} ms");
    assert!(freeze < MAX_FREEZE_MS, "the pictures stopped: {stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_host_comes_back_through_the_other_and_the_session_runs_on() {
    require!(reverse_proxy::unavailable("haproxy", "haproxy"));
    let mut w = session_behind_haproxy().await;
    let (holder, broker) = (w.holder, 1 - w.holder);

    // Kill the host's node: the host is back, through the proxy, on the
    // other node.
    let killed = Instant::now();
    w.nodes[holder].kill();
    let back = wait_for("the host online again", BACK_ONLINE, || {
        let log = w.nodes[broker].log_text();
        log.contains("device online").then(|| killed.elapsed())
    });
    eprintln!("online again through the other node {back:?} after the kill");
    let client = w.api.client(&w.alice);
    let devices = client.devices().await.expect("devices through the proxy");
    assert!(devices[0].online, "{devices:?}");
    runs_on(&mut w);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_broker_is_killed_is_taken_over_and_runs_on() {
    require!(reverse_proxy::unavailable("haproxy", "haproxy"));
    let mut w = session_behind_haproxy().await;
    let (holder, broker) = (w.holder, 1 - w.holder);

    // Kill the session's broker: the viewer resumes through the proxy on
    // the host's node, which takes the session over.
    w.nodes[broker].kill();
    wait_for("the session taken over", WAIT, || {
        w.nodes[holder]
            .log_text()
            .contains("session taken over")
            .then_some(())
    });
    assert!(!w.host.log_text().contains("session ended"));
    runs_on(&mut w);
}
