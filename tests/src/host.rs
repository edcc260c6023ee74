//! A real `meshdesk-host`: enrolled through its CLI, then `run` on an Xvfb
//! display. Killed on drop; its log is printed if the test panicked.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Child, Stdio};

use crate::netns::{self, Netns};
use crate::server::{binary, TempDir};
use crate::{Api, Server, Xvfb};

/// A running `meshdesk-host run`, killed on drop.
#[derive(Debug)]
pub struct Host {
    child: Option<Child>,
    /// Holds the identity file and the log.
    _dir: TempDir,
    /// The identity file written by `enroll`.
    pub config: PathBuf,
    /// Where the host's stderr (its log) goes.
    pub log: PathBuf,
    /// The id the server gave the device.
    pub device_id: String,
    /// Network namespace it runs in (`None`: the machine's own).
    netns: Option<String>,
}

impl Host {
    /// Enroll a device named `name` for `token`'s user without starting it
    /// (it stays offline until [`Host::run`]).
    pub async fn enroll(server: &Server, api: &Api, token: &str, name: &str) -> Host {
        let code = api.code(token).await;
        Host::enroll_in(None, server, &code, name)
    }

    /// Enroll with `code` from inside network namespace `netns` (where it
    /// also runs later), without starting it.
    pub fn enroll_in(netns: Option<&Netns>, server: &Server, code: &str, name: &str) -> Host {
        let host = Host::try_enroll(netns, server, code, name, &[]);
        host.unwrap_or_else(|stderr| panic!("enroll failed: {stderr}"))
    }

    /// Enroll with extra `enroll` arguments (`--ca-file PEM`,
    /// `--server-fingerprint FP`); `Err` with its stderr when it fails.
    pub fn try_enroll(
        netns: Option<&Netns>,
        server: &Server,
        code: &str,
        name: &str,
        extra: &[&str],
    ) -> Result<Host, String> {
        Host::try_enroll_at(netns, server, &[&server.base], code, name, extra)
    }

    /// Enroll with `enroll --server URL` for each of `urls`, in order (the
    /// nodes of a cluster, or a dead URL before a live one), without
    /// starting it; `server` says how to verify an `https://` one.
    pub fn enroll_at(server: &Server, urls: &[&str], code: &str, name: &str) -> Host {
        Host::try_enroll_at(None, server, urls, code, name, &[])
            .unwrap_or_else(|stderr| panic!("enroll failed: {stderr}"))
    }

    fn try_enroll_at(
        netns: Option<&Netns>,
        server: &Server,
        urls: &[&str],
        code: &str,
        name: &str,
        extra: &[&str],
    ) -> Result<Host, String> {
        let dir = TempDir::new("host");
        let config = dir.0.join("conf").join("host.toml");
        let netns = netns.map(|n| n.name().to_string());
        let out = netns::command(netns.as_deref(), binary("meshdesk-host"))
            .arg("enroll")
            .args(urls.iter().flat_map(|url| ["--server", url]))
            .args(["--code", code, "--name"])
            .arg(name)
            .arg("--config")
            .arg(&config)
            .args(
                server
                    .ca_file
                    .iter()
                    .flat_map(|ca| [OsStr::new("--ca-file"), ca.as_os_str()]),
            )
            .args(extra)
            .output()
            .expect("run enroll");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = std::fs::read_to_string(&config).expect("config");
        let device_id = text
            .lines()
            .find_map(|l| l.strip_prefix("device_id = "))
            .expect("device_id")
            .trim_matches('"')
            .to_string();
        Ok(Host {
            child: None,
            log: dir.0.join("host.log"),
            _dir: dir,
            config,
            device_id,
            netns,
        })
    }

    /// Start `meshdesk-host run` capturing `x`.
    pub fn run(&mut self, x: &Xvfb) {
        self.run_with_env(x, &[]);
    }

    /// [`Self::run`] with extra environment variables (`NOTIFY_SOCKET`, ...).
    pub fn run_with_env(&mut self, x: &Xvfb, env: &[(&str, &str)]) {
        let child = netns::command(self.netns.as_deref(), binary("meshdesk-host"))
            .args(["run", "--config"])
            .arg(&self.config)
            .envs(env.iter().copied())
            .env("DISPLAY", x.display())
            .env(
                "RUST_LOG",
                std::env::var("MESHDESK_HOST_LOG")
                    .unwrap_or_else(|_| "info,meshdesk_host=debug".into()),
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&self.log).expect("log"))
            .spawn()
            .expect("start host");
        self.child = Some(child);
    }

    /// Enroll a device called `name` and run it on `x`.
    pub async fn start(server: &Server, api: &Api, token: &str, x: &Xvfb, name: &str) -> Host {
        let mut host = Host::enroll(server, api, token, name).await;
        host.run(x);
        host
    }

    /// Add `toml` (tables such as `[files]`) to the identity file before
    /// [`Self::run`].
    pub fn configure(&self, toml: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.config)
            .expect("host.toml");
        writeln!(file, "\n{toml}").expect("write host.toml");
    }

    /// `meshdesk-host status --config FILE`: what it prints (it must
    /// succeed).
    pub fn status(&self) -> String {
        let out = netns::command(self.netns.as_deref(), binary("meshdesk-host"))
            .args(["status", "--config"])
            .arg(&self.config)
            .output()
            .expect("run status");
        assert!(
            out.status.success(),
            "status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kill it at once (`kill -9`).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if std::thread::panicking() {
            eprintln!("--- host log ---\n{}", self.log_text());
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
