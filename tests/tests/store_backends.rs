//! The store behaves the same on every backend: each test body here runs
//! once against SQLite (in memory) and once against PostgreSQL (a private
//! server per test, see `meshdesk_tests::postgres`), through the one
//! storage interface the server uses.

use meshdesk_protocol::rest::{
    DeliveryStatus, Event, EventFile, EventKind, Scope, SharePermission,
};
use meshdesk_protocol::signal::FileChange;
use meshdesk_signaling::auth::Secret;
use meshdesk_signaling::feed::filter::{EventFilter, Since};
use meshdesk_signaling::store::{
    EventQuery, NewApiToken, NewDevice, NewEvent, NewWebhookRow, Settled, Store,
};

/// Generate one `#[tokio::test]` per backend for each body.
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = meshdesk_signaling::store::Store::open_in_memory().expect("sqlite");
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let pg = meshdesk_tests::postgres::PgServer::start();
                    let url = meshdesk_signaling::config::DatabaseUrl::parse(&pg.url()).expect("url");
                    let backend = meshdesk_signaling::store::postgres::Postgres::connect(&url)
                        .await
                        .expect("connect and migrate");
                    super::$name(meshdesk_signaling::store::Store::new(backend)).await;
                }
            )*
        }
    };
}

on_each_backend!(
    a_file_events_details_are_stored_and_read_back,
    an_expired_share_is_hidden_then_taken_once,
    a_share_with_a_future_end_works_until_then,
    events_queue_for_their_audience_and_a_disabled_hook_fails_its_queue,
    checking_a_token_is_not_using_it,
    enrollment_is_pending_until_enabled,
    steps_and_codes_are_spent_once,
    pruning_deletes_a_prefix_and_remembers_it,
    reads_filter_by_kind_and_since_and_order_by_direction,
    events_after_an_id_come_with_who_may_see_them,
);

fn now_ms() -> i64 {
    meshdesk_signaling::clock::now_ms()
}

async fn user(store: &Store, name: &str) -> i64 {
    store
        .create_user(name, "hash", 0, false)
        .await
        .expect("create user")
        .id
}

fn since_start(filter: &EventFilter, limit: u32) -> EventQuery<'_> {
    EventQuery {
        filter,
        since: Some(Since::Id(0)),
        before: None,
        limit,
    }
}

async fn a_file_events_details_are_stored_and_read_back(store: Store) {
    let user = user(&store, "ann").await;
    let e = NewEvent {
        at: 1,
        kind: Some(EventKind::SharedFileChanged),
        user_id: Some(user),
        path: Some("Documents/a.txt".into()),
        change: Some(FileChange::Deleted),
        ..NewEvent::default()
    };
    let stored = store.insert_event(&e).await.expect("insert");
    let huge = NewEvent {
        kind: Some(EventKind::FileSent),
        size: Some(u64::MAX),
        upload: Some(true),
        ..e.clone()
    };
    store.insert_event(&huge).await.expect("insert");
    let filter = EventFilter::default();
    let read = store
        .read_events(user, &since_start(&filter, 10))
        .await
        .expect("read")
        .events;
    assert_eq!(read[0], stored);
    let file = |i: usize| read[i].file.as_deref().cloned().expect("a file");
    assert_eq!(
        file(0),
        EventFile {
            path: "Documents/a.txt".into(),
            size: None,
            upload: None,
            change: Some(FileChange::Deleted),
        }
    );
    assert_eq!(
        (file(1).size, file(1).upload),
        (Some(i64::MAX as u64), Some(true))
    );
}

/// A device of alice's, and bob: (device id, alice's id, bob's id).
async fn device_with_owner(store: &Store) -> (String, i64, i64) {
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    store
        .insert_enrollment_code(&[1u8; 32], alice, 0, i64::MAX)
        .await
        .expect("code");
    let new = NewDevice {
        id: "dev_1".into(),
        public_key: vec![2u8; 32],
        name: "office-pc".into(),
        os: "Linux".into(),
    };
    let device = store
        .enroll_device(&[1u8; 32], 0, &new)
        .await
        .expect("enroll");
    (device.id, alice, bob)
}

async fn an_expired_share_is_hidden_then_taken_once(store: Store) {
    let (device, _owner, bob) = device_with_owner(&store).await;
    let past = now_ms() - 1;
    store
        .upsert_share(&device, bob, SharePermission::Control, 0, Some(past))
        .await
        .expect("share");
    assert_eq!(store.permission(bob, &device).await.expect("read"), None);
    assert!(store.shares(&device).await.expect("list").is_empty());
    assert!(store
        .devices_visible_to(bob)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(store.next_share_expiry().await.expect("next"), Some(past));
    let taken = store.take_expired_shares(past).await.expect("take");
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].user_id, bob);
    assert!(store
        .take_expired_shares(past)
        .await
        .expect("again")
        .is_empty());
    assert_eq!(store.next_share_expiry().await.expect("next"), None);
}

