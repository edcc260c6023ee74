//! The server stops on SIGTERM: it tells every host and viewer why (a
//! WebSocket close frame, 1012 "server shutting down"), waits a bounded
//! time for them to go, and exits. The real `meshdesk-host` and a real
//! `meshdesk-viewer` in a session log the reason; once a new server runs
//! on the same address and data dir the host is online again, and the
//! viewer, whose session the new server does not know, ends with a clear
//! message. A client that ignores the close does not hold the exit up, and
//! nothing holds it beyond the grace period.

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use meshdesk_tests::viewer::{motion, wait_online, Running, ViewerHome};
use meshdesk_tests::{wait_until, Api, Host, Server, ViewerConn, Xvfb, WAIT};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// The most the server waits for requests and connections to end
/// (`shutdown::GRACE`).
const GRACE: Duration = Duration::from_secs(5);
/// What the close frames say, as the clients log it.
const LOGGED_REASON: &str = "server shutting down (code 1012)";

/// `connect xvfb-pc --headless` for a long session, running.
fn start_viewer(home: &ViewerHome) -> Running {
    let log = home.dir.0.join("viewer.log");
    let child = home
        .command(&["connect", "xvfb-pc", "--headless", "--duration", "120"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start viewer");
    Running {
        child,
        log,
        name: "viewer",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_viewer_see_why_the_server_stopped_and_come_back() {
    let mut server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 360);
    let home = ViewerHome::new();
    let _motion = motion(&x, &home.dir.0);
    let host = Host::start(&server, &api, &alice, &x, "xvfb-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    let login = home.login(&server, "alice", "password-123");
    assert!(login.status.success(), "{login:?}");
    let mut viewer = start_viewer(&home);
    wait_until("the session", Duration::from_secs(20), || {
        host.log_text().contains("viewer connected")
    });

    let began = Instant::now();
    assert!(server.stop(), "SIGTERM: the server exits 0 in time");
    let took = began.elapsed();
    eprintln!("the server exited {took:?} after SIGTERM");
    assert!(
        took < GRACE,
        "clients that answer the close are not waited out"
    );
    let log = server.log_text();
    for line in [
        "host connection closed: server shutting down",
        "viewer connection closed: server shutting down",
    ] {
        assert!(log.contains(line), "no `{line}` in the server log:\n{log}");
    }
    wait_until("the host to log the reason", WAIT, || {
        host.log_text().contains(LOGGED_REASON)
    });
    wait_until("the viewer to log the reason", WAIT, || {
        viewer.log_text().contains(LOGGED_REASON)
    });
    // Media is peer to peer: the host's session goes on without a server.
    assert!(
        !host.log_text().contains("session ended"),
        "{}",
        host.log_text()
    );

    server.restart_same_address();
    let api = Api::new(&server);
    wait_online(&api, &alice, &host.device_id).await;
    // The viewer reached the new server, which does not know the session.
    let status = viewer.wait_exit();
    assert!(!status.success(), "the viewer must fail");
    let log = viewer.log_text();
    assert_eq!(
        log.lines().last().unwrap_or_default(),
        "meshdesk-viewer: lost the connection to the server and could not resume the session: \
         the server no longer has the session (it ended or waited too long)",
        "{log}"
    );
}

/// Wait for process `pid` (a child of this test, so a zombie once it
/// exited) to exit; panics after `bound`.
fn wait_exited(pid: u32, bound: Duration) {
    wait_until("the server to exit", bound, || {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name in parentheses.
            Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| {
                rest.trim_start().starts_with('Z') || rest.trim_start().starts_with('X')
            }),
            Err(_) => true,
        }
    });
}

/// Send SIGTERM to the server; returns when it was sent.
fn sigterm(server: &Server) -> Instant {
    let pid = server.pid().expect("running");
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_ignores_the_close_does_not_hold_the_exit_up() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    // One viewer reads the close frame; another never reads anything
    // again; a feed stream is open too.
    let mut polite = ViewerConn::connect(&server, &alice).await;
    let _silent = ViewerConn::connect(&server, &alice).await;
    let mut feed = api
        .raw(reqwest::Method::GET, "/events/stream")
        .bearer_auth(&alice)
        .send()
        .await
        .expect("feed stream");

    let signalled = sigterm(&server);
    let close = tokio::time::timeout(WAIT, async {
        loop {
            match polite.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("no close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame in time")
    .expect("with a code and a reason");
    assert_eq!(close.code, CloseCode::Restart);
    assert_eq!(close.reason.as_str(), "server shutting down");
    let ended = tokio::time::timeout(WAIT, async {
        while let Ok(Some(_)) = feed.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the feed stream ended");

    wait_exited(server.pid().expect("pid"), GRACE + Duration::from_secs(3));
    let took = signalled.elapsed();
    eprintln!("the server exited {took:?} after SIGTERM");
    assert!(took < GRACE, "the silent viewer held the exit up: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_holds_the_exit_up_beyond_the_grace_period() {
    let server = Server::start();
    // A host connection that never answers the challenge: its handshake is
    // still waiting (up to 10 s) when the signal comes.
    let (_host, _challenge) = meshdesk_tests::HostConn::open(&server).await;

    let signalled = sigterm(&server);
    wait_exited(server.pid().expect("pid"), GRACE + Duration::from_secs(3));
    let took = signalled.elapsed();
    eprintln!("the server exited {took:?} after SIGTERM");
    assert!(
        took >= GRACE - Duration::from_millis(500),
        "the handshake was given the grace period ({took:?})"
    );
    let log = server.log_text();
    assert!(
        log.contains("connections still open after the grace period"),
        "{log}"
    );
}
