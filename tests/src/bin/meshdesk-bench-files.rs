//! `scripts/bench files`, native half: a file of BENCH_FILE_MIB MiB
//! (default 1024) sent with `meshdesk-viewer send` and fetched back with
//! `get` on loopback, MB/s each way, SHA-256 checked, and the host's peak
//! memory during each transfer above what it used before (VmRSS sampled
//! every 50 ms). Runs the binaries in `MESHDESK_BIN_DIR`. Prints one JSON
//! object on stdout.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::server::TempDir;
use meshdesk_tests::viewer::{wait_online, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb};
use sha2::{Digest, Sha256};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn sha_of(path: &Path) -> String {
    let mut file = std::fs::File::open(path).expect("open");
    let mut hash = Sha256::new();
    std::io::copy(&mut file, &mut hash).expect("read");
    hex::encode(hash.finalize())
}

/// Run `args` while sampling the host's memory: (seconds, peak KiB above
/// the start).
fn timed(home: &ViewerHome, args: &[&str], host: u32) -> (f64, u64) {
    let before = rss_kib(host);
    let started = Instant::now();
    let mut child = home
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("viewer");
    let mut peak = before;
    while child.try_wait().expect("wait").is_none() {
        peak = peak.max(rss_kib(host));
        std::thread::sleep(Duration::from_millis(50));
    }
    let secs = started.elapsed().as_secs_f64();
    let out = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (secs, peak.saturating_sub(before))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mib: u64 = std::env::var("BENCH_FILE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = TempDir::new("bench-files");
    let shared = dir.0.join("shared");
    let received = dir.0.join("in");
    std::fs::create_dir_all(&shared).expect("mkdir");
    let file = shared.join("big.bin");
    {
        eprintln!("bench files: writing {mib} MiB");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        let mut block = vec![0u8; 1 << 20];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..mib {
            for b in block.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            out.write_all(&block).expect("write");
        }
    }
    let want = sha_of(&file);
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(320, 240);
    let mut host = Host::enroll(&server, &api, &alice, "bench-pc").await;
    host.configure(&format!(
        "[files]\nreceive_dir = {:?}\nshared = [{:?}]\n",
        received.display().to_string(),
        shared.display().to_string()
    ));
    host.run(&x);
    wait_online(&api, &alice, &host.device_id).await;
    let home = ViewerHome::new();
    home.login_ok(&server, "alice", PASSWORD);
    let pid = host.pid().expect("host pid");

    eprintln!("bench files: native send");
    let path = file.display().to_string();
    let (send_s, send_peak) = timed(&home, &["send", "bench-pc", &path], pid);
    let send_ok = sha_of(&received.join("big.bin")) == want;
    std::fs::remove_file(received.join("big.bin")).ok();

    eprintln!("bench files: native get");
    let got = dir.0.join("got");
    std::fs::create_dir_all(&got).expect("mkdir");
    let dest = got.display().to_string();
    let (get_s, get_peak) = timed(&home, &["get", "bench-pc", "shared/big.bin", &dest], pid);
    let get_ok = sha_of(&got.join("big.bin")) == want;

    let bytes = (mib << 20) as f64;
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let out = serde_json::json!({
        "native": {
            "file_mib": mib,
            "send_mb_s": round(bytes / 1e6 / send_s),
            "get_mb_s": round(bytes / 1e6 / get_s),
            "send_s": round(send_s),
            "get_s": round(get_s),
            "host_peak_rss_mib_send": round(send_peak as f64 / 1024.0),
            "host_peak_rss_mib_get": round(get_peak as f64 / 1024.0),
            "sha256_ok": send_ok && get_ok,
        }
    });
    println!("{out}");
}
