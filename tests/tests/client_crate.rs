//! meshdesk-client against the real server: sign-in, the typed calls, the
//! paged and the live feed, and a live feed that resumes across a server
//! restart without repeating an event.

use std::pin::pin;

use futures_util::{Stream, StreamExt};
use meshdesk_client::rest::{Event, EventKind, NewToken, Scope, SharePermission};
use meshdesk_client::{Client, DeviceState, Error, EventsQuery, FeedItem};
use meshdesk_tests::{Api, HostConn, Server, TestDevice, WAIT};

/// The next event of `kind` from a resuming feed (others skipped), within
/// [`WAIT`]; every event it passed is pushed to `seen`.
async fn next_of(
    feed: &mut (impl Stream<Item = meshdesk_client::Result<FeedItem>> + Unpin),
    kind: EventKind,
    seen: &mut Vec<Event>,
) -> Event {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match feed
                .next()
                .await
                .expect("the feed ended")
                .expect("feed item")
            {
                FeedItem::Event(e) => {
                    seen.push(e.clone());
                    if e.kind == kind {
                        return e;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {kind:?} within {WAIT:?}"))
}

/// The next presence state for which `pred` holds, within [`WAIT`].
async fn next_state(
    presence: &mut (impl Stream<Item = meshdesk_client::Result<DeviceState>> + Unpin),
    pred: impl Fn(&DeviceState) -> bool,
) -> DeviceState {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let s = presence
                .next()
                .await
                .expect("presence ended")
                .expect("state");
            if pred(&s) {
                return s;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no such presence state within {WAIT:?}"))
}

/// Renames `device` to `NAME-1`, `NAME-2`, ... every 200 ms until the feed
/// yields one of those renames (so the feed is surely connected, however
/// long its (re)connect takes); every event passed is pushed to `seen`.
async fn rename_until_seen(
    client: &Client,
    feed: &mut (impl Stream<Item = meshdesk_client::Result<FeedItem>> + Unpin),
    device: &str,
    name: &str,
    seen: &mut Vec<Event>,
) -> Event {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    let deadline = tokio::time::sleep(WAIT);
    tokio::pin!(deadline);
    let mut n = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                n += 1;
                let renamed = client.rename_device(device, &format!("{name}-{n}")).await;
                renamed.expect("rename");
            }
            item = feed.next() => match item.expect("the feed ended").expect("feed item") {
                FeedItem::Event(e) => {
                    seen.push(e.clone());
                    let ours = e.device_name.as_deref().is_some_and(|d| d.starts_with(name));
                    if e.kind == EventKind::DeviceRenamed && ours {
                        return e;
                    }
                }
                other => panic!("unexpected {other:?}"),
            },
            () = &mut deadline => panic!("no rename to {name}-N on the feed within {WAIT:?}"),
        }
    }
}

#[tokio::test]
async fn signs_in_and_every_typed_call_works() {
    let server = Server::start();
    let anon = Client::new(&server.base).expect("url");
    anon.sign_up("alice", "password-123")
        .await
        .expect("sign up");
    anon.sign_up("bob", "password-123").await.expect("sign up");
    // A wrong password is a 401 with the server's text.
    match anon.sign_in("alice", "wrong-password", None).await {
        Err(e @ Error::Api { status: 401, .. }) => assert!(e.is_auth()),
        other => panic!("{other:?}"),
    }
    let login = anon
        .sign_in("alice", "password-123", None)
        .await
        .expect("sign in");
    let alice = anon.clone().with_token(login.token);
    assert_eq!(alice.me().await.expect("me").username, "alice");

    let code = alice.enrollment_code().await.expect("code");
    let api = Api::new(&server);
    let dev = TestDevice::enroll(&api, &code.code, "office-pc").await;
    let list = alice.devices().await.expect("devices");
    assert_eq!((list.len(), list[0].name.as_str()), (1, "office-pc"));
    let renamed = alice
        .rename_device(&dev.id, "desk-pc")
        .await
        .expect("rename");
    assert_eq!(alice.device(&dev.id).await.expect("one"), renamed);

    let share = alice
        .grant_share(&dev.id, "bob", SharePermission::View)
        .await
        .expect("share");
    assert_eq!(share.username, "bob");
    assert_eq!(alice.shares(&dev.id).await.expect("shares"), [share]);
    alice.revoke_share(&dev.id, "bob").await.expect("revoke");
    assert!(alice.shares(&dev.id).await.expect("shares").is_empty());

    let page = alice
        .events_page(&EventsQuery::new().limit(2))
        .await
        .expect("page");
    assert_eq!(page.events.len(), 2);
    let older = alice
        .events_page(&EventsQuery::new().before(page.next_before.expect("more")))
        .await
        .expect("older page");
    assert!(older.events.iter().all(|e| e.id < page.events[1].id));
    alice.ice_servers().await.expect("ice servers");
    let doc = alice.openapi().await.expect("openapi");
    assert!(doc["paths"]["/api/v1/devices"].is_object());

    // Refusals keep the server's status and text.
    match alice.device("dev_nope").await {
        Err(Error::Api {
            status: 404,
            message,
        }) => assert!(!message.is_empty()),
        other => panic!("{other:?}"),
    }
    alice.remove_device(&dev.id).await.expect("remove");
    assert!(alice.devices().await.expect("devices").is_empty());
    alice.sign_out().await.expect("sign out");
    assert!(alice.me().await.expect_err("signed out").is_auth());
}

/// Needs the feed filters of issue 22 (`kind`, `device`) on the server.
#[tokio::test]
async fn the_events_page_filters_by_kind_and_device() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let alice = api.client(&token);
    let a = TestDevice::enroll(&api, &api.code(&token).await, "a-pc").await;
    let b = TestDevice::enroll(&api, &api.code(&token).await, "b-pc").await;
    alice.rename_device(&a.id, "a-pc-2").await.expect("rename");
    alice.rename_device(&b.id, "b-pc-2").await.expect("rename");

    let renames = EventsQuery::new().kind(EventKind::DeviceRenamed);
    let page = alice.events_page(&renames).await.expect("page");
    assert_eq!(page.events.len(), 2, "{:?}", page.events);
    let about_a = alice
        .events_page(&renames.clone().device(&a.id))
        .await
        .expect("page");
    assert_eq!(about_a.events.len(), 1);
    assert_eq!(about_a.events[0].device_id.as_deref(), Some(a.id.as_str()));
    let two_kinds = renames.kind(EventKind::DeviceEnrolled);
    let page = alice.events_page(&two_kinds).await.expect("page");
    assert_eq!(page.events.len(), 4, "{:?}", page.events);
}

