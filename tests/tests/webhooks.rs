//! Webhooks: signed deliveries of feed events to a receiver on loopback,
//! at least once: each event once, again after a receiver's failures and
//! after the server is killed; refused to loopback unless the config
//! allows it; disabled after a run of failures; owned by one user.

use std::time::Duration;

use meshdesk_tests::{Api, Receiver, Server, TestDevice};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Fast retries (200 ms, 400 ms, ...) so that a few take seconds.
const FAST: &str = "signup = \"open\"\n[webhooks]\nallow_loopback = true\nretry_base_ms = 200\n";
const BOUND: Duration = Duration::from_secs(20);

/// Register a webhook as `token`; returns its id and secret.
async fn webhook(api: &Api, token: &str, body: Value) -> (i64, String) {
    let (s, b) = api.call("POST", "/webhooks", Some(token), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["webhook"]["enabled"], true);
    let secret = b["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (b["id"].as_i64().expect("id"), secret)
}

async fn deliveries(api: &Api, token: &str, id: i64) -> Vec<Value> {
    let (s, b) = api
        .call(
            "GET",
            &format!("/webhooks/{id}/deliveries"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b.as_array().expect("list").clone()
}

/// Poll the server's view of the deliveries until `done` holds.
async fn wait_deliveries(
    api: &Api,
    token: &str,
    id: i64,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let list = deliveries(api, token, id).await;
        if done(&list) {
            return list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn each_event_arrives_once_signed_and_filtered() {
    let server = Server::start_with(FAST);
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    api.user("bob").await;
    let rx = Receiver::start().await;
    let (all, secret) = webhook(&api, &alice, json!({"url": rx.url})).await;
    let (renames, _) = webhook(
        &api,
        &alice,
        json!({"url": rx.url, "kinds": ["device_renamed"]}),
    )
    .await;

    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    let (s, _) = api
        .call(
            "PATCH",
            &format!("/devices/{}", dev.id),
            Some(&alice),
            Some(json!({"name": "desk"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    api.share(&alice, &dev.id, "bob", "view").await;
    let (s, _) = api
        .call(
            "DELETE",
            &format!("/devices/{}/shares/bob", dev.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Four events for the first webhook, one for the second; the server
    // says all five are delivered, so no attempt is still to come.
    wait_deliveries(&api, &alice, all, "four deliveries", |l| {
        l.len() == 4 && l.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    let renamed = wait_deliveries(&api, &alice, renames, "one delivery", |l| {
        l.len() == 1 && l[0]["status"] == "delivered"
    })
    .await;
    assert_eq!(renamed[0]["kind"], "device_renamed");
    assert_eq!(renamed[0]["last_status_code"], 204);
    let got = rx.received();
    assert_eq!(got.len(), 5, "each event once: {got:#?}");

    let mut kinds = Vec::new();
    for r in got.iter().filter(|r| r.payload()["webhook_id"] == all) {
        r.assert_signed(&secret);
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("user-agent"), "Meshdesk-Webhooks");
        let p = r.payload();
        assert_eq!(r.header("meshdesk-delivery"), p["delivery_id"].to_string());
        assert_eq!(p["event"]["device_id"], dev.id.as_str());
        kinds.push(p["event"]["kind"].as_str().expect("kind").to_string());
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "device_enrolled",
            "device_renamed",
            "share_granted",
            "share_revoked"
        ]
    );
}

#[tokio::test]
async fn a_delivery_arrives_after_three_failed_attempts() {
    let server = Server::start_with(FAST);
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let rx = Receiver::start().await;
    let (id, secret) = webhook(&api, &alice, json!({"url": rx.url})).await;
    rx.fail_next(3);

    TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    rx.wait("the fourth attempt", BOUND, |r| r.len() == 4).await;
    let got = rx.received();
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 500, 204]
    );
    // The same delivery each time, signed afresh.
    for r in &got {
        r.assert_signed(&secret);
        assert_eq!(r.payload()["delivery_id"], got[0].payload()["delivery_id"]);
    }
    let list = wait_deliveries(&api, &alice, id, "delivered", |l| {
        l[0]["status"] == "delivered"
    })
    .await;
    assert_eq!(list[0]["attempts"], 4);
    assert_eq!(list[0]["last_status_code"], 204);
    assert_eq!(list[0]["last_error"], Value::Null);
    let (_, hook) = api
        .call("GET", &format!("/webhooks/{id}"), Some(&alice), None)
        .await;
    assert_eq!(hook["consecutive_failures"], 0, "a delivery ends the run");
}

#[tokio::test]
async fn a_delivery_pending_when_the_server_is_killed_arrives_after_restart() {
    // Slow retries: the kill comes between the failed attempt and the retry.
    let mut server =
        Server::start_with(&FAST.replace("retry_base_ms = 200", "retry_base_ms = 2000"));
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let rx = Receiver::start().await;
    let (id, secret) = webhook(&api, &alice, json!({"url": rx.url})).await;
    rx.fail_next(u32::MAX);

    TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    rx.wait("a failed attempt", BOUND, |r| !r.is_empty()).await;
    server.kill();
    rx.fail_next(0);
    let before = rx.received().len();
    server.restart();

    rx.wait("the delivery after the restart", BOUND, |r| {
        r.iter().any(|r| r.status == 204)
    })
    .await;
    let got = rx.received();
    let ok: Vec<_> = got.iter().filter(|r| r.status == 204).collect();
    assert_eq!(ok.len(), 1);
    ok[0].assert_signed(&secret);
    assert_eq!(ok[0].payload()["event"]["kind"], "device_enrolled");
    assert!(got.len() > before);
    let api = Api::new(&server);
    wait_deliveries(&api, &alice, id, "delivered", |l| {
        l.len() == 1 && l[0]["status"] == "delivered"
    })
    .await;
}

#[tokio::test]
async fn loopback_receivers_are_refused_unless_allowed() {
    let server = Server::start_with("signup = \"open\"\n[webhooks]\nretry_base_ms = 200\n");
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let rx = Receiver::start().await;
    let (id, _) = webhook(&api, &alice, json!({"url": rx.url})).await;
    let (other, _) = webhook(&api, &alice, json!({"url": "http://localhost:9/hook"})).await;

    TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    for hook in [id, other] {
        let list = wait_deliveries(&api, &alice, hook, "a refused attempt", |l| {
            l.first().is_some_and(|d| d["attempts"].as_u64() >= Some(1))
        })
        .await;
        let error = list[0]["last_error"].as_str().expect("an error");
        assert!(error.contains("is a loopback address"), "{error}");
        assert!(
            error.starts_with("refused: 127.0.0.1") || error.starts_with("refused: ::1"),
            "{error}"
        );
        assert_eq!(list[0]["status"], "pending", "retried later: {list:?}");
        assert_eq!(list[0]["last_status_code"], Value::Null);
    }
    assert!(rx.received().is_empty(), "the receiver was never contacted");
}

#[tokio::test]
async fn a_webhook_is_owned_by_its_user_and_checked() {
    let server = Server::start_with(FAST);
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    let (id, _) = webhook(
        &api,
        &alice,
        json!({"url": "https://example.com/in", "devices": [dev.id]}),
    )
    .await;

    let (_, list) = api.call("GET", "/webhooks", Some(&bob), None).await;
    assert_eq!(list, json!([]));
    let paths = [
        ("GET", format!("/webhooks/{id}"), None),
        (
            "PATCH",
            format!("/webhooks/{id}"),
            Some(json!({"enabled": false})),
        ),
        ("DELETE", format!("/webhooks/{id}"), None),
        ("GET", format!("/webhooks/{id}/deliveries"), None),
        ("POST", format!("/webhooks/{id}/deliveries/1/resend"), None),
        ("GET", "/webhooks/nope".to_string(), None),
    ];
    for (method, path, body) in paths {
        let (s, b) = api.call(method, &path, Some(&bob), body.clone()).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("webhook not found")),
            "{method} {path}"
        );
        let (s, _) = api.call(method, &path, None, body).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path} signed out");
    }

    // Bad input is a 400 that says what is wrong.
    let bad = [
        (json!({"url": "ftp://example.com/"}), "http:// or https://"),
        (
            json!({"url": "https://u:p@example.com/"}),
            "user name or password",
        ),
        (json!({"url": "not a url"}), "not a valid URL"),
        (
            json!({"url": "https://example.com/", "devices": [dev.id]}),
            "no device",
        ),
        (
            json!({"url": "https://example.com/", "kinds": ["no_such_kind"]}),
            "kinds",
        ),
    ];
    for (i, (body, why)) in bad.into_iter().enumerate() {
        // The device case is bob's: alice's device is not his to filter.
        let who = if i == 3 { &bob } else { &alice };
        let (s, b) = api
            .call("POST", "/webhooks", Some(who), Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert!(
            b["error"].as_str().expect("error").contains(why),
            "{body}: {b}"
        );
    }

    // Alice's own calls work, and a delete removes it.
    let (s, hook) = api
        .call("GET", &format!("/webhooks/{id}"), Some(&alice), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hook["devices"], json!([dev.id]));
    assert!(
        hook.get("secret").is_none(),
        "the secret is shown once only"
    );
    let (s, _) = api
        .call("DELETE", &format!("/webhooks/{id}"), Some(&alice), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .call("GET", &format!("/webhooks/{id}"), Some(&alice), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_run_of_failures_disables_the_webhook_and_tells_the_owner() {
    let server = Server::start_with(&format!("{FAST}disable_after = 3\n"));
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let rx = Receiver::start().await;
    let (id, secret) = webhook(&api, &alice, json!({"url": rx.url})).await;
    rx.fail_next(u32::MAX);

    TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    let list = wait_deliveries(&api, &alice, id, "the delivery failed", |l| {
        l[0]["status"] == "failed"
    })
    .await;
    assert_eq!(list[0]["attempts"], 3);
    assert!(
        list[0]["last_error"]
            .as_str()
            .expect("error")
            .contains("disabled"),
        "{list:?}"
    );
    let (_, hook) = api
        .call("GET", &format!("/webhooks/{id}"), Some(&alice), None)
        .await;
    assert_eq!(
        (
            hook["enabled"].clone(),
            hook["consecutive_failures"].clone()
        ),
        (json!(false), json!(3))
    );
    let (_, feed) = api
        .call("GET", "/events?limit=50", Some(&alice), None)
        .await;
    let disabled = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "webhook_disabled")
        .unwrap_or_else(|| panic!("no webhook_disabled event: {feed}"));
    assert!(
        disabled["detail"]
            .as_str()
            .expect("detail")
            .contains("after 3 failed attempts"),
        "{disabled}"
    );
    assert_eq!(rx.received().len(), 3, "no attempt after disabling");

    // A resend needs the webhook on; turned on, its run starts afresh and
    // the resend arrives.
    let resend = format!("/webhooks/{id}/deliveries/{}/resend", list[0]["id"]);
    let (s, _) = api.call("POST", &resend, Some(&alice), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, hook) = api
        .call(
            "PATCH",
            &format!("/webhooks/{id}"),
            Some(&alice),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            hook["enabled"].clone(),
            hook["consecutive_failures"].clone()
        ),
        (json!(true), json!(0))
    );
    rx.fail_next(0);
    let (s, queued) = api.call("POST", &resend, Some(&alice), None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["status"], "pending");
    rx.wait("the resent delivery", BOUND, |r| {
        r.iter().any(|r| r.status == 204)
    })
    .await;
    rx.accepted()[0].assert_signed(&secret);
    wait_deliveries(&api, &alice, id, "delivered", |l| {
        l[0]["status"] == "delivered"
    })
    .await;
}
