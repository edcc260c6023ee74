//! The real `meshdesk-host run` under a test `NOTIFY_SOCKET`, as systemd
//! runs it with `Type=notify` and `WatchdogSec=`: `READY=1` only once it
//! is online, `WATCHDOG=1` every `WATCHDOG_USEC/2`, and no pings while
//! its capture thread is stuck (the test stops the X server with SIGSTOP
//! during a session, then continues it).

use std::time::{Duration, Instant};

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::notify::NotifySocket;
use meshdesk_tests::viewer::{wait_online, Running, ViewerHome};
use meshdesk_tests::{wait_until, Api, Host, Server, Xvfb, WAIT};
use rustix::process::{kill_process, Pid, Signal};

/// systemd's `WatchdogSec` as the test sets it: pings every 500 ms.
const WATCHDOG_USEC: &str = "1000000";
const PING_EVERY: Duration = Duration::from_millis(500);

fn host_env(socket: &NotifySocket) -> Vec<(&'static str, String)> {
    vec![
        ("NOTIFY_SOCKET", socket.env()),
        ("WATCHDOG_USEC", WATCHDOG_USEC.to_string()),
    ]
}

fn run_host(host: &mut Host, x: &Xvfb, socket: &NotifySocket) {
    let env = host_env(socket);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    host.run_with_env(x, &env);
}

/// Stops an X server; continues it on drop, so a failing test does not
/// leave a stopped process behind.
struct Stopped(u32);

impl Stopped {
    fn stop(x: &Xvfb) -> Stopped {
        signal(x.pid(), Signal::STOP);
        Stopped(x.pid())
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.0, Signal::CONT);
    }
}

fn signal(pid: u32, sig: Signal) {
    let pid = Pid::from_raw(pid as i32).expect("a real pid");
    kill_process(pid, sig).expect("signal the X server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_comes_once_online_and_pings_keep_time() {
    let mut server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 480);
    let mut host = Host::enroll(&server, &api, &alice, "notify-pc").await;
    let mut socket = NotifySocket::bind();

    // Server away: the agent is alive (pings) but not ready.
    server.stop();
    let started = Instant::now();
    run_host(&mut host, &x, &socket);
    socket.wait_for("WATCHDOG=1", started, WAIT);
    let offline_until = Instant::now() + Duration::from_secs(2);
    wait_until("two seconds offline", WAIT, || {
        Instant::now() > offline_until
    });
    assert!(
        !socket.seen().iter().any(|n| n.line == "READY=1"),
        "READY=1 before the agent was online: {:?}",
        socket.seen()
    );

    // Server back: READY=1 once the server has it online.
    server.restart_same_address();
    let ready = socket.wait_for("READY=1", started, Duration::from_secs(30));
    let token = api.login("alice").await;
    assert!(
        api.online(&token, &host.device_id).await,
        "READY=1 but the server does not show the device online"
    );
    assert!(
        socket.seen().iter().any(|n| n.line == "STATUS=online"),
        "{:?}",
        socket.seen()
    );

    // Pings every WATCHDOG_USEC / 2.
    let from = ready.at;
    let to = from + Duration::from_secs(3);
    wait_until("three seconds of pings", WAIT, || Instant::now() > to);
    let pings = socket.times("WATCHDOG=1", from, to);
    assert!(
        (5..=7).contains(&pings.len()),
        "{} pings in 3 s at {PING_EVERY:?}",
        pings.len()
    );
    for gap in pings.windows(2).map(|w| w[1] - w[0]) {
        assert!(
            gap > PING_EVERY / 2 && gap < PING_EVERY * 2,
            "ping gap {gap:?}, want about {PING_EVERY:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_capture_thread_stops_the_pings() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 480);
    x.paint(0x336699);
    let mut host = Host::enroll(&server, &api, &alice, "stuck-pc").await;
    let mut socket = NotifySocket::bind();
    run_host(&mut host, &x, &socket);
    wait_online(&api, &alice, &host.device_id).await;
    socket.wait_for("READY=1", Instant::now() - WAIT, WAIT);

    // A session streams from the display.
    let home = ViewerHome::new();
    home.login_ok(&server, "alice", PASSWORD);
    let log = home.dir.0.join("viewer.log");
    let child = home
        .command(&["connect", "stuck-pc", "--headless", "--duration", "30"])
        .stderr(std::fs::File::create(&log).expect("log"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the viewer");
    let _viewer = Running {
        child,
        log,
        name: "viewer",
    };
    wait_until("the session to connect", WAIT, || {
        host.log_text().contains("viewer connected")
    });

    // The X server stops answering: the capture thread blocks in its next
    // X request, the signaling task goes on, and the pings stop.
    let stopped_at = Instant::now();
    let stopped = Stopped::stop(&x);
    let quiet_from = stopped_at + PING_EVERY * 2;
    let quiet_to = quiet_from + Duration::from_secs(2);
    wait_until("two quiet seconds", WAIT, || Instant::now() > quiet_to);
    let pings = socket.times("WATCHDOG=1", quiet_from, quiet_to);
    assert!(
        pings.is_empty(),
        "{} pings while capture was stuck",
        pings.len()
    );
    let log = host.log_text();
    let stuck = log.lines().find(|l| l.contains("a loop is stuck"));
    assert!(
        stuck.is_some_and(|l| l.contains("Capture")),
        "the agent names the stuck loop: {stuck:?}"
    );
    assert!(
        api.online(&alice, &host.device_id).await,
        "the signaling connection stays up"
    );

    // The X server answers again: so does the capture, and pings resume.
    let continued = Instant::now();
    drop(stopped);
    socket.wait_for("WATCHDOG=1", continued, WAIT);
}
