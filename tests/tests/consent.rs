//! Consent on the remote PC with the real parts: the real `meshdesk-host`
//! on Xvfb draws the prompt and the notice, `xdotool` plays the person at
//! the PC, and the real `meshdesk-viewer --headless` is the one asking.
//! Allow starts the session (frames decode), Deny and no answer decline
//! it, "Disconnect" ends it, the host's floor beats a lower server policy,
//! and a remote viewer's own clicks on "Allow" are dropped.

use std::time::{Duration, Instant};

use meshdesk_tests::viewer::{wait_online, Running, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb, WAIT};
use meshdesk_xtest::wait_for;
use serde_json::{json, Value};

const PASSWORD: &str = "password-123";

/// Server, owner `alice` (logged in through the viewer CLI), and a host
/// named `pc` on Xvfb with `floor` appended to its `host.toml`.
struct World {
    server: Server,
    api: Api,
    alice: String,
    x: Xvfb,
    host: Host,
    home: ViewerHome,
}

async fn world(floor: &str) -> World {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(1280, 720);
    let mut host = Host::enroll(&server, &api, &alice, "pc").await;
    let mut text = std::fs::read_to_string(&host.config).expect("config");
    text.push_str(floor);
    std::fs::write(&host.config, text).expect("floor");
    host.run(&x);
    wait_online(&api, &alice, &host.device_id).await;
    let home = ViewerHome::new();
    home.login_ok(&server, "alice", PASSWORD);
    World {
        server,
        api,
        alice,
        x,
        host,
        home,
    }
}

impl World {
    async fn set_consent(&self, body: Value) -> Value {
        let path = format!("/devices/{}", self.host.device_id);
        let (status, device) = self
            .api
            .call("PATCH", &path, Some(&self.alice), Some(body))
            .await;
        assert_eq!(status, 200, "{device}");
        device
    }

    /// `meshdesk-viewer connect pc --headless` for `home`, running.
    fn connect(&self, home: &ViewerHome, secs: &str, name: &'static str) -> Running {
        let log = home.dir.0.join(format!("{name}.log"));
        let child = home
            .command(&[
                "connect",
                "pc",
                "--headless",
                "--duration",
                secs,
                "--stats-json",
            ])
            .stdout(std::fs::File::create(home.dir.0.join(format!("{name}.json"))).expect("out"))
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start viewer");
        Running { child, log, name }
    }

    /// The consent window's button named `label`, once it is shown.
    fn button(&self, label: &str) -> String {
        let name = format!("^{label}$");
        wait_for(label, WAIT, || self.x.find_window(&["--name", &name]))
    }

    fn click(&self, label: &str) {
        let id = self.button(label);
        self.x.run(
            "xdotool",
            &["mousemove", "--window", &id, "10", "10", "click", "1"],
        );
    }

