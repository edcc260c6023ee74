//! Bad input on the REST API: malformed JSON, wrong content types, wrong or
//! missing fields, oversized bodies and invalid values each get a clear
//! `{"error": "..."}` with the right status, and the server keeps serving.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use meshdesk_tests::clients::assert_error;
use meshdesk_tests::{Api, Server, TestDevice};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Send `body` as-is with an optional content type.
async fn raw(
    api: &Api,
    method: Method,
    path: &str,
    token: Option<&str>,
    ctype: Option<&str>,
    body: String,
) -> (StatusCode, Value) {
    let mut req = api.raw(method, path).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text:?}"));
    (status, value)
}

/// The server still answers other clients.
async fn still_serving(api: &Api) {
    let (s, doc) = api.call("GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/accounts"].is_object());
}

/// A 400 whose message starts with `prefix` (serde's detail follows it).
fn assert_bad_request(got: (StatusCode, Value), prefix: &str) {
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let obj = got.1.as_object().expect("object");
    assert_eq!(obj.len(), 1, "only an error field: {}", got.1);
    let msg = obj["error"].as_str().expect("error string");
    assert!(
        msg.starts_with(prefix),
        "{msg:?} should start with {prefix:?}"
    );
}

const JSON: Option<&str> = Some("application/json");
const SYNTAX: &str = "Failed to parse the request body as JSON: ";
const DATA: &str = "Failed to deserialize the JSON body into the target type: ";

