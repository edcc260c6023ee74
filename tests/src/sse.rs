//! A reader of the live activity feed, `GET /api/v1/events/stream`
//! (Server-Sent Events), for tests: the next event as JSON, or the end of
//! the stream, each within a bound.

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
        let resp = api
            .raw(reqwest::Method::GET, "/events/stream")
            .bearer_auth(token)
            .send()
            .await
            .expect("open the feed stream");
        assert_eq!(resp.status(), StatusCode::OK);
        FeedStream {
            resp,
            buf: String::new(),
        }
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
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(event) = self.take_event() {
                return event;
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

    /// Removes the first whole block from the buffer; its data if it is an
    /// `event: event` block.
    fn take_event(&mut self) -> Option<Value> {
        while let Some(end) = self.buf.find("\n\n") {
            let block: String = self.buf.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim_start().to_string()))
            };
            if field("event:").as_deref() == Some("event") {
                let data = field("data:").expect("an event block has data");
                return Some(serde_json::from_str(&data).expect("event JSON"));
            }
        }
        None
    }
}
