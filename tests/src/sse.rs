//! A reader of the live activity feed, `GET /api/v1/events/stream`
//! (Server-Sent Events), for tests: one connection of meshdesk-client's
//! (no reconnecting), with the next event as JSON or the end of the
//! stream, each within a bound.

use std::time::Duration;

use meshdesk_client::{EventsQuery, FeedConnection, FeedItem};
use serde_json::Value;

use crate::{Api, WAIT};

/// An open feed stream of one sign-in.
#[derive(Debug)]
pub struct FeedStream {
    /// The one connection, parsed into items by the client crate.
    conn: FeedConnection,
}

impl FeedStream {
    /// Opens the stream with `token`; asserts the server accepted it.
    pub async fn open(api: &Api, token: &str) -> FeedStream {
        match api.client(token).open_feed(&EventsQuery::new(), None).await {
            Ok(conn) => FeedStream { conn },
            Err(e) => panic!("open the feed stream: {e}"),
        }
    }

    /// The response's `Content-Type`.
    pub fn content_type(&self) -> &str {
        self.conn.content_type()
    }

    /// The next `event: event` block's data, as JSON; keep-alive comments
    /// and other blocks are skipped. Panics after [`WAIT`] without one.
    pub async fn next(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let item = tokio::time::timeout_at(deadline, self.conn.next())
                .await
                .expect("no SSE event in time")
                .expect("SSE stream ended")
                .expect("SSE read");
            if let FeedItem::Event(e) = item {
                return serde_json::to_value(e).expect("event JSON");
            }
        }
    }

    /// The next event for which `pred` holds, skipping others; panics
    /// after [`WAIT`] without one, naming `what`.
    pub async fn next_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let event = self.next().await;
                if pred(&event) {
                    return event;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no SSE event with {what} within {WAIT:?}"))
    }

    /// Whether the server ends the stream within `bound` (events before the
    /// end are dropped).
    pub async fn ends_within(&mut self, bound: Duration) -> bool {
        let end = async { while self.conn.next().await.is_some() {} };
        tokio::time::timeout(bound, end).await.is_ok()
    }
}
