//! Nothing stays pressed on the remote PC when its viewer vanishes: the
//! real `meshdesk-viewer` window holds Shift and the left mouse button on
//! a real `meshdesk-host`, is killed with SIGKILL, and within 2 s the
//! host's display holds neither (the host releases after 1.5 s without
//! the viewer's input heartbeat, long before ICE would call the
//! connection lost).

use std::time::{Duration, Instant};

use meshdesk_tests::viewer::{wait_online, Running, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb, WAIT};
use meshdesk_xtest::wait_for;

/// The password `Api::user` signs up with.
const PASSWORD: &str = "password-123";
const HOST_SCREEN: (u32, u32) = (1280, 720);
/// The bound: nothing pressed this long after the viewer died.
const RELEASED_WITHIN: Duration = Duration::from_secs(2);

/// The viewer window's id and centre on its display.
fn window_centre(x: &Xvfb, title: &str) -> (String, i32, i32) {
    let id = wait_for("the viewer window", WAIT, || {
        x.find_window(&["--name", title])
    });
    let [wx, wy, ww, wh] = x.window_geometry(&id);
    (id, wx + ww / 2, wy + wh / 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_viewer_leaves_nothing_pressed_within_two_seconds() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let host_x = Xvfb::start(HOST_SCREEN.0, HOST_SCREEN.1);
    host_x.paint(0x00a000);
    let host = Host::start(&server, &api, &alice, &host_x, "held-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    let home = ViewerHome::new();
    home.login_ok(&server, "alice", PASSWORD);

    let viewer_x = Xvfb::start(1024, 768);
    let log = home.dir.0.join("viewer.log");
    let child = home
        .command(&["connect", "held-pc"])
        .env("DISPLAY", viewer_x.display())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start viewer");
    let mut viewer = Running {
        child,
        log,
        name: "viewer",
    };

    // Once the picture shows (the host's green screen in the window's
    // centre), input reaches the host: moving up and left of the centre
    // moves the host's pointer up and left of its own (Xvfb starts it in
    // the middle).
    let (window, cx, cy) = window_centre(&viewer_x, "held-pc");
    wait_for("the remote screen in the viewer", WAIT, || {
        let [r, g, b] = viewer_x.screenshot().rgb(cx, cy)?;
        (g > 100 && r < 60 && b < 60).then_some(())
    });
    viewer_x.run("xdotool", &["windowfocus", "--sync", &window]);
    let centre = (HOST_SCREEN.0 as i32 / 2, HOST_SCREEN.1 as i32 / 2);
    wait_for("input to reach the host", WAIT, || {
        let (tx, ty) = (cx - 100, cy - 60);
        viewer_x.run("xdotool", &["mousemove", &tx.to_string(), &ty.to_string()]);
        let p = host_x.pointer();
        (p.0 < centre.0 - 50 && p.1 < centre.1 - 30).then_some(())
    });

    // Hold Shift and the left button in the viewer: both are held on the host.
    viewer_x.run("xdotool", &["keydown", "Shift_L"]);
    viewer_x.run("xdotool", &["mousedown", "1"]);
    let held = wait_for("Shift and button 1 held on the host", WAIT, || {
        let h = host_x.held();
        (h.shift && h.button1).then_some(h)
    });
    eprintln!("held on the host: mask {:#06x}", held.mask);

    // The viewer dies without a word (SIGKILL: no release, no goodbye).
    viewer.child.kill().expect("kill the viewer");
    let killed = Instant::now();
    let _ = viewer.child.wait();
    let released = wait_for("nothing held on the host", WAIT, || {
        host_x.held().nothing().then(|| killed.elapsed())
    });
    eprintln!("released {released:?} after the kill");
    assert!(
        released <= RELEASED_WITHIN,
        "still held {released:?} after the viewer was killed (bound {RELEASED_WITHIN:?})\n{}",
        host.log_text()
    );
    // Tidy the viewer's own display (its state does not matter to the host).
    viewer_x.run("xdotool", &["keyup", "Shift_L"]);
    viewer_x.run("xdotool", &["mouseup", "1"]);
}