#[tokio::test]
async fn the_event_stream_yields_live_events_and_presence_follows() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let alice = api.client(&token);
    let dev = TestDevice::enroll(&api, &api.code(&token).await, "office-pc").await;
    let mut feed = pin!(alice.events(EventsQuery::new()));
    let mut presence = pin!(alice.presence());
    let first = tokio::time::timeout(WAIT, presence.next())
        .await
        .expect("in time");
    let first = first.expect("an item").expect("state");
    assert_eq!((first.name.as_str(), first.online), ("office-pc", false));

    let mut seen = Vec::new();
    rename_until_seen(&alice, &mut feed, &dev.id, "office-pc", &mut seen).await;
    let host = HostConn::connect(&server, &dev).await;
    let online = next_of(&mut feed, EventKind::DeviceOnline, &mut seen).await;
    assert_eq!(online.device_id.as_deref(), Some(dev.id.as_str()));
    // (The renames came first, as states with new names.)
    let state = next_state(&mut presence, |s| s.online).await;
    assert_eq!(state.id, dev.id);
    drop(host);
    next_of(&mut feed, EventKind::DeviceOffline, &mut seen).await;
    next_state(&mut presence, |s| !s.online).await;
}

/// Each event once, in order, across a restart: the stream reconnects by
/// itself to the restarted server.
#[tokio::test]
async fn the_event_stream_resumes_across_a_restart_without_duplicates() {
    let mut server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let alice = api.client(&token);
    let dev = TestDevice::enroll(&api, &api.code(&token).await, "office-pc").await;
    let mut feed = pin!(alice.events(EventsQuery::new()));
    let mut seen = Vec::new();
    rename_until_seen(&alice, &mut feed, &dev.id, "before", &mut seen).await;

    assert!(server.stop(), "graceful shutdown");
    server.restart_same_address();
    rename_until_seen(&alice, &mut feed, &dev.id, "after", &mut seen).await;
    let ids: Vec<i64> = seen.iter().map(|e| e.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice: {ids:?}"
    );
}

/// Events made while the stream is away arrive after it reconnects, once
/// each. Needs `Last-Event-ID` resume (issue 22) on the server.
#[tokio::test]
async fn events_made_while_the_stream_is_away_arrive_once_it_is_back() {
    let mut server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let alice = api.client(&token);
    let dev = TestDevice::enroll(&api, &api.code(&token).await, "office-pc").await;
    let mut feed = pin!(alice.events(EventsQuery::new()));
    let mut seen = Vec::new();
    rename_until_seen(&alice, &mut feed, &dev.id, "before", &mut seen).await;

    // The server goes away and comes back; before the stream is back
    // (its first retry waits at least 125 ms), 20 events happen.
    assert!(server.stop(), "graceful shutdown");
    server.restart_same_address();
    // A new pool: the old one's idle connections died with the server.
    let writer = Api::new(&server).client(&token);
    for n in 0..20 {
        let name = format!("away-{n}");
        writer.rename_device(&dev.id, &name).await.expect("rename");
    }
    for n in 0..20 {
        let e = next_of(&mut feed, EventKind::DeviceRenamed, &mut seen).await;
        assert_eq!(e.device_name, Some(format!("away-{n}")), "{seen:?}");
    }
    let ids: Vec<i64> = seen.iter().map(|e| e.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice: {ids:?}"
    );
}

/// Needs API tokens (issue 22) on the server.
#[tokio::test]
async fn an_api_token_reads_the_feed_and_its_revocation_ends_the_stream() {
    let server = Server::start();
    let api = Api::new(&server);
    let token = api.user("alice").await;
    let alice = api.client(&token);
    let created = alice
        .create_token(&NewToken {
            name: "alerts".into(),
            scopes: vec![Scope::DevicesRead, Scope::EventsRead],
            expires_at: None,
        })
        .await
        .expect("create token");
    let listed = alice.tokens().await.expect("tokens");
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [created.id]
    );
    let reader = api.client(&created.token);
    assert!(reader.devices().await.expect("devices:read").is_empty());
    let dev = TestDevice::enroll(&api, &api.code(&token).await, "office-pc").await;
    let mut feed = pin!(reader.events(EventsQuery::new()));
    rename_until_seen(&alice, &mut feed, &dev.id, "watched", &mut Vec::new()).await;

    alice.revoke_token(created.id).await.expect("revoke");
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match feed.next().await {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Some(e),
                None => return None,
            }
        }
    })
    .await
    .expect("the stream of a revoked token ends");
    assert!(end.is_some_and(|e| e.is_auth()), "ends with a 401 or 403");
    assert!(feed.next().await.is_none(), "and does not retry");
}
