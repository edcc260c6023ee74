//! The activity feed across two signaling nodes on one PostgreSQL and one
//! NATS server: events recorded on either node reach feed streams and
//! viewer WebSockets on both, live, in increasing id order, none missing
//! and none twice, even when both nodes record at once; a stream cut on
//! one node and resumed with `Last-Event-ID` on the other loses nothing;
//! an event no node heard of over the bus is read from the store in its
//! place; and a webhook gets each event once, though both nodes deliver.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use meshdesk_protocol::rest::EventKind;
use meshdesk_protocol::signal::ServerToViewer;
use meshdesk_tests::nats::NatsServer;
use meshdesk_tests::postgres::PgServer;
use meshdesk_tests::{Api, FeedStream, Receiver, Server, TestDevice, ViewerConn};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Renames per node in the tests that record on both at once.
const PER_NODE: usize = 40;
/// How long deliveries may take in all.
const BOUND: Duration = Duration::from_secs(30);

/// Two nodes and what they share.
struct Cluster {
    // Dropped after the nodes (fields drop in order).
    a: Server,
    b: Server,
    _nats: NatsServer,
    pg: PgServer,
}

impl Cluster {
    fn start(tables: &str) -> Cluster {
        let pg = PgServer::start();
        let nats = NatsServer::start();
        let a = Server::start_cluster_node_with(&pg.url(), &nats.url(), tables);
        let b = Server::start_cluster_node_with(&pg.url(), &nats.url(), tables);
        Cluster {
            a,
            b,
            _nats: nats,
            pg,
        }
    }
}

/// Rename `dev` as `token`'s user.
async fn rename(api: &Api, token: &str, dev: &str, name: &str) {
    let path = format!("/devices/{dev}");
    let (s, b) = api
        .call("PATCH", &path, Some(token), Some(json!({ "name": name })))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// Rename `dev` `n` times through each node at once: `a 0`, `b 0`, ...
async fn rename_on_both(apis: [&Api; 2], token: &str, dev: &str, n: usize) {
    let tasks: Vec<_> = apis
        .into_iter()
        .zip(["a", "b"])
        .map(|(api, node)| {
            let (api, token, dev) = (api.clone(), token.to_string(), dev.to_string());
            tokio::spawn(async move {
                for i in 0..n {
                    rename(&api, &token, &dev, &format!("{node} {i}")).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("renames");
    }
}

/// Every name `rename_on_both` gives.
fn all_names(n: usize) -> BTreeSet<String> {
    (0..n)
        .flat_map(|i| [format!("a {i}"), format!("b {i}")])
        .collect()
}

/// The next `n` renames a stream sends, as (id, name).
async fn renames(stream: &mut FeedStream, n: usize) -> Vec<(i64, String)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let block = stream.next_block().await;
        assert_eq!(block.event, "event", "{block:?}");
        let e = &block.data;
        assert_eq!(e["kind"], "device_renamed", "{e}");
        let name = e["device_name"].as_str().expect("name").to_string();
        out.push((block.id.expect("an id"), name));
    }
    out
}

/// The next `n` rename events a viewer connection gets, as (id, name).
async fn viewer_renames(viewer: &mut ViewerConn, n: usize) -> Vec<(i64, String)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let m = viewer
            .wait_for("a rename event", |m| {
                matches!(m, ServerToViewer::Event { event } if event.kind == EventKind::DeviceRenamed)
            })
            .await;
        if let ServerToViewer::Event { event } = m {
            out.push((event.id, event.device_name.unwrap_or_default()));
        }
    }
    out
}

/// The ids of the stored renames, oldest first, as the REST API lists them.
async fn stored_renames(api: &Api, token: &str) -> Vec<i64> {
    let (s, page) = api
        .call(
            "GET",
            "/events?since=0&kind=device_renamed&limit=200",
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let events = page["events"].as_array().expect("events");
    events
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect()
}

/// `got` has increasing ids, exactly `want`, and every name once.
fn assert_complete(what: &str, got: &[(i64, String)], want: &[i64], n: usize) {
    let ids: Vec<i64> = got.iter().map(|g| g.0).collect();
    if let Some(w) = ids.windows(2).find(|w| w[0] >= w[1]) {
        panic!("{what}: {} came after {}: {ids:?}", w[1], w[0]);
    }
    assert_eq!(ids, want, "{what}: every stored rename, in id order");
    let names: BTreeSet<String> = got.iter().map(|g| g.1.clone()).collect();
    assert_eq!(names, all_names(n), "{what}: every rename once");
}

#[tokio::test]
async fn events_recorded_on_both_nodes_at_once_reach_both_in_id_order() {
    let c = Cluster::start("");
    let (api_a, api_b) = (Api::new(&c.a), Api::new(&c.b));
    let alice = api_a.user("alice").await;
    let dev = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "pc").await;
    let only = "kind=device_renamed";
    let mut on_a = FeedStream::open_with(&api_a, &alice, only, None).await;
    let mut on_b = FeedStream::open_with(&api_b, &alice, only, None).await;
    let mut viewer_b = ViewerConn::connect(&c.b, &alice).await;

    rename_on_both([&api_a, &api_b], &alice, &dev.id, PER_NODE).await;

    let want = stored_renames(&api_b, &alice).await;
    assert_eq!(want.len(), 2 * PER_NODE);
    let got_b = renames(&mut on_b, 2 * PER_NODE).await;
    assert_complete("the stream on B", &got_b, &want, PER_NODE);
    let got_a = renames(&mut on_a, 2 * PER_NODE).await;
    assert_complete("the stream on A", &got_a, &want, PER_NODE);
    let got_ws = viewer_renames(&mut viewer_b, 2 * PER_NODE).await;
    assert_complete("the viewer on B", &got_ws, &want, PER_NODE);

    // Live, not only eventually: one more on A reaches B's stream next.
    rename(&api_a, &alice, &dev.id, "last").await;
    let next = renames(&mut on_b, 1).await;
    assert_eq!(next[0].1, "last");
    assert!(next[0].0 > want[want.len() - 1]);
}

#[tokio::test]
async fn an_event_the_bus_never_brought_is_read_from_the_store_in_its_place() {
    let c = Cluster::start("");
    let (api_a, api_b) = (Api::new(&c.a), Api::new(&c.b));
    let alice = api_a.user("alice").await;
    let dev = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "pc").await;
    let only = "kind=device_renamed";
    let mut on_a = FeedStream::open_with(&api_a, &alice, only, None).await;
    let mut on_b = FeedStream::open_with(&api_b, &alice, only, None).await;
    let mut viewer_b = ViewerConn::connect(&c.b, &alice).await;

    // Stored as a node would, but no node heard of it: as if the bus
    // lost its message. The next event shows the gap.
    let inserted = c.pg.execute_sql(&format!(
        "INSERT INTO events (at, kind, user_id, device_id, device_name)
         SELECT 1, 'device_renamed', owner_id, id, 'unheard' FROM devices WHERE id = '{}'",
        dev.id
    ));
    assert_eq!(inserted, 1);
    rename(&api_a, &alice, &dev.id, "heard").await;

    let want = stored_renames(&api_b, &alice).await;
    for (what, got) in [
        ("the stream on A", renames(&mut on_a, 2).await),
        ("the stream on B", renames(&mut on_b, 2).await),
        ("the viewer on B", viewer_renames(&mut viewer_b, 2).await),
    ] {
        let names: Vec<&str> = got.iter().map(|g| g.1.as_str()).collect();
        assert_eq!(names, ["unheard", "heard"], "{what}");
        let ids: Vec<i64> = got.iter().map(|g| g.0).collect();
        assert_eq!(ids, want, "{what}");
    }
}

