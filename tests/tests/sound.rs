//! The PC's sound, end to end, with a real PulseAudio server on each side
//! (a null sink as each one's default): a tone played on the host's side is
//! recorded by the host, sent as Opus in the session, played by the native
//! viewer into its own server's sink, and found there at its frequency.
//! `--no-sound` plays nothing; a view session hears it too; the owner's
//! switch turns it off; a host without a sound server still streams its
//! screen and says why once.

use std::time::Duration;

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::pulse::Pulse;
use meshdesk_tests::viewer::{wait_online, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb};
use serde_json::Value;

const TONE_HZ: f64 = 1000.0;
/// How long the tone may take to be heard at the far end.
const HEARD: Duration = Duration::from_secs(10);

struct World {
    server: Server,
    api: Api,
    alice: String,
    _x: Xvfb,
    host: Host,
    home: ViewerHome,
}

/// A host on `x` whose environment is `env`.
async fn world(env: &[(&str, &str)]) -> World {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 360);
    let mut host = Host::enroll(&server, &api, &alice, "speaker-pc").await;
    host.run_with_env(&x, env);
    wait_online(&api, &alice, &host.device_id).await;
    let home = ViewerHome::new();
    home.login_ok(&server, "alice", PASSWORD);
    World {
        server,
        api,
        alice,
        _x: x,
        host,
        home,
    }
}

impl World {
    fn connect(&self, speakers: &Pulse, secs: &str, extra: &[&str]) -> (Value, String) {
        connect(&self.home, speakers, secs, extra)
    }

    /// The owner's switch, through `PATCH /devices/{id}`.
    async fn switch_sound(&self, on: bool) {
        let path = format!("/devices/{}", self.host.device_id);
        let body = serde_json::json!({ "sound": on });
        let (status, device) = self
            .api
            .call("PATCH", &path, Some(&self.alice), Some(body))
            .await;
        assert_eq!(status, 200, "{device}");
        assert_eq!(device["sound"], on);
    }
}

/// `connect speaker-pc --headless --duration SECS --stats-json EXTRA` with
/// the viewer's sound going to `speakers`: its report and stderr.
fn connect(home: &ViewerHome, speakers: &Pulse, secs: &str, extra: &[&str]) -> (Value, String) {
    let out = home
        .command(&["connect", "speaker-pc", "--headless", "--duration", secs])
        .args(["--stats-json"])
        .args(extra)
        .env("PULSE_SERVER", speakers.server())
        .output()
        .expect("run meshdesk-viewer");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "connect failed: {stderr}\n{stdout}");
    let report = serde_json::from_str(stdout.trim()).expect("one JSON object");
    (report, stderr)
}

/// Run alice's viewer in the background while `check` looks at what it
/// plays.
fn while_connected<T>(
    w: &World,
    speakers: &Pulse,
    extra: &[&str],
    check: impl FnOnce() -> T,
) -> (T, Value, String) {
    while_connected_as(&w.home, speakers, extra, check)
}

/// The same for the viewer signed in at `home`.
fn while_connected_as<T>(
    home: &ViewerHome,
    speakers: &Pulse,
    extra: &[&str],
    check: impl FnOnce() -> T,
) -> (T, Value, String) {
    std::thread::scope(|s| {
        let viewer = s.spawn(move || connect(home, speakers, "6", extra));
        let seen = check();
        let (report, stderr) = viewer.join().expect("viewer thread");
        (seen, report, stderr)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_plays_what_the_host_plays() {
    let pc = Pulse::start();
    let speakers = Pulse::start();
    let w = world(&[("PULSE_SERVER", &pc.server())]).await;
    let _tone = pc.play_tone(TONE_HZ, Duration::from_secs(60));
    let recording = speakers.record();
    let (heard, report, stderr) = while_connected(&w, &speakers, &[], || {
        recording.wait_for_tone(TONE_HZ, HEARD)
    });
    assert!(
        heard.is_some(),
        "the tone never reached the viewer's speakers: {report}\n{stderr}\nhost log:\n{}",
        w.host.log_text()
    );
    assert!(report["frames_decoded"].as_u64() > Some(0), "{report}");
    assert!(
        report["audio_packets_played"].as_u64() > Some(50),
        "{report}"
    );

    // With --no-sound nothing plays, though the host still sends it.
    recording.skip_buffered();
    let (heard, report, _) = while_connected(&w, &speakers, &["--no-sound"], || {
        recording.hears_tone_within(TONE_HZ, Duration::from_secs(5))
    });
    assert!(!heard, "--no-sound played the tone");
    assert_eq!(report["audio_packets_played"], 0, "{report}");
    assert!(
        report["audio_packets_received"].as_u64() > Some(0),
        "{report}"
    );
    assert!(report["frames_decoded"].as_u64() > Some(0), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_can_turn_a_devices_sound_off() {
    let pc = Pulse::start();
    let speakers = Pulse::start();
    let w = world(&[("PULSE_SERVER", &pc.server())]).await;
    w.switch_sound(false).await;
    let _tone = pc.play_tone(TONE_HZ, Duration::from_secs(60));
    let recording = speakers.record();
    let (heard, report, stderr) = while_connected(&w, &speakers, &[], || {
        recording.hears_tone_within(TONE_HZ, Duration::from_secs(5))
    });
    assert!(!heard, "sound turned off by the owner was played");
    assert_eq!(report["audio_packets_received"], 0, "{report}");
    assert!(report["frames_decoded"].as_u64() > Some(0), "{report}");
    assert!(
        stderr.contains("speaker-pc: no sound (the owner turned sound off"),
        "{stderr}"
    );

    // On again: the next session has it.
    w.switch_sound(true).await;
    let (heard, report, _) = while_connected(&w, &speakers, &[], || {
        recording.wait_for_tone(TONE_HZ, HEARD)
    });
    assert!(
        heard.is_some(),
        "sound turned on again was not played: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_a_sound_server_streams_its_screen() {
    let speakers = Pulse::start();
    let nowhere = std::env::temp_dir().join("meshdesk-no-pulse-here/native");
    let nowhere = format!("unix:{}", nowhere.display());
    let w = world(&[("PULSE_SERVER", &nowhere)]).await;
    let (report, stderr) = w.connect(&speakers, "3", &[]);
    assert!(report["frames_decoded"].as_u64() > Some(0), "{report}");
    assert_eq!(report["audio_packets_received"], 0, "{report}");
    assert!(
        stderr.contains("speaker-pc: no sound (no sound server"),
        "{stderr}"
    );
    // A second session: the host said why once, at its start.
    let _ = w.connect(&speakers, "1", &[]);
    let log = w.host.log_text();
    assert_eq!(
        log.matches("no sound: sessions stream video only").count(),
        1,
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_session_hears_the_pc_like_any_other() {
    let pc = Pulse::start();
    let speakers = Pulse::start();
    let w = world(&[("PULSE_SERVER", &pc.server())]).await;
    w.api.user("bob").await;
    w.api
        .share(&w.alice, &w.host.device_id, "bob", "view")
        .await;
    let bob = ViewerHome::new();
    bob.login_ok(&w.server, "bob", PASSWORD);
    let _tone = pc.play_tone(TONE_HZ, Duration::from_secs(60));
    let recording = speakers.record();
    let (heard, report, stderr) = while_connected_as(&bob, &speakers, &[], || {
        recording.wait_for_tone(TONE_HZ, HEARD)
    });
    assert!(
        heard.is_some(),
        "bob's view session played no sound: {report}\n{stderr}"
    );
}
