//! The consent fields of the REST API against the real server: a device
//! starts unattended for both, the owner sets each policy alone with
//! `PATCH /devices/{id}` (the feed says so), an unknown value is a 400
//! naming the field, and share holders and API tokens get the refusal a
//! rename gets.

use meshdesk_tests::{Api, Server, TestDevice};
use serde_json::json;

#[tokio::test]
async fn the_owner_sets_each_policy_and_nobody_else_may() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let code = api.code(&alice).await;
    let dev = TestDevice::enroll(&api, &code, "pc").await;
    let path = format!("/devices/{}", dev.id);

    let (status, d) = api.call("GET", &path, Some(&alice), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (d["consent_owner"].as_str(), d["consent_shared"].as_str()),
        (Some("unattended"), Some("unattended"))
    );

    let (status, d) = api
        .call(
            "PATCH",
            &path,
            Some(&alice),
            Some(json!({"consent_shared": "prompt"})),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (
            d["consent_owner"].as_str(),
            d["consent_shared"].as_str(),
            d["name"].as_str()
        ),
        (Some("unattended"), Some("prompt"), Some("pc"))
    );
    let (_, list) = api.call("GET", "/devices", Some(&alice), None).await;
    assert_eq!(list[0]["consent_shared"], "prompt");
    let (_, page) = api
        .call("GET", "/events?kind=consent_changed", Some(&alice), None)
        .await;
    let events = page["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["detail"], "owner: unattended, shared: prompt");

    let (status, e) = api
        .call(
            "PATCH",
            &path,
            Some(&alice),
            Some(json!({"consent_owner": "always"})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"].as_str().unwrap_or("").contains("consent_owner"),
        "{e}"
    );
    // Nothing to change (absent or null) changes nothing: the device as it is.
    for empty in [
        json!({}),
        json!({"name": null, "consent_owner": null, "consent_shared": null}),
    ] {
        let (status, d) = api.call("PATCH", &path, Some(&alice), Some(empty)).await;
        assert_eq!(status, 200, "{d}");
        assert_eq!(
            (d["name"].as_str(), d["consent_shared"].as_str()),
            (Some("pc"), Some("prompt")),
            "{d}"
        );
    }

    api.share(&alice, &dev.id, "bob", "control").await;
    let (rename, _) = api
        .call("PATCH", &path, Some(&bob), Some(json!({"name": "mine"})))
        .await;
    let (consent, e) = api
        .call(
            "PATCH",
            &path,
            Some(&bob),
            Some(json!({"consent_shared": "unattended"})),
        )
        .await;
    assert_eq!(
        (rename, consent),
        (
            403.try_into().expect("status"),
            403.try_into().expect("status")
        ),
        "{e}"
    );

    let (status, token) = api
        .call(
            "POST",
            "/tokens",
            Some(&alice),
            Some(json!({"name": "t", "scopes": ["devices:read"]})),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let token = token["token"].as_str().expect("token");
    let (rename, _) = api
        .call("PATCH", &path, Some(token), Some(json!({"name": "x"})))
        .await;
    let (consent, _) = api
        .call(
            "PATCH",
            &path,
            Some(token),
            Some(json!({"consent_owner": "notify"})),
        )
        .await;
    assert_eq!(consent, rename);
    assert!(consent.is_client_error());
    let (_, d) = api.call("GET", &path, Some(&alice), None).await;
    assert_eq!(
        (d["consent_owner"].as_str(), d["consent_shared"].as_str()),
        (Some("unattended"), Some("prompt"))
    );
}
