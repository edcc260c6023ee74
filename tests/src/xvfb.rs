//! A private virtual X display per test: `Xvfb -displayfd` picks a free
//! display number itself and reports it when ready. Stopped on drop.
//!
//! Xvfb cannot change its resolution (its RandR offers one fixed mode), so
//! a test of resolution changes runs TigerVNC's `Xvnc` instead: the same X
//! server code with a virtual screen, whose RandR modes can be switched
//! with `xrandr` ([`Xvfb::start_resizable`], [`Xvfb::resize`]).

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
        let mut command = Command::new("Xvfb");
        // -noreset: without it the server resets (and forgets the painted
        // background) whenever its last client disconnects.
        command
            .args(["-nolisten", "tcp", "-noreset", "-screen", "0"])
            .arg(format!("{width}x{height}x24"));
        Self::spawn(command, "Xvfb (Debian package xvfb)")
    }

    /// Start a `width`x`height`x24 screen whose resolution can change
    /// ([`Self::resize`]): Xvnc without a VNC port.
    pub fn start_resizable(width: u32, height: u32) -> Xvfb {
        let mut command = Command::new("Xvnc");
        command
            .args(["-nolisten", "tcp", "-noreset", "-depth", "24"])
            .args(["-SecurityTypes", "None", "-rfbport", "-1", "-geometry"])
            .arg(format!("{width}x{height}"));
        Self::spawn(command, "Xvnc (Debian package tigervnc-standalone-server)")
    }

    /// Switch the screen to one of its RandR modes, like a user picking
    /// another resolution; returns once the root window has the new size.
    pub fn resize(&self, width: u32, height: u32) {
        let query = self.run("xrandr", &["--query"]);
        let output = query
            .lines()
            .find_map(|l| l.split_once(" connected").map(|(name, _)| name.to_string()))
            .unwrap_or_else(|| panic!("no connected output in {query}"));
        let mode = format!("{width}x{height}");
        self.run("xrandr", &["--output", &output, "--mode", &mode]);
        assert_eq!(
            self.root_size(),
            (width, height),
            "root window after xrandr"
        );
    }

    /// The root window's size, asked of the server now.
    fn root_size(&self) -> (u32, u32) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::ConnectionExt as _;
        let (conn, screen) = x11rb::connect(Some(&self.display)).expect("connect to X");
        let root = conn.setup().roots[screen].root;
        let geometry = conn
            .get_geometry(root)
            .expect("get_geometry")
            .reply()
            .expect("geometry");
        (u32::from(geometry.width), u32::from(geometry.height))
    }

    /// Runs `command` with `-displayfd 1` and waits for its display number.
    fn spawn(mut command: Command, what: &str) -> Xvfb {
        let mut child = command
            .args(["-displayfd", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line.trim().to_string());
        });
        let n = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{what} did not report its display"));
        assert!(!n.is_empty(), "{what} exited without a display");
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

/// A picture of a whole X screen, read back from the server.
#[derive(Debug, Clone)]
pub struct Screenshot {
    pub width: u32,
    pub height: u32,
    /// 32-bit pixels as the server stores them at depth 24: B, G, R, pad.
    data: Vec<u8>,
}

impl Screenshot {
    /// The colour at `(x, y)` as RGB, or `None` outside the screen.
    pub fn rgb(&self, x: i32, y: i32) -> Option<[u8; 3]> {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height {
            return None;
        }
        let at = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.data.get(at..at + 4)?;
        Some([p[2], p[1], p[0]])
    }
}

impl Xvfb {
    /// Read every pixel of the screen (windows included: Xvfb composites
    /// nothing, so the root shows what is mapped on it).
    pub fn screenshot(&self) -> Screenshot {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
        let (conn, screen) = x11rb::connect(Some(&self.display)).expect("connect to Xvfb");
        let root = &conn.setup().roots[screen];
        let (width, height) = (root.width_in_pixels, root.height_in_pixels);
        let reply = conn
            .get_image(ImageFormat::Z_PIXMAP, root.root, 0, 0, width, height, !0)
            .expect("get_image")
            .reply()
            .expect("get_image reply");
        assert_eq!(reply.depth, 24, "screenshots expect a 24-bit screen");
        Screenshot {
            width: u32::from(width),
            height: u32::from(height),
            data: reply.data,
        }
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
