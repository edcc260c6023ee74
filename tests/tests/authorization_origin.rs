//! Cross-site protection: requests authenticated by the session cookie and
//! browser WebSocket upgrades must come from the server's own origin.

use meshdesk_protocol::signal::ServerToViewer;
use meshdesk_tests::clients::{assert_error, ws_upgrade};
use meshdesk_tests::{Api, Server, ViewerConn};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const EVIL: &str = "https://evil.example";

/// Sign in and return the `meshdesk_session=...` cookie pair.
async fn cookie(api: &Api, username: &str) -> String {
    let resp = api
        .raw(Method::POST, "/login")
        .json(&json!({"username": username, "password": "password-123"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    let set = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    set.split(';').next().expect("pair").to_string()
}

async fn send(
    api: &Api,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = api.raw(method, path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON")
        },
    )
}

#[tokio::test]
async fn cookie_requests_that_change_state_need_our_origin() {
    let server = Server::start();
    let api = Api::new(&server);
    api.user("owner").await;
    let jar = cookie(&api, "owner").await;
    let ours: &str = &server.base;
    let c = ("cookie", jar.as_str());
    let refused = "cross-site request refused";

    // Cross-site, or no Origin and no Sec-Fetch-Site: refused.
    let r = send(
        &api,
        Method::POST,
        "/enrollment-codes",
        &[c, ("origin", EVIL)],
    )
    .await;
    assert_error(r, 403, refused);
    assert_error(
        send(&api, Method::POST, "/enrollment-codes", &[c]).await,
        403,
        refused,
    );
    let r = send(
        &api,
        Method::POST,
        "/enrollment-codes",
        &[c, ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_error(r, 403, refused);
    let r = send(
        &api,
        Method::POST,
        "/enrollment-codes",
        &[c, ("origin", "null")],
    )
    .await;
    assert_error(r, 403, refused);
    // Sign-out by a cross-site form must not work either, and the cookie stays valid.
    assert_error(
        send(&api, Method::POST, "/logout", &[c, ("origin", EVIL)]).await,
        403,
        refused,
    );

    // Same origin, or a same-origin fetch without Origin: accepted.
    let (s, b) = send(
        &api,
        Method::POST,
        "/enrollment-codes",
        &[c, ("origin", ours)],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let r = send(
        &api,
        Method::POST,
        "/enrollment-codes",
        &[c, ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // Safe reads by cookie need no Origin (the browser keeps the reply from other sites).
    let (s, me) = send(&api, Method::GET, "/me", &[c, ("origin", EVIL)]).await;
    assert_eq!(
        (s, me["username"].as_str()),
        (StatusCode::OK, Some("owner"))
    );

    // A bearer token is not ambient, so Origin does not matter for it.
    let token = api.login("owner").await;
    let bearer = format!("Bearer {token}");
    let r = send(
        &api,
        Method::POST,
        "/enrollment-codes",
        &[("authorization", bearer.as_str()), ("origin", EVIL)],
    )
    .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);

    // Signing in from another site is refused too (login CSRF).
    let resp = api
        .raw(Method::POST, "/login")
        .header("origin", EVIL)
        .json(&json!({"username": "owner", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("set-cookie").is_none());
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"error": refused})
    );

    // Same-origin sign-out with the cookie works and ends the cookie's session.
    let r = send(&api, Method::POST, "/logout", &[c, ("origin", ours)]).await;
    assert_eq!(r.0, StatusCode::NO_CONTENT);
    let r = send(&api, Method::GET, "/me", &[c]).await;
    assert_error(r, 401, "session expired or invalid; sign in again");
}

#[tokio::test]
async fn websocket_upgrades_from_other_sites_are_refused() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("owner").await;
    let jar = cookie(&api, "owner").await;
    let bearer = format!("Bearer {token}");
    let ours: &str = &server.base;

    // A foreign Origin is refused before anything else, with any credential.
    let cases: [&[(&str, &str)]; 3] = [
        &[("authorization", bearer.as_str()), ("origin", EVIL)],
        &[("cookie", jar.as_str()), ("origin", EVIL)],
        &[("origin", EVIL)],
    ];
    for headers in cases {
        assert_eq!(
            ws_upgrade(&server, "viewer", headers).await.map(|_| ()),
            Err(403),
            "{headers:?}"
        );
    }
    assert_eq!(
        ws_upgrade(&server, "host", &[("origin", EVIL)])
            .await
            .map(|_| ()),
        Err(403)
    );

    // The server's own origin works, by token and by cookie.
    for headers in [
        [("authorization", bearer.as_str()), ("origin", ours)],
        [("cookie", jar.as_str()), ("origin", ours)],
    ] {
        let ws = ws_upgrade(&server, "viewer", &headers)
            .await
            .expect("same-origin upgrade");
        let mut v = ViewerConn::new(ws);
        match v.recv().await {
            ServerToViewer::Welcome { username, .. } => assert_eq!(username, "owner"),
            other => panic!("expected welcome, got {other:?}"),
        }
        v.assert_quiet().await;
    }
    assert!(ws_upgrade(&server, "host", &[("origin", ours)])
        .await
        .is_ok());
    // The existing helper agrees.
    assert!(ViewerConn::try_connect(&server, &token, Some(EVIL))
        .await
        .is_err());
    assert!(ViewerConn::try_connect(&server, &token, Some(ours))
        .await
        .is_ok());
}
