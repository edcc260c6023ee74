//! A private X server per test, and helpers to wait on X conditions.
//!
//! [`Xvfb::start`] picks a free display number in 121..=150 (starting at
//! an offset from the process id, so test binaries running side by side
//! rarely collide), starts `Xvfb -nolisten tcp` on it and waits until it
//! accepts connections: Xvfb writes its display number to `-displayfd`
//! when ready, or exits if the number is taken, in which case the next
//! number is tried. The server is stopped (SIGTERM, so it cleans up its
//! socket and lock file) when the handle is dropped.

#![allow(dead_code)] // Each test binary uses a different part of this.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Display numbers this harness may use.
const FIRST_DISPLAY: u32 = 121;
const DISPLAY_COUNT: u32 = 30;
/// How long a starting Xvfb may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Candidates handed out in this process, so parallel tests differ.
static NEXT_CANDIDATE: AtomicU32 = AtomicU32::new(0);

/// A running Xvfb, stopped on drop.
#[derive(Debug)]
pub struct Xvfb {
    /// The server process.
    child: Child,
    /// Its display name, like `:123`.
    display: String,
}

impl Xvfb {
    /// Start a `width`x`height` 24-bit screen on a free display.
    pub fn start(width: u32, height: u32) -> Xvfb {
        Self::start_server(Server::Xvfb, width, height)
    }

    /// Like [`Self::start`], with TigerVNC's `Xvnc` (no VNC port) instead:
    /// the same X server code, but it takes a keyboard layout set with
    /// `setxkbmap`, which Xvfb accepts and then ignores.
    pub fn start_xvnc(width: u32, height: u32) -> Xvfb {
        Self::start_server(Server::Xvnc, width, height)
    }

    fn start_server(server: Server, width: u32, height: u32) -> Xvfb {
        let offset = std::process::id() % DISPLAY_COUNT;
        for _ in 0..DISPLAY_COUNT {
            let n = NEXT_CANDIDATE.fetch_add(1, Ordering::Relaxed);
            let number = FIRST_DISPLAY + (offset + n) % DISPLAY_COUNT;
            if display_in_use(number) {
                continue;
            }
            if let Some(xvfb) = try_start(server, number, width, height) {
                return xvfb;
            }
        }
        panic!(
            "no free X display in {FIRST_DISPLAY}..{}",
            FIRST_DISPLAY + DISPLAY_COUNT
        );
    }

    /// The display name, like `:123`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// A command that runs against this display.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("DISPLAY", &self.display);
        cmd
    }

    /// Run `program args` on this display and return its stdout; panics
    /// if it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let Output {
            status,
            stdout,
            stderr,
        } = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&stderr)
        );
        String::from_utf8_lossy(&stdout).into_owned()
    }

    /// The pointer position as `xdotool getmouselocation` reports it.
    pub fn pointer_location(&self) -> (i32, i32) {
        let out = self.run("xdotool", &["getmouselocation", "--shell"]);
        let field = |name: &str| -> i32 {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in xdotool output: {out}"))
        };
        (field("X="), field("Y="))
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Ask the server to exit (SIGTERM, so it removes its socket and lock
/// file), and kill it if it has not exited within five seconds.
fn stop(child: &mut Child) {
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    if terminated {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A live server holds the lock file; a socket alone may be stale, and
/// Xvfb replaces it.
fn display_in_use(number: u32) -> bool {
    Path::new(&format!("/tmp/.X{number}-lock")).exists()
}

/// Start Xvfb on `number`; `None` if it exits (the display was taken).
/// Which X server to run.
#[derive(Debug, Clone, Copy)]
enum Server {
    Xvfb,
    Xvnc,
}

fn try_start(server: Server, number: u32, width: u32, height: u32) -> Option<Xvfb> {
    let display = format!(":{number}");
    let mut command = match server {
        Server::Xvfb => {
            let mut c = Command::new("Xvfb");
            c.arg(&display)
                .args(["-screen", "0", &format!("{width}x{height}x24")]);
            c
        }
        Server::Xvnc => {
            let mut c = Command::new("Xvnc");
            c.arg(&display)
                .args(["-geometry", &format!("{width}x{height}"), "-depth", "24"])
                .args(["-SecurityTypes", "None", "-rfbport", "-1"]);
            c
        }
    };
    let mut child = command
        .args(["-nolisten", "tcp", "-displayfd", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {server:?} (packages xvfb, tigervnc-standalone-server): {e}")
        });
    let stdout = child.stdout.take().expect("stdout was piped");
    let (tx, rx) = mpsc::channel();
    // Ends at EOF, when Xvfb exits; owned by nobody, it holds nothing.
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(line) if line.trim() == number.to_string() => Some(Xvfb { child, display }),
        Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            stop(&mut child);
            None
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            stop(&mut child);
            panic!("Xvfb {display} did not become ready within {START_TIMEOUT:?}");
        }
    }
}

/// Poll `check` until it returns `Some`, or panic after `timeout` with
/// `what` in the message. Polls every 20 ms; never a bare sleep.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed on drop (an X client under test).
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
