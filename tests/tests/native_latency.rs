//! The native viewer's latency instrument (`connect --headless
//! --measure-latency N`, used by `scripts/bench e2e`) against a real host on
//! Xvfb showing a window that flips colour on every click: it must produce
//! sane numbers, so it cannot silently break. Speed is not asserted here.

use meshdesk_tests::viewer::{wait_online, Probe, ProbeWindow, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb};

const PASSWORD: &str = "password-123";
const SCREEN: (u32, u32) = (1280, 720);

/// Run `connect ARGS` headless with `--stats-json`; the JSON object.
fn connect(home: &ViewerHome, extra: &[&str]) -> serde_json::Value {
    home.connect_stats("flip-pc", extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_latency_gives_sane_numbers() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(SCREEN.0, SCREEN.1);
    let home = ViewerHome::new();
    let mut probe = Probe::start(
        &x,
        &home.dir.0,
        ProbeWindow {
            geometry: (0, 0, SCREEN.0, SCREEN.1),
            colour: 0xff0000,
            flip: Some(0x0000ff),
        },
    );
    let host = Host::start(&server, &api, &alice, &x, "flip-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    let out = home.login(&server, "alice", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Ten clicks, each seen as a flip in the decoded picture.
    let v = connect(&home, &["--measure-latency", "10"]);
    eprintln!("latency: {}", v["input_to_photon_ms"]);
    let l = &v["input_to_photon_ms"];
    assert_eq!(
        (l["n"].as_u64(), l["lost"].as_u64()),
        (Some(10), Some(0)),
        "{l}"
    );
    let samples: Vec<f64> = l["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| s.as_f64().expect("no lost sample"))
        .collect();
    assert_eq!(samples.len(), 10);
    let figures = ["min", "p50", "p95", "max"].map(|k| l[k].as_f64().expect(k));
    for ms in samples.iter().chain(&figures) {
        assert!(*ms > 0.0 && *ms < 1000.0, "{ms} ms in {l}");
    }
    assert!(l["decode"]["p50"].as_f64().is_some_and(|d| d > 0.0), "{l}");
    // Each sample was a real press on the remote window.
    let presses = (0..10)
        .map(|i| probe.expect(|line| line.starts_with("button 1 "), &format!("press {i}")))
        .count();
    assert_eq!(presses, 10);

    // Zero samples: the session ends at the first picture.
    let v = connect(&home, &["--measure-latency", "0"]);
    let first = v["first_frame_ms"].as_f64().expect("first_frame_ms");
    assert!(first > 0.0 && first < 10_000.0, "{v}");
    assert!(v["frames_decoded"].as_u64() >= Some(1), "{v}");
    assert_eq!(v["input_to_photon_ms"]["n"], 0, "{v}");
    assert!(
        probe.drain().iter().all(|l| !l.starts_with("button")),
        "no clicks"
    );
    drop(host);
}
