//! TOTP second factor end to end: enrollment (secret, otpauth URI, QR
//! code), confirmation with recovery codes, sign-in asking for the code,
//! codes accepted once, wrong codes throttled, recovery codes working
//! once, new recovery codes, turning it off; API tokens cannot enrol; the native viewer signs
//! in with `MESHDESK_TOTP`, or asks for the code on a terminal (a pty from
//! `script`), and fails clearly with neither. Codes are computed here from
//! the returned secret with totp-rs, as an authenticator app would.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use meshdesk_client::Error as ClientError;
use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::viewer::ViewerHome;
use meshdesk_tests::{wait_until, Api, Server, WAIT};
use reqwest::StatusCode;
use serde_json::{json, Value};
use totp_rs::{Builder, Secret};

/// Few free failures and short waits, so the throttle shows quickly.
const CONFIG: &str = "signup = \"open\"\nlogin_free_failures = 3\nlogin_max_delay_secs = 2\n";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The code of the step `offset` steps from now (the server accepts one
/// step either side).
fn code(secret: &str, offset: i64) -> String {
    let at = (unix_now() as i64 + 30 * offset) as u64;
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).expect("base32 secret"))
        .build()
        .expect("totp")
        .generate(at)
        .to_string()
}

/// Wait until at least 12 s of the current 30 s step remain, so steps
/// -1, 0 and +1 stay the server's window for the whole test.
fn early_in_a_step() {
    wait_until(
        "an early point of a TOTP step",
        Duration::from_secs(20),
        || unix_now() % 30 < 18,
    );
}

