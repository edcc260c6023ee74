//! Real reverse proxies in front of test servers, configured by the
//! README's examples (`docs/examples/nginx.conf`, `docs/examples/Caddyfile`,
//! `docs/examples/haproxy.cfg`) with only the names, ports and certificate
//! paths swapped for the test's: nginx (Debian package `nginx`), Caddy
//! (Debian package `caddy`) and HAProxy (Debian package `haproxy`, in
//! front of two cluster nodes), each on a free loopback port, serving
//! HTTPS.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use meshdesk_xtest::wait_for;

use crate::server::TempDir;
use crate::tls::CertFiles;
use crate::viewer::Running;

/// The example's public name, which the test replaces.
const EXAMPLE_NAME: &str = "desk.example.com";
/// The example's upstream, which the test replaces with the server's.
const EXAMPLE_UPSTREAM: &str = "127.0.0.1:8080";

/// A free TCP port on 127.0.0.1 (free when asked; the proxy binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An example config from `docs/examples/`.
pub fn example(name: &str) -> String {
    let path = crate::package::workspace_root()
        .join("docs/examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path:?}: {e}"))
}

/// `text` with `from` replaced by `to`; panics when `from` is absent, so a
/// changed example fails the test instead of going untested.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the example no longer has {from:?}:\n{text}"
    );
    text.replace(from, to)
}

/// A running proxy: killed on drop, its log kept.
#[derive(Debug)]
pub struct Proxy {
    /// `https://localhost:PORT`, where clients reach the server through it.
    pub url: String,
    /// The CA that the proxy's certificate chains to.
    pub ca_file: PathBuf,
    _process: Running,
    _dir: TempDir,
}

/// Why a proxy cannot run here, or `None`.
pub fn unavailable(program: &str, package: &str) -> Option<String> {
    (!crate::prereq::runs(program, &["-v"]) && !crate::prereq::runs(program, &["version"]))
        .then(|| format!("`{program}` is missing (Debian package {package})"))
}

