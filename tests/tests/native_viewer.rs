//! The real `meshdesk-viewer` binary against a real server and a real
//! `meshdesk-host` on Xvfb: the window shows the remote screen scaled and in
//! the right place, clicks and typing reach the remote PC, `--headless
//! --stats-json` reports frames, and failures are one clear line.
//!
//! The host captures one Xvfb display; the viewer's window lives on a
//! second one, where `xdotool` plays the user.

use std::process::Output;
use std::time::Instant;

use meshdesk_tests::viewer::{wait_online, Probe, ProbeWindow, Running, ViewerHome};
use meshdesk_tests::{Api, Host, Screenshot, Server, Xvfb, WAIT};
use meshdesk_xtest::wait_for;

/// The password `Api::user` signs up with.
const PASSWORD: &str = "password-123";
/// Host screen and the probe window on it (a known colour at a known place).
const HOST_SCREEN: (u32, u32) = (1280, 720);
const BACKGROUND: u32 = 0x000080;
const PROBE: (u32, u32, u32, u32) = (640, 360, 320, 180); // x, y, w, h
const PROBE_COLOUR: u32 = 0xff0000;

/// Server, user `alice` logged in through the viewer CLI, and a running
/// host named `xvfb-pc` showing the probe window.
struct Setup {
    server: Server,
    host_x: Xvfb,
    host: Host,
    home: ViewerHome,
    probe: Probe,
}

async fn setup() -> Setup {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let host_x = Xvfb::start(HOST_SCREEN.0, HOST_SCREEN.1);
    host_x.paint(BACKGROUND);
    let home = ViewerHome::new();
    let probe = Probe::start(
        &host_x,
        &home.dir.0,
        ProbeWindow {
            geometry: PROBE,
            colour: PROBE_COLOUR,
            flip: None,
        },
    );
    let host = Host::start(&server, &api, &alice, &host_x, "xvfb-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    let out = home.login(&server, "alice", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Setup {
        server,
        host_x,
        host,
        home,
        probe,
    }
}

/// Where the remote screen is drawn in a `w` by `h` window (the viewer's
/// rule: fit, keep the aspect ratio, centre).
fn picture_rect(w: u32, h: u32) -> (f64, f64, f64, f64) {
    let (sw, sh) = (f64::from(HOST_SCREEN.0), f64::from(HOST_SCREEN.1));
    let scale = (f64::from(w) / sw).min(f64::from(h) / sh);
    let (pw, ph) = (sw * scale, sh * scale);
    ((f64::from(w) - pw) / 2.0, (f64::from(h) - ph) / 2.0, pw, ph)
}

/// The viewer window on its display: id and geometry (x, y, w, h).
fn find_window(x: &Xvfb, title: &str) -> (String, [i32; 4]) {
    let id = wait_for("the viewer window", WAIT, || {
        x.find_window(&["--name", title])
    });
    let geometry = x.window_geometry(&id);
    (id, geometry)
}

fn close_to(got: Option<[u8; 3]>, want: u32) -> bool {
    let want = [(want >> 16) as u8, (want >> 8) as u8, want as u8];
    got.is_some_and(|g| g.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 48))
}

/// A point of the remote screen (in host pixels) in screen coordinates of
/// the viewer's display.
fn on_viewer(window: [i32; 4], remote: (f64, f64)) -> (i32, i32) {
    let (rx, ry, rw, rh) = picture_rect(window[2] as u32, window[3] as u32);
    let nx = remote.0 / f64::from(HOST_SCREEN.0);
    let ny = remote.1 / f64::from(HOST_SCREEN.1);
    (
        window[0] + (rx + nx * rw) as i32,
        window[1] + (ry + ny * rh) as i32,
    )
}

