//! A real coturn (`turnserver`, Debian package `coturn`) in a network
//! namespace, configured the way operators pair it with meshdesk-signaling:
//! `use-auth-secret` with a `static-auth-secret`. Killed on drop.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::server::TempDir;
use crate::WAIT;

/// A running coturn.
#[derive(Debug)]
pub struct Coturn {
    child: Child,
    /// Holds its database and log.
    dir: TempDir,
    /// Where it listens, UDP and TCP.
    pub addr: SocketAddr,
}

impl Coturn {
    /// Why coturn cannot run here (`turnserver` is not installed), or
    /// `None` when it can. Tests check it with [`crate::require!`].
    pub fn unavailable() -> Option<String> {
        let runs = std::process::Command::new("turnserver")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        (!runs).then(|| "`turnserver` is missing (Debian package coturn)".to_string())
    }

    /// Start coturn inside `netns` on `ip`:3478 (it owns the namespace, so
    /// the standard port is free), relaying from `ip` to peers in
    /// `allowed` (`FIRST-LAST` address ranges) only; waits until it
    /// accepts TCP connections.
    pub fn start(
        netns: &Netns,
        ip: Ipv4Addr,
        secret: &str,
        realm: &str,
        allowed: &[&str],
    ) -> Coturn {
        let dir = TempDir::new("coturn");
        let log = dir.0.join("coturn.log");
        let mut cmd = netns.command("turnserver");
        // --verbose: without it the log has no per-request lines
        // ("ALLOCATE processed, success", "CREATE_PERMISSION ... 403").
        cmd.args(["-n", "--no-cli", "--no-tls", "--no-dtls", "--simple-log"])
            .args(["--no-software-attribute", "--use-auth-secret", "--verbose"])
            .arg(format!("--static-auth-secret={secret}"))
            .arg(format!("--realm={realm}"))
            .arg(format!("--listening-ip={ip}"))
            .arg(format!("--relay-ip={ip}"))
            .arg("--listening-port=3478")
            .arg(format!("--db={}", dir.0.join("turndb").display()))
            .arg(format!(
                "--pidfile={}",
                dir.0.join("turnserver.pid").display()
            ))
            // With --simple-log the name is used as given.
            .arg(format!("--log-file={}", log.display()));
        // `allowed-peer-ip` alone restricts nothing: it only makes
        // exceptions to `denied-peer-ip`. Deny everything else, as an
        // operator should at least for private ranges. It matters beyond
        // safety: ICE also tries the peers' private host candidates through
        // the relay, and coturn tears down the whole allocation when
        // sending to a peer fails (`udp send: Network is unreachable` on
        // stderr, the session "closed ... reason: general"), so a peer it
        // cannot route to must be refused up front with a 403.
        cmd.arg("--denied-peer-ip=0.0.0.0-255.255.255.255");
        for range in allowed {
            cmd.arg(format!("--allowed-peer-ip={range}"));
        }
        // Its stderr carries what the log does not, e.g. `udp send: ...`
        // when relaying to a peer fails.
        let stderr = std::fs::File::create(dir.0.join("coturn.stderr")).expect("coturn stderr");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start turnserver (Debian package coturn)");
        let addr = SocketAddr::from((ip, 3478));
        let coturn = Coturn { child, dir, addr };
        netns.block_on(async {
            let deadline = Instant::now() + WAIT;
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                assert!(
                    Instant::now() < deadline,
                    "coturn did not start; log:\n{}",
                    coturn.log_text()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        coturn
    }

    fn log_path(&self) -> PathBuf {
        self.dir.0.join("coturn.log")
    }

    /// Its log so far, followed by its stderr if it wrote any.
    pub fn log_text(&self) -> String {
        let mut text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let stderr = std::fs::read_to_string(self.dir.0.join("coturn.stderr")).unwrap_or_default();
        if !stderr.trim().is_empty() {
            text.push_str("--- coturn stderr ---\n");
            text.push_str(&stderr);
        }
        text
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- coturn log ---\n{}", self.log_text());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