#[tokio::test]
async fn a_stream_cut_on_one_node_resumes_on_the_other_without_loss() {
    let c = Cluster::start("");
    let (api_a, api_b) = (Api::new(&c.a), Api::new(&c.b));
    let alice = api_a.user("alice").await;
    let dev = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "pc").await;
    let only = "kind=device_renamed";
    let mut first = FeedStream::open_with(&api_a, &alice, only, None).await;

    // Both nodes record while the client reads from A, drops, and
    // resumes on B after the last event it got.
    let recording = {
        let (api_a, api_b, alice, dev) =
            (api_a.clone(), api_b.clone(), alice.clone(), dev.id.clone());
        tokio::spawn(async move { rename_on_both([&api_a, &api_b], &alice, &dev, PER_NODE).await })
    };
    let mut got = renames(&mut first, PER_NODE / 2).await;
    drop(first);
    let last = got.last().expect("some").0;
    let mut resumed = FeedStream::open_with(&api_b, &alice, only, Some(last)).await;
    got.extend(renames(&mut resumed, 2 * PER_NODE - PER_NODE / 2).await);
    recording.await.expect("renames");

    let want = stored_renames(&api_a, &alice).await;
    assert_complete("across the resume", &got, &want, PER_NODE);
}

/// Register a webhook for renames as `token`; returns its id.
async fn webhook(api: &Api, token: &str, url: &str) -> i64 {
    let body = json!({"url": url, "kinds": ["device_renamed"]});
    let (s, b) = api.call("POST", "/webhooks", Some(token), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["id"].as_i64().expect("id")
}

/// Poll the deliveries until `n` are delivered; fails after [`BOUND`].
async fn wait_delivered(api: &Api, token: &str, hook: i64, n: usize) {
    let deadline = tokio::time::Instant::now() + BOUND;
    let path = format!("/webhooks/{hook}/deliveries");
    loop {
        let (s, list) = api.call("GET", &path, Some(token), None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let list = list.as_array().expect("list").clone();
        if list.iter().filter(|d| d["status"] == "delivered").count() >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {n} deliveries: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_webhook_gets_each_event_once_from_a_two_node_cluster() {
    let c = Cluster::start("[webhooks]\nallow_loopback = true\nretry_base_ms = 200\n");
    let (api_a, api_b) = (Api::new(&c.a), Api::new(&c.b));
    let alice = api_a.user("alice").await;
    let dev = TestDevice::enroll(&api_a, &api_a.code(&alice).await, "pc").await;
    let rx = Receiver::start().await;
    // A slow receiver: while one node's attempt waits for its answer, the
    // other node's worker, woken by its own events, sees it pending.
    rx.delay_each(Duration::from_millis(150));
    let hook = webhook(&api_a, &alice, &rx.url).await;

    let n = 8;
    rename_on_both([&api_a, &api_b], &alice, &dev.id, n).await;
    wait_delivered(&api_b, &alice, hook, 2 * n).await;
    // One more, delivered after the others: an attempt still under way
    // for one of them would have arrived by then.
    rename(&api_b, &alice, &dev.id, "last").await;
    wait_delivered(&api_a, &alice, hook, 2 * n + 1).await;
    rx.wait("the last delivery", BOUND, |got| got.len() > 2 * n)
        .await;

    let mut per_event: HashMap<i64, usize> = HashMap::new();
    for r in rx.received() {
        let p: Value = r.payload();
        *per_event
            .entry(p["event"]["id"].as_i64().expect("event id"))
            .or_default() += 1;
    }
    let twice: Vec<_> = per_event.iter().filter(|(_, &k)| k > 1).collect();
    assert!(
        twice.is_empty(),
        "events delivered more than once: {twice:?}"
    );
    assert_eq!(per_event.len(), 2 * n + 1, "every event delivered");
}
