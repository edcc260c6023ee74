//! A private NATS server for tests: Debian's `nats-server` on a free
//! loopback port, its log in a temporary directory, stopped on drop.
//! Ready means it greets a TCP client with its `INFO` line, the first
//! thing every NATS client reads.

use std::io::Read;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres::free_port;
use crate::server::TempDir;

/// How long a start may take before the test fails.
const START_BOUND: Duration = Duration::from_secs(20);

/// A running `nats-server`.
#[derive(Debug)]
pub struct NatsServer {
    /// The log; removed on drop.
    dir: TempDir,
    /// The loopback port it listens on.
    pub port: u16,
    child: Child,
}

impl NatsServer {
    /// Start a server and wait until it greets clients; fails the test,
    /// with the log, when it does not.
    pub fn start() -> NatsServer {
        let dir = TempDir::new("nats");
        let port = free_port();
        let child = spawn(&dir, port);
        let mut nats = NatsServer { dir, port, child };
        nats.wait_ready();
        nats
    }

    /// Stop the server (SIGKILL): every client loses its connection.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again on the same port, after [`Self::stop`].
    pub fn start_again(&mut self) {
        self.child = spawn(&self.dir, self.port);
        self.wait_ready();
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("nats.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while !greets(self.port) {
            let exited = self.child.try_wait().ok().flatten();
            assert!(
                exited.is_none() && start.elapsed() < START_BOUND,
                "nats-server did not start ({exited:?}); log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `nats-server` on `port`, logging (appending) into `dir`.
fn spawn(dir: &TempDir, port: u16) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.0.join("nats.log"))
        .expect("nats log");
    Command::new(nats_bin())
        .args(["-a", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .current_dir(&dir.0)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start nats-server (Debian package nats-server)")
}

/// Whether a server on `port` sends its `INFO` greeting.
fn greets(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut first = [0u8; 4];
    s.read_exact(&mut first).is_ok() && &first == b"INFO"
}

/// `nats-server` from PATH, or where Debian puts it.
fn nats_bin() -> std::path::PathBuf {
    let debian = std::path::Path::new("/usr/sbin/nats-server");
    if debian.exists() {
        debian.to_path_buf()
    } else {
        "nats-server".into()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
