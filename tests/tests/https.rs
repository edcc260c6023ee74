//! HTTPS served by the server itself, with certificates the test makes
//! (a test CA signing one for `localhost` and `127.0.0.1`): the host
//! enrolls and comes online over wss with the CA file or the right pin,
//! and refuses, saying what it expected and what it saw, with a wrong pin
//! or no way to trust the CA; the native viewer signs in with the CA;
//! cookies are `Secure` and HSTS is sent when configured; and
//! `--tls-self-signed` makes its certificate once, keeps it across a
//! restart, and a client pinned to the printed fingerprint connects.

use std::time::{Duration, Instant};

use meshdesk_client::Trust;
use meshdesk_tests::tls::{CertFiles, TestCa};
use meshdesk_tests::viewer::{wait_online, ViewerHome};
use meshdesk_tests::{Api, Host, Server, Xvfb, WAIT};
use meshdesk_xtest::wait_for;

/// The names the test CA's server certificate covers.
const NAMES: &[&str] = &["localhost", "127.0.0.1"];
const PASSWORD: &str = "password-123";

/// A server over HTTPS with a certificate from `ca`, HSTS on.
fn https_server(ca: &TestCa) -> (Server, CertFiles) {
    let cert = ca.issue("server", NAMES);
    let config = format!(
        "signup = \"open\"\n{}hsts_max_age_secs = 600\n",
        cert.tls_config()
    );
    let server = Server::start_with(&config);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    (server, cert)
}

fn ca_trust(ca: &TestCa) -> Trust {
    Trust::CaFile(ca.ca_file.clone())
}

#[tokio::test]
async fn a_host_with_the_ca_comes_online_over_wss_and_the_viewer_signs_in() {
    let ca = TestCa::new();
    let (mut server, cert) = https_server(&ca);
    assert_eq!(
        server.fingerprint.as_deref(),
        Some(cert.fingerprint.to_string().as_str()),
        "the server prints the fingerprint of what it serves"
    );
    let api = Api::with_trust(&server, &ca_trust(&ca));
    let alice = api.user("alice").await;

    // The sign-in cookie is Secure under HTTPS, and HSTS is sent.
    let body = serde_json::json!({"username": "alice", "password": PASSWORD});
    let resp = api
        .raw(reqwest::Method::POST, "/login")
        .json(&body)
        .send()
        .await
        .expect("login");
    assert!(resp.status().is_success());
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(resp.headers()["strict-transport-security"], "max-age=600");

    let x = Xvfb::start(640, 480);
    let code = api.code(&alice).await;
    let ca_file = ca.ca_file.display().to_string();
    let mut host = Host::try_enroll(None, &server, &code, "tls-pc", &["--ca-file", &ca_file])
        .expect("enroll with the CA file");
    let saved = std::fs::read_to_string(&host.config).expect("host.toml");
    assert!(
        saved.contains(&format!("ca_file = \"{ca_file}\"")),
        "{saved}"
    );
    host.run(&x);
    wait_online(&api, &alice, &host.device_id).await;

    // The native viewer signs in over HTTPS with the CA and remembers it.
    let home = ViewerHome::new();
    let out = home
        .command(&[
            "login",
            "--server",
            &server.base,
            "--username",
            "alice",
            "--ca-file",
            &ca_file,
        ])
        .env("MESHDESK_PASSWORD", PASSWORD)
        .output()
        .expect("login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = home.run(&["list", "--json"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let devices: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    assert_eq!(devices[0]["name"], "tls-pc");
    assert_eq!(devices[0]["online"], true);

    // Without the CA the viewer refuses: the issuer is unknown.
    let bare = ViewerHome::new();
    let out = bare.login(&server, "alice", PASSWORD);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not trusted") && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(
        err.contains(&cert.fingerprint.to_string()),
        "says what it saw: {err}"
    );

    // SIGTERM over TLS as over plain HTTP: WebSockets are closed with 1012
    // in time, and the host comes back when the server does.
    let began = Instant::now();
    assert!(server.stop(), "SIGTERM: the server exits 0");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    wait_for("the host to log why", WAIT, || {
        host.log_text()
            .contains("server shutting down (code 1012)")
            .then_some(())
    });
    server.restart_same_address();
    wait_online(&api, &alice, &host.device_id).await;
}

