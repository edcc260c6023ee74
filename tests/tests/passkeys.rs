//! Passkeys over REST, around what only a browser can do (the browser
//! test signs in with one): the relying party comes from the page's origin
//! or `public_url`, never from an IP address; a challenge for signing in is
//! handed out only after the password; a registration answers its own
//! challenge once.

use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::{Api, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// `POST path` as `token`, from a page at `origin` (sent as `Origin`, with
/// `Host` to match when `host` is given).
async fn from_page(
    api: &Api,
    path: &str,
    token: &str,
    origin: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = api.raw(Method::POST, path).bearer_auth(token).json(&body);
    if let Some(o) = origin {
        let host = o
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        req = req.header("origin", o).header("host", host);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn says(got: &(StatusCode, Value), status: StatusCode, about: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let text = got.1["error"].as_str().unwrap_or_default();
    assert!(text.contains(about), "{:?} should mention {about:?}", got.1);
}

#[tokio::test]
async fn the_relying_party_is_the_pages_name_and_never_an_ip_address() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let port = server.base.rsplit(':').next().expect("port");
    let start = "/account/webauthn/register/start";
    let none = from_page(&api, start, &alice, None, Value::Null).await;
    says(&none, StatusCode::BAD_REQUEST, "web app");
    let by_ip = from_page(&api, start, &alice, Some(&server.base), Value::Null).await;
    says(&by_ip, StatusCode::BAD_REQUEST, "domain name");
    let page = format!("http://localhost:{port}");
    let (s, b) = from_page(&api, start, &alice, Some(&page), Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["publicKey"]["rp"]["id"], json!("localhost"), "{b}");
    assert_eq!(b["publicKey"]["user"]["name"], json!("alice"), "{b}");
    assert_eq!(
        b["publicKey"]["authenticatorSelection"]["userVerification"],
        json!("required")
    );
    assert!(
        b["publicKey"]["challenge"]
            .as_str()
            .is_some_and(|c| c.len() >= 43),
        "{b}"
    );

    let finish = "/account/webauthn/register/finish";
    let garbage = json!({"name": "Laptop", "credential": {"id": "x"}});
    let bad = from_page(&api, finish, &alice, Some(&page), garbage.clone()).await;
    says(&bad, StatusCode::BAD_REQUEST, "credential");
    let again = from_page(&api, finish, &alice, Some(&page), garbage).await;
    says(
        &again,
        StatusCode::BAD_REQUEST,
        "no passkey registration pending",
    );
    let (_, f) = api
        .call("GET", "/account/factors", Some(&alice), None)
        .await;
    assert_eq!(f["passkeys"], json!([]), "{f}");
}

#[tokio::test]
async fn public_url_fixes_the_relying_party() {
    let server =
        Server::start_with("signup = \"open\"\npublic_url = \"https://desk.example.com\"\n");
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let start = "/account/webauthn/register/start";
    let (s, b) = from_page(&api, start, &alice, None, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["publicKey"]["rp"]["id"], json!("desk.example.com"), "{b}");
}

#[tokio::test]
async fn a_sign_in_challenge_needs_the_password_and_a_passkey() {
    let server = Server::start();
    let api = Api::new(&server);
    api.user("alice").await;
    let start = |pw: &str| {
        let body = json!({"username": "alice", "password": pw});
        api.call("POST", "/account/webauthn/login/start", None, Some(body))
    };
    says(
        &start("wrong password").await,
        StatusCode::UNAUTHORIZED,
        "wrong username or password",
    );
    says(
        &start(PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "no passkey",
    );
    let (_, feed) = api
        .call(
            "GET",
            "/events?kind=login_failed",
            Some(&api.login("alice").await),
            None,
        )
        .await;
    assert_eq!(feed["events"].as_array().map(Vec::len), Some(1), "{feed}");
}
