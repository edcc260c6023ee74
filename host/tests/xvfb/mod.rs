//! Test harness: a private Xvfb server, killed on drop, and ways to paint it.
//!
//! Xvfb picks a free display number itself (`-displayfd`), so tests running
//! in parallel never race for one. Readiness is a condition (display number
//! reported and socket present) waited on with a timeout, never a bare sleep.
//! `-noreset` keeps what a test painted after its painting client disconnects.
//! Shared by the media tests and the media benchmark example.

#![allow(dead_code)] // each user needs a different part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ChangeWindowAttributesAux, ConnectionExt as _};

/// How long Xvfb gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running Xvfb; killed and reaped when dropped.
#[derive(Debug)]
pub struct Xvfb {
    /// The server process.
    child: Child,
    /// `":N"`.
    display: String,
}

impl Xvfb {
    /// Starts Xvfb with one `width` x `height` x 24 screen and a black root.
    pub fn start(width: u32, height: u32) -> Result<Self, String> {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-noreset",
                "-br",
                "-screen",
                "0",
            ])
            .arg(format!("{width}x{height}x24"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run Xvfb (apt-get install xvfb): {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        // Xvfb writes the display number once it accepts connections.
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = Self {
            child,
            display: String::new(),
        };
        let line = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| "Xvfb did not report a display number in time".to_string())?;
        let number: u32 = line
            .trim()
            .parse()
            .map_err(|_| format!("Xvfb failed to start (displayfd said {line:?})"))?;
        server.display = format!(":{number}");
        let socket = format!("/tmp/.X11-unix/X{number}");
        wait_until(START_TIMEOUT, || Path::new(&socket).exists())
            .map_err(|()| format!("socket {socket} did not appear"))?;
        Ok(server)
    }

    /// The display name, e.g. `":93"`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// A command that runs on this display.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("DISPLAY", &self.display);
        command
    }

    /// Fills the whole screen with `rgb` (0xRRGGBB) by repainting the root
    /// window, and returns once the server has done it.
    pub fn paint(&self, rgb: u32) {
        let (conn, screen) = x11rb::connect(Some(&self.display)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        let attrs = ChangeWindowAttributesAux::new().background_pixel(rgb);
        conn.change_window_attributes(root, &attrs)
            .expect("set background");
        conn.clear_area(false, root, 0, 0, 0, 0)
            .expect("clear root");
        // A round trip: every request before it has been processed.
        conn.get_input_focus()
            .expect("sync")
            .reply()
            .expect("sync reply");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
