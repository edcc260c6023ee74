//! Verifying the remote PC with the real binaries: the native viewer talks
//! to the server through a man in the middle ([`Mitm`]) and a real
//! `meshdesk-host` on Xvfb.
//! - Honest: the session verifies, the viewer prints the safety code that
//!   `meshdesk-host status` prints, and pins the key in `known_devices`.
//! - The offer's DTLS fingerprint rewritten: the viewer refuses and says why.
//! - The device key rewritten after the first honest session pinned it:
//!   the changed-key warning; after `trust` of the rewritten key the
//!   binding's signature still refuses.

use std::process::Output;

use base64::Engine;

use meshdesk_tests::mitm::{Mitm, Rewrite};
use meshdesk_tests::server::binary;
use meshdesk_tests::viewer::{wait_online, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb};

const PASSWORD: &str = "password-123";

/// The attacker's Ed25519 public key (standard base64).
fn attacker_key() -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]).verifying_key();
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `connect DEVICE --headless --duration 2`.
fn connect(home: &ViewerHome) -> Output {
    home.run(&["connect", "xvfb-pc", "--headless", "--duration", "2"])
}

/// The safety code in a line `PREFIX 1234 5678 9012`.
fn code_after(text: &str, prefix: &str) -> Option<String> {
    let line = text
        .lines()
        .find_map(|l| l.split_once(prefix).map(|(_, r)| r))?;
    Some(line.trim().chars().take(14).collect())
}

fn host_status(host: &Host) -> String {
    let out = std::process::Command::new(binary("meshdesk-host"))
        .args(["status", "--config"])
        .arg(&host.config)
        .output()
        .expect("run meshdesk-host status");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_verifies_the_pc_and_refuses_a_man_in_the_middle() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let x = Xvfb::start(640, 480);
    let host = Host::start(&server, &api, &alice, &x, "xvfb-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    let addr = server.base.trim_start_matches("http://").parse().unwrap();
    let mitm = Mitm::start(addr);
    let home = ViewerHome::new();
    let login = home
        .command(&["login", "--server", &mitm.base(), "--username", "alice"])
        .env("MESHDESK_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", text(&login));

    // Honest: verified, with the code the host prints, and pinned.
    let honest = connect(&home);
    assert!(honest.status.success(), "{}", text(&honest));
    let shown = code_after(&text(&honest), "Verified: safety code ").expect("Verified line");
    let status = host_status(&host);
    assert_eq!(
        code_after(&status, "safety code:").as_deref(),
        Some(shown.as_str()),
        "{status}"
    );
    assert!(
        status.contains(&format!("device:      {}", host.device_id)),
        "{status}"
    );
    assert!(status.contains("name:        xvfb-pc"), "{status}");
    assert!(
        status.contains(&format!("server:      {}", server.base)),
        "{status}"
    );
    assert!(status.contains("state:       online"), "{status}");
    let known = std::fs::read_to_string(home.config().with_file_name("known_devices")).unwrap();
    assert!(known.contains(&host.device_id), "{known}");

    // The fingerprint in the host's offer rewritten.
    mitm.set(Rewrite::Fingerprint);
    let before = mitm.rewrites();
    // The viewer's DTLS refuses the host's certificate, so no binding can
    // arrive: the session ends once the connect timeout (20 s) passes.
    let swapped = home.run(&["connect", "xvfb-pc", "--headless", "--duration", "30"]);
    let said = text(&swapped);
    assert!(mitm.rewrites() > before, "the offer went through the proxy");
    assert!(!swapped.status.success(), "{said}");
    assert!(!said.contains("Verified:"), "{said}");
    assert!(said.contains("could not verify the remote PC: "), "{said}");

    // The device key rewritten: the pinned key differs.
    mitm.set(Rewrite::DeviceKey(attacker_key()));
    let changed = connect(&home);
    let said = text(&changed);
    assert!(!changed.status.success(), "{said}");
    assert!(
        said.contains("the key of device `xvfb-pc` has changed"),
        "{said}"
    );
    assert!(said.contains("meshdesk-viewer trust xvfb-pc"), "{said}");
    assert!(!said.contains("Verified:"), "{said}");

    // Trusting the rewritten key does not make the signature match.
    let trust = home.run(&["trust", "xvfb-pc"]);
    assert!(trust.status.success(), "{}", text(&trust));
    let tricked = connect(&home);
    let said = text(&tricked);
    assert!(!tricked.status.success(), "{said}");
    assert!(
        said.contains("could not verify the remote PC: the DTLS binding signature does not match"),
        "{said}"
    );
    assert!(!said.contains("Verified:"), "{said}");

    // Honest again, with the real key trusted again: verified.
    mitm.set(Rewrite::Honest);
    let trust = home.run(&["trust", "xvfb-pc"]);
    assert!(trust.status.success(), "{}", text(&trust));
    let again = connect(&home);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        code_after(&text(&again), "Verified: safety code ").as_deref(),
        Some(shown.as_str())
    );
}

#[test]
fn status_says_offline_when_the_agent_is_not_running() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = Server::start();
    let api = Api::new(&server);
    let host = rt.block_on(async {
        let alice = api.user("alice").await;
        Host::enroll(&server, &api, &alice, "idle-pc").await
    });
    let status = host_status(&host);
    assert!(status.contains("name:        idle-pc"), "{status}");
    assert!(
        status.contains("state:       offline (the agent is not running)"),
        "{status}"
    );
    assert!(
        code_after(&status, "safety code:").is_some_and(|c| c.len() == 14),
        "{status}"
    );
}
