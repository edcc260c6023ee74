//! Files, end to end with real binaries: the native viewer's `files`,
//! `get` and `send` against a host with a receive folder and a shared
//! folder; SHA-256 checked on both sides; names that would leave a folder
//! refused; a 200 MiB send killed half way resumes; a view session cannot
//! send; a change in a shared folder reaches the feed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::server::TempDir;
use meshdesk_tests::viewer::{wait_online, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb};
use serde_json::Value;
use sha2::{Digest, Sha256};

struct World {
    api: Api,
    alice: String,
    _x: Xvfb,
    host: Host,
    home: ViewerHome,
    dir: TempDir,
    server: Server,
}

impl World {
    fn received(&self) -> PathBuf {
        self.dir.0.join("in")
    }
    fn docs(&self) -> PathBuf {
        self.dir.0.join("Documents")
    }
}

/// A host sharing `Documents` (with `sub/q3.bin`, `a.txt`, a symlink
/// leading out) and receiving into `in`.
async fn world() -> World {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(320, 240);
    let dir = TempDir::new("files");
    let docs = dir.0.join("Documents");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::write(docs.join("sub/q3.bin"), pattern(3 << 20, 7)).unwrap();
    std::fs::write(docs.join("a.txt"), b"hello").unwrap();
    std::fs::write(dir.0.join("secret.txt"), b"not shared").unwrap();
    std::os::unix::fs::symlink(dir.0.join("secret.txt"), docs.join("leak.txt")).unwrap();
    let mut host = Host::enroll(&server, &api, &alice, "file-pc").await;
    host.configure(&format!(
        "[files]\nreceive_dir = {:?}\nshared = [{:?}]\n",
        dir.0.join("in").display().to_string(),
        docs.display().to_string()
    ));
    host.run(&x);
    wait_online(&api, &alice, &host.device_id).await;
    let home = ViewerHome::new();
    home.login_ok(&server, "alice", PASSWORD);
    World {
        api,
        alice,
        _x: x,
        host,
        home,
        dir,
        server,
    }
}

/// `len` bytes that differ from file to file (`seed`).
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn sha_of(path: &Path) -> String {
    let mut file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut hash = Sha256::new();
    std::io::copy(&mut file, &mut hash).unwrap();
    hex::encode(hash.finalize())
}

