//! A feed stream resumes: a client that reconnects with `Last-Event-ID`
//! gets every event it missed, in order, none twice, and then live ones,
//! even while events keep happening during the reconnect; a resume from
//! before what retention deleted is told of the gap first.

use meshdesk_tests::{Api, FeedStream, Server, TestDevice};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Rename `dev` as `token`'s user.
async fn rename(api: &Api, token: &str, dev: &str, name: &str) {
    let path = format!("/devices/{dev}");
    let (s, b) = api
        .call("PATCH", &path, Some(token), Some(json!({ "name": name })))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// The next `n` events of `stream`, as (id, device_name) of renames.
async fn renames(stream: &mut FeedStream, n: usize) -> Vec<(i64, String)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let block = stream.next_block().await;
        assert_eq!(block.event, "event", "{block:?}");
        let e = &block.data;
        assert_eq!(e["kind"], "device_renamed", "{e}");
        assert_eq!(block.id, e["id"].as_i64(), "the SSE id is the event's");
        let name = e["device_name"].as_str().expect("name").to_string();
        out.push((block.id.expect("id"), name));
    }
    out
}

/// A client reads one event, drops, `missed` renames happen, and it
/// reconnects with `Last-Event-ID` while `during` more happen: it gets
/// exactly those, in order, then the next live one.
async fn drop_and_resume(missed: usize, during: usize) {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;

    let mut stream = FeedStream::open(&api, &owner).await;
    rename(&api, &owner, &dev.id, "before").await;
    let last = renames(&mut stream, 1).await[0].0;
    drop(stream);

    for i in 0..missed {
        rename(&api, &owner, &dev.id, &format!("missed {i}")).await;
    }
    // More events land while the client reconnects and reads: the
    // hand-over from stored events to live ones must lose none and repeat
    // none.
    let renaming = {
        let (api, owner, id) = (api.clone(), owner.clone(), dev.id.clone());
        tokio::spawn(async move {
            for i in 0..during {
                rename(&api, &owner, &id, &format!("during {i}")).await;
            }
        })
    };
    let mut resumed = FeedStream::open_with(&api, &owner, "", Some(last)).await;
    let got = renames(&mut resumed, missed + during).await;
    renaming.await.expect("renames during the reconnect");
    rename(&api, &owner, &dev.id, "after").await;
    let after = renames(&mut resumed, 1).await;

    let names: Vec<&str> = got.iter().map(|(_, n)| n.as_str()).collect();
    let want: Vec<String> = (0..missed)
        .map(|i| format!("missed {i}"))
        .chain((0..during).map(|i| format!("during {i}")))
        .collect();
    let first_wrong = (0..want.len()).find(|&i| names[i] != want[i]);
    if let Some(i) = first_wrong {
        let around = |v: &[&str]| v[i.saturating_sub(2)..(i + 3).min(v.len())].join(", ");
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        panic!(
            "event {i} of the missed ones is wrong: got [{}], want [{}]",
            around(&names),
            around(&want)
        );
    }
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");
    assert!(got[0].0 > last);
    assert_eq!(after[0].1, "after", "the next one is live, not a repeat");
}

#[tokio::test]
async fn a_dropped_client_resumes_with_last_event_id_and_misses_nothing() {
    drop_and_resume(50, 20).await;
}

/// More missed events than one replay page (200): the replay continues
/// page after page while live events pile up, none lost or repeated.
#[tokio::test]
async fn a_backlog_longer_than_a_page_is_replayed_whole() {
    drop_and_resume(450, 60).await;
}

#[tokio::test]
async fn since_on_the_stream_replays_like_last_event_id() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    rename(&api, &owner, &dev.id, "one").await;
    let (_, page) = api.call("GET", "/events?limit=1", Some(&owner), None).await;
    let one = page["events"][0]["id"].as_i64().expect("id");
    rename(&api, &owner, &dev.id, "two").await;
    rename(&api, &owner, &dev.id, "three").await;

    let query = format!("since={one}&kind=device_renamed");
    let mut stream = FeedStream::open_with(&api, &owner, &query, None).await;
    let names: Vec<String> = renames(&mut stream, 2)
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(names, ["two", "three"]);
    // The header wins over `since` (EventSource keeps the URL it opened).
    let mut stream = FeedStream::open_with(&api, &owner, "since=0", Some(one + 1)).await;
    let names: Vec<String> = renames(&mut stream, 1)
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(names, ["three"]);
    let bad = api
        .raw(reqwest::Method::GET, "/events/stream")
        .bearer_auth(&owner)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body, json!({"error": "Last-Event-ID must be an event id"}));
}

/// Set `at` of every event up to `through` 40 days back, in the server's
/// database (the server is stopped).
fn age_events(server: &Server, through: i64) {
    let forty_days_ms: i64 = 40 * 86_400_000;
    let n = server.execute_sql(&format!(
        "UPDATE events SET at = at - {forty_days_ms} WHERE id <= {through}"
    ));
    assert!(n > 0, "aged some events");
}

#[tokio::test]
async fn a_resume_across_pruned_events_gets_a_gap_then_the_rest() {
    let mut server = Server::start_with("signup = \"open\"\n[events]\nretention_days = 30\n");
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    for name in ["a", "b", "c", "d", "e"] {
        rename(&api, &owner, &dev.id, name).await;
    }
    let (_, page) = api.call("GET", "/events?since=0", Some(&owner), None).await;
    let ids: Vec<i64> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(page["gap"], Value::Null, "nothing pruned yet");
    let (first, third) = (ids[0], ids[ids.len() - 3]);

    assert!(server.stop(), "graceful stop");
    age_events(&server, third);
    server.restart();
    let api = Api::new(&server);

    let gap = json!({"after": first, "before": third + 1});
    let mut stream = FeedStream::open_with(&api, &owner, "", Some(first)).await;
    let block = stream.next_block().await;
    assert_eq!((block.event.as_str(), &block.data), ("gap", &gap));
    assert_eq!(block.id, None, "a gap has no id");
    let rest: Vec<String> = renames(&mut stream, 2)
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(rest, ["d", "e"]);

    let (s, page) = api
        .call("GET", &format!("/events?since={first}"), Some(&owner), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["gap"], gap);
    let names: Vec<&str> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["device_name"].as_str())
        .collect();
    assert_eq!(names, ["d", "e"]);

    // From the last pruned id on, nothing is missing: no gap.
    let mut stream = FeedStream::open_with(&api, &owner, "", Some(third)).await;
    let block = stream.next_block().await;
    assert_eq!(block.event, "event", "{block:?}");
    assert_eq!(block.data["device_name"], "d");
    assert!(server.log_text().contains("pruned old feed events"));
}