async fn a_share_with_a_future_end_works_until_then(store: Store) {
    let (device, _owner, bob) = device_with_owner(&store).await;
    let later = now_ms() + 3_600_000;
    store
        .upsert_share(&device, bob, SharePermission::View, 0, Some(later))
        .await
        .expect("share");
    assert!(store
        .permission(bob, &device)
        .await
        .expect("read")
        .is_some());
    assert_eq!(
        store.shares(&device).await.expect("list")[0].expires_at,
        Some(later)
    );
    assert!(store
        .take_expired_shares(later - 1)
        .await
        .expect("take")
        .is_empty());
    // Granting again without an end makes it last.
    store
        .upsert_share(&device, bob, SharePermission::View, 0, None)
        .await
        .expect("share");
    assert_eq!(store.next_share_expiry().await.expect("next"), None);
}

fn event(id: i64, kind: EventKind) -> Event {
    Event {
        id,
        at: 0,
        kind,
        actor: None,
        device_id: None,
        device_name: None,
        target_user: None,
        permission: None,
        session_id: None,
        duration_ms: None,
        detail: None,
        file: None,
    }
}

async fn hook(store: &Store, user_id: i64, kinds: Vec<EventKind>) -> i64 {
    let new = NewWebhookRow {
        user_id,
        url: "http://127.0.0.1:9/".into(),
        secret: Secret::new("whsec_test".into()),
        kinds,
        devices: vec![],
    };
    store.create_webhook(&new, 0, 20).await.expect("create").id
}

async fn events_queue_for_their_audience_and_a_disabled_hook_fails_its_queue(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let a = hook(&store, alice, vec![]).await;
    let b = hook(&store, bob, vec![EventKind::LoginFailed]).await;
    let queued = store
        .enqueue_deliveries(&event(1, EventKind::LoginFailed), &[alice], 5)
        .await
        .expect("queue");
    assert_eq!(queued, 1, "bob may not see alice's event");
    store
        .enqueue_deliveries(&event(2, EventKind::ShareGranted), &[alice, bob], 6)
        .await
        .expect("queue");
    let due = store.due_deliveries().await.expect("due");
    assert_eq!(due.len(), 1, "one per webhook, bob's filter refused");
    assert_eq!((due[0].webhook_id, due[0].next_attempt_at), (a, 5));
    assert!(
        store
            .claim_delivery(due[0].id, 4, 1_000)
            .await
            .expect("claim")
            .is_none(),
        "not due yet"
    );
    let job = store
        .claim_delivery(due[0].id, 5, 1_000)
        .await
        .expect("claim")
        .expect("pending");
    assert_eq!(job.event.id, 1);
    let failed = Settled {
        status: DeliveryStatus::Pending,
        status_code: Some(500),
        error: Some("the receiver answered 500".into()),
        next_attempt_at: Some(100),
    };
    let run = store
        .settle_delivery(&job, &failed, 10)
        .await
        .expect("settle");
    assert_eq!(run, 1);
    let off = store.disable_webhook(a, "disabled").await.expect("disable");
    assert_eq!(off.map(|d| d.user_id), Some(alice));
    assert!(store.due_deliveries().await.expect("due").is_empty());
    let list = store.deliveries(a, 10).await.expect("list");
    assert!(
        list.iter().all(|d| d.status == DeliveryStatus::Failed),
        "{list:?}"
    );
    assert_eq!(list[1].last_status_code, Some(500));
    assert!(
        store.webhook(bob, a).await.expect("query").is_none(),
        "not bob's"
    );
    assert!(store.webhook(bob, b).await.expect("query").is_some());
}

async fn checking_a_token_is_not_using_it(store: Store) {
    let user = user(&store, "alice").await;
    let hash = [7u8; 32];
    let new = NewApiToken {
        user_id: user,
        name: "t",
        hash: &hash,
        scopes: &[Scope::EventsRead],
        created_at: 0,
        expires_at: Some(100),
    };
    store.insert_api_token(&new).await.expect("token");
    let last_used = || async { store.api_tokens_of(user).await.expect("list")[0].last_used_at };
    assert!(store.token_valid(&hash, 50).await.expect("check"));
    assert_eq!(last_used().await, None);
    assert!(store.authenticate(&hash, 60).await.expect("use").is_some());
    assert_eq!(last_used().await, Some(60));
    assert!(!store.token_valid(&hash, 100).await.expect("expired"));
    assert!(!store.token_valid(&[8u8; 32], 50).await.expect("unknown"));
}