impl Proxy {
    /// nginx on `port` with the README's server block, TLS from `cert`
    /// (issued for localhost by `ca_file`), proxying to `upstream`
    /// (`HOST:PORT`).
    pub fn nginx(port: u16, upstream: &str, cert: &CertFiles, ca_file: &Path) -> Proxy {
        let dir = TempDir::new("nginx");
        let mut site = example("nginx.conf");
        site = swap(
            &site,
            "listen 443 ssl;",
            &format!("listen 127.0.0.1:{port} ssl;"),
        );
        site = swap(
            &site,
            &format!("/etc/letsencrypt/live/{EXAMPLE_NAME}/fullchain.pem"),
            &cert.cert.display().to_string(),
        );
        site = swap(
            &site,
            &format!("/etc/letsencrypt/live/{EXAMPLE_NAME}/privkey.pem"),
            &cert.key.display().to_string(),
        );
        site = swap(&site, EXAMPLE_NAME, "localhost");
        site = swap(&site, EXAMPLE_UPSTREAM, upstream);
        // What Debian's /etc/nginx/nginx.conf wraps conf.d/ in, with every
        // path in the test's dir, and one process (no master and workers),
        // so that killing it leaves nothing behind.
        let d = dir.0.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{site}\n}}\n"
        );
        let path = dir.0.join("nginx.conf");
        std::fs::write(&path, conf).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir.0)
            .arg("-e")
            .arg(dir.0.join("error.log"))
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.0.join("stderr.log")).expect("log"))
            .spawn()
            .expect("start nginx");
        Proxy::listening(
            port,
            ca_file.to_path_buf(),
            child,
            dir.0.join("stderr.log"),
            "nginx",
            dir,
        )
    }

    /// HAProxy on `port` with the README's cluster example
    /// (`docs/examples/haproxy.cfg`), TLS from `cert` (issued for
    /// localhost by `ca_file`), balancing over the two `upstreams`
    /// (`HOST:PORT`) with its health check.
    pub fn haproxy(port: u16, upstreams: [&str; 2], cert: &CertFiles, ca_file: &Path) -> Proxy {
        let dir = TempDir::new("haproxy");
        // HAProxy wants the certificate and its key in one file.
        let pem = dir.0.join("localhost.pem");
        let both = [&cert.cert, &cert.key]
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("read the test certificate"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&pem, both).expect("write the PEM");
        let mut conf = example("haproxy.cfg");
        conf = swap(
            &conf,
            "bind :443 ssl crt /etc/haproxy/certs/desk.example.com.pem",
            &format!("bind 127.0.0.1:{port} ssl crt {}", pem.display()),
        );
        conf = swap(&conf, "127.0.0.1:8080", upstreams[0]);
        conf = swap(&conf, "127.0.0.1:8081", upstreams[1]);
        let path = dir.0.join("haproxy.cfg");
        std::fs::write(&path, conf).expect("write haproxy.cfg");
        let log = dir.0.join("haproxy.log");
        // -db: in the foreground, one process, so killing it ends it.
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(std::fs::File::create(dir.0.join("stdout.log")).expect("log"))
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start haproxy");
        Proxy::listening(port, ca_file.to_path_buf(), child, log, "haproxy", dir)
    }

    /// Caddy on `port` with the README's site block, the site address
    /// `https://localhost:PORT` (Caddy issues its certificate from its own
    /// local CA, whose root the clients trust), proxying to `upstream`.
    pub fn caddy(port: u16, upstream: &str) -> Proxy {
        let dir = TempDir::new("caddy");
        let mut site = example("Caddyfile");
        site = swap(&site, EXAMPLE_NAME, &format!("https://localhost:{port}"));
        site = swap(&site, EXAMPLE_UPSTREAM, upstream);
        // Global options for a test: no admin endpoint, no HTTP redirect
        // listener on port 80, and no change to the system's trust store.
        let conf = format!(
            "{{\n    admin off\n    auto_https disable_redirects\n    skip_install_trust\n}}\n\n{site}"
        );
        let path = dir.0.join("Caddyfile");
        std::fs::write(&path, conf).expect("write Caddyfile");
        let log = dir.0.join("caddy.log");
        let child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&path)
            .env("HOME", &dir.0)
            .env("XDG_DATA_HOME", dir.0.join("data"))
            .env("XDG_CONFIG_HOME", dir.0.join("config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start caddy");
        let root = dir.0.join("data/caddy/pki/authorities/local/root.crt");
        Proxy::listening(port, root, child, log, "caddy", dir)
    }

    /// Waits until the proxy completes a TLS handshake on `port` with a
    /// certificate for `localhost` that `ca_file` verifies. Accepting TCP
    /// is not enough: Caddy listens, and writes its root, before it has
    /// issued the site's certificate, and meanwhile answers a handshake
    /// with an `internal_error` alert.
    fn listening(
        port: u16,
        ca_file: PathBuf,
        child: Child,
        log: PathBuf,
        name: &'static str,
        dir: TempDir,
    ) -> Proxy {
        let mut process = Running { child, log, name };
        wait_for(
            &format!("{name} listening on port {port}"),
            Duration::from_secs(20),
            || {
                if let Ok(Some(status)) = process.child.try_wait() {
                    panic!("{name} exited ({status}): {}", process.log_text());
                }
                serves_tls(port, &ca_file).then_some(())
            },
        );
        Proxy {
            url: format!("https://localhost:{port}"),
            ca_file,
            _process: process,
            _dir: dir,
        }
    }
}

/// Whether a TLS handshake with `localhost` on `port` succeeds, verified
/// against `ca_file` (false while the file is absent or half written).
fn serves_tls(port: u16, ca_file: &Path) -> bool {
    use meshdesk_tls::rustls::{pki_types::ServerName, ClientConnection};
    let Ok(config) = meshdesk_tls::client_config(&meshdesk_tls::Trust::CaFile(ca_file.into()))
    else {
        return false;
    };
    let Ok(mut tcp) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let timeout = Some(Duration::from_secs(2));
    if tcp.set_read_timeout(timeout).is_err() || tcp.set_write_timeout(timeout).is_err() {
        return false;
    }
    let name = ServerName::try_from("localhost").expect("a DNS name");
    let Ok(mut tls) = ClientConnection::new(config, name) else {
        return false;
    };
    while tls.is_handshaking() {
        if tls.complete_io(&mut tcp).is_err() {
            return false;
        }
    }
    true
}
