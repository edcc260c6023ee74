//! Every monitor of a host, end to end: an X display with two RandR
//! monitors of different sizes (TigerVNC's Xvnc, 2304x768, monitor A
//! 1280x720 at the left, monitor B 1024x768 beside it; Xvfb keeps no RandR
//! monitors) and a known colour on each. The server lists both; the native
//! viewer shows the primary by default and `--screen B` shows B at B's
//! size; a click on B lands on B's pixel; `--all-screens` opens one window
//! per monitor, each showing its monitor and taking its input; a monitor
//! that goes away leaves the list live.

use std::time::Duration;

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::viewer::{wait_online, Probe, ProbeWindow, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb};
use serde_json::Value;

/// Where `Xvfb::start_two_monitors` puts A and B: x, y, width, height.
const A: (u32, u32, u32, u32) = (0, 0, 1280, 720);
const B: (u32, u32, u32, u32) = (1280, 0, 1024, 768);
const RED: u32 = 0xff0000;
const BLUE: u32 = 0x0000ff;
const YELLOW: u32 = 0xffff00;

/// Limited-range BT.601 Y, U, V of the test colours, as the decoder gives
/// them.
fn yuv(rgb: u32) -> [i32; 3] {
    match rgb {
        RED => [81, 90, 240],
        BLUE => [41, 240, 110],
        YELLOW => [210, 16, 146],
        _ => unreachable!("a test colour"),
    }
}

fn close_to(got: &Value, rgb: u32) -> bool {
    let want = yuv(rgb);
    got.as_array().is_some_and(|a| {
        a.len() == 3
            && a.iter()
                .zip(want)
                .all(|(g, w)| g.as_i64().is_some_and(|g| (g as i32 - w).abs() <= 16))
    })
}

/// The display, the monitors, a window of a known colour filling each.
struct World {
    server: Server,
    api: Api,
    alice: String,
    x: Xvfb,
    host: Host,
    home: ViewerHome,
    _a: Probe,
    _b: Probe,
}

async fn world() -> World {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start_two_monitors();
    let home = ViewerHome::new();
    let probe = |geometry, colour, flip| {
        Probe::start(
            &x,
            &home.dir.0,
            ProbeWindow {
                geometry,
                colour,
                flip,
            },
        )
    };
    let a = probe(A, RED, None);
    let b = probe(B, BLUE, Some(YELLOW));
    let host = Host::start(&server, &api, &alice, &x, "two-screens").await;
    wait_online(&api, &alice, &host.device_id).await;
    home.login_ok(&server, "alice", PASSWORD);
    World {
        server,
        api,
        alice,
        x,
        host,
        home,
        _a: a,
        _b: b,
    }
}

impl World {
    async fn screens(&self) -> Value {
        let (_, d) = self
            .api
            .call(
                "GET",
                &format!("/devices/{}", self.host.device_id),
                Some(&self.alice),
                None,
            )
            .await;
        d["screens"].clone()
    }