async fn enrollment_is_pending_until_enabled(s: Store) {
    let id = user(&s, "alice").await;
    assert!(s.totp_start(id, "SECRET", 1).await.expect("start"));
    assert!(s.account_factors(id).await.expect("f").totp.is_none());
    assert!(s.totp_enable(id, 7, &[[1; 32]]).await.expect("enable"));
    assert!(
        !s.totp_start(id, "OTHER", 2).await.expect("restart"),
        "on stays on"
    );
    let f = s.account_factors(id).await.expect("f");
    assert_eq!(f.totp, Some(("SECRET".into(), Some(7))));
    assert_eq!(f.recovery, vec![[1; 32]]);
}

async fn steps_and_codes_are_spent_once(s: Store) {
    let id = user(&s, "alice").await;
    s.totp_start(id, "SECRET", 1).await.expect("start");
    s.totp_enable(id, 7, &[[1; 32], [2; 32]])
        .await
        .expect("enable");
    assert!(!s.totp_use_step(id, 7).await.expect("same step"));
    assert!(s.totp_use_step(id, 8).await.expect("next step"));
    assert!(s.use_recovery_code(id, &[2; 32], 5).await.expect("code"));
    assert!(!s.use_recovery_code(id, &[2; 32], 6).await.expect("again"));
    let recovery = || async { s.account_factors(id).await.expect("f").recovery };
    assert_eq!(recovery().await, vec![[1; 32]]);
    s.replace_recovery_codes(id, &[[3; 32]])
        .await
        .expect("new codes");
    assert_eq!(recovery().await, vec![[3; 32]]);
    s.totp_disable(id).await.expect("off");
    assert!(s.account_factors(id).await.expect("f").names().is_empty());
}

async fn add(store: &Store, at: i64, kind: EventKind, user: i64) -> i64 {
    let e = NewEvent {
        at,
        kind: Some(kind),
        user_id: Some(user),
        ..NewEvent::default()
    };
    store.insert_event(&e).await.expect("insert").id
}

async fn pruning_deletes_a_prefix_and_remembers_it(store: Store) {
    let u = user(&store, "ann").await;
    assert_eq!(store.pruned().await.expect("pruned"), None);
    assert_eq!(store.prune_events(1_000).await.expect("nothing old"), 0);
    let old = add(&store, 100, EventKind::LoginFailed, u).await;
    // Recorded after a clock step back: older than `old` by time but
    // newer by id, so the prefix rule deletes both.
    let stepped = add(&store, 50, EventKind::LoginFailed, u).await;
    let kept = add(&store, 2_000, EventKind::LoginFailed, u).await;
    assert_eq!(store.prune_events(1_000).await.expect("prune"), 2);
    let p = store.pruned().await.expect("pruned").expect("some");
    assert_eq!((p.through_id, p.newest_at), (stepped, 100));
    assert!(old < stepped);
    let filter = EventFilter::default();
    let read = store
        .read_events(u, &since_start(&filter, 10))
        .await
        .expect("read");
    let ids: Vec<i64> = read.events.iter().map(|e| e.id).collect();
    assert_eq!(ids, [kept]);
    assert_eq!(read.high_water, kept);
    // A later prune with an earlier cutoff does not move it back.
    assert_eq!(store.prune_events(10).await.expect("no-op"), 0);
    assert_eq!(store.pruned().await.expect("pruned"), Some(p));
}

async fn reads_filter_by_kind_and_since_and_order_by_direction(store: Store) {
    let u = user(&store, "ann").await;
    let a = add(&store, 10, EventKind::LoginFailed, u).await;
    let b = add(&store, 20, EventKind::DeviceRenamed, u).await;
    let c = add(&store, 30, EventKind::LoginFailed, u).await;
    let failed = EventFilter {
        kinds: vec![EventKind::LoginFailed],
        device: None,
    };
    let read = |since, before| {
        let q = EventQuery {
            filter: &failed,
            since,
            before,
            limit: 10,
        };
        let store = &store;
        async move {
            let r = store.read_events(u, &q).await.expect("read");
            r.events.iter().map(|e| e.id).collect::<Vec<_>>()
        }
    };
    let all = EventFilter::default();
    let everything = EventQuery {
        filter: &all,
        since: None,
        before: None,
        limit: 200,
    };
    let account = store.read_events(u, &everything).await.expect("read");
    assert!(account.events.iter().any(|e| e.id == b));
    assert_eq!(read(None, None).await[..2], [c, a]);
    assert_eq!(read(Some(Since::Id(a)), None).await, [c]);
    assert_eq!(
        read(Some(Since::Time(10)), Some(c)).await,
        Vec::<i64>::new()
    );
    assert_eq!(read(Some(Since::Time(9)), None).await[..1], [a]);
}

