//! The clipboard, end to end: a host on one X display and the native
//! viewer on another, each side's CLIPBOARD set and read by xclip as any
//! X program would. Text and a PNG cross both ways; a view session gets
//! the host's clipboard only once the owner allows it, and never changes
//! the host's.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meshdesk_clipboard::Content;
use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::viewer::{wait_online, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb};

/// How long a change may take to cross.
const CROSS: Duration = Duration::from_secs(10);

/// `xclip` owning CLIPBOARD on `x` with `data` of `mime`, until dropped.
struct Copied(Child);

impl Drop for Copied {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy(x: &Xvfb, mime: &str, data: &[u8]) -> Copied {
    let mut child = Command::new("xclip")
        .args(["-selection", "clipboard", "-quiet", "-t", mime, "-i"])
        .env("DISPLAY", x.display())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xclip (scripts/test installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("write");
    Copied(child)
}

/// What `x`'s CLIPBOARD holds as `mime`, if anything.
fn paste(x: &Xvfb, mime: &str) -> Option<Vec<u8>> {
    let out = Command::new("xclip")
        .args(["-selection", "clipboard", "-t", mime, "-o"])
        .env("DISPLAY", x.display())
        .stderr(Stdio::null())
        .output()
        .expect("xclip");
    (out.status.success() && !out.stdout.is_empty()).then_some(out.stdout)
}

/// Wait until `x`'s clipboard satisfies `want`.
fn wait_for(x: &Xvfb, mime: &str, what: &str, want: impl Fn(&[u8]) -> bool) {
    let deadline = Instant::now() + CROSS;
    loop {
        if paste(x, mime).is_some_and(|got| want(&got)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not cross within {CROSS:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct World {
    server: Server,
    api: Api,
    alice: String,
    pc: Xvfb,
    host: Host,
}

async fn world() -> World {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let pc = Xvfb::start(320, 240);
    let mut host = Host::enroll(&server, &api, &alice, "clip-pc").await;
    host.run(&pc);
    wait_online(&api, &alice, &host.device_id).await;
    World {
        server,
        api,
        alice,
        pc,
        host,
    }
}

/// A viewer session on `desk` for `secs`, in the background.
fn connect(home: &ViewerHome, desk: &Xvfb, secs: &str) -> Child {
    home.command(&["connect", "clip-pc", "--headless", "--duration", secs])
        .env("DISPLAY", desk.display())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("viewer")
}

fn png(seed: u8) -> Content {
    let pixels: Vec<u8> = (0..40 * 30 * 4)
        .map(|i| (i as u8).wrapping_mul(seed))
        .collect();
    Content::png_from_rgba(40, 30, pixels).expect("png")
}

fn same_picture(a: &[u8], b: &Content) -> bool {
    let a = Content {
        kind: b.kind,
        data: a.to_vec(),
    };
    a.rgba().ok() == b.rgba().ok()
}

fn finish(mut viewer: Child) -> String {
    let _ = viewer.kill();
    let out = viewer.wait_with_output().expect("viewer output");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_images_cross_both_ways() {
    let w = world().await;
    let desk = Xvfb::start(320, 240);
    let home = ViewerHome::new();
    home.login_ok(&w.server, "alice", PASSWORD);
    // Copied on the PC before the session: there to paste once it starts.
    let _before = copy(&w.pc, "UTF8_STRING", "copied before".as_bytes());
    let viewer = connect(&home, &desk, "60");
    wait_for(&desk, "UTF8_STRING", "text copied before", |t| {
        t == b"copied before"
    });

    let _text = copy(&w.pc, "UTF8_STRING", "héllo from the PC".as_bytes());
    wait_for(&desk, "UTF8_STRING", "the PC's text", |t| {
        t == "héllo from the PC".as_bytes()
    });
    let picture = png(3);
    let _image = copy(&w.pc, "image/png", &picture.data);
    wait_for(&desk, "image/png", "the PC's image", |p| {
        same_picture(p, &picture)
    });

    let _back = copy(&desk, "UTF8_STRING", b"from the viewer");
    wait_for(&w.pc, "UTF8_STRING", "the viewer's text", |t| {
        t == b"from the viewer"
    });
    let other = png(7);
    let _back_image = copy(&desk, "image/png", &other.data);
    wait_for(&w.pc, "image/png", "the viewer's image", |p| {
        same_picture(p, &other)
    });
    // Nothing loops: the viewer's image stays on both sides.
    wait_for(&desk, "image/png", "the viewer's image, kept", |p| {
        same_picture(p, &other)
    });
    let stderr = finish(viewer);
    let log = w.host.log_text();
    assert!(!log.contains("clipboard offer refused"), "{log}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_session_copies_only_when_the_owner_allows_and_never_writes() {
    let w = world().await;
    let _bob = w.api.user("bob").await;
    w.api
        .share(&w.alice, &w.host.device_id, "bob", "view")
        .await;
    let desk = Xvfb::start(320, 240);
    let home = ViewerHome::new();
    home.login_ok(&w.server, "bob", PASSWORD);
    let _text = copy(&w.pc, "UTF8_STRING", b"the owner's secret");
    // Off by default: a whole session passes without it.
    let _mine = copy(&desk, "UTF8_STRING", b"bob's text");
    let viewer = connect(&home, &desk, "4");
    let out = viewer.wait_with_output().expect("viewer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        paste(&desk, "UTF8_STRING").as_deref(),
        Some(&b"bob's text"[..])
    );
    assert_eq!(
        paste(&w.pc, "UTF8_STRING").as_deref(),
        Some(&b"the owner's secret"[..])
    );

    let path = format!("/devices/{}", w.host.device_id);
    let body = serde_json::json!({ "view_may_copy": true });
    let (status, device) = w.api.call("PATCH", &path, Some(&w.alice), Some(body)).await;
    assert_eq!(status, 200, "{device}");
    let viewer = connect(&home, &desk, "60");
    wait_for(&desk, "UTF8_STRING", "the PC's text", |t| {
        t == b"the owner's secret"
    });
    // Bob copies something: the PC's clipboard does not change.
    let _again = copy(&desk, "UTF8_STRING", b"bob tries to write");
    let stderr = finish(viewer);
    assert_eq!(
        paste(&w.pc, "UTF8_STRING").as_deref(),
        Some(&b"the owner's secret"[..]),
        "{stderr}"
    );
}