#[tokio::test]
async fn malformed_and_mistyped_json_bodies_are_400_with_a_json_error() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("owner").await;
    let cases: [(&str, &str); 5] = [
        (r#"{"username": "a","#, SYNTAX),
        ("not json at all", SYNTAX),
        ("", SYNTAX),
        (r#"{"username": 5, "password": "password-123"}"#, DATA),
        (r#"[1]"#, DATA),
    ];
    for (path, tok) in [
        ("/accounts", None),
        ("/login", None),
        ("/enroll", None),
        ("/devices/x/shares", Some(&token)),
    ] {
        for (body, prefix) in cases {
            let got = raw(
                &api,
                Method::POST,
                path,
                tok.map(String::as_str),
                JSON,
                body.into(),
            )
            .await;
            // The share route checks the device first only after the body parsed.
            assert_bad_request(got, prefix);
        }
        still_serving(&api).await;
    }
    // Trailing text after a complete body is a syntax error too.
    let body = r#"{"username": "bob", "password": "password-123"} trailing"#;
    let got = raw(&api, Method::POST, "/accounts", None, JSON, body.into()).await;
    assert_bad_request(got, SYNTAX);
    // Each missing field is named.
    let got = raw(
        &api,
        Method::POST,
        "/accounts",
        None,
        JSON,
        r#"{"username": "bob"}"#.into(),
    )
    .await;
    assert_error(got, 400, "Failed to deserialize the JSON body into the target type: missing field `password` at line 1 column 19");
    let got = raw(
        &api,
        Method::POST,
        "/accounts",
        None,
        JSON,
        r#"{"password": "password-123"}"#.into(),
    )
    .await;
    assert_bad_request(got.clone(), DATA);
    assert!(
        got.1["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing field `username`")),
        "{}",
        got.1
    );
    let got = raw(
        &api,
        Method::POST,
        "/accounts",
        None,
        JSON,
        r#"{"username": null, "password": "password-123"}"#.into(),
    )
    .await;
    assert_bad_request(
        got,
        "Failed to deserialize the JSON body into the target type: username: invalid type: null",
    );
    // serde would read a struct from an array; every body is an object.
    let got = raw(
        &api,
        Method::POST,
        "/accounts",
        None,
        JSON,
        r#"["bob", "password-123"]"#.into(),
    )
    .await;
    assert_bad_request(got, "the body must be a JSON object");
    still_serving(&api).await;
}

#[tokio::test]
async fn bodies_without_a_json_content_type_are_refused() {
    let server = Server::start();
    let api = Api::new(&server);
    let body = r#"{"username": "bob", "password": "password-123"}"#;
    let msg = "expected a JSON body with Content-Type: application/json";
    for ctype in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
    ] {
        let got = raw(&api, Method::POST, "/accounts", None, ctype, body.into()).await;
        // docs/protocol.md section 12: a wrong Content-Type is a 400.
        assert_error(got, 400, msg);
    }
    // The JSON media type with parameters is JSON.
    let got = raw(
        &api,
        Method::POST,
        "/accounts",
        None,
        Some("application/json; charset=utf-8"),
        body.into(),
    )
    .await;
    assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
    still_serving(&api).await;
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_with_a_json_error() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("owner").await;
    let dev = TestDevice::enroll(&api, &api.code(&token).await, "pc").await;
    let big = "x".repeat(70 * 1024);
    let too_large = "request body is too large (limit 65536 bytes)";
    let routes: [(Method, String, Option<&str>, Value); 5] = [
        (
            Method::POST,
            "/accounts".into(),
            None,
            json!({"username": "bob", "password": big}),
        ),
        (
            Method::POST,
            "/login".into(),
            None,
            json!({"username": big, "password": "password-123"}),
        ),
        (
            Method::POST,
            "/enroll".into(),
            None,
            json!({"code": "x", "public_key": "x", "name": big, "os": "x"}),
        ),
        (
            Method::PATCH,
            format!("/devices/{}", dev.id),
            Some(token.as_str()),
            json!({ "name": big }),
        ),
        (
            Method::POST,
            format!("/devices/{}/shares", dev.id),
            Some(token.as_str()),
            json!({"username": big, "permission": "view"}),
        ),
    ];
    for (method, path, tok, body) in routes {
        let got = raw(&api, method.clone(), &path, tok, JSON, body.to_string()).await;
        assert_error(got, 413, too_large);
        still_serving(&api).await;
    }
    // Not JSON at all but oversized: the size is refused first.
    let got = raw(
        &api,
        Method::POST,
        "/accounts",
        None,
        JSON,
        "{".repeat(65 * 1024),
    )
    .await;
    assert_error(got, 413, too_large);
    // Just under the limit is parsed (and refused for its content only).
    let name = "y".repeat(60 * 1024);
    let got = raw(
        &api,
        Method::PATCH,
        &format!("/devices/{}", dev.id),
        Some(&token),
        JSON,
        json!({ "name": name }).to_string(),
    )
    .await;
    assert_error(got, 400, "name must be 1 to 64 characters");
    still_serving(&api).await;
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_cannot_grant_anything() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    // Not the first account, so it must not become an admin however it asks.
    let body =
        json!({"username": "bob", "password": "password-123", "is_admin": true, "admin": true});
    let (s, b) = api.call("POST", "/accounts", None, Some(body)).await;
    assert_eq!(
        (s, b["is_admin"].as_bool()),
        (StatusCode::CREATED, Some(false)),
        "{b}"
    );
    let bob = api.login("bob").await;
    let (_, me) = api.call("GET", "/me", Some(&bob), None).await;
    assert_eq!(me, json!({"username": "bob", "is_admin": false}));
    // A share request with extra fields grants exactly what it names.
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    let body = json!({"username": "bob", "permission": "view", "owner": true, "expires": 1});
    let (s, share) = api
        .call(
            "POST",
            &format!("/devices/{}/shares", dev.id),
            Some(&owner),
            Some(body),
        )
        .await;
    assert_eq!(
        (s, share["permission"].as_str()),
        (StatusCode::CREATED, Some("view"))
    );
    let (_, d) = api
        .call("GET", &format!("/devices/{}", dev.id), Some(&bob), None)
        .await;
    assert_eq!(d["permission"], "view");
}

#[tokio::test]
async fn invalid_usernames_and_passwords_are_refused_at_sign_up() {
    let server = Server::start();
    let api = Api::new(&server);
    let length = "username must be 1 to 32 characters";
    let charset = "username may contain only letters, digits, '.', '_' and '-'";
    let password = "password must be 8 to 1024 characters";
    let long_name = "a".repeat(33);
    let cases: Vec<(&str, String, &str)> = vec![
        ("", "password-123".into(), length),
        (&long_name, "password-123".into(), length),
        ("a b", "password-123".into(), charset),
        ("<script>", "password-123".into(), charset),
        ("bob/../admin", "password-123".into(), charset),
        ("ünïcode", "password-123".into(), charset),
        ("tab\tname", "password-123".into(), charset),
        ("bob", "short12".into(), password),
        ("bob", "p".repeat(1025), password),
        ("bob", String::new(), password),
    ];
    for (username, pw, msg) in cases {
        let got = api
            .call(
                "POST",
                "/accounts",
                None,
                Some(json!({"username": username, "password": pw})),
            )
            .await;
        assert_error(got, 400, msg);
    }
    still_serving(&api).await;
    // The limits themselves are accepted.
    let edge = "a".repeat(32);
    let (s, b) = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": edge, "password": "12345678"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": "b.o_b-2", "password": "p".repeat(1024)})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let taken = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": "B.O_B-2", "password": "password-123"})),
        )
        .await;
    assert_eq!(taken.0, StatusCode::CONFLICT, "{}", taken.1);
    // Over-long credentials at sign-in are a plain failed sign-in.
    let got = api
        .call(
            "POST",
            "/login",
            None,
            Some(json!({"username": "a".repeat(65), "password": "x"})),
        )
        .await;
    assert_error(got, 401, "wrong username or password");
}

