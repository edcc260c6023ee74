//! A private PostgreSQL server for tests: `initdb` into a temporary
//! directory, then `postgres` on a free loopback port, torn down on drop.
//!
//! PostgreSQL refuses to run as root, so as root the harness runs it as
//! the system user [`PG_USER`] (created on first use) through `setpriv`,
//! which execs: the PID held is the postmaster's, and stopping it stops
//! the server. The binaries come from Debian's `postgresql` package
//! (`/usr/lib/postgresql/N/bin`) or, failing that, `PATH`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::server::TempDir;

/// The unprivileged user the server runs as when the tests run as root.
pub const PG_USER: &str = "meshdesk-pg";

/// How long a start may take before the test fails.
const START_BOUND: Duration = Duration::from_secs(30);

/// A running (or stopped, see [`PgServer::stop`]) PostgreSQL server.
#[derive(Debug)]
pub struct PgServer {
    /// The cluster (`data/`), the socket and the log; removed on drop.
    dir: TempDir,
    /// The loopback port it listens on, kept across restarts.
    pub port: u16,
    /// The postmaster, while running.
    child: Option<Child>,
}

impl PgServer {
    /// Create a cluster and start a server on it; fails the test, with
    /// the log, when either does not work.
    pub fn start() -> PgServer {
        let dir = TempDir::new("pg");
        let as_user = running_as_root().then(ensure_user);
        if let Some(user) = &as_user {
            chown(&dir.0, user);
        }
        let data = dir.0.join("data");
        let out = command(as_user.as_deref(), &pg_bin("initdb"))
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .arg("-D")
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = PgServer {
            dir,
            port: free_port(),
            child: None,
        };
        pg.start_again();
        pg
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser on the
    /// default database (trust authentication, so no password).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Start the stopped server again on the same cluster and port, and
    /// wait until it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let as_user = running_as_root().then(ensure_user);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("postgres log");
        let child = command(as_user.as_deref(), &pg_bin("postgres"))
            .arg("-D")
            .arg(self.dir.0.join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.dir.0)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Poll `pg_isready` until the server accepts connections; fail the
    /// test (with the log) if it exits or takes longer than 30 s.
    fn wait_ready(&mut self) {
        let start = std::time::Instant::now();
        loop {
            let ready = Command::new(pg_bin("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && start.elapsed() < START_BOUND,
                "postgres did not start ({exited:?}); log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the server (fast shutdown: open connections are closed) and
    /// wait for it to exit. [`PgServer::start_again`] brings it back.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = rustix::process::Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        let start = std::time::Instant::now();
        while child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > START_BOUND {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Run one statement with `psql`; returns the rows it changed (the
    /// count in psql's `UPDATE n` / `DELETE n` tag).
    pub fn execute_sql(&self, sql: &str) -> u64 {
        let out = Command::new(pg_bin("psql"))
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url())
            .arg("-c")
            .arg(sql)
            .output()
            .expect("run psql");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        text.split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no row count in psql's answer: {text}"))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.0.join("postgres.log")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Immediate shutdown: nothing of a test's cluster is kept.
            let pid = rustix::process::Pid::from_child(&c);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::QUIT);
            let _ = c.wait();
        }
    }
}

/// A PostgreSQL program: from Debian's newest `/usr/lib/postgresql/N/bin`
/// that has it, else by name from `PATH`.
pub fn pg_bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .iter()
        .rev()
        .map(|v| v.join("bin").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Create [`PG_USER`] (a system user, no home) unless it exists.
fn ensure_user() -> String {
    let exists = Command::new("id")
        .arg(PG_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        // Two tests may race to create it: either way it exists after.
        let _ = Command::new("useradd")
            .args(["-r", "-M", "-s", "/usr/sbin/nologin", PG_USER])
            .stderr(Stdio::null())
            .status();
    }
    PG_USER.to_string()
}

fn chown(dir: &Path, user: &str) {
    let ok = Command::new("chown")
        .arg(format!("{user}:"))
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "chown {} to {user}", dir.display());
}

/// `program`, run as `user` (through `setpriv`, which execs) when given.
fn command(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", u, "--regid", u, "--clear-groups"])
                .arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}
