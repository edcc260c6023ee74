//! Input injection into a real X server (Xvfb), checked from outside:
//! pointer position through `xdotool`, typed text through an xterm that
//! writes what it reads to a file, held keys and buttons through the X
//! server's own pointer and keyboard state.

use std::time::Duration;

use meshdesk_host::input::{EnigoSink, InputSession, Outcome, ScreenRect};
use meshdesk_protocol::input::{InputMsg, MouseButton};
use meshdesk_protocol::rest::Permission;
use meshdesk_xtest::{wait_for, KillOnDrop, Xvfb};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, KeyButMask};
use x11rb::rust_connection::RustConnection;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const TIMEOUT: Duration = Duration::from_secs(15);

fn start() -> (Xvfb, EnigoSink) {
    let xvfb = Xvfb::start(WIDTH, HEIGHT);
    let sink = EnigoSink::connect(Some(xvfb.display())).expect("enigo connects to Xvfb");
    (xvfb, sink)
}

fn screen() -> ScreenRect {
    ScreenRect::at_origin(WIDTH, HEIGHT).unwrap()
}

fn key(code: &str, down: bool) -> InputMsg {
    InputMsg::Key {
        code: code.into(),
        down,
        text: None,
    }
}

fn tap(session: &mut InputSession<&mut EnigoSink>, code: &str) {
    assert_eq!(session.handle(key(code, true)).unwrap(), Outcome::Injected);
    assert_eq!(session.handle(key(code, false)).unwrap(), Outcome::Injected);
}

/// Modifiers and buttons a session could leave pressed (not Num Lock).
fn pressed(mask: KeyButMask) -> bool {
    let watched = KeyButMask::SHIFT
        | KeyButMask::CONTROL
        | KeyButMask::MOD1
        | KeyButMask::MOD4
        | KeyButMask::BUTTON1
        | KeyButMask::BUTTON2
        | KeyButMask::BUTTON3;
    u16::from(mask) & u16::from(watched) != 0
}

/// Modifier and button state of the X server, and whether any key is down.
fn x_input_state(conn: &RustConnection) -> (KeyButMask, bool) {
    let root = conn.setup().roots[0].root;
    let pointer = conn.query_pointer(root).unwrap().reply().unwrap();
    let keymap = conn.query_keymap().unwrap().reply().unwrap();
    (pointer.mask, keymap.keys.iter().any(|&b| b != 0))
}

#[test]
fn pointer_move_lands_on_the_normalized_pixel() {
    let (xvfb, mut sink) = start();
    let mut session = InputSession::new(Permission::Control, screen(), &mut sink);
    for (nx, ny, px, py) in [
        (0.25, 0.5, 320, 360),
        (0.25, 0.75, 320, 540),
        (1.0, 1.0, 1279, 719),
    ] {
        let out = session.handle(InputMsg::PointerMove { x: nx, y: ny });
        assert_eq!(out.unwrap(), Outcome::Injected);
        let (x, y) = xvfb.pointer();
        assert!(
            (x - px).abs() <= 1 && (y - py).abs() <= 1,
            "({nx}, {ny}) landed at ({x}, {y}), expected ({px}, {py})"
        );
    }
}

/// An xterm with the focus whose shell copies each typed line into a file.
struct TypedLines {
    _xterm: KillOnDrop,
    dir: std::path::PathBuf,
    file: std::path::PathBuf,
}