    /// Feed events of `kind` so far.
    async fn events(&self, kind: &str) -> Vec<Value> {
        let (status, page) = self
            .api
            .call(
                "GET",
                &format!("/events?kind={kind}"),
                Some(&self.alice),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        page["events"].as_array().cloned().unwrap_or_default()
    }

    async fn wait_event(&self, kind: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(e) = self.events(kind).await.into_iter().next() {
                return e;
            }
            assert!(Instant::now() < deadline, "no {kind} event");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn exited_ok(viewer: &mut Running) -> bool {
    viewer.wait_exit().success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_starts_the_session_and_deny_declines_it() {
    let w = world("").await;
    let device = w.set_consent(json!({"consent_owner": "prompt"})).await;
    assert_eq!(
        (
            device["consent_owner"].as_str(),
            device["consent_shared"].as_str()
        ),
        (Some("prompt"), Some("unattended"))
    );
    w.wait_event("consent_changed").await;

    let mut viewer = w.connect(&w.home, "2", "allowed");
    let prompt = wait_for("the prompt", WAIT, || {
        w.x.find_window(&["--name", "alice wants to control this PC"])
    });
    assert!(!prompt.is_empty());
    w.click("Allow");
    assert!(exited_ok(&mut viewer), "{}", viewer.log_text());
    let stats: Value = serde_json::from_str(
        &std::fs::read_to_string(w.home.dir.0.join("allowed.json")).expect("stats"),
    )
    .expect("stats json");
    assert!(stats["frames_decoded"].as_u64().unwrap_or(0) > 0, "{stats}");
    assert!(viewer
        .log_text()
        .contains("Waiting for the remote user to allow the session"));
    w.wait_event("consent_allowed").await;

    let mut viewer = w.connect(&w.home, "2", "denied");
    w.click("Deny");
    assert!(!exited_ok(&mut viewer));
    assert!(
        viewer.log_text().contains("The remote user declined"),
        "{}",
        viewer.log_text()
    );
    let denied = w.wait_event("consent_denied").await;
    assert_eq!(denied["detail"], "denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_floor_beats_the_server_and_no_answer_is_a_deny() {
    // The server says unattended; the PC's own floor says prompt, 2 s.
    let w = world("\n[consent]\nowner = \"prompt\"\nprompt_timeout_secs = 2\n").await;
    let started = Instant::now();
    let mut viewer = w.connect(&w.home, "2", "timeout");
    w.button("Allow");
    assert!(!exited_ok(&mut viewer));
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        viewer.log_text().contains("The remote user declined"),
        "{}",
        viewer.log_text()
    );
    let denied = w.wait_event("consent_denied").await;
    assert_eq!(denied["detail"], "no answer");
    assert!(
        w.x.find_window(&["--name", "^Allow$"]).is_none(),
        "the prompt is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyboard_answers_the_prompt() {
    let w = world("\n[consent]\nowner = \"prompt\"\n").await;
    // Escape denies.
    let mut viewer = w.connect(&w.home, "2", "escape");
    w.button("Allow");
    w.x.run("xdotool", &["key", "Escape"]);
    assert!(!exited_ok(&mut viewer));
    assert!(
        viewer.log_text().contains("The remote user declined"),
        "{}",
        viewer.log_text()
    );
    // Deny has the focus first; Tab moves it to Allow, Enter presses it.
    let mut viewer = w.connect(&w.home, "2", "enter");
    w.button("Allow");
    w.x.run("xdotool", &["key", "Tab", "Return"]);
    assert!(exited_ok(&mut viewer), "{}", viewer.log_text());
    w.wait_event("consent_allowed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_shows_who_is_connected_and_disconnect_ends_it() {
    let w = world("").await;
    w.set_consent(json!({"consent_owner": "notify"})).await;
    let mut viewer = w.connect(&w.home, "60", "notified");
    w.click("Disconnect");
    assert!(!exited_ok(&mut viewer));
    assert!(
        viewer
            .log_text()
            .contains("The remote user ended the session"),
        "{}",
        viewer.log_text()
    );
    w.wait_event("consent_ended").await;
    let ended = w.wait_event("session_ended").await;
    assert_eq!(ended["detail"], "ended by the remote user");
    wait_for("the notice to go", WAIT, || {
        w.x.find_window(&["--name", "^Disconnect$"])
            .is_none()
            .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_viewers_clicks_cannot_allow() {
    // bob (shared, control) needs a prompt; alice (owner) is unattended
    // and clicks the centre of the remote screen, where "Allow" is.
    let w = world("\n[consent]\nprompt_timeout_secs = 20\n").await;
    let bob = w.api.user("bob").await;
    assert!(!bob.is_empty());
    w.api
        .share(&w.alice, &w.host.device_id, "bob", "control")
        .await;
    w.set_consent(json!({"consent_shared": "prompt"})).await;
    let bob_home = ViewerHome::new();
    bob_home.login_ok(&w.server, "bob", PASSWORD);
    let mut asking = w.connect(&bob_home, "2", "bob");
    w.button("Allow");

    let clicks = w
        .home
        .command(&[
            "connect",
            "pc",
            "--headless",
            "--measure-latency",
            "3",
            "--stats-json",
        ])
        .output()
        .expect("clicking viewer");
    let clicker = String::from_utf8_lossy(&clicks.stderr).to_string();
    wait_for("the host to drop the clicks", WAIT, || {
        w.host
            .log_text()
            .contains("press on a consent window dropped")
            .then_some(())
    });
    assert!(
        w.events("consent_allowed").await.is_empty(),
        "clicker: {clicker}"
    );
    assert!(
        w.x.find_window(&["--name", "^Allow$"]).is_some(),
        "still asking"
    );
    w.click("Deny");
    assert!(!exited_ok(&mut asking));
    assert!(asking.log_text().contains("The remote user declined"));
}
