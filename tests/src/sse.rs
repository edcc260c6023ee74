//! A reader of the live activity feed, `GET /api/v1/events/stream`
//! (Server-Sent Events), for tests: the next event as JSON, the next block
//! of any kind with its `id:` line, or the end of the stream, each within
//! a bound. Streams may be opened with filters and a `Last-Event-ID`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::{Api, WAIT};

/// An open feed stream of one sign-in.
#[derive(Debug)]
pub struct FeedStream {
    /// The streaming response, read chunk by chunk.
    resp: reqwest::Response,
    /// Text received and not yet parsed into a whole SSE block.
    buf: String,
}

impl FeedStream {
    /// Opens the stream with `token`; asserts the server accepted it.
    pub async fn open(api: &Api, token: &str) -> FeedStream {
        FeedStream::open_with(api, token, "", None).await
    }

    /// Opens `/events/stream?{query}` with `token`, sending `Last-Event-ID`
    /// when given; asserts the server accepted it.
    pub async fn open_with(
        api: &Api,
        token: &str,
        query: &str,
        last_event_id: Option<i64>,
    ) -> FeedStream {
        let resp = FeedStream::request(api, token, query, last_event_id).await;
        assert_eq!(resp.status(), StatusCode::OK);
        FeedStream {
            resp,
            buf: String::new(),
        }
    }

    /// The response to opening a stream, whatever its status (for refusals).
    pub async fn request(
        api: &Api,
        token: &str,
        query: &str,
        last_event_id: Option<i64>,
    ) -> reqwest::Response {
        let path = if query.is_empty() {
            "/events/stream".to_string()
        } else {
            format!("/events/stream?{query}")
        };
        let mut req = api.raw(reqwest::Method::GET, &path).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        req.send().await.expect("open the feed stream")
    }

    /// The response's `Content-Type`.
    pub fn content_type(&self) -> &str {
        self.resp.headers()["content-type"]
            .to_str()
            .expect("a textual content type")
    }

    /// The next `event: event` block's data, as JSON; keep-alive comments
    /// and other blocks are skipped. Panics after [`WAIT`] without one.
    pub async fn next(&mut self) -> Value {
        loop {
            let block = self.next_block().await;
            if block.event == "event" {
                return block.data;
            }
        }
    }

    /// The next block with an `event:` line (keep-alive comments are
    /// skipped). Panics after [`WAIT`] without one.
    pub async fn next_block(&mut self) -> Block {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(block) = self.take_block() {
                return block;
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .expect("no SSE event in time")
                .expect("SSE read")
                .expect("SSE stream ended");
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
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
        let end = async { while self.resp.chunk().await.expect("SSE read").is_some() {} };
        tokio::time::timeout(bound, end).await.is_ok()
    }

    /// Removes whole blocks from the buffer until one has an `event:`
    /// line; that one, parsed.
    fn take_block(&mut self) -> Option<Block> {
        while let Some(end) = self.buf.find("\n\n") {
            let text: String = self.buf.drain(..end + 2).collect();
            let field = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim_start().to_string()))
            };
            if let Some(event) = field("event:") {
                let data = field("data:").expect("an event block has data");
                return Some(Block {
                    event,
                    id: field("id:").map(|id| id.parse().expect("a numeric id")),
                    data: serde_json::from_str(&data).expect("block data is JSON"),
                });
            }
        }
        None
    }
}

/// One SSE block: `event: NAME`, optional `id: N`, `data: JSON`.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The `event:` name (`event`, `gap`).
    pub event: String,
    /// The `id:` line, if any.
    pub id: Option<i64>,
    /// The `data:` line, as JSON.
    pub data: Value,
}
