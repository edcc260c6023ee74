//! Starting and stopping a private X server.
//!
//! The server is told `-displayfd 1`: it takes the first display number
//! nobody holds (the X server's own lock files decide, atomically) and
//! writes it to its stdout once it accepts connections. Waiting for that
//! line is the readiness condition, bounded by [`START_TIMEOUT`].

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::process::stop;

/// How long a starting server may take to accept connections (a loaded
/// 2-core machine needs a few seconds at worst).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running X server on a display of its own; stopped when dropped.
///
/// Named after Xvfb, the usual server; [`Xvfb::start_xvnc`] runs Xvnc
/// behind the same handle.
#[derive(Debug)]
pub struct Xvfb {
    /// The server process, stopped on drop.
    child: Child,
    /// The display name, like `:3`, for `DISPLAY` and `x11rb::connect`.
    display: String,
}

impl Xvfb {
    /// A `width` x `height` screen at depth 24 on Xvfb. One fixed RandR
    /// mode: Xvfb cannot change its resolution.
    pub fn start(width: u32, height: u32) -> Xvfb {
        let mut command = Command::new("Xvfb");
        command
            .args(["-screen", "0"])
            .arg(format!("{width}x{height}x24"));
        Self::spawn(command, "Xvfb (Debian package xvfb)")
    }

    /// A `width` x `height` screen at depth 24 on TigerVNC's `Xvnc`, with
    /// no VNC port: its RandR modes can be switched ([`Self::resize`]) and
    /// it keeps a keyboard layout set with `setxkbmap`, which Xvfb accepts
    /// and then ignores.
    pub fn start_xvnc(width: u32, height: u32) -> Xvfb {
        let mut command = Command::new("Xvnc");
        command
            .args(["-geometry", &format!("{width}x{height}"), "-depth", "24"])
            .args(["-SecurityTypes", "None", "-rfbport", "-1"]);
        Self::spawn(command, "Xvnc (Debian package tigervnc-standalone-server)")
    }

    /// Xvnc at 2304x768 with two RandR monitors of different sizes (Xvfb
    /// keeps none): `A`, 1280x720 at the left on output VNC-0, and `B`,
    /// 1024x768 beside it on no output.
    pub fn start_two_monitors() -> Xvfb {
        let x = Self::start_xvnc(2304, 768);
        x.add_two_monitors();
        x
    }

    /// On an Xvnc at 2304x768, the monitors `A` and `B` of
    /// [`Self::start_two_monitors`] (for a test that must be watching
    /// before they appear).
    pub fn add_two_monitors(&self) {
        self.run(
            "xrandr",
            &["--setmonitor", "A", "1280/340x720/190+0+0", "VNC-0"],
        );
        self.run(
            "xrandr",
            &["--setmonitor", "B", "1024/270x768/200+1280+0", "none"],
        );
    }

    /// Runs `command` with the options every test display shares and waits
    /// until it reports its display number.
    fn spawn(mut command: Command, what: &str) -> Xvfb {
        // -noreset: without it the server resets (forgetting what a test
        // painted) whenever its last client disconnects. -br: a black root
        // rather than the default weave.
        let mut child = command
            .args(["-displayfd", "1", "-nolisten", "tcp", "-noreset", "-br"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        match read_display_number(stdout, START_TIMEOUT) {
            Ok(number) => Xvfb {
                child,
                display: format!(":{number}"),
            },
            Err(why) => {
                stop(&mut child);
                panic!("{what} did not start: {why}");
            }
        }
    }

    /// The display name, like `:3`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The X server's process id (to stop and continue it in a test).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A command that runs `program` on this display.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("DISPLAY", &self.display);
        command
    }

    /// Runs `program args` on this display and returns its stdout; panics
    /// if it cannot run or fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Reads the line `-displayfd` writes: the display number, once the server
/// accepts connections. An error if the server exits first (end of file)
/// or `timeout` passes.
fn read_display_number(mut stdout: ChildStdout, timeout: Duration) -> Result<u32, String> {
    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    while !line.ends_with(b"\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no display number within {timeout:?}"));
        }
        let left = Timespec::try_from(left).map_err(|e| e.to_string())?;
        let mut fds = [PollFd::new(&stdout, PollFlags::IN)];
        match poll(&mut fds, Some(&left)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(format!("poll: {e}")),
        }
        let mut chunk = [0; 16];
        match stdout.read(&mut chunk) {
            Ok(0) => return Err("it exited without a display number".into()),
            Ok(n) => line.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&line);
    text.trim()
        .parse()
        .map_err(|_| format!("it reported {text:?} as its display"))
}