/// Probe-coloured inside the probe window, background outside it.
fn shows_probe_in_place(shot: &Screenshot, window: [i32; 4]) -> Result<(), String> {
    let (px, py, pw, ph) = PROBE;
    let (px, py, pw, ph) = (f64::from(px), f64::from(py), f64::from(pw), f64::from(ph));
    let inset = 6.0;
    let inside = [
        (px + pw / 2.0, py + ph / 2.0),
        (px + inset, py + inset),
        (px + pw - inset, py + ph - inset),
    ];
    let outside = [
        (px - inset, py + ph / 2.0),
        (px + pw + inset, py + ph / 2.0),
        (px + pw / 2.0, py - inset),
        (px + pw / 2.0, py + ph + inset),
        (100.0, 100.0),
    ];
    for (points, colour) in [(&inside[..], PROBE_COLOUR), (&outside[..], BACKGROUND)] {
        for &p in points {
            let (x, y) = on_viewer(window, p);
            let got = shot.rgb(x, y);
            if !close_to(got, colour) {
                return Err(format!(
                    "remote {p:?} at {x},{y}: {got:?}, want {colour:06x}"
                ));
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_shows_the_remote_screen_scaled_and_controls_it() {
    let mut s = setup().await;
    let viewer_x = Xvfb::start(1024, 768);
    let log = s.home.dir.0.join("viewer.log");
    let stats = s.home.dir.0.join("stats.json");
    let child = s
        .home
        .command(&["connect", "xvfb-pc", "--stats-json"])
        .env("DISPLAY", viewer_x.display())
        .stdout(std::fs::File::create(&stats).expect("stats file"))
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start viewer");
    let mut viewer = Running {
        child,
        log,
        name: "viewer",
    };

    // The window is titled with the device and smaller than the remote
    // screen, so the picture is scaled.
    let (window_id, window) = find_window(&viewer_x, "xvfb-pc");
    assert!(
        (window[2] as u32) < HOST_SCREEN.0 && (window[3] as u32) < HOST_SCREEN.1,
        "window {window:?} should be smaller than the remote screen"
    );
    let started = Instant::now();
    let mut last = String::new();
    wait_for("the probe window in the viewer", WAIT, || {
        let shot = viewer_x.screenshot();
        match shows_probe_in_place(&shot, window) {
            Ok(()) => Some(()),
            Err(e) => {
                last = e;
                None
            }
        }
    });
    eprintln!(
        "probe visible in the viewer after {:?} ({last})",
        started.elapsed()
    );

    // A click on the viewer's picture moves the host's pointer to the
    // matching pixel and presses there.
    let target = (320.0, 180.0);
    let (vx, vy) = on_viewer(window, target);
    viewer_x.run("xdotool", &["mousemove", &vx.to_string(), &vy.to_string()]);
    viewer_x.run("xdotool", &["click", "1"]);
    let pointer = wait_for("the host pointer", WAIT, || {
        let p = s.host_x.pointer();
        let near =
            (f64::from(p.0) - target.0).abs() <= 3.0 && (f64::from(p.1) - target.1).abs() <= 3.0;
        near.then_some(p)
    });
    eprintln!("host pointer at {pointer:?} for {target:?}");

    // A click on the probe window reaches it as a button press.
    let (vx, vy) = on_viewer(window, (800.0, 450.0));
    viewer_x.run("xdotool", &["mousemove", &vx.to_string(), &vy.to_string()]);
    viewer_x.run("xdotool", &["click", "1"]);
    let line = s
        .probe
        .expect(|l| l.starts_with("button 1 "), "button press");
    let xy: Vec<i32> = line
        .split_whitespace()
        .skip(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    assert!(
        (xy[0] - 800).abs() <= 3 && (xy[1] - 450).abs() <= 3,
        "probe clicked at {xy:?}"
    );

    // Typing into the viewer window types on the remote PC.
    viewer_x.run("xdotool", &["windowfocus", "--sync", &window_id]);
    viewer_x.run("xdotool", &["type", "--delay", "30", "hi7"]);
    for c in ["key h", "key i", "key 7"] {
        s.probe.expect(|l| l == c, c);
    }

    // Resized to a squarer shape, the picture is letterboxed with black
    // bars and the probe is still where it belongs.
    viewer_x.run(
        "xdotool",
        &["windowsize", "--sync", &window_id, "600", "560"],
    );
    let (_, resized) = find_window(&viewer_x, "xvfb-pc");
    assert_eq!((resized[2], resized[3]), (600, 560));
    wait_for("the letterboxed picture", WAIT, || {
        let shot = viewer_x.screenshot();
        let bars = [(300, 20), (300, 540)]
            .iter()
            .all(|&(x, y)| close_to(shot.rgb(resized[0] + x, resized[1] + y), 0));
        (bars && shows_probe_in_place(&shot, resized).is_ok()).then_some(())
    });

    // Closing the window ends the session cleanly and prints the stats.
    viewer_x.run("xdotool", &["windowclose", &window_id]);
    let status = viewer.wait_exit();
    assert!(status.success(), "viewer exit: {status}");
    let text = std::fs::read_to_string(&stats).expect("stats");
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("stats JSON");
    eprintln!("window stats: {v}");
    assert!(v["frames_decoded"].as_u64().unwrap_or(0) > 0, "{v}");
    wait_for("the host to end the session", WAIT, || {
        s.host.log_text().contains("session ended").then_some(())
    });
    drop(s.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_stats_json_reports_decoded_frames() {
    let s = setup().await;
    let out = s.home.run(&[
        "connect",
        "xvfb-pc",
        "--headless",
        "--duration",
        "2",
        "--stats-json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object: {stdout}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("valid JSON");
    eprintln!("stats: {v}");
    assert!(v["frames_decoded"].as_u64().unwrap_or(0) > 0, "{v}");
    let first = v["first_frame_ms"].as_f64().expect("first_frame_ms");
    assert!(first > 0.0 && first < 10_000.0, "{v}");
    assert!(v["bytes_received"].as_u64().unwrap_or(0) > 0, "{v}");
    assert_eq!(v["candidate_type"], "host", "{v}");
    assert_eq!(v["device"], "xvfb-pc");
    assert!(v["duration_s"].as_f64().unwrap_or(0.0) >= 1.9, "{v}");
}

/// Exit code non-zero and exactly one line on stderr containing `want`.
fn assert_one_line_error(out: &Output, want: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(want), "expected `{want}` in: {stderr}");
}

#[tokio::test]
async fn login_list_and_clear_errors() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let home = ViewerHome::new();

    // Not logged in yet, then a wrong password.
    assert_one_line_error(&home.run(&["list"]), "not logged in");
    assert_one_line_error(
        &home.login(&server, "alice", "not-the-password"),
        "wrong username or password",
    );
    assert!(!home.config().exists(), "nothing stored on failure");

    // A good login stores the token for the owner only.
    let out = home.login(&server, "alice", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(home.config())
            .expect("login file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // An enrolled device that is not running: listed offline, and
    // connecting says so.
    let host = Host::enroll(&server, &api, &alice, "offline-pc").await;
    let out = home.run(&["list"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let row = table
        .lines()
        .find(|l| l.starts_with("offline-pc"))
        .expect("device row");
    assert!(row.contains("offline") && row.contains("owner"), "{table}");
    let out = home.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["id"], host.device_id.as_str());
    assert_eq!(v[0]["online"], false);

    assert_one_line_error(&home.run(&["connect", "offline-pc"]), "is offline");
    assert_one_line_error(&home.run(&["connect", "no-such-pc"]), "no device named");
    assert_one_line_error(
        &home.run(&["connect", "offline-pc", "--headless"]),
        "is offline",
    );

    // A token the server no longer accepts.
    let out = home.run(&["logout"]);
    assert!(out.status.success());
    assert!(!home.config().exists(), "logout deletes the token");
    let out = home.login(&server, "alice", PASSWORD);
    assert!(out.status.success());
    let text = std::fs::read_to_string(home.config()).expect("login file");
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token = "))
        .expect("token")
        .trim_matches('"')
        .to_string();
    let (status, _) = api.call("POST", "/logout", Some(&token), None).await;
    assert!(status.is_success());
    assert_one_line_error(&home.run(&["list"]), "login expired");

    // A server that is not there.
    let out = home
        .command(&["login", "--server", "http://127.0.0.1:9", "--username", "a"])
        .env("MESHDESK_PASSWORD", "x")
        .output()
        .expect("run");
    assert_one_line_error(&out, "cannot reach the server");
}
