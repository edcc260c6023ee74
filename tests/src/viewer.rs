//! The real `meshdesk-viewer` binary with its own login file, and the
//! `meshdesk-xprobe` test window it looks at on the host's display.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::server::{binary, TempDir};
use crate::{Server, Xvfb, WAIT};

/// A viewer login file in a private directory (also a place for logs).
#[derive(Debug)]
pub struct ViewerHome {
    pub dir: TempDir,
}

impl ViewerHome {
    pub fn new() -> ViewerHome {
        ViewerHome {
            dir: TempDir::new("viewer"),
        }
    }

    /// The `--config` file.
    pub fn config(&self) -> PathBuf {
        self.dir.0.join("meshdesk").join("viewer.toml")
    }

    /// `meshdesk-viewer --config FILE ARGS`, with no display and debug logs.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary("meshdesk-viewer"));
        cmd.arg("--config").arg(self.config()).args(args);
        cmd.env_remove("DISPLAY")
            .env("RUST_LOG", "info,meshdesk_viewer=debug");
        cmd
    }

    /// Run to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run meshdesk-viewer")
    }

    /// `connect DEVICE --headless --stats-json EXTRA...`, which must
    /// succeed: its one JSON object.
    pub fn connect_stats(&self, device: &str, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["connect", device, "--headless", "--stats-json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "connect {device}: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).expect("one JSON object")
    }

    /// [`Self::login`], which must succeed.
    pub fn login_ok(&self, server: &Server, user: &str, password: &str) {
        let out = self.login(server, user, password);
        assert!(
            out.status.success(),
            "login {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `login` with the password in `MESHDESK_PASSWORD`.
    pub fn login(&self, server: &Server, user: &str, password: &str) -> Output {
        self.login_at(&[&server.base], user, password)
    }

    /// `login --server URL...` (each of `urls`, in order) with the password
    /// in `MESHDESK_PASSWORD`.
    pub fn login_at(&self, urls: &[&str], user: &str, password: &str) -> Output {
        let mut args = vec!["login"];
        args.extend(urls.iter().flat_map(|url| ["--server", *url]));
        args.extend(["--username", user]);
        self.command(&args)
            .env("MESHDESK_PASSWORD", password)
            .stdin(Stdio::null())
            .output()
            .expect("run login")
    }
}

impl Default for ViewerHome {
    fn default() -> Self {
        Self::new()
    }
}

/// A long-running process killed on drop, its stderr kept in a file that
/// is printed if the test panicked.
#[derive(Debug)]
pub struct Running {
    pub child: Child,
    pub log: PathBuf,
    pub name: &'static str,
}

impl Running {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait for the exit; panics after `WAIT`.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log_text());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `meshdesk-xprobe animate` in a 160x90 corner of `x`, 10 times a second
/// (log in `dir`): pictures to decode before and after whatever a test
/// does to the session.
pub fn motion(x: &Xvfb, dir: &Path) -> Running {
    animate(x, dir, "160x90+0+0", 10, "scroll")
}

/// `meshdesk-xprobe animate` over `geometry` (`WxH+X+Y`) of `x`, `hz`
/// times a second (log in `dir`): a picture that keeps the encoder busy,
/// scrolling like a video or a page (`motion` "scroll"), or new every
/// frame ("fresh").
pub fn animate(x: &Xvfb, dir: &Path, geometry: &str, hz: u32, motion: &str) -> Running {
    let log = dir.join("xprobe-animate.log");
    let child = Command::new(binary("meshdesk-xprobe"))
        .args(["animate", "--geometry", geometry, "--color", "3366cc"])
        .args(["--hz", &hz.to_string(), "--motion", motion])
        .env("DISPLAY", x.display())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start meshdesk-xprobe (cargo build -p meshdesk-tests --bins)");
    Running {
        child,
        log,
        name: "xprobe animate",
    }
}

/// Where and how `meshdesk-xprobe window` draws.
#[derive(Debug, Clone, Copy)]
pub struct ProbeWindow {
    /// x, y, width, height on the screen.
    pub geometry: (u32, u32, u32, u32),
    pub colour: u32,
    /// The colour every press swaps to (and back).
    pub flip: Option<u32>,
}

/// `meshdesk-xprobe window` on a display: lines it prints arrive on `lines`.
#[derive(Debug)]
pub struct Probe {
    _process: Running,
    lines: mpsc::Receiver<String>,
}

impl Probe {
    /// Start the window on `x` (log in `dir`) and wait until it is mapped.
    pub fn start(x: &Xvfb, dir: &Path, window: ProbeWindow) -> Probe {
        let (px, py, w, h) = window.geometry;
        let log = dir.join("xprobe.log");
        let mut cmd = Command::new(binary("meshdesk-xprobe"));
        cmd.args(["window", "--geometry", &format!("{w}x{h}+{px}+{py}")])
            .args(["--color", &format!("{:06x}", window.colour)]);
        if let Some(flip) = window.flip {
            cmd.args(["--flip", &format!("{flip:06x}")]);
        }
        let mut child = cmd
            .env("DISPLAY", x.display())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start meshdesk-xprobe (cargo build -p meshdesk-tests --bins)");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut probe = Probe {
            _process: Running {
                child,
                log,
                name: "xprobe",
            },
            lines,
        };
        probe.expect(|l| l == "ready", "xprobe ready");
        probe
    }

    /// Wait for a line matching `want`; returns it.
    pub fn expect(&mut self, want: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if want(&line) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no {what} from xprobe; saw {seen:?}"),
            }
        }
    }

    /// Every line printed so far, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

/// Wait until the server reports `device_id` online; panics after `WAIT`.
pub async fn wait_online(api: &crate::Api, token: &str, device_id: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        if api.online(token, device_id).await {
            return;
        }
        assert!(Instant::now() < deadline, "host never came online");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
