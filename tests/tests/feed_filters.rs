//! The feed's filters, `kind` (repeatable), `device` and `since` (an id
//! or an RFC 3339 time), narrow both the paged history and the live
//! stream; `since` pages run oldest first and continue with `next_since`;
//! bad values are a 400 that names them.

use meshdesk_tests::{FeedStream, FeedWorld, TestDevice};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

async fn rename(f: &FeedWorld, dev: &TestDevice, name: &str) {
    let path = format!("/devices/{}", dev.id);
    let body = Some(json!({ "name": name }));
    let (s, b) = f.api.call("PATCH", &path, Some(&f.owner), body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// `GET /events?{query}` as `token`: the page, asserted 200.
async fn page(f: &FeedWorld, token: &str, query: &str) -> Value {
    let (s, page) = f
        .api
        .call("GET", &format!("/events?{query}"), Some(token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {page}");
    page
}

fn kinds(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn ids(page: &Value) -> Vec<i64> {
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn kind_and_device_narrow_the_page() {
    let f = FeedWorld::start().await;
    rename(&f, &f.shared, "shared 2").await;
    rename(&f, &f.private, "private 2").await;

    let p = page(&f, &f.owner, "kind=device_renamed&kind=share_granted").await;
    assert_eq!(
        kinds(&p),
        ["device_renamed", "device_renamed", "share_granted"]
    );
    let p = page(&f, &f.owner, &format!("device={}", f.private.id)).await;
    assert_eq!(kinds(&p), ["device_renamed", "device_enrolled"]);
    let both = format!("device={}&kind=device_renamed", f.shared.id);
    let p = page(&f, &f.looker, &both).await;
    assert_eq!(kinds(&p), ["device_renamed"]);
    assert_eq!(p["events"][0]["device_name"], "shared 2");
    // A device the user may not see simply yields nothing.
    let p = page(&f, &f.looker, &format!("device={}", f.private.id)).await;
    assert_eq!(kinds(&p), Vec::<String>::new());
    let p = page(&f, &f.stranger, &format!("device={}&since=0", f.shared.id)).await;
    assert_eq!(kinds(&p), Vec::<String>::new());
}

#[tokio::test]
async fn since_pages_oldest_first_by_id_or_time() {
    let f = FeedWorld::start().await;
    let all = page(&f, &f.owner, "limit=200").await;
    let newest_first = ids(&all);
    let mut oldest_first = newest_first.clone();
    oldest_first.reverse();
    assert!(oldest_first.len() >= 4, "{all}");

    // Catch up two at a time with next_since.
    let mut got = Vec::new();
    let mut since = 0;
    loop {
        let p = page(&f, &f.owner, &format!("since={since}&limit=2")).await;
        assert_eq!(p["next_before"], Value::Null);
        got.extend(ids(&p));
        match p["next_since"].as_i64() {
            Some(next) => since = next,
            None => break,
        }
    }
    assert_eq!(got, oldest_first);

    // A time: only events recorded after it.
    let second = &all["events"][newest_first.len() - 2];
    let at_ms = second["at"].as_i64().expect("at");
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms - 1) * 1_000_000)
        .expect("time")
        .format(&Rfc3339)
        .expect("format");
    let p = page(&f, &f.owner, &format!("since={}", t.replace('+', "%2B"))).await;
    let after: Vec<i64> = ids(&p);
    assert_eq!(after.first(), Some(&oldest_first[1]), "{t}: {p}");
    assert!(after.iter().all(|id| *id > oldest_first[0]));
    let p = page(&f, &f.owner, "since=2999-01-01T00:00:00Z").await;
    assert_eq!(ids(&p), Vec::<i64>::new());
}

#[tokio::test]
async fn bad_filters_are_refused_with_their_name() {
    let f = FeedWorld::start().await;
    for (query, message) in [
        (
            "kind=device_online&kind=device_exploded",
            "unknown kind `device_exploded`",
        ),
        ("since=soon", "since: `soon` is neither"),
        ("limit=201", "limit must be 1 to 200"),
        ("limit=0", "limit must be 1 to 200"),
    ] {
        for path in ["/events", "/events/stream"] {
            if path.ends_with("stream") && query.starts_with("limit") {
                continue;
            }
            let (s, body) = f
                .api
                .call("GET", &format!("{path}?{query}"), Some(&f.owner), None)
                .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{path}?{query}: {body}");
            let error = body["error"].as_str().expect("error text");
            assert!(error.starts_with(message), "{path}?{query}: {error}");
        }
    }
}

#[tokio::test]
async fn kind_and_device_narrow_the_stream() {
    let f = FeedWorld::start().await;
    let query = format!("kind=device_renamed&device={}", f.shared.id);
    let mut narrow = FeedStream::open_with(&f.api, &f.owner, &query, None).await;
    let mut everything = FeedStream::open(&f.api, &f.owner).await;
    rename(&f, &f.private, "private 2").await;
    f.api
        .share(&f.owner, &f.private.id, "stranger", "view")
        .await;
    rename(&f, &f.shared, "shared 2").await;

    // The unfiltered stream sees all three, in order.
    let seen: Vec<Value> = [
        everything.next().await,
        everything.next().await,
        everything.next().await,
    ]
    .into();
    let seen_kinds: Vec<&str> = seen.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        seen_kinds,
        ["device_renamed", "share_granted", "device_renamed"]
    );
    // The filtered one's first event is the last of them.
    let first = narrow.next().await;
    assert_eq!(first, seen[2]);
    assert_eq!(first["device_name"], "shared 2");
}