impl TypedLines {
    fn start(xvfb: &Xvfb) -> Self {
        let dir = std::env::temp_dir().join(format!("meshdesk-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("typed-{}.txt", &xvfb.display()[1..]));
        let _ = std::fs::remove_file(&file);
        let xterm = KillOnDrop(
            xvfb.command("xterm")
                .env("LC_ALL", "C.UTF-8")
                .args(["-u8", "-geometry", "80x24+0+0", "-e", "sh", "-c"])
                .arg(format!("stty -echo; cat > '{}'", file.display()))
                .spawn()
                .expect("cannot run xterm"),
        );
        let window = wait_for("the xterm window", TIMEOUT, || {
            xvfb.find_window(&["--class", "xterm"])
        });
        // No window manager: give the xterm the focus, and the pointer too.
        xvfb.run("xdotool", &["windowfocus", "--sync", &window]);
        // Wait until the shell's `stty` ran, so nothing we type is echoed
        // by a half-started terminal or lost.
        wait_for("cat to create its file", TIMEOUT, || {
            file.exists().then_some(())
        });
        Self {
            _xterm: xterm,
            dir,
            file,
        }
    }

    /// The first line typed, with its newline.
    fn first_line(&self) -> String {
        wait_for("the typed line in the file", TIMEOUT, || {
            let text = std::fs::read_to_string(&self.file).ok()?;
            text.contains('\n').then_some(text)
        })
    }
}

impl Drop for TypedLines {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn typed_keys_reach_an_x_client() {
    let (xvfb, mut sink) = start();
    let typed = TypedLines::start(&xvfb);

    let mut session = InputSession::new(Permission::Control, screen(), &mut sink);
    session
        .handle(InputMsg::PointerMove { x: 0.05, y: 0.05 })
        .unwrap();
    // "Hi!" with Shift held by physical keys, then a character the US
    // layout lacks, sent as text under a code the host does not know.
    session.handle(key("ShiftLeft", true)).unwrap();
    tap(&mut session, "KeyH");
    session.handle(key("ShiftLeft", false)).unwrap();
    tap(&mut session, "KeyI");
    session.handle(key("ShiftRight", true)).unwrap();
    tap(&mut session, "Digit1");
    session.handle(key("ShiftRight", false)).unwrap();
    tap(&mut session, "Space");
    let accented = InputMsg::Key {
        code: "IntlRo".into(),
        down: true,
        text: Some("é".into()),
    };
    assert_eq!(session.handle(accented).unwrap(), Outcome::Injected);
    tap(&mut session, "Enter");

    assert_eq!(typed.first_line(), "Hi! é\n");
    assert!(session.held().is_empty());
}

/// Keys are the host's keys by place, read by the host's own layout: on a
/// German host, the key where a US keyboard has Y types `z`, the one right
/// of 0 types `ß`, and AltGr with Q types `@`. (Xvnc: Xvfb ignores
/// `setxkbmap`.)
#[test]
fn keys_follow_the_host_layout() {
    let xvfb = Xvfb::start_xvnc(WIDTH, HEIGHT);
    xvfb.run("setxkbmap", &["-display", xvfb.display(), "de"]);
    let mut sink = EnigoSink::connect(Some(xvfb.display())).expect("enigo connects to Xvfb");
    let typed = TypedLines::start(&xvfb);
    let mut session = InputSession::new(Permission::Control, screen(), &mut sink);
    session
        .handle(InputMsg::PointerMove { x: 0.05, y: 0.05 })
        .unwrap();
    for code in ["KeyY", "KeyZ", "Minus"] {
        tap(&mut session, code);
    }
    session.handle(key("AltRight", true)).unwrap();
    tap(&mut session, "KeyQ");
    session.handle(key("AltRight", false)).unwrap();
    tap(&mut session, "Enter");
    assert_eq!(typed.first_line(), "zyß@\n");
    assert!(session.held().is_empty());
}

#[test]
fn view_only_session_injects_nothing() {
    let (xvfb, mut sink) = start();
    let conn = x11rb::connect(Some(xvfb.display())).unwrap().0;
    let before = xvfb.pointer();

    let mut session = InputSession::new(Permission::View, screen(), &mut sink);
    let msgs = [
        InputMsg::PointerMove { x: 0.1, y: 0.9 },
        InputMsg::PointerButton {
            button: MouseButton::Left,
            down: true,
            x: 0.2,
            y: 0.2,
        },
        key("ShiftLeft", true),
        InputMsg::Wheel { dx: 0.0, dy: 5.0 },
    ];
    for msg in msgs {
        assert_eq!(session.handle(msg).unwrap(), Outcome::DroppedViewOnly);
    }
    assert_eq!(session.stats().dropped_view_only, 4);
    assert_eq!(session.stats().injected, 0);

    assert_eq!(xvfb.pointer(), before, "the pointer moved");
    let (mask, any_key) = x_input_state(&conn);
    assert!(!pressed(mask), "something is pressed: {mask:?}");
    assert!(!any_key, "a key is down");
}

#[test]
fn dropping_a_session_releases_held_modifiers_and_buttons() {
    let (xvfb, mut sink) = start();
    let conn = x11rb::connect(Some(xvfb.display())).unwrap().0;

    // The sink outlives the session, so what is released on drop is the
    // session's doing, not enigo's own clean-up.
    let mut session = InputSession::new(Permission::Control, screen(), &mut sink);
    session.handle(key("ShiftLeft", true)).unwrap();
    session.handle(key("ControlLeft", true)).unwrap();
    session
        .handle(InputMsg::PointerButton {
            button: MouseButton::Left,
            down: true,
            x: 0.5,
            y: 0.5,
        })
        .unwrap();
    let held = KeyButMask::SHIFT | KeyButMask::CONTROL | KeyButMask::BUTTON1;
    let (mask, any_key) = x_input_state(&conn);
    assert!(mask.contains(held), "not all held: {mask:?}");
    assert!(any_key);

    // The viewer vanishes: its session is dropped.
    drop(session);

    let (mask, any_key) = x_input_state(&conn);
    assert!(
        !pressed(mask),
        "still pressed after the session ended: {mask:?}"
    );
    assert!(!any_key, "a key is still down after the session ended");
    drop(sink);
}

#[test]
fn release_all_message_lets_go_of_everything() {
    let (xvfb, mut sink) = start();
    let conn = x11rb::connect(Some(xvfb.display())).unwrap().0;
    let mut session = InputSession::new(Permission::Owner, screen(), &mut sink);
    session.handle(key("AltLeft", true)).unwrap();
    session
        .handle(InputMsg::PointerButton {
            button: MouseButton::Right,
            down: true,
            x: 0.3,
            y: 0.3,
        })
        .unwrap();
    assert!(x_input_state(&conn).0.contains(KeyButMask::BUTTON3));
    assert_eq!(
        session.handle(InputMsg::ReleaseAll).unwrap(),
        Outcome::Injected
    );
    let (mask, any_key) = x_input_state(&conn);
    assert!(!pressed(mask), "still pressed: {mask:?}");
    assert!(!any_key);
    assert!(session.held().is_empty());
}

#[test]
fn connecting_to_a_missing_display_is_an_error() {
    let free = (5000..5100)
        .find(|n| !std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .expect("a display number without a server");
    let name = format!(":{free}");
    let err = EnigoSink::connect(Some(&name)).unwrap_err();
    assert!(err.to_string().contains(&name), "{err}");
    // Numbers past X11's port range are refused, not a panic in x11rb.
    let err = EnigoSink::connect(Some(":65000")).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}
