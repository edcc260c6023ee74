//! The real `meshdesk-viewer` with several servers in its login (`login
//! --server A --server B`): a dead first server is skipped by `login` and
//! by every later command, and the error when none answers names each;
//! and a session whose server URL dies mid-session (a TCP proxy in front,
//! stopped) is resumed through the next URL, the session going on to its
//! end.

use std::time::Duration;

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::server::dead_url;
use meshdesk_tests::tcp_proxy::TcpProxy;
use meshdesk_tests::viewer::{motion, wait_online, Running, ViewerHome};
use meshdesk_tests::{wait_until, Api, Host, HostConn, Server, TestDevice, Xvfb};

#[tokio::test]
async fn a_login_whose_first_server_is_down_still_signs_in_and_lists_devices() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    let _online = HostConn::connect(&server, &dev).await;

    let home = ViewerHome::new();
    let dead = dead_url();
    let out = home.login_at(&[&dead, &server.base], "alice", PASSWORD);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("on {};", server.base)),
        "signed in on the live one: {stdout}"
    );
    let file = std::fs::read_to_string(home.config()).expect("login file");
    assert!(
        file.starts_with(&format!("server = [\"{dead}\", \"{}\"]\n", server.base)),
        "both kept, in order: {file}"
    );

    let out = home.run(&["list", "--json"]);
    assert!(
        out.status.success(),
        "list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let listed = list.as_array().expect("a list");
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["id"], dev.id.as_str());
    assert_eq!(listed[0]["online"], true);

    // Nobody answers at all: the error names each server.
    let other_dead = dead_url();
    std::fs::write(home.config(), file.replace(&server.base, &other_dead)).expect("edit");
    let out = home.run(&["list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "meshdesk-viewer: cannot reach the server at any of {dead}, {other_dead}: {dead}: "
        )) && last.contains(&format!("; {other_dead}: ")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_server_url_dies_is_resumed_through_the_next() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 360);
    let home = ViewerHome::new();
    let _motion = motion(&x, &home.dir.0);
    let host = Host::start(&server, &api, &alice, &x, "xvfb-pc").await;
    wait_online(&api, &alice, &host.device_id).await;

    // The first URL is a proxy in front of the server, the second the
    // server itself: one service under two names.
    let upstream = server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("server address");
    let proxy = TcpProxy::start(upstream);
    let out = home.login_at(&[&proxy.base(), &server.base], "alice", PASSWORD);
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let log = home.dir.0.join("viewer.log");
    let stats = home.dir.0.join("stats.json");
    let child = home
        .command(&[
            "connect",
            "xvfb-pc",
            "--headless",
            "--duration",
            "10",
            "--stats-json",
        ])
        .stdout(std::fs::File::create(&stats).expect("stats file"))
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start viewer");
    let mut viewer = Running {
        child,
        log,
        name: "viewer",
    };
    wait_until("the session", Duration::from_secs(20), || {
        host.log_text().contains("viewer connected")
    });
    assert!(
        proxy.accepted() > 0,
        "the session's signaling went through the proxy"
    );

    // The first URL dies: its open connections close and new ones are
    // refused.
    drop(proxy);
    let resumed_after = wait_until("the viewer to resume", Duration::from_secs(5), || {
        viewer.log_text().contains("session resumed")
    });
    eprintln!("resumed {resumed_after:?} after the first URL died");
    let resumed_line = viewer
        .log_text()
        .lines()
        .find(|l| l.contains("signaling connection back"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        resumed_line.contains(&server.base),
        "resumed through the second URL: {resumed_line}"
    );
    assert!(server.log_text().contains("session resumed"));
    assert!(
        !host.log_text().contains("session ended"),
        "the host never saw it end"
    );

    let mut status = None;
    wait_until(
        "the viewer to end its session",
        Duration::from_secs(20),
        || {
            status = viewer.child.try_wait().expect("try_wait");
            status.is_some()
        },
    );
    let status = status.expect("exited");
    let text = std::fs::read_to_string(&stats).expect("stats");
    assert!(
        status.success(),
        "viewer exit {status}: {text}\n--- viewer log ---\n{}",
        viewer.log_text()
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("stats JSON");
    let last = v["last_frame_ms"].as_f64().expect("last_frame_ms");
    let total = v["duration_s"].as_f64().expect("duration_s") * 1000.0;
    assert!(
        last > total - 2_000.0,
        "pictures stopped at {last} ms of {total} ms: {v}"
    );
}
