//! Metrics and health with the real binaries: `/metrics` is off by default,
//! guarded by its token, and moves to its own address when configured;
//! `/healthz` answers; and during a real session (a real host on Xvfb and
//! the real native viewer) the server's and the host's counters move.

use std::time::{Duration, Instant};

use meshdesk_protocol::signal::{ErrorCode, ServerToViewer};
use meshdesk_tests::prom::{get, logged_addr, scrape, Scrape};
use meshdesk_tests::viewer::{motion, wait_online, Running, ViewerHome};
use meshdesk_tests::{Api, Host, Server, ViewerConn, Xvfb, WAIT};

const PASSWORD: &str = "password-123";
const SERVER_TOKEN: &str = "server-scrape-token";
const HOST_TOKEN: &str = "host-scrape-token";

/// Scrape `url` until `done` holds of it; fails the test after [`WAIT`].
async fn scrape_until(
    url: &str,
    token: &str,
    what: &str,
    done: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = get(url, Some(token)).await;
        if status == 200 {
            let s = Scrape::parse(&body);
            if done(&s) {
                return s;
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_by_default_and_health_answers() {
    let server = Server::start();
    let (status, _) = get(&format!("{}/metrics", server.base), None).await;
    assert_eq!(status, 404, "off unless configured");
    let (status, body) = get(&format!("{}/healthz", server.base), None).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v, serde_json::json!({ "status": "ok" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_enforced_on_the_main_listener() {
    let server = Server::start_with(&format!(
        "signup = \"open\"\n[metrics]\nenabled = true\ntoken = \"{SERVER_TOKEN}\"\n"
    ));
    let url = format!("{}/metrics", server.base);
    for wrong in [None, Some("not-the-token")] {
        let (status, body) = get(&url, wrong).await;
        assert_eq!(status, 401, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
        assert!(v["error"].is_string(), "{v}");
    }
    let s = scrape(&url, Some(SERVER_TOKEN)).await;
    assert!(s.has("meshdesk_devices_online"), "{s:?}");
    assert!(
        !server.log_text().contains(SERVER_TOKEN),
        "the token is never logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_listen_address_serves_metrics_and_the_main_one_does_not() {
    let server = Server::start_with("signup = \"open\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let own = server.next_printed_url();
    let (status, _) = get(&format!("{}/metrics", server.base), None).await;
    assert_eq!(status, 404, "not on the main listener");
    let s = scrape(&format!("{own}/metrics"), None).await;
    assert!(s.has("meshdesk_http_responses_total"), "{s:?}");
    // The main listener's health check is still there.
    let (status, _) = get(&format!("{}/healthz", server.base), None).await;
    assert_eq!(status, 200);
}

/// Server (metrics on, with a token), user `alice`, and a real host on
/// Xvfb serving its own metrics, online, with something moving on screen.
struct Session {
    server: Server,
    api: Api,
    alice: String,
    x: Xvfb,
    host: Host,
    host_metrics: String,
    home: ViewerHome,
    _motion: Running,
}

async fn session_setup() -> Session {
    let server = Server::start_with(&format!(
        "signup = \"open\"\n[metrics]\nenabled = true\ntoken = \"{SERVER_TOKEN}\"\n"
    ));
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 480);
    let mut host = Host::enroll(&server, &api, &alice, "xvfb-pc").await;
    let mut cfg = std::fs::read_to_string(&host.config).expect("host config");
    cfg.push_str(&format!(
        "\n[metrics]\nlisten = \"127.0.0.1:0\"\ntoken = \"{HOST_TOKEN}\"\n"
    ));
    std::fs::write(&host.config, cfg).expect("write host config");
    host.run(&x);
    wait_online(&api, &alice, &host.device_id).await;
    let mut addr = None;
    meshdesk_tests::wait_until("the host's metrics address", WAIT, || {
        addr = logged_addr(&host.log_text(), "serving metrics");
        addr.is_some()
    });
    let addr = addr.expect("waited for it");
    let home = ViewerHome::new();
    let motion = motion(&x, &home.dir.0);
    Session {
        server,
        api,
        alice,
        x,
        host,
        host_metrics: format!("http://{addr}/metrics"),
        home,
        _motion: motion,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_session_moves_the_server_and_host_counters() {
    let s = session_setup().await;
    let server_metrics = format!("{}/metrics", s.server.base);
    let h0 = scrape_until(&s.host_metrics, HOST_TOKEN, "the host's metrics", |_| true).await;
    let (status, _) = get(&s.host_metrics, None).await;
    assert_eq!(status, 401, "the host wants its token");
    let s0 = scrape(&server_metrics, Some(SERVER_TOKEN)).await;
    assert_eq!(s0.value("meshdesk_devices_online", &[]), 1.0);

    // A failed sign-in (a 4xx) and a refused WebSocket message.
    let bad = serde_json::json!({ "username": "alice", "password": "wrong-password" });
    let (status, _) = s.api.call("POST", "/login", None, Some(bad)).await;
    assert_eq!(status, 401);
    let mut ws = ViewerConn::connect(&s.server, &s.alice).await;
    ws.send_raw("this is not JSON").await;
    ws.wait_for(
        "the refusal",
        |m| matches!(m, ServerToViewer::Error(e) if e.code == ErrorCode::Malformed),
    )
    .await;

    // A real session from the native viewer, long enough for two scrapes.
    s.home.login_ok(&s.server, "alice", PASSWORD);
    let log = s.home.dir.0.join("connect.log");
    let child = s
        .home
        .command(&["connect", "xvfb-pc", "--headless", "--duration", "6"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start viewer");
    let mut viewer = Running {
        child,
        log,
        name: "meshdesk-viewer connect",
    };
    let sent = |h: &Scrape| h.value("meshdesk_host_frames_sent_total", &[]);
    let encoded = |h: &Scrape| h.value("meshdesk_host_frames_encoded_total", &[]);
    let h1 = scrape_until(&s.host_metrics, HOST_TOKEN, "frames sent", |h| {
        h.value("meshdesk_host_sessions_active", &[]) == 1.0 && sent(h) > sent(&h0)
    })
    .await;
    let h2 = scrape_until(&s.host_metrics, HOST_TOKEN, "more frames", |h| {
        sent(h) > sent(&h1) && encoded(h) > encoded(&h1)
    })
    .await;
    assert!(h2.value("meshdesk_host_frames_captured_total", &[]) >= encoded(&h2));
    assert!(h2.value("meshdesk_host_encode_seconds_count", &[]) >= encoded(&h2) - encoded(&h0));
    assert!(h2.value("meshdesk_host_video_bytes_sent_total", &[]) > 0.0);
    assert_eq!(h2.value("meshdesk_host_sessions_started_total", &[]), 1.0);
    let mid = scrape(&server_metrics, Some(SERVER_TOKEN)).await;
    assert_eq!(mid.value("meshdesk_sessions_active", &[]), 1.0, "{mid:?}");
    assert!(mid.value("meshdesk_viewers_connected", &[]) >= 1.0);

    let status = viewer.wait_exit();
    assert!(status.success(), "viewer: {}", viewer.log_text());
    let s1 = scrape_until(&server_metrics, SERVER_TOKEN, "the session's end", |m| {
        m.value("meshdesk_sessions_active", &[]) == 0.0
    })
    .await;
    let grew =
        |name: &str, labels: &[(&str, &str)]| s1.value(name, labels) - s0.value(name, labels);
    assert_eq!(
        grew(
            "meshdesk_sessions_started_total",
            &[("permission", "owner")]
        ),
        1.0
    );
    assert_eq!(grew("meshdesk_session_setup_seconds_count", &[]), 1.0);
    assert_eq!(grew("meshdesk_sign_in_failures_total", &[]), 1.0);
    assert!(
        grew(
            "meshdesk_ws_messages_refused_total",
            &[("code", "malformed")]
        ) >= 1.0
    );
    assert!(grew("meshdesk_http_responses_total", &[("class", "2xx")]) >= 2.0);
    assert!(grew("meshdesk_http_responses_total", &[("class", "4xx")]) >= 1.0);
    let h3 = scrape(&s.host_metrics, Some(HOST_TOKEN)).await;
    assert_eq!(h3.value("meshdesk_host_sessions_active", &[]), 0.0);
    drop((s.x, s.host));
}
