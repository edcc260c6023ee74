//! A whole Meshdesk deployment across network namespaces, for the NAT tests
//! and `scripts/bench connect`: `meshdesk-signaling` and its relay in the
//! public namespace of an [`Internet`](crate::netns::Internet), a real
//! `meshdesk-host` in one namespace, the real `meshdesk-viewer` in another,
//! and a headless connect that returns the viewer's `--stats-json` report.
//!
//! The host captures an Xvfb started in the machine's namespace: X clients
//! fall back from the abstract socket (private to a network namespace) to
//! the filesystem one in `/tmp/.X11-unix`, which every namespace sees.
//!
//! To debug a topology, `MESHDESK_VIEWER_LOG` and `MESHDESK_HOST_LOG`
//! replace the processes' `RUST_LOG` (e.g. `info,rtc_ice=debug,rtc_dtls=debug`),
//! and `MESHDESK_NAT_LOGS=1` makes the NAT tests print both logs after each
//! session.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::netns::{Netns, INTERNET_RANGE, LAN_RANGE, SERVER_IP};
use crate::server::{binary, TempDir};
use crate::{Api, Host, Server, Xvfb, WAIT};

/// The account every deployment uses.
pub const USER: &str = "alice";
/// The password `Api::user` signs up with.
pub const PASSWORD: &str = "password-123";
/// The name the host is enrolled under.
pub const DEVICE: &str = "nat-pc";
/// The embedded relay's secret (coturn's `static-auth-secret` when the
/// relay is external).
pub const RELAY_SECRET: &str = "nat-test-relay-secret-0123456789";

/// Server config: open signup, the embedded relay on [`SERVER_IP`] (any
/// port) with that public address, allowed to relay to the test's own
/// ranges only. `relay_extra` adds lines to `[relay]`.
pub fn relay_config(relay_extra: &str) -> String {
    format!(
        "signup = \"open\"\n\n[relay]\nlisten = \"{SERVER_IP}:0\"\npublic_ip = \"{SERVER_IP}\"\n\
         secret = \"{RELAY_SECRET}\"\nallowed_peer_ranges = [\"{INTERNET_RANGE}\", \"{LAN_RANGE}\"]\n\
         {relay_extra}\n"
    )
}

/// Start the server in `public` on [`SERVER_IP`] with `config`.
pub fn start_server(public: &Netns, config: &str) -> Server {
    Server::start_in(public, &format!("{SERVER_IP}:0"), config)
}

/// Sign up [`USER`] (from inside `public`); returns the token.
pub fn sign_up(public: &Netns, server: &Server) -> String {
    let api = Api::new(server);
    public.block_on(api.user(USER))
}

/// Enroll a host called [`DEVICE`] from inside `netns`, run it there on
/// `x`, and wait until the server sees it online.
pub fn start_host(public: &Netns, server: &Server, token: &str, netns: &Netns, x: &Xvfb) -> Host {
    let api = Api::new(server);
    let code = public.block_on(api.code(token));
    let mut host = Host::enroll_in(Some(netns), server, &code, DEVICE);
    host.run(x);
    public.block_on(async {
        let deadline = Instant::now() + WAIT;
        loop {
            if api.online(token, &host.device_id).await {
                return;
            }
            assert!(Instant::now() < deadline, "host never came online");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    host
}

/// `meshdesk-viewer` signed in as [`USER`] from inside a namespace.
#[derive(Debug)]
pub struct Viewer {
    /// Holds the login file.
    dir: TempDir,
    /// The namespace it runs in.
    netns: String,
}

impl Viewer {
    /// `meshdesk-viewer login` from inside `netns`.
    pub fn login(netns: &Netns, server: &Server) -> Viewer {
        let viewer = Viewer {
            dir: TempDir::new("viewer"),
            netns: netns.name().to_string(),
        };
        let mut args = vec!["login", "--server", &server.base, "--username", USER];
        let ca_file = server.ca_file.as_ref().map(|p| p.display().to_string());
        if let Some(ca) = &ca_file {
            args.extend(["--ca-file", ca.as_str()]);
        }
        let out = viewer.run(&args, Some(PASSWORD));
        assert!(
            out.status.success(),
            "viewer login: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        viewer
    }

    /// Where the last `connect` left its stderr.
    fn log_path(&self) -> PathBuf {
        self.dir.0.join("viewer.log")
    }

    /// The log of the last `connect`.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn config(&self) -> PathBuf {
        self.dir.0.join("viewer.toml")
    }

    fn run(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut cmd = crate::netns::command(Some(&self.netns), binary("meshdesk-viewer"));
        cmd.arg("--config").arg(self.config()).args(args);
        cmd.env_remove("DISPLAY")
            .env(
                "RUST_LOG",
                std::env::var("MESHDESK_VIEWER_LOG")
                    .unwrap_or_else(|_| "info,meshdesk_viewer=debug,meshdesk_peer=debug".into()),
            )
            .stdin(Stdio::null());
        if let Some(p) = password {
            cmd.env("MESHDESK_PASSWORD", p);
        }
        cmd.output().expect("run meshdesk-viewer")
    }

    /// `connect DEVICE --headless --duration SECS --stats-json`: the stats
    /// report when the viewer exits cleanly, else its output.
    pub fn connect(&self, device: &str, secs: f64) -> Result<Value, String> {
        self.connect_with(device, secs, &[])
    }

    /// [`Self::connect`] with extra `connect` flags (`--relay-only`).
    pub fn connect_with(&self, device: &str, secs: f64, extra: &[&str]) -> Result<Value, String> {
        let secs = secs.to_string();
        let mut args = vec![
            "connect",
            device,
            "--headless",
            "--duration",
            &secs,
            "--stats-json",
        ];
        args.extend_from_slice(extra);
        let out = self.run(&args, None);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let _ = std::fs::write(self.log_path(), stderr.as_bytes());
        if !out.status.success() {
            return Err(format!("viewer {}:\n{stderr}\n{stdout}", out.status));
        }
        serde_json::from_str(stdout.trim())
            .map_err(|e| format!("stats are not JSON ({e}):\n{stdout}\n{stderr}"))
    }
}
