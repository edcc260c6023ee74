//! A real `meshdesk-signaling` process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::netns::{self, Netns};
use crate::postgres::PgServer;

/// Directory holding the workspace's built binaries: `MESHDESK_BIN_DIR`, or
/// the directory above this test executable's `deps/`.
pub fn bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("MESHDESK_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().expect("exe dir");
    if dir.ends_with("deps") {
        dir.parent().expect("target profile dir").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Path of a workspace binary; panics with advice when it was not built.
pub fn binary(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not found: run `cargo build --workspace --bins` first (or set MESHDESK_BIN_DIR)",
        p.display()
    );
    p
}

/// Path of a workspace example (under `examples/` of the binaries'
/// directory); panics with advice when it was not built.
pub fn example(name: &str) -> PathBuf {
    let p = bin_dir().join("examples").join(name);
    assert!(
        p.exists(),
        "{} not found: run `cargo build -p meshdesk-client --examples` first (or set MESHDESK_BIN_DIR)",
        p.display()
    );
    p
}

/// A fresh temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "meshdesk-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Set to `postgres` and every server the harness starts outside a
/// network namespace keeps its state in a private PostgreSQL server of
/// its own instead of SQLite; `scripts/test` runs the REST, presence,
/// sharing, feed, webhook and restart tests both ways.
pub const BACKEND_ENV: &str = "MESHDESK_TEST_BACKEND";

/// What the server prints before the fingerprint at start.
const FINGERPRINT_LINE: &str = "meshdesk-signaling TLS certificate SHA-256 fingerprint ";

/// A line of the server's stdout that the harness reads.
enum Printed {
    Fingerprint(String),
    Url(String),
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, or `https://` when the config has `[tls]`.
    pub base: String,
    /// The TLS certificate's SHA-256 fingerprint as the server printed it
    /// (`None`: plain HTTP).
    pub fingerprint: Option<String>,
    /// The CA file test clients verify this server with (set by a test
    /// serving a test CA's certificate): [`crate::Api::new`], host
    /// enrollment and the viewer's login use it. `None`: system CAs.
    pub ca_file: Option<PathBuf>,
    /// Data dir (SQLite file inside), kept across restarts.
    pub dir: TempDir,
    /// The PostgreSQL server holding the state instead of SQLite, kept
    /// across restarts (see [`BACKEND_ENV`], [`Server::start_on_postgres`]).
    pub postgres: Option<PgServer>,
    /// Extra TOML config the server runs with.
    config: String,
    /// Where stderr (the log) goes.
    pub log: PathBuf,
    /// Network namespace the process runs in (`None`: the machine's own).
    netns: Option<String>,
    /// URLs the process printed after its listening line (a metrics
    /// listener's), in order.
    printed: Option<mpsc::Receiver<Printed>>,
}

impl Server {
    /// Start with default settings plus `signup = "open"`.
    pub fn start() -> Server {
        Server::start_with("signup = \"open\"\n")
    }

    /// Start with the given TOML config. The embedded TURN relay stays off
    /// (tests run many servers at once; its default port is fixed) unless
    /// the config has a `[relay]` table.
    pub fn start_with(config: &str) -> Server {
        let mut config = config.to_string();
        if !config.lines().any(|l| l.trim() == "[relay]") {
            config.push_str("\n[relay]\nenabled = false\n");
        }
        Server::start_raw(None, "127.0.0.1:0", config, &[])
    }

    /// Start inside network namespace `netns`, listening on `listen`, with
    /// exactly `config` (the relay keeps its defaults unless configured).
    pub fn start_in(netns: &Netns, listen: &str, config: &str) -> Server {
        Server::start_raw(
            Some(netns.name().to_string()),
            listen,
            config.to_string(),
            &[],
        )
    }

    /// Start with `signup = "open"` on a private PostgreSQL server,
    /// whatever [`BACKEND_ENV`] says.
    pub fn start_on_postgres() -> Server {
        let config = "signup = \"open\"\n[relay]\nenabled = false\n".to_string();
        Server::start_backend(None, "127.0.0.1:0", config, &[], Some(PgServer::start()))
    }

    /// Start one node of a cluster: state in the PostgreSQL at `db_url`,
    /// joined to the others through the NATS server at `nats_url`.
    pub fn start_cluster_node(db_url: &str, nats_url: &str) -> Server {
        Server::start_cluster_node_with(db_url, nats_url, "")
    }

    /// [`Self::start_cluster_node`] with more top-level config lines
    /// (`public_url`, `trusted_proxies`).
    pub fn start_cluster_node_with(db_url: &str, nats_url: &str, extra: &str) -> Server {
        let config = format!("signup = \"open\"\n{extra}\n[relay]\nenabled = false\n");
        Server::start_cluster_node_config(db_url, nats_url, &config)
    }

    /// A node whose whole configuration is `config` but for its
    /// `[database]` and `[cluster]` tables (its own `[relay]`, say).
    pub fn start_cluster_node_config(db_url: &str, nats_url: &str, config: &str) -> Server {
        let config = format!(
            "{config}\n[database]\nurl = \"{db_url}\"\n[cluster]\nnats_url = \"{nats_url}\"\n"
        );
        Server::start_backend(None, "127.0.0.1:0", config, &[], None)
    }

    fn start_raw(netns: Option<String>, listen: &str, config: String, args: &[&str]) -> Server {
        let on_postgres = std::env::var(BACKEND_ENV).is_ok_and(|v| v == "postgres");
        let postgres = (on_postgres && netns.is_none()).then(PgServer::start);
        Server::start_backend(netns, listen, config, args, postgres)
    }

    fn start_backend(
        netns: Option<String>,
        listen: &str,
        config: String,
        args: &[&str],
        postgres: Option<PgServer>,
    ) -> Server {
        let dir = TempDir::new("server");
        let mut s = Server {
            child: None,
            base: String::new(),
            fingerprint: None,
            ca_file: None,
            log: dir.0.join("server.log"),
            dir,
            postgres,
            config,
            netns,
            printed: None,
        };
        s.spawn_with(listen, args);
        s
    }

    fn spawn(&mut self, listen: &str) {
        self.spawn_with(listen, &[]);
    }

    /// Start with extra command-line arguments (`--tls-self-signed`).
    pub fn start_with_args(config: &str, args: &[&str]) -> Server {
        let mut config = config.to_string();
        config.push_str("\n[relay]\nenabled = false\n");
        Server::start_raw(None, "127.0.0.1:0", config, args)
    }

    /// Stop (SIGTERM) and start again on the same data dir with `args`.
    pub fn restart_with_args(&mut self, args: &[&str]) {
        self.stop();
        self.spawn_with("127.0.0.1:0", args);
    }

    fn spawn_with(&mut self, listen: &str, args: &[&str]) {
        let cfg_path = self.dir.0.join("config.toml");
        std::fs::write(&cfg_path, &self.config).expect("write config");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut child = netns::command(self.netns.as_deref(), binary("meshdesk-signaling"))
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--config")
            .arg(&cfg_path)
            .args(args)
            .envs(
                self.postgres
                    .as_ref()
                    .map(|pg| ("MESHDESK_DATABASE_URL", pg.url())),
            )
            .env(
                "RUST_LOG",
                "info,meshdesk_signaling=debug,meshdesk_relay=debug",
            )
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start meshdesk-signaling");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(fp) = line.strip_prefix(FINGERPRINT_LINE) {
                    let _ = tx.send(Printed::Fingerprint(fp.trim().to_string()));
                }
                let url = line
                    .split_whitespace()
                    .find(|w| w.starts_with("http://") || w.starts_with("https://"));
                if let Some(url) = url {
                    let _ = tx.send(Printed::Url(url.to_string()));
                }
            }
        });
        self.fingerprint = None;
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Printed::Fingerprint(fp)) => self.fingerprint = Some(fp),
                Ok(Printed::Url(url)) => {
                    self.base = url;
                    break;
                }
                Err(_) => panic!("server did not start; log:\n{}", self.log_text()),
            }
        }
        self.child = Some(child);
        self.printed = Some(rx);
    }

    /// The next URL the server printed after its listening line (e.g.
    /// `meshdesk-signaling metrics on http://ADDR`); fails after 10 s.
    pub fn next_printed_url(&self) -> String {
        let rx = self.printed.as_ref().expect("server running");
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(Printed::Url(url)) => return url,
                Ok(Printed::Fingerprint(_)) => continue,
                Err(_) => panic!("no further URL printed; log:\n{}", self.log_text()),
            }
        }
    }

    /// Process id of the running server (for reading `/proc/PID/status`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.0.join("data")
    }

    /// Stop the process (SIGTERM, then wait) and start it again on the same
    /// data dir. The port changes.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn("127.0.0.1:0");
    }

    /// Stop if running and start again on the same address (clients
    /// configured with the old URL find it again).
    pub fn restart_same_address(&mut self) {
        self.stop();
        let addr = self
            .base
            .split("://")
            .last()
            .unwrap_or_default()
            .to_string();
        self.spawn(&addr);
    }

    /// Graceful stop with SIGTERM; returns whether it exited with success
    /// within 10 s (the server gives open connections up to 5 s to close;
    /// a test client that never reads its socket takes all of them).
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Kill the process with SIGKILL (a crash: nothing is flushed or
    /// closed); `restart` starts it again on the same data dir.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Full log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the log says `what` at least `n` times (at most
    /// [`crate::WAIT`]).
    pub async fn wait_for_log(&self, what: &str, n: usize) {
        let deadline = std::time::Instant::now() + crate::WAIT;
        while self.log_text().matches(what).count() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "server never logged `{what}` {n} times"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `ws://127.0.0.1:PORT/api/v1/ws/{kind}` (`wss://` under TLS)
    pub fn ws_url(&self, kind: &str) -> String {
        format!("{}/api/v1/ws/{kind}", self.base.replacen("http", "ws", 1))
    }

    /// The SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("meshdesk.db")
    }

    /// Run one SQL statement (written to mean the same in SQLite and
    /// PostgreSQL) on the server's database, behind its back; returns how
    /// many rows it changed.
    pub fn execute_sql(&self, sql: &str) -> u64 {
        match &self.postgres {
            None => {
                let db = rusqlite::Connection::open(self.db_path()).expect("open the database");
                db.execute(sql, []).expect("run SQL") as u64
            }
            Some(pg) => pg.execute_sql(sql),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `http://127.0.0.1:PORT` where nothing listens: a server that is down
/// (connections to it are refused at once). The port was free a moment
/// ago; another test could take it, but not answer as a Meshdesk server.
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}", crate::postgres::free_port())
}

/// Whether a path exists (for readability in tests).
pub fn exists(p: &Path) -> bool {
    p.exists()
}