/// What a node reads to fill a gap in its live feed: the events after an
/// id, oldest first, each with the audience `record_event` gives it.
async fn events_after_an_id_come_with_who_may_see_them(store: Store) {
    let (device, alice, bob) = device_with_owner(&store).await;
    store
        .upsert_share(&device, bob, SharePermission::View, 0, None)
        .await
        .expect("share");
    let carol = user(&store, "carol").await;
    let about_device = NewEvent {
        at: 1,
        kind: Some(EventKind::DeviceRenamed),
        user_id: Some(alice),
        device_id: Some(device.clone()),
        ..NewEvent::default()
    };
    let to_carol = NewEvent {
        kind: Some(EventKind::ShareGranted),
        target_id: Some(carol),
        ..about_device.clone()
    };
    let alone = NewEvent {
        at: 1,
        kind: Some(EventKind::LoginFailed),
        user_id: Some(carol),
        ..NewEvent::default()
    };
    let mut recorded = Vec::new();
    for e in [&about_device, &to_carol, &alone, &about_device] {
        recorded.push(store.record_event(e, 1).await.expect("record"));
    }
    let first = recorded[0].event.id;
    let read = store.events_after(first, 2).await.expect("read");
    let got: Vec<(i64, Vec<i64>)> = read
        .iter()
        .map(|a| (a.event.id, a.audience.clone()))
        .collect();
    let want: Vec<(i64, Vec<i64>)> = recorded[1..3]
        .iter()
        .map(|r| (r.event.id, r.audience.clone()))
        .collect();
    assert_eq!(got, want, "the page after the first, as recorded");
    assert_eq!(read[0].event, recorded[1].event);
    assert_eq!(read[0].audience, vec![alice, bob, carol]);
    assert_eq!(read[1].audience, vec![carol]);
    let rest = store.events_after(recorded[2].event.id, 10).await;
    assert_eq!(rest.expect("read").len(), 1);
    let last = recorded[3].event.id;
    assert!(store.events_after(last, 10).await.expect("read").is_empty());
}

/// With several nodes on one PostgreSQL, an attempt claims its webhook:
/// no other node gets that delivery, or the webhook's next one, until the
/// attempt is settled or the claim runs out.
#[tokio::test]
async fn on_postgres_a_claimed_webhook_is_nobody_elses_until_settled() {
    let pg = meshdesk_tests::postgres::PgServer::start();
    let url = meshdesk_signaling::config::DatabaseUrl::parse(&pg.url()).expect("url");
    let backend = meshdesk_signaling::store::postgres::Postgres::connect(&url)
        .await
        .expect("connect and migrate");
    let store = Store::new(backend);
    let alice = user(&store, "alice").await;
    let a = hook(&store, alice, vec![]).await;
    for id in [1, 2] {
        store
            .enqueue_deliveries(&event(id, EventKind::LoginFailed), &[alice], 5)
            .await
            .expect("queue");
    }
    let first = store.due_deliveries().await.expect("due")[0];
    let job = store
        .claim_delivery(first.id, 10, 500)
        .await
        .expect("claim");
    let job = job.expect("the first claim wins");
    assert!(
        store
            .claim_delivery(first.id, 11, 600)
            .await
            .expect("claim")
            .is_none(),
        "claimed"
    );
    let due = store.due_deliveries().await.expect("due");
    assert_eq!(
        (due[0].webhook_id, due[0].next_attempt_at),
        (a, 500),
        "the webhook is due again when the claim runs out"
    );
    let delivered = Settled {
        status: DeliveryStatus::Delivered,
        status_code: Some(204),
        error: None,
        next_attempt_at: None,
    };
    store
        .settle_delivery(&job, &delivered, 12)
        .await
        .expect("settle");
    assert!(
        store
            .claim_delivery(first.id, 13, 600)
            .await
            .expect("claim")
            .is_none(),
        "delivered: not sent again"
    );
    let second = store.due_deliveries().await.expect("due")[0];
    assert_eq!(second.next_attempt_at, 5, "settling ended the claim");
    let job = store
        .claim_delivery(second.id, 14, 700)
        .await
        .expect("claim");
    assert_eq!(job.expect("free again").event.id, 2);
    // A node that died mid-attempt: its claim runs out, another takes it.
    assert!(store
        .claim_delivery(second.id, 699, 900)
        .await
        .expect("claim")
        .is_none());
    assert!(store
        .claim_delivery(second.id, 700, 900)
        .await
        .expect("claim")
        .is_some());
}