    /// The screens once there are `n` of them; panics after 10 s.
    async fn wait_screens(&self, n: usize) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let screens = self.screens().await;
            if screens.as_array().map(Vec::len) == Some(n) {
                return screens;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not {n} screens within 10 s: {screens}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `connect two-screens --headless --stats-json EXTRA...`.
    fn connect(&self, extra: &[&str]) -> Value {
        self.home.connect_stats("two-screens", extra)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_monitor_is_listed_and_shown_at_its_own_size() {
    let w = world().await;
    let screens = w.screens().await;
    assert_eq!(
        screens,
        serde_json::json!([
            {"id": "A", "name": "A", "width": 1280, "height": 720, "primary": true, "x": 0, "y": 0},
            {"id": "B", "name": "B", "width": 1024, "height": 768, "primary": false, "x": 1280, "y": 0},
        ]),
        "GET /devices/ID screens"
    );
    let listed = String::from_utf8_lossy(&w.home.run(&["list"]).stdout).into_owned();
    assert!(listed.contains("A* 1280x720, B 1024x768"), "{listed}");

    // The primary by default, at its size and colour.
    let first = w.connect(&["--duration", "1.5"]);
    let picture = &first["last_picture"];
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(1280), Some(720)),
        "{first}"
    );
    assert!(
        close_to(&picture["centre_yuv"], RED),
        "the primary is red: {first}"
    );

    // --screen B: B's size and colour, not a crop of the whole desktop.
    let second = w.connect(&["--screen", "B", "--duration", "1.5"]);
    let picture = &second["last_picture"];
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(1024), Some(768)),
        "{second}"
    );
    assert!(
        close_to(&picture["centre_yuv"], BLUE),
        "B is blue: {second}"
    );

    // A screen the device does not have is a clear error, before any session.
    let out = w
        .home
        .run(&["connect", "two-screens", "--headless", "--screen", "C"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no screen `C`") && err.contains("A, B"),
        "{err}"
    );
    drop(w.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_the_second_monitor_lands_on_its_pixel() {
    let w = world().await;
    // One click at the centre of the picture, which flips B's window.
    let v = w.connect(&["--screen", "B", "--measure-latency", "1"]);
    let l = &v["input_to_photon_ms"];
    assert_eq!(
        (l["n"].as_u64(), l["lost"].as_u64()),
        (Some(1), Some(0)),
        "the click flipped B: {v}"
    );
    let (x, y) = w.x.pointer();
    let centre = ((B.0 + B.2 / 2) as i32, (B.1 + B.3 / 2) as i32);
    assert!(
        (x - centre.0).abs() <= 1 && (y - centre.1).abs() <= 1,
        "the pointer is at {:?}, B's centre is {centre:?}",
        (x, y)
    );
}

/// The RGB of the pixel at the centre of window `id` on `desk`.
fn window_centre(desk: &Xvfb, id: &str) -> Option<[u8; 3]> {
    let [x, y, w, h] = desk.window_geometry(id);
    desk.screenshot().rgb(x + w / 2, y + h / 2)
}

fn near_rgb(got: Option<[u8; 3]>, rgb: u32) -> bool {
    let want = [(rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8];
    got.is_some_and(|g| {
        g.iter()
            .zip(want)
            .all(|(g, w)| (*g as i32 - w as i32).abs() <= 40)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_screens_opens_a_window_per_monitor_with_its_own_input() {
    let w = world().await;
    // The viewer's own display, wide enough for both windows side by side.
    let desk = Xvfb::start(2560, 1024);
    let log = w.home.dir.0.join("all-screens.log");
    let child = w
        .home
        .command(&[
            "connect",
            "two-screens",
            "--all-screens",
            "--duration",
            "60",
        ])
        .env("DISPLAY", desk.display())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start the viewer");
    let _viewer = meshdesk_tests::viewer::Running {
        child,
        log,
        name: "meshdesk-viewer --all-screens",
    };
    let find = |name: &str| {
        meshdesk_xtest::wait_for(
            &format!("the window of {name}"),
            Duration::from_secs(15),
            || desk.find_window(&["--name", &format!("two-screens: {name} ")]),
        )
    };
    let (a, b) = (find("A"), find("B"));
    // No window manager: put them side by side.
    desk.run("xdotool", &["windowmove", &a, "0", "0"]);
    desk.run("xdotool", &["windowmove", &b, "1300", "0"]);
    assert_eq!(
        desk.window_geometry(&a)[2..],
        [1280, 720],
        "A's window at A's size"
    );
    assert_eq!(
        desk.window_geometry(&b)[2..],
        [1024, 768],
        "B's window at B's size"
    );
    meshdesk_xtest::wait_for("A's window red, B's blue", Duration::from_secs(15), || {
        (near_rgb(window_centre(&desk, &a), RED) && near_rgb(window_centre(&desk, &b), BLUE))
            .then_some(())
    });

    // A click in B's window lands at B's centre on the remote PC, and B's
    // window then shows B's flip.
    desk.run(
        "xdotool",
        &["mousemove", "--window", &b, "512", "384", "click", "1"],
    );
    let centre = ((B.0 + B.2 / 2) as i32, (B.1 + B.3 / 2) as i32);
    meshdesk_xtest::wait_for(
        "the remote pointer at B's centre",
        Duration::from_secs(10),
        || {
            let (x, y) = w.x.pointer();
            ((x - centre.0).abs() <= 1 && (y - centre.1).abs() <= 1).then_some(())
        },
    );
    meshdesk_xtest::wait_for("B's window shows the flip", Duration::from_secs(10), || {
        near_rgb(window_centre(&desk, &b), YELLOW).then_some(())
    });
    assert!(
        near_rgb(window_centre(&desk, &a), RED),
        "A's window still red"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_that_goes_away_leaves_the_list_live() {
    let w = world().await;
    assert_eq!(w.screens().await.as_array().map(Vec::len), Some(2));
    w.x.run("xrandr", &["--delmonitor", "B"]);
    let screens = w.wait_screens(1).await;
    assert_eq!(screens[0]["id"], "A", "{screens}");
    // And comes back when plugged in again.
    w.x.run(
        "xrandr",
        &["--setmonitor", "B", "1024/270x768/200+1280+0", "none"],
    );
    let screens = w.wait_screens(2).await;
    assert_eq!(screens[1]["id"], "B", "{screens}");
}
