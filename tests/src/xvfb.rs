//! A private virtual X display per test: `Xvfb -displayfd` picks a free
//! display number itself and reports it when ready. Stopped on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running Xvfb.
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    /// Like `:3`.
    pub display: String,
}

impl Xvfb {
    /// Start a `width`x`height`x24 screen; waits until it accepts clients.
    pub fn start(width: u32, height: u32) -> Xvfb {
        let mut child = Command::new("Xvfb")
            // -noreset: without it the server resets (and forgets the painted
            // background) whenever its last client disconnects.
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-noreset",
                "-screen",
                "0",
            ])
            .arg(format!("{width}x{height}x24"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb (Debian package xvfb)");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line.trim().to_string());
        });
        let n = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("Xvfb did not report its display");
        assert!(!n.is_empty(), "Xvfb exited without a display");
        Xvfb {
            child,
            display: format!(":{n}"),
        }
    }

    /// Run a program on this display and return its stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Fill the screen with `rgb` (0xRRGGBB) by repainting the root window;
    /// returns once the X server has done it.
    pub fn paint(&self, rgb: u32) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{ChangeWindowAttributesAux, ConnectionExt as _};
        let (conn, screen) = x11rb::connect(Some(&self.display)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        let attrs = ChangeWindowAttributesAux::new().background_pixel(rgb);
        conn.change_window_attributes(root, &attrs)
            .expect("set background");
        conn.clear_area(false, root, 0, 0, 0, 0)
            .expect("clear root");
        conn.get_input_focus()
            .expect("sync")
            .reply()
            .expect("sync reply");
    }

    /// The pointer position, from `xdotool getmouselocation`.
    pub fn pointer(&self) -> (i32, i32) {
        let out = self.run("xdotool", &["getmouselocation", "--shell"]);
        let get = |k: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(-1)
        };
        (get("X="), get("Y="))
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