/// Run the viewer; (success, stdout, stderr).
fn viewer(home: &ViewerHome, args: &[&str]) -> (bool, String, String) {
    let out = home.run(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(home: &ViewerHome, args: &[&str]) -> String {
    let (success, stdout, stderr) = viewer(home, args);
    assert!(success, "{args:?} failed: {stderr}\n{stdout}");
    stdout
}

fn names(listing: &Value) -> Vec<String> {
    listing["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_get_and_send_round_trip_with_their_checksums() {
    let w = world().await;
    let top: Value = serde_json::from_str(&ok(&w.home, &["files", "file-pc", "--json"])).unwrap();
    assert_eq!(names(&top), ["Documents"]);
    let docs: Value =
        serde_json::from_str(&ok(&w.home, &["files", "file-pc", "Documents", "--json"])).unwrap();
    // The symlink that leads out is not listed.
    assert_eq!(names(&docs), ["sub", "a.txt"]);
    assert_eq!(docs["entries"][1]["size"], 5);
    let table = ok(&w.home, &["files", "file-pc", "Documents/sub"]);
    assert!(
        table.contains("q3.bin") && table.contains("3.1 MB"),
        "{table}"
    );

    // get: into a folder, then again (a new name, the first untouched).
    let here = TempDir::new("got");
    let dest = here.0.display().to_string();
    let line = ok(&w.home, &["get", "file-pc", "Documents/sub/q3.bin", &dest]);
    assert!(line.contains("received from file-pc"), "{line}");
    let want = sha_of(&w.docs().join("sub/q3.bin"));
    assert_eq!(sha_of(&here.0.join("q3.bin")), want);
    ok(&w.home, &["get", "file-pc", "Documents/sub/q3.bin", &dest]);
    assert_eq!(sha_of(&here.0.join("q3 (1).bin")), want);

    // send: into the receive folder; the same name again is numbered.
    let local = here.0.join("report.pdf");
    std::fs::write(&local, pattern(1_500_000, 3)).unwrap();
    let path = local.display().to_string();
    let line = ok(&w.home, &["send", "file-pc", &path]);
    assert!(line.contains("sent to file-pc as report.pdf"), "{line}");
    assert_eq!(sha_of(&w.received().join("report.pdf")), sha_of(&local));
    std::fs::write(&local, b"second version").unwrap();
    let line = ok(&w.home, &["send", "file-pc", &path]);
    assert!(line.contains("as report (1).pdf"), "{line}");
    assert_eq!(
        std::fs::read(w.received().join("report (1).pdf")).unwrap(),
        b"second version"
    );
    assert_eq!(
        sha_of(&w.received().join("report.pdf")),
        hex::encode(Sha256::digest(pattern(1_500_000, 3)))
    );
    let leftovers: Vec<_> = std::fs::read_dir(w.received())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The feed has them, with who sent what.
    let (status, events) = w
        .api
        .call(
            "GET",
            "/events?kind=file_sent&kind=file_received",
            Some(&w.alice),
            None,
        )
        .await;
    assert_eq!(status, 200, "{events}");
    let text = events.to_string();
    assert!(
        text.contains("report.pdf") && text.contains("q3.bin"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_folders_can_be_read_or_written() {
    let w = world().await;
    let here = TempDir::new("got");
    let dest = here.0.display().to_string();
    for bad in [
        "Documents/leak.txt",
        "Documents/../secret.txt",
        "Documents/sub/../../secret.txt",
        "/etc/passwd",
        "Other/a.txt",
    ] {
        let (success, stdout, stderr) = viewer(&w.home, &["get", "file-pc", bad, &dest]);
        assert!(!success, "{bad} was fetched: {stdout}");
        assert!(
            stderr.contains("not in a shared folder")
                || stderr.contains("absolute")
                || stderr.contains("not a file name"),
            "{bad}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&here.0).unwrap().count(),
        0,
        "nothing was written here"
    );
    let (success, _, stderr) = viewer(&w.home, &["files", "file-pc", "Documents/../..", "--json"]);
    assert!(!success && stderr.contains("not a file name"), "{stderr}");
    // The receive folder holds what was sent, and only that.
    let local = here.0.join("..");
    let (success, _, stderr) = viewer(&w.home, &["send", "file-pc", &local.display().to_string()]);
    assert!(!success, "a folder was sent: {stderr}");
    assert!(!w.received().exists() || std::fs::read_dir(w.received()).unwrap().count() == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_killed_half_way_resumes_from_where_it_stopped() {
    let w = world().await;
    let here = TempDir::new("big");
    let big = here.0.join("big.bin");
    std::fs::write(&big, pattern(200 << 20, 11)).unwrap();
    let size = 200u64 << 20;
    let path = big.display().to_string();
    let mut first = w
        .home
        .command(&["send", "file-pc", &path])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("send");
    // Kill it once the host has half of it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let part = loop {
        let found = std::fs::read_dir(w.received())
            .into_iter()
            .flatten()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".part"));
        if let Some(entry) = found {
            if entry.metadata().map(|m| m.len()).unwrap_or(0) >= size / 2 {
                break entry.path();
            }
        }
        assert!(
            first.try_wait().unwrap().is_none(),
            "the send ended before it was killed"
        );
        assert!(Instant::now() < deadline, "the host never had half of it");
        std::thread::sleep(Duration::from_millis(20));
    };
    first.kill().unwrap();
    first.wait().unwrap();
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept >= size / 2 && kept < size, "{kept}");

    let line = ok(&w.home, &["send", "file-pc", &path]);
    let sent: u64 = line
        .split("; ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count in {line:?}"));
    assert!(
        (sent as f64) < 0.6 * size as f64,
        "the second run sent {sent} of {size} bytes: {line}"
    );
    assert_eq!(sha_of(&w.received().join("big.bin")), sha_of(&big));
    assert!(
        !part.exists(),
        "the .part is gone once the file is complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_session_may_fetch_but_not_send() {
    let w = world().await;
    let bob = w.api.user("bob").await;
    w.api
        .share(&w.alice, &w.host.device_id, "bob", "view")
        .await;
    let _ = bob;
    let home = ViewerHome::new();
    home.login_ok(&w.server, "bob", PASSWORD);
    let here = TempDir::new("bob");
    let dest = here.0.display().to_string();
    ok(&home, &["get", "file-pc", "Documents/a.txt", &dest]);
    assert_eq!(std::fs::read(here.0.join("a.txt")).unwrap(), b"hello");
    let local = here.0.join("x.txt");
    std::fs::write(&local, b"x").unwrap();
    let (success, _, stderr) = viewer(&home, &["send", "file-pc", &local.display().to_string()]);
    assert!(!success, "a view session sent a file");
    assert!(stderr.contains("needs control permission"), "{stderr}");
    assert!(!w.received().join("x.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_a_shared_folder_reaches_the_feed_once() {
    let w = world().await;
    // The watch starts with the host; it is online, so it watches.
    let written = Instant::now();
    std::fs::write(w.docs().join("new report.pdf"), pattern(100_000, 5)).unwrap();
    let deadline = written + Duration::from_secs(2);
    loop {
        let (status, events) = w
            .api
            .call(
                "GET",
                "/events?kind=shared_file_changed",
                Some(&w.alice),
                None,
            )
            .await;
        assert_eq!(status, 200, "{events}");
        let text = events.to_string();
        let seen = text.matches("new report.pdf").count();
        if seen > 0 {
            // One event for the file (written in several steps).
            let list = events["events"]
                .as_array()
                .or(events.as_array())
                .cloned()
                .unwrap_or_default();
            let about: Vec<_> = list
                .iter()
                .filter(|e| e.to_string().contains("new report.pdf"))
                .collect();
            assert_eq!(about.len(), 1, "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no feed event within 2 s: {text}\n{}",
            w.host.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
