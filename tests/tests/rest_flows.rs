//! REST flows end to end against the real server: sign up, sign in,
//! enrollment, device list, rename, share, revoke, feed paging and SSE.

use meshdesk_tests::{Api, FeedStream, Server, TestDevice, WAIT};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn sign_up_sign_in_and_sign_out() {
    let server = Server::start();
    let api = Api::new(&server);
    let (s, b) = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": "alice", "password": "password-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(b["is_admin"], true, "first account is admin");
    let (s, b) = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": "bob", "password": "password-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(b["is_admin"], false);
    let (s, _) = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": "ALICE", "password": "password-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "usernames are case-insensitive");

    // Sign-in sets an HttpOnly, SameSite=Strict cookie as well as the token.
    let resp = api
        .raw(reqwest::Method::POST, "/login")
        .json(&json!({"username": "alice", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let body: Value = resp.json().await.expect("json");
    let token = body["token"].as_str().expect("token").to_string();
    let cookie_pair = cookie.split(';').next().expect("pair").to_string();

    let (s, me) = api.call("GET", "/me", Some(&token), None).await;
    assert_eq!(
        (s, me["username"].as_str()),
        (StatusCode::OK, Some("alice"))
    );
    // The cookie alone authenticates safe requests.
    let resp = api
        .raw(reqwest::Method::GET, "/me")
        .header("cookie", &cookie_pair)
        .send()
        .await
        .expect("me by cookie");
    assert_eq!(resp.status(), StatusCode::OK);

    let (s, _) = api
        .call(
            "POST",
            "/login",
            None,
            Some(json!({"username": "alice", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, _) = api.call("POST", "/logout", Some(&token), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = api.call("GET", "/me", Some(&token), None).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "token dead after sign-out: {b}"
    );
    assert!(b["error"].is_string());
}

#[tokio::test]
async fn signup_policy_first_user_only_and_closed() {
    let server = Server::start_with("signup = \"first-user-only\"\n");
    let api = Api::new(&server);
    api.user("admin").await;
    let (s, b) = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": "second", "password": "password-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");

    let closed = Server::start_with("signup = \"closed\"\n");
    let api = Api::new(&closed);
    let (s, _) = api
        .call(
            "POST",
            "/accounts",
            None,
            Some(json!({"username": "first", "password": "password-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled_and_recorded() {
    let server = Server::start_with(
        "signup = \"open\"\nlogin_free_failures = 3\nlogin_max_delay_secs = 60\n",
    );
    let api = Api::new(&server);
    let token = api.user("carol").await;
    let bad = json!({"username": "carol", "password": "not-her-password"});
    for _ in 0..4 {
        let (s, _) = api.call("POST", "/login", None, Some(bad.clone())).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits: the check happens before verifying.
    let resp = api
        .raw(reqwest::Method::POST, "/login")
        .json(&json!({"username": "carol", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let (_, page) = api.call("GET", "/events", Some(&token), None).await;
    let failures = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "login_failed")
        .count();
    assert_eq!(failures, 4, "{page}");
    assert!(
        !server.log_text().contains("not-her-password"),
        "passwords never reach the log"
    );
    assert!(
        !server.log_text().contains(&token),
        "tokens never reach the log"
    );
}

#[tokio::test]
async fn enrollment_codes_are_single_use() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let code = api.code(&alice).await;
    let dev = TestDevice::enroll(&api, &code, "office-pc").await;
    let (s, b) = TestDevice::enroll_raw(&api, &code, "second", &TestDevice::key()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(b["error"].as_str().expect("error").contains("already used"));
    let (s, _) = TestDevice::enroll_raw(&api, "AAAA-BBBB-CCCC-DDDD", "x", &TestDevice::key()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The same key cannot enroll twice.
    let code2 = api.code(&alice).await;
    let (s, _) = TestDevice::enroll_raw(&api, &code2, "again", &dev.key).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Codes typed in lower case with spaces still work.
    let code3 = api.code(&alice).await.to_lowercase().replace('-', " ");
    TestDevice::enroll(&api, &code3, "laptop").await;

    let (s, list) = api.call("GET", "/devices", Some(&alice), None).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["laptop", "office-pc"]);
    let d = &list[1];
    assert_eq!(
        (d["online"].as_bool(), d["permission"].as_str()),
        (Some(false), Some("owner"))
    );
    assert_eq!(d["owner"], "alice");
}

#[tokio::test]
async fn expired_enrollment_code_is_refused() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let code = api.code(&alice).await;
    // Age the code in the real database.
    let aged = server.execute_sql("UPDATE enrollment_codes SET expires_at = 1");
    assert_eq!(aged, 1);
    let (s, b) = TestDevice::enroll_raw(&api, &code, "late", &TestDevice::key()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        b["error"].as_str().expect("error").contains("expired"),
        "{b}"
    );
}

#[tokio::test]
async fn rename_share_revoke_and_feed_paging() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;

    let (s, d) = api
        .call(
            "PATCH",
            &format!("/devices/{}", dev.id),
            Some(&alice),
            Some(json!({"name": "den-pc"})),
        )
        .await;
    assert_eq!((s, d["name"].as_str()), (StatusCode::OK, Some("den-pc")));

    api.share(&alice, &dev.id, "bob", "view").await;
    let (_, shares) = api
        .call(
            "GET",
            &format!("/devices/{}/shares", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        shares,
        json!([{"username": "bob", "permission": "view", "created_at": shares[0]["created_at"],
                "expires_at": null}])
    );
    let (_, list) = api.call("GET", "/devices", Some(&bob), None).await;
    assert_eq!(list[0]["permission"], "view");
    assert_eq!(list[0]["owner"], "alice");

    let (s, _) = api
        .call(
            "DELETE",
            &format!("/devices/{}/shares/bob", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = api.call("GET", "/devices", Some(&bob), None).await;
    assert_eq!(list, json!([]));
    let (s, _) = api
        .call(
            "DELETE",
            &format!("/devices/{}/shares/bob", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Feed: newest first, paged with `before`.
    let (_, all) = api
        .call("GET", "/events?limit=200", Some(&alice), None)
        .await;
    let kinds: Vec<&str> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "share_revoked",
            "share_granted",
            "device_renamed",
            "device_enrolled",
            "account_created"
        ]
    );
    let (_, p1) = api.call("GET", "/events?limit=2", Some(&alice), None).await;
    assert_eq!(p1["events"].as_array().expect("page").len(), 2);
    let before = p1["next_before"].as_i64().expect("cursor");
    let (_, p2) = api
        .call(
            "GET",
            &format!("/events?limit=2&before={before}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(p2["events"][0]["kind"], "device_renamed");
    let (_, p3) = api
        .call(
            "GET",
            &format!("/events?limit=2&before={}", p2["next_before"]),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(p3["events"].as_array().expect("page").len(), 1);
    assert_eq!(p3["next_before"], Value::Null);
    // Bob saw the share granted and revoked (he is its target).
    let (_, bobs) = api.call("GET", "/events", Some(&bob), None).await;
    let bob_kinds: Vec<&str> = bobs["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert!(
        bob_kinds.contains(&"share_revoked") && bob_kinds.contains(&"share_granted"),
        "{bob_kinds:?}"
    );
    let (s, _) = api.call("GET", "/events?limit=0", Some(&alice), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sse_streams_live_events() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let mut stream = FeedStream::open(&api, &alice).await;
    assert!(
        stream.content_type().starts_with("text/event-stream"),
        "{}",
        stream.content_type()
    );
    let code = api.code(&alice).await;
    TestDevice::enroll(&api, &code, "streamed-pc").await;
    // An `event: event` block carrying it.
    let e = stream
        .next_where("device_enrolled", |e| e["kind"] == "device_enrolled")
        .await;
    assert_eq!(e["device_name"], "streamed-pc", "{e}");
}

/// A feed stream must not outlive its sign-in: signing out with the token
/// it was opened with ends it; signing out another token does not.
#[tokio::test]
async fn signing_out_ends_the_feed_streams_of_that_token_only() {
    let server = Server::start();
    let api = Api::new(&server);
    let first = api.user("alice").await;
    let second = api.login("alice").await;
    let mut kept = FeedStream::open(&api, &first).await;
    let mut ended = FeedStream::open(&api, &second).await;
    let (s, _) = api.call("POST", "/logout", Some(&second), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        ended.ends_within(WAIT).await,
        "the signed-out token's stream is still open"
    );
    // The other sign-in's stream still carries events.
    let code = api.code(&first).await;
    TestDevice::enroll(&api, &code, "after-logout-pc").await;
    kept.next_where("after-logout-pc", |e| e["device_name"] == "after-logout-pc")
        .await;
}

#[tokio::test]
async fn openapi_document_covers_every_route() {
    let server = Server::start();
    let api = Api::new(&server);
    let (s, doc) = api.call("GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    // Every path the server's REST router registers, taken from the router.
    let served = meshdesk_signaling::api::router().paths();
    assert!(served.len() >= 14, "{served:?}");
    for p in &served {
        assert!(
            paths.contains_key(p),
            "{p} is served but missing from openapi.json"
        );
    }
    for p in paths.keys() {
        assert!(served.contains(p), "{p} is in openapi.json but not served");
    }
    assert!(doc["components"]["schemas"]["Device"].is_object());
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let server = Server::start();
    let resp = reqwest::get(format!("{}/", server.base))
        .await
        .expect("index");
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn the_page_links_assets_that_browsers_keep() {
    let server = Server::start();
    let base = server.base.clone();
    let get = |path: String| {
        let url = format!("{base}{path}");
        async move {
            let resp = reqwest::get(url).await.expect("get");
            assert_eq!(resp.status(), StatusCode::OK, "{}", resp.url());
            let cache = resp.headers()["cache-control"]
                .to_str()
                .expect("cc")
                .to_string();
            (cache, resp.text().await.expect("body"))
        }
    };
    // The page itself is never stored, so a new binary's links are used.
    let (cache, html) = get("/".into()).await;
    assert_eq!(cache, "no-store");
    // Every asset it links lives under one version and is kept for a year.
    let links: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    // The start script, the icon, the stylesheet and the app's bundle.
    assert_eq!(links.len(), 4, "{links:?}");
    let version = links[0].split('/').nth(2).expect("version");
    assert_eq!(version.len(), 12, "{links:?}");
    for link in &links {
        assert!(link.starts_with(&format!("/assets/{version}/")), "{link}");
        let (cache, body) = get(link.to_string()).await;
        assert_eq!(cache, "public, max-age=31536000, immutable", "{link}");
        assert!(!body.is_empty(), "{link}");
    }
    // The plain paths still work, revalidated on every use.
    let (cache, body) = get("/assets/js/app.bundle.js".into()).await;
    assert_eq!(cache, "no-cache");
    assert_eq!(
        body,
        get(format!("/assets/{version}/js/app.bundle.js")).await.1
    );
    // So do the modules themselves.
    let (cache, body) = get(format!("/assets/{version}/js/app.js")).await;
    assert_eq!(cache, "public, max-age=31536000, immutable");
    assert!(body.contains("function start()"), "{body}");
    // The bundle's modules keep their own URLs, and the worker and icon
    // are found from where they are used, so nothing leaves the version.
    let (_, bundle) = get(format!("/assets/{version}/js/app.bundle.js")).await;
    assert!(bundle.contains(
        "new URL('./decoder-worker.js', new URL('session/surface.js', import.meta.url).href)"
    ));
    get(format!("/assets/{version}/js/session/decoder-worker.js")).await;
    get(format!("/assets/{version}/icon.svg")).await;
}

#[tokio::test]
async fn signing_out_closes_that_tokens_live_connections() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let other = api.login("alice").await;
    let mut viewer = meshdesk_tests::ViewerConn::connect(&server, &token).await;
    let mut kept = meshdesk_tests::ViewerConn::connect(&server, &other).await;
    let (s, _) = api.call("POST", "/logout", Some(&token), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        viewer.recv_or_closed().await.is_none(),
        "signed-out connection closed"
    );
    // Another sign-in of the same user is unaffected.
    kept.send(&meshdesk_protocol::signal::ViewerToServer::Ping)
        .await;
    let m = kept
        .wait_for("pong", |m| {
            *m == meshdesk_protocol::signal::ServerToViewer::Pong
        })
        .await;
    assert_eq!(m, meshdesk_protocol::signal::ServerToViewer::Pong);
    assert!(
        meshdesk_tests::ViewerConn::try_connect(&server, &token, None)
            .await
            .is_err()
    );
}
