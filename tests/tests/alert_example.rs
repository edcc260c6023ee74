//! The client crate's `alert` example, the third-party program of issue
//! 22, run against the real server: a test host goes offline and it
//! prints the alert line, and runs its `--exec` command with the alert in
//! the environment.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use meshdesk_tests::server::{example, TempDir};
use meshdesk_tests::{Api, HostConn, Server, TestDevice, WAIT};

/// The running example, killed on drop, with its stdout as lines.
struct Alert {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Alert {
    fn start(server: &Server, token: &str, args: &[&str]) -> Alert {
        let mut child = Command::new(example("alert"))
            .args(["--server", &server.base])
            .args(args)
            .env("MESHDESK_TOKEN", token)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the alert example");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Alert { child, lines }
    }
}

impl Drop for Alert {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Takes `dev` online and offline until `alert` prints a line (the
/// example connects to the feed on its own schedule; an offline before
/// that is not news to it). The first line printed.
async fn cycle_until_alert(
    server: &Server,
    api: &Api,
    token: &str,
    dev: &TestDevice,
    alert: &Alert,
) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let host = HostConn::connect(server, dev).await;
        let online = Instant::now() + WAIT;
        while !api.online(token, &dev.id).await {
            assert!(Instant::now() < online, "the test host never came online");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(host);
        if let Ok(line) = alert.lines.recv_timeout(Duration::from_secs(2)) {
            return line;
        }
        assert!(Instant::now() < deadline, "no alert line within {WAIT:?}");
    }
}

#[tokio::test]
async fn prints_an_alert_when_a_chosen_device_goes_offline() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&token).await, "office-pc").await;
    let other = TestDevice::enroll(&api, &api.code(&token).await, "laptop").await;
    // A third-party program signs in with an API token that may only read.
    let body = serde_json::json!({"name": "alert", "scopes": ["devices:read", "events:read"]});
    let (status, created) = api.call("POST", "/tokens", Some(&token), Some(body)).await;
    assert_eq!(status.as_u16(), 201, "{created}");
    let api_token = created["token"].as_str().expect("token");
    let alert = Alert::start(
        &server,
        api_token,
        &["--device", "office-pc", "--on", "offline"],
    );
    let laptop = HostConn::connect(&server, &other).await;
    let line = cycle_until_alert(&server, &api, &token, &dev, &alert).await;
    let rest = line
        .strip_prefix("ALERT office-pc went offline at ")
        .unwrap_or_else(|| panic!("unexpected line: {line}"));
    assert!(
        rest.ends_with('Z') && rest.len() == 20,
        "an RFC 3339 time: {rest}"
    );
    // Now that it watches: the device not chosen goes offline, then the
    // chosen one again. The next line is about the chosen one.
    drop(laptop);
    let line = cycle_until_alert(&server, &api, &token, &dev, &alert).await;
    assert!(line.starts_with("ALERT office-pc went offline"), "{line}");
}

#[tokio::test]
async fn runs_the_exec_command_with_the_alert_and_the_event() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&token).await, "office-pc").await;
    let dir = TempDir::new("alert-exec");
    let out = dir.0.join("alert.txt");
    let script = format!(
        "printf '%s\\n%s\\n' \"$MESHDESK_ALERT\" \"$MESHDESK_EVENT\" > '{}'",
        out.display()
    );
    let alert = Alert::start(&server, &token, &["--exec", "sh", "-c", &script]);
    let line = cycle_until_alert(&server, &api, &token, &dev, &alert).await;
    // Printed first, then the command runs: wait for its file.
    let deadline = Instant::now() + WAIT;
    let text = loop {
        match std::fs::read_to_string(&out) {
            Ok(t) if t.lines().count() == 2 => break t,
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "the --exec command never wrote its file"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(line.as_str()));
    let event: serde_json::Value =
        serde_json::from_str(lines.next().expect("the event")).expect("event JSON");
    assert_eq!(event["kind"], "device_offline", "{event}");
    assert_eq!(event["device_id"], dev.id.as_str());
}