/// Enrol `token`'s account; returns the secret and the recovery codes.
async fn enrol(api: &Api, token: &str, username: &str) -> (String, Vec<String>) {
    let (s, b) = api.call("POST", "/account/totp", Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let secret = b["secret"].as_str().expect("secret").to_string();
    let uri = b["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with(&format!("otpauth://totp/Meshdesk:{username}?")),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(b["qr_svg"].as_str().expect("svg").contains("<svg"), "{b}");
    let wrong = api
        .call(
            "POST",
            "/account/totp/confirm",
            Some(token),
            Some(json!({"code": "12345"})),
        )
        .await;
    assert_eq!(wrong.0, StatusCode::BAD_REQUEST, "{}", wrong.1);
    let body = json!({"code": code(&secret, -1)});
    let (s, b) = api
        .call("POST", "/account/totp/confirm", Some(token), Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let codes: Vec<String> = serde_json::from_value(b["recovery_codes"].clone()).expect("codes");
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// `POST /login` as `user` with `totp` (or none).
async fn login(api: &Api, user: &str, totp: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"username": user, "password": PASSWORD});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    api.call("POST", "/login", None, Some(body)).await
}

/// Retry while the throttle answers 429 (a throttled attempt is not
/// checked, so nothing is spent), then return the answer.
async fn login_after_wait(api: &Api, user: &str, totp: &str) -> (StatusCode, Value) {
    let start = std::time::Instant::now();
    loop {
        let got = login(api, user, Some(totp)).await;
        if got.0 != StatusCode::TOO_MANY_REQUESTS {
            return got;
        }
        assert!(start.elapsed() < WAIT, "still throttled: {}", got.1);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn asks_for_totp(got: &(StatusCode, Value)) {
    assert_eq!(got.0, StatusCode::UNAUTHORIZED, "{}", got.1);
    assert_eq!(got.1["second_factor"], json!(["totp"]), "{}", got.1);
}

#[tokio::test]
async fn totp_enrol_sign_in_throttle_recover_and_disable() {
    let server = Server::start_with(CONFIG);
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    early_in_a_step();
    let (secret, recovery) = enrol(&api, &alice, "alice").await;
    let (_, f) = api
        .call("GET", "/account/factors", Some(&alice), None)
        .await;
    assert_eq!(f["totp"], json!(true), "{f}");
    assert_eq!(f["recovery_codes_left"], json!(10), "{f}");

    asks_for_totp(&login(&api, "alice", None).await);
    match api.anonymous().sign_in("alice", PASSWORD, None).await {
        Err(ClientError::SecondFactor { methods, .. }) => assert_eq!(methods, ["totp"]),
        other => panic!("the client should report a second factor: {other:?}"),
    }
    let now_code = code(&secret, 0);
    let ok = api
        .anonymous()
        .sign_in("alice", PASSWORD, Some(&now_code))
        .await;
    assert!(ok.is_ok(), "current code: {ok:?}");

    // The same code again, then wrong codes: each a failure; the fourth
    // starts the backoff, and even a right code waits.
    for c in [now_code.as_str(), "000000", "111111", "222222"] {
        asks_for_totp(&login(&api, "alice", Some(c)).await);
    }
    let next = code(&secret, 1);
    let throttled = login(&api, "alice", Some(&next)).await;
    assert_eq!(
        throttled.0,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.1
    );

    let first = login_after_wait(&api, "alice", &recovery[0]).await;
    assert_eq!(first.0, StatusCode::OK, "recovery code: {}", first.1);
    asks_for_totp(&login_after_wait(&api, "alice", &recovery[0]).await);
    let typed = recovery[1].to_uppercase().replace('-', " ");
    let second = login_after_wait(&api, "alice", &typed).await;
    assert_eq!(
        second.0,
        StatusCode::OK,
        "another recovery code: {}",
        second.1
    );
    let (_, f) = api
        .call("GET", "/account/factors", Some(&alice), None)
        .await;
    assert_eq!(f["recovery_codes_left"], json!(8), "{f}");

    // New recovery codes, for a recovery code: the old ones stop working.
    let renew = json!({"code": recovery[2]});
    let (s, b) = api
        .call(
            "POST",
            "/account/totp/recovery-codes",
            Some(&alice),
            Some(renew),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let fresh: Vec<String> = serde_json::from_value(b["recovery_codes"].clone()).expect("codes");
    assert_eq!(fresh.len(), 10);
    asks_for_totp(&login_after_wait(&api, "alice", &recovery[3]).await);
    let third = login_after_wait(&api, "alice", &fresh[0]).await;
    assert_eq!(third.0, StatusCode::OK, "a new recovery code: {}", third.1);

    let bad = json!({"code": "000000"});
    let refused = api
        .call("DELETE", "/account/totp", Some(&alice), Some(bad))
        .await;
    assert_eq!(refused.0, StatusCode::BAD_REQUEST, "{}", refused.1);
    let good = json!({"code": next});
    let off = api
        .call("DELETE", "/account/totp", Some(&alice), Some(good))
        .await;
    assert_eq!(off.0, StatusCode::NO_CONTENT, "{}", off.1);
    let plain = login_after_wait(&api, "alice", "ignored").await;
    assert_eq!(plain.0, StatusCode::OK, "TOTP off: {}", plain.1);
    assert!(
        !server.log_text().contains(&secret),
        "the secret reached the log"
    );
}

#[tokio::test]
async fn an_api_token_cannot_enrol_and_a_pending_enrollment_changes_nothing() {
    let server = Server::start();
    let api = Api::new(&server);
    let bob = api.user("bob").await;
    let body = json!({"name": "script", "scopes": ["devices:read", "events:read"]});
    let (s, b) = api.call("POST", "/tokens", Some(&bob), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let script = b["token"].as_str().expect("token");
    for (method, path) in [("POST", "/account/totp"), ("GET", "/account/factors")] {
        let (s, b) = api.call(method, path, Some(script), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {b}");
    }
    let (s, _) = api.call("POST", "/account/totp", Some(&bob), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = login(&api, "bob", None).await;
    assert_eq!(s, StatusCode::OK, "unconfirmed TOTP is not in force: {b}");
    let none = json!({"code": "123456"});
    let (s, _) = api
        .call("DELETE", "/account/totp", Some(&bob), Some(none))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_native_viewer_signs_in_with_meshdesk_totp() {
    let server = Server::start();
    let api = Api::new(&server);
    let carol = api.user("carol").await;
    early_in_a_step();
    let (secret, _) = enrol(&api, &carol, "carol").await;
    let home = ViewerHome::new();
    let out = home.login(&server, "carol", PASSWORD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "signed in without a code");
    assert!(err.contains("MESHDESK_TOTP"), "no clear message: {err}");
    let out = home
        .command(&["login", "--server", &server.base, "--username", "carol"])
        .env("MESHDESK_PASSWORD", PASSWORD)
        .env("MESHDESK_TOTP", code(&secret, 0))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run login");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "login with MESHDESK_TOTP failed: {err}"
    );
    let list = home.run(&["list"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    // On a terminal (a pty from `script`), it asks for the code instead.
    let out = login_on_a_terminal(&home, &server, "carol", &code(&secret, 1));
    assert!(out.contains("Authentication code"), "no prompt: {out}");
    assert!(out.contains("logged in as carol"), "not signed in: {out}");
}

/// `meshdesk-viewer login` on a pseudo-terminal, typing `code` at its
/// prompt (the password from `MESHDESK_PASSWORD`); returns what the
/// terminal showed.
fn login_on_a_terminal(home: &ViewerHome, server: &Server, user: &str, code: &str) -> String {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let viewer = meshdesk_tests::server::binary("meshdesk-viewer");
    let cmd = format!(
        "{} --config {} login --server {} --username {user}",
        viewer.display(),
        home.config().display(),
        server.base
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("MESHDESK_PASSWORD", PASSWORD)
        .env_remove("MESHDESK_TOTP")
        .env_remove("DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{code}\n").as_bytes())
        .expect("type the code");
    let mut status = None;
    wait_until("the viewer on a terminal to finish", WAIT, || {
        status = child.try_wait().expect("wait");
        status.is_some()
    });
    drop(stdin);
    let mut out = String::new();
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_to_string(&mut out).expect("read the terminal");
    assert!(status.is_some_and(|s| s.success()), "login failed: {out}");
    out
}