/// The host's failed connection attempts in its log so far.
fn refusals(host: &Host, needle: &str) -> usize {
    host.log_text()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[tokio::test]
async fn hosts_refuse_a_wrong_pin_or_an_unknown_ca_and_take_the_right_pin() {
    let ca = TestCa::new();
    let (server, cert) = https_server(&ca);
    let api = Api::with_trust(&server, &ca_trust(&ca));
    let alice = api.user("alice").await;
    let wrong = ca.self_signed("other", NAMES).fingerprint.to_string();
    let right = cert.fingerprint.to_string();

    // Enrolling: a wrong pin and no trust at all both fail, saying why.
    let code = api.code(&alice).await;
    let pinned_wrong = ["--server-fingerprint", wrong.as_str()];
    let err = Host::try_enroll(None, &server, &code, "pc", &pinned_wrong).expect_err("wrong pin");
    assert!(
        err.contains("does not match the pinned fingerprint"),
        "{err}"
    );
    assert!(err.contains(&format!("expected {wrong}")), "{err}");
    assert!(err.contains(&format!("presented {right}")), "{err}");
    assert!(!err.contains("other error"), "the refusal itself: {err}");
    let err = Host::try_enroll(None, &server, &code, "pc", &[]).expect_err("unknown CA");
    assert!(
        err.contains("UnknownIssuer") && err.contains(&right),
        "{err}"
    );

    // The right pin enrolls (the code was never spent) and comes online.
    let x = Xvfb::start(640, 480);
    let pinned = ["--server-fingerprint", right.as_str()];
    let mut good = Host::try_enroll(None, &server, &code, "pinned-pc", &pinned).expect("enroll");
    good.run(&x);
    wait_online(&api, &alice, &good.device_id).await;

    // A host whose pin is wrong at run time never comes online, says so,
    // and keeps its backoff rather than hammering the server.
    let ca_file = ca.ca_file.display().to_string();
    let code = api.code(&alice).await;
    let mut bad =
        Host::try_enroll(None, &server, &code, "bad-pc", &["--ca-file", &ca_file]).expect("enroll");
    let toml = std::fs::read_to_string(&bad.config).expect("host.toml");
    let toml = toml.replace(
        &format!("ca_file = \"{ca_file}\""),
        &format!("server_fingerprint = \"{wrong}\""),
    );
    std::fs::write(&bad.config, toml).expect("rewrite host.toml");
    bad.run(&x);
    let needle = "does not match the pinned fingerprint";
    let first = wait_for("the first refusal", WAIT, || {
        (refusals(&bad, needle) >= 1).then(Instant::now)
    });
    let line = bad
        .log_text()
        .lines()
        .find(|l| l.contains(needle))
        .map(str::to_string)
        .expect("a refusal");
    assert!(line.contains(&format!("expected {wrong}")), "{line}");
    assert!(line.contains(&format!("presented {right}")), "{line}");
    assert!(!line.contains("other error"), "the refusal itself: {line}");
    wait_for("two more refusals", WAIT, || {
        (refusals(&bad, needle) >= 3).then_some(())
    });
    assert!(
        first.elapsed() >= Duration::from_millis(700),
        "retries back off (250 ms, then 500 ms at least): {:?}",
        first.elapsed()
    );
    assert!(!api.online(&alice, &bad.device_id).await, "never online");
}

#[tokio::test]
async fn a_self_signed_certificate_is_kept_across_restarts_and_pinned_clients_connect() {
    let mut server = Server::start_with_args("signup = \"open\"\n", &["--tls-self-signed"]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let printed = server
        .fingerprint
        .clone()
        .expect("the fingerprint is printed");
    let kept = server.data_dir().join("tls-self-signed.pem");
    assert!(kept.exists(), "kept in the data dir");
    assert!(
        server.log_text().contains(&printed),
        "and logged: {}",
        server.log_text()
    );

    server.restart_with_args(&["--tls-self-signed"]);
    assert_eq!(
        server.fingerprint.as_deref(),
        Some(printed.as_str()),
        "the same certificate after a restart"
    );

    let pin = Trust::from_options(None, Some(&printed)).expect("the printed form parses");
    let api = Api::with_trust(&server, &pin);
    api.user("alice").await;
    // The viewer CLI takes the same printed form.
    let home = ViewerHome::new();
    let out = home
        .command(&[
            "login",
            "--server",
            &server.base,
            "--username",
            "alice",
            "--server-fingerprint",
            &printed,
        ])
        .env("MESHDESK_PASSWORD", PASSWORD)
        .output()
        .expect("login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = std::fs::read_to_string(home.config()).expect("login file");
    assert!(saved.contains(&printed), "remembered beside the server URL");
    assert!(home.run(&["list"]).status.success());

    // A client with no trust in it is refused: self-signed is no CA's.
    let refused = Api::new(&server).anonymous().openapi().await;
    let err = refused.expect_err("unknown issuer").to_string();
    assert!(
        err.contains("not trusted") && err.contains(&printed),
        "{err}"
    );
}
