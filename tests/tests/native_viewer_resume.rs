//! The real `meshdesk-viewer` loses its signaling connection in the middle
//! of a session with a real `meshdesk-host`: its WebSocket goes through a
//! TCP proxy that the test cuts (a proxy reset: both ends closed) or
//! freezes (a network change: the old connection is half-open, nothing
//! passes and nothing says so). The viewer notices, reconnects and resumes
//! the session; the host is never told it ended, pictures keep coming until
//! the end, and the session still ends properly, by the viewer. A session
//! the server no longer has (it restarted) ends with a clear error.

use std::process::Stdio;
use std::time::{Duration, Instant};

use meshdesk_tests::tcp_proxy::TcpProxy;
use meshdesk_tests::viewer::{motion, wait_online, Running, ViewerHome};
use meshdesk_tests::{wait_until, Api, Host, Server, Xvfb, WAIT};

/// A server, a host showing motion, and a viewer signed in through a proxy.
struct Rig {
    server: Server,
    api: Api,
    alice: String,
    host: Host,
    home: ViewerHome,
    proxy: TcpProxy,
    _motion: Running,
    _x: Xvfb,
}

async fn rig() -> Rig {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 360);
    let home = ViewerHome::new();
    let _motion = motion(&x, &home.dir.0);
    let host = Host::start(&server, &api, &alice, &x, "xvfb-pc").await;
    wait_online(&api, &alice, &host.device_id).await;

    // The viewer knows the server only through the proxy.
    let upstream = server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("server address");
    let proxy = TcpProxy::start(upstream);
    let out = home
        .command(&["login", "--server", &proxy.base(), "--username", "alice"])
        .env("MESHDESK_PASSWORD", "password-123")
        .stdin(Stdio::null())
        .output()
        .expect("run login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Rig {
        server,
        api,
        alice,
        host,
        home,
        proxy,
        _motion,
        _x: x,
    }
}

impl Rig {
    /// `connect --headless --duration SECS --stats-json`, running; its
    /// stdout goes to `stats.json` in the viewer's directory.
    fn start_viewer(&self, session_secs: f64) -> Running {
        let home = &self.home;
        let log = home.dir.0.join("viewer.log");
        let stats = home.dir.0.join("stats.json");
        let duration = format!("{session_secs}");
        let child = home
            .command(&[
                "connect",
                "xvfb-pc",
                "--headless",
                "--duration",
                &duration,
                "--stats-json",
            ])
            .stdout(std::fs::File::create(&stats).expect("stats file"))
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start viewer");
        let viewer = Running {
            child,
            log,
            name: "viewer",
        };
        wait_until("the session", Duration::from_secs(20), || {
            self.host.log_text().contains("viewer connected")
        });
        viewer
    }
}

/// Wait up to `bound` for the viewer to exit.
fn exit_status(viewer: &mut Running, bound: Duration) -> std::process::ExitStatus {
    let child = &mut viewer.child;
    let mut status = None;
    wait_until("the viewer to exit", bound, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    status.expect("exited")
}

/// A `session_secs` headless session through a proxy, interrupted by
/// `interrupt` two seconds after it connected; checks that it was resumed
/// within `resume_bound` and went on to the end.
async fn session_survives(session_secs: f64, resume_bound: Duration, interrupt: fn(&TcpProxy)) {
    let r = rig().await;
    let mut viewer = r.start_viewer(session_secs);
    std::thread::sleep(Duration::from_secs(2));
    let before = r.proxy.accepted();
    interrupt(&r.proxy);
    let resumed_after = wait_until("the viewer to resume", resume_bound, || {
        viewer.log_text().contains("session resumed")
    });
    eprintln!("resumed {resumed_after:?} after the interruption");
    assert!(
        r.proxy.accepted() > before,
        "the viewer connected again through the proxy"
    );
    // Detached and resumed, or (the old connection still looking alive)
    // taken over at once with the session's secret.
    let server_log = r.server.log_text();
    assert!(server_log.contains("session resumed"), "{server_log}");
    // The host was never told the session ended.
    let host_log = r.host.log_text();
    assert!(!host_log.contains("session ended"), "{host_log}");

    let status = exit_status(&mut viewer, Duration::from_secs_f64(session_secs));
    let text = std::fs::read_to_string(r.home.dir.0.join("stats.json")).expect("stats");
    assert!(
        status.success(),
        "viewer exit {status}: {text}\n--- viewer log ---\n{}",
        viewer.log_text()
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("stats JSON");
    eprintln!("stats: {v}");
    // Pictures kept coming until the end of the session.
    let last = v["last_frame_ms"].as_f64().expect("last_frame_ms");
    let total = v["duration_s"].as_f64().expect("duration_s") * 1000.0;
    assert!(
        last > total - 2_000.0,
        "pictures stopped at {last} ms of {total} ms: {v}"
    );
    // One session, started and ended once, and not for want of a resume.
    // (The viewer does not wait for the server to handle its last message;
    // its `session_end` races the host's, which sees the peer connection
    // close, so either may be recorded.)
    let deadline = Instant::now() + WAIT;
    let sessions = loop {
        let (_, page) = r.api.call("GET", "/events", Some(&r.alice), None).await;
        let sessions: Vec<serde_json::Value> = page["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| {
                e["kind"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("session_"))
            })
            .cloned()
            .collect();
        if sessions.len() >= 2 || Instant::now() > deadline {
            break sessions;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let kinds: Vec<&str> = sessions.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["session_ended", "session_started"], "{sessions:?}");
    let detail = sessions[0]["detail"].as_str().unwrap_or_default();
    assert!(
        ["closed by the viewer", "connection failed"].contains(&detail),
        "{sessions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_signaling_connection_is_resumed_at_once() {
    session_survives(10.0, Duration::from_secs(5), TcpProxy::cut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_signaling_connection_is_noticed_and_resumed() {
    // The viewer notices within its heartbeat timeout (9 to 12 s); the
    // server still holds the old connection, probes it when the viewer asks
    // for the session, and closes it 5 s later; the viewer's retry succeeds.
    session_survives(26.0, Duration::from_secs(22), TcpProxy::freeze).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_server_no_longer_has_ends_with_a_clear_error() {
    let mut r = rig().await;
    let mut viewer = r.start_viewer(60.0);
    // A restart forgets every session; the viewer reaches the new server
    // through the same proxy and is refused.
    r.server.restart_same_address();
    let status = exit_status(&mut viewer, WAIT * 2);
    assert!(!status.success(), "the viewer must fail");
    let log = viewer.log_text();
    let last = log.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "meshdesk-viewer: lost the connection to the server and could not resume the session: \
         the server no longer has the session (it ended or waited too long)",
        "{log}"
    );
}