#[tokio::test]
async fn invalid_device_fields_at_enroll_and_rename_leave_the_code_usable() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let code = api.code(&owner).await;
    let key = STANDARD.encode(TestDevice::key().verifying_key().to_bytes());
    let enroll = |name: String, os: String, public_key: String| json!({"code": code, "public_key": public_key, "name": name, "os": os});
    let name_len = "name must be 1 to 64 characters";
    let cases: Vec<(Value, &str)> = vec![
        (enroll("n".repeat(65), "os".into(), key.clone()), name_len),
        (enroll("   ".into(), "os".into(), key.clone()), name_len),
        (
            enroll("a\u{7}b".into(), "os".into(), key.clone()),
            "name must not contain control characters",
        ),
        (
            enroll("pc".into(), "o".repeat(129), key.clone()),
            "os must be 1 to 128 characters",
        ),
        (
            enroll("pc".into(), "os".into(), "!!!".into()),
            "public_key must be standard base64",
        ),
        (
            enroll("pc".into(), "os".into(), STANDARD.encode([1u8; 31])),
            "public_key must be 32 bytes (Ed25519)",
        ),
    ];
    for (body, msg) in cases {
        assert_error(
            api.call("POST", "/enroll", None, Some(body)).await,
            400,
            msg,
        );
    }
    still_serving(&api).await;
    // 64 characters (not bytes) is fine, and the code was not used up.
    let name = "é".repeat(64);
    let (s, b) = api
        .call(
            "POST",
            "/enroll",
            None,
            Some(enroll(format!("  {name}  "), "os".into(), key)),
        )
        .await;
    assert_eq!(
        (s, b["name"].as_str()),
        (StatusCode::CREATED, Some(name.as_str())),
        "{b}"
    );
    let id = b["device_id"].as_str().expect("id");

    let path = format!("/devices/{id}");
    for (n, msg) in [
        ("n".repeat(65), name_len),
        (String::new(), name_len),
        ("x\ny".into(), "name must not contain control characters"),
    ] {
        assert_error(
            api.call("PATCH", &path, Some(&owner), Some(json!({ "name": n })))
                .await,
            400,
            msg,
        );
    }
    let (_, d) = api.call("GET", &path, Some(&owner), None).await;
    assert_eq!(d["name"], name.as_str(), "failed renames change nothing");
}

#[tokio::test]
async fn invalid_values_in_shares_queries_and_paths() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    let shares = format!("/devices/{}/shares", dev.id);
    let share = |u: &str, p: &str| Some(json!({"username": u, "permission": p}));
    assert_error(
        api.call("POST", &shares, Some(&owner), share("nobody", "view"))
            .await,
        404,
        "user not found",
    );
    assert_error(
        api.call("POST", &shares, Some(&owner), share("owner", "view"))
            .await,
        400,
        "you already own this device",
    );
    assert_bad_request(
        api.call("POST", &shares, Some(&owner), share("owner", "admin"))
            .await,
        DATA,
    );
    assert_error(
        api.call("DELETE", &format!("{shares}/nobody"), Some(&owner), None)
            .await,
        404,
        "share not found",
    );

    for q in ["limit=0", "limit=201"] {
        assert_error(
            api.call("GET", &format!("/events?{q}"), Some(&owner), None)
                .await,
            400,
            "limit must be 1 to 200",
        );
    }
    for q in ["limit=abc", "limit=-1", "before=yesterday"] {
        assert_bad_request(
            api.call("GET", &format!("/events?{q}"), Some(&owner), None)
                .await,
            "Failed to deserialize query string: ",
        );
    }
    assert_error(
        api.call("GET", "/no-such-route", Some(&owner), None).await,
        404,
        "route not found",
    );
    // A known path with a method it does not have.
    let got = raw(
        &api,
        Method::PUT,
        "/devices",
        Some(&owner),
        JSON,
        "{}".into(),
    )
    .await;
    assert_error(got, 405, "method not allowed");
    still_serving(&api).await;
}
