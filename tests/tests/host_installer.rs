//! The host installer served by the server: `/downloads/` (listing,
//! `SHA256SUMS`, files with ETags, names checked) and the one-line install
//! `curl -fsSL SERVER/install.sh | sh -s -- --code CODE` run for real into
//! a temporary prefix (no root), from a package made of the debug host
//! binaries: the installed host (the static one) enrolls, comes online and
//! streams to a viewer; a tampered
//! download is refused before anything is installed.

use std::path::Path;
use std::process::{Command, Output};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::package;
use meshdesk_tests::require;
use meshdesk_tests::server::TempDir;
use meshdesk_tests::viewer::{wait_online, Running, ViewerHome};
use meshdesk_tests::{Api, Server, Xvfb};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

/// A server whose default downloads dir (DATA_DIR/downloads) holds the
/// host's .deb and tarball, made by `scripts/package`.
fn server_with_packages() -> Server {
    let server = Server::start();
    package::build(&server.data_dir().join("downloads"), &["host"]);
    server
}

/// A home folder for the installing user, with no systemd user instance
/// reachable (an empty runtime dir), so the installer says how to start
/// the agent instead of starting it.
struct Home {
    dir: TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = TempDir::new("home");
        std::fs::create_dir_all(dir.0.join("runtime")).expect("runtime dir");
        Home { dir }
    }

    fn path(&self) -> &Path {
        &self.dir.0
    }

    /// `sh -c LINE` as this user would paste it.
    fn paste(&self, line: &str) -> Output {
        Command::new("sh")
            .args(["-c", line])
            .env("HOME", self.path())
            .env("XDG_RUNTIME_DIR", self.path().join("runtime"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DISPLAY")
            .output()
            .expect("run sh")
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_line_installs_a_host_that_enrolls_and_comes_online() {
    require!(package::unavailable());
    let server = server_with_packages();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let code = api.code(&alice).await;
    let home = Home::new();
    let prefix = home.path().join("opt");

    let line = format!(
        "curl -fsSL {}/install.sh | sh -s -- --code {code} --prefix {} --name installed-pc",
        server.base,
        prefix.display()
    );
    let installed = installs_and_comes_online(&api, &alice, &home, &prefix, &line).await;

    // The installed host is the static binary, and it streams: the native
    // viewer decodes its pictures (x11rb capture, openh264 built by zig).
    let kind = Command::new("file")
        .args(["-b", "-L"])
        .arg(prefix.join("bin/meshdesk-host"))
        .output()
        .expect("run file");
    let kind = String::from_utf8_lossy(&kind.stdout);
    assert!(kind.contains("statically linked"), "{kind}");
    let viewer = ViewerHome::new();
    viewer.login_ok(&server, "alice", PASSWORD);
    let stats = viewer.connect_stats("installed-pc", &["--duration", "2"]);
    assert!(stats["frames_decoded"].as_u64().unwrap_or(0) > 0, "{stats}");
    drop(installed);
}

/// The installed agent, running, and the display it runs on.
struct Installed {
    _agent: Running,
    _x: Xvfb,
}

/// Paste `line` (which installs into `prefix` and names the PC
/// `installed-pc`) as `home`'s user; the installed host, started as its
/// unit would, enrolls into `alice`'s account and comes online.
async fn installs_and_comes_online(
    api: &Api,
    alice: &str,
    home: &Home,
    prefix: &Path,
    line: &str,
) -> Installed {
    let out = home.paste(line);
    let log = stderr(&out);
    eprintln!("{log}");
    assert!(out.status.success(), "the install line failed:\n{log}");
    assert!(log.contains("SHA-256 verified"), "{log}");
    assert!(log.contains("no systemd user instance"), "{log}");

    let bin = prefix.join("bin/meshdesk-host");
    let unit = std::fs::read_to_string(
        home.path()
            .join(".config/systemd/user/meshdesk-host.service"),
    )
    .expect("the user unit");
    assert!(
        unit.contains(&format!("ExecStart={} run", bin.display())),
        "{unit}"
    );
    let config = home.path().join(".config/meshdesk/host.toml");
    let identity = std::fs::read_to_string(&config).expect("enrolled identity");
    let device_id = identity
        .lines()
        .find_map(|l| l.strip_prefix("device_id = "))
        .expect("device_id")
        .trim_matches('"')
        .to_string();

    // The installed binary, started as the unit would, comes online.
    let x = Xvfb::start(640, 480);
    let agent_log = home.path().join("agent.log");
    let child = Command::new(&bin)
        .arg("run")
        .env("HOME", home.path())
        .env("DISPLAY", x.display())
        .stderr(std::fs::File::create(&agent_log).expect("log"))
        .spawn()
        .expect("start the installed host");
    let agent = Running {
        child,
        log: agent_log,
        name: "installed host",
    };
    wait_online(api, alice, &device_id).await;
    let (_, d) = api
        .call("GET", &format!("/devices/{device_id}"), Some(alice), None)
        .await;
    assert_eq!(d["name"], "installed-pc", "{d}");
    Installed {
        _agent: agent,
        _x: x,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_server_installs_by_its_pin() {
    require!(package::unavailable());
    let server = Server::start_with_args("signup = \"open\"\n", &["--tls-self-signed"]);
    package::build(&server.data_dir().join("downloads"), &["host"]);
    let printed = server
        .fingerprint
        .clone()
        .expect("the fingerprint is printed");
    let trust = meshdesk_client::Trust::from_options(None, Some(&printed)).expect("pin");
    let api = Api::with_trust(&server, &trust);
    let alice = api.user("alice").await;
    // The code's reply carries what the page puts in the line.
    let (status, reply) = api
        .call("POST", "/enrollment-codes", Some(&alice), None)
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(
        reply["server_fingerprint"].as_str(),
        Some(printed.as_str()),
        "{reply}"
    );
    let pin = reply["server_pin"]
        .as_str()
        .expect("server_pin")
        .to_string();
    let code = reply["code"].as_str().expect("code");
    let home = Home::new();
    let prefix = home.path().join("opt");
    // Without the pin curl refuses the certificate: nothing installed.
    let refused = home.paste(&format!(
        "curl -fsSL {}/install.sh | sh -s -- --code {code} --prefix {}",
        server.base,
        prefix.display()
    ));
    // (curl fails; the pipe's `sh` reads nothing and installs nothing.)
    assert!(
        stderr(&refused).contains("SSL certificate problem") && !prefix.exists(),
        "{}",
        stderr(&refused)
    );
    // With a wrong pin neither.
    let wrong = home.paste(&format!(
        "curl -fsSL --insecure --pinnedpubkey 'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' {}/install.sh | sh -s -- --code {code} --prefix {}",
        server.base,
        prefix.display()
    ));
    assert!(
        stderr(&wrong).contains("does not match pinned public key") && !prefix.exists(),
        "{}",
        stderr(&wrong)
    );
    // The line as "Add device" shows it (dialogs.js installCommand).
    let line = format!(
        "curl -fsSL --insecure --pinnedpubkey '{pin}' {}/install.sh | sh -s -- --code {code} --prefix {} --name installed-pc",
        server.base,
        prefix.display()
    );
    let _installed = installs_and_comes_online(&api, &alice, &home, &prefix, &line).await;
    let config =
        std::fs::read_to_string(home.path().join(".config/meshdesk/host.toml")).expect("identity");
    assert!(
        config.contains(&printed),
        "the host pins the server: {config}"
    );
}

/// A task stopped when the test ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Forwards every request to `upstream` and flips a byte in each tarball.
async fn tamper(State(upstream): State<String>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let resp = reqwest::get(format!("{upstream}{path}"))
        .await
        .expect("upstream");
    let status = resp.status();
    let mut body = resp.bytes().await.expect("upstream body").to_vec();
    if path.ends_with(".tar.gz") {
        if let Some(last) = body.last_mut() {
            *last ^= 0xff;
        }
    }
    (status, body).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_download_is_refused_before_anything_is_installed() {
    require!(package::unavailable());
    let server = server_with_packages();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let code = api.code(&alice).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let proxy = format!("http://{}", listener.local_addr().expect("address"));
    let app = axum::Router::new()
        .fallback(tamper)
        .with_state(server.base.clone());
    let _proxy = AbortOnDrop(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }));

    let home = Home::new();
    let prefix = home.path().join("opt");
    let line = format!(
        "curl -fsSL {}/install.sh | sh -s -- --server {proxy} --code {code} --prefix {}",
        server.base,
        prefix.display()
    );
    let out = home.paste(&line);
    let log = stderr(&out);
    assert!(
        !out.status.success(),
        "a tampered host was installed:\n{log}"
    );
    assert!(
        log.contains("SHA-256 mismatch") && log.contains("not installing"),
        "{log}"
    );
    assert!(!prefix.join("bin/meshdesk-host").exists());
    assert!(!home.path().join(".config/meshdesk/host.toml").exists());
    let (_, devices) = api.call("GET", "/devices", Some(&alice), None).await;
    assert_eq!(devices.as_array().map(Vec::len), Some(0), "{devices}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn downloads_are_listed_hashed_and_checked() {
    let server = Server::start();
    let dir = server.data_dir().join("downloads");
    std::fs::create_dir_all(&dir).expect("downloads dir");
    let content = b"not really a package".repeat(1000);
    std::fs::write(dir.join("meshdesk-host_9.9.9-1_amd64.deb"), &content).unwrap();
    std::fs::write(dir.join(".hidden"), b"secret").unwrap();
    let sha = sha256_hex(&content);
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.base));

    let list: serde_json::Value = get("/downloads/")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list,
        serde_json::json!({"files": [{"name": "meshdesk-host_9.9.9-1_amd64.deb", "size": content.len(), "sha256": sha}]})
    );
    let sums = get("/downloads/SHA256SUMS")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(sums, format!("{sha}  meshdesk-host_9.9.9-1_amd64.deb\n"));

    let resp = get("/downloads/meshdesk-host_9.9.9-1_amd64.deb")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some(content.len() as u64));
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{sha}\""));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), content.as_slice());
    let again = get("/downloads/meshdesk-host_9.9.9-1_amd64.deb")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let head = http
        .head(format!(
            "{}/downloads/meshdesk-host_9.9.9-1_amd64.deb",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);

    for (path, status) in [
        ("/downloads/..%2F..%2Fmeshdesk.db", StatusCode::BAD_REQUEST),
        ("/downloads/.hidden", StatusCode::BAD_REQUEST),
        ("/downloads/a%20b.deb", StatusCode::BAD_REQUEST),
        ("/downloads/missing.deb", StatusCode::NOT_FOUND),
        ("/downloads/../meshdesk.db", StatusCode::NOT_FOUND),
    ] {
        let resp = get(path).send().await.unwrap();
        assert_eq!(resp.status(), status, "{path}");
        let body: serde_json::Value = resp.json().await.expect("a JSON error");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn the_install_script_names_this_server_and_passes_shellcheck() {
    let server = Server::start();
    let resp = reqwest::get(format!("{}/install.sh", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/x-shellscript"));
    let script = resp.text().await.unwrap();
    assert!(
        script.contains(&format!("SERVER='{}'", server.base)),
        "{script}"
    );
    let bad = reqwest::Client::new()
        .get(format!("{}/install.sh", server.base))
        .header("Host", "x';reboot;'")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let found = Command::new("shellcheck").arg("--version").output().is_ok();
    require!((!found).then(|| "shellcheck is missing (Debian package shellcheck)".to_string()));
    let dir = TempDir::new("script");
    let file = dir.0.join("install.sh");
    std::fs::write(&file, &script).unwrap();
    let out = Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
