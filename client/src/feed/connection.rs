//! One connection to `GET /events/stream`: the SSE blocks it carries, read
//! with `eventsource-stream` over reqwest's byte stream, turned into
//! [`FeedItem`]s. It does not reconnect; [`Client::events`] does that on
//! top of it.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use meshdesk_protocol::rest::Event;
use reqwest::Method;
use serde::Deserialize;

use crate::error::{self, root_cause};
use crate::{Client, Error, EventsQuery, FeedItem, Result};

/// The server sends a keep-alive comment every 15 s: a connection silent
/// for this long is dead (a half-open TCP connection, a frozen proxy).
const IDLE_LIMIT: Duration = Duration::from_secs(45);

/// Why the byte stream under the SSE parser failed.
#[derive(Debug, thiserror::Error)]
enum Transport {
    #[error("{}", root_cause(.0))]
    Http(#[from] reqwest::Error),
    #[error("nothing received for {IDLE_LIMIT:?}")]
    Idle,
}

/// The SSE blocks of one response.
type Blocks = Pin<
    Box<dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<Transport>>> + Send>,
>;

/// What one SSE block means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    /// An event or a gap, for the consumer.
    Item(FeedItem),
    /// `event: resync`: the server dropped events for this stream; a
    /// reconnect with `Last-Event-ID` fetches them.
    Resync,
    /// A block of a kind this crate does not know (ignored, so that new
    /// kinds do not break old clients).
    Other,
}

/// What ended a read: the stream is over (dropped, or the server closed
/// it), or one block could not be read (the stream goes on).
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The connection is gone; the reason, for the log.
    Dropped(String),
    /// A block with bad data; the stream is still usable.
    Bad(Error),
}

/// An open live-feed connection.
pub struct FeedConnection {
    /// The reply's `Content-Type`.
    content_type: String,
    /// The parsed SSE blocks.
    blocks: Blocks,
}

impl std::fmt::Debug for FeedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedConnection")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens one connection to `GET /events/stream` with `query`'s filters
    /// (and `Last-Event-ID` when given), without reconnecting. Most
    /// programs want [`Client::events`] instead.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use meshdesk_client::EventsQuery;
    /// let mut feed = client.open_feed(&EventsQuery::new(), None).await?;
    /// while let Some(item) = feed.next().await {
    ///     println!("{:?}", item?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn open_feed(
        &self,
        query: &EventsQuery,
        last_event_id: Option<i64>,
    ) -> Result<FeedConnection> {
        let mut pairs = query.filter_pairs();
        if last_event_id.is_some() {
            // The server resumes from the header; `since` would fight it.
            pairs.retain(|(k, _)| *k != "since");
        }
        let mut request = self
            .request(Method::GET, &["events", "stream"])
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .query(&pairs);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let resp = request.send().await.map_err(|e| self.unreachable(&e))?;
        if !resp.status().is_success() {
            return Err(error::from_reply(resp).await);
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !content_type.starts_with("text/event-stream") {
            return Err(Error::BadReply(format!(
                "the feed stream came as `{content_type}`, not text/event-stream"
            )));
        }
        let bytes =
            tokio_stream::StreamExt::timeout(resp.bytes_stream(), IDLE_LIMIT).map(|chunk| {
                match chunk {
                    Ok(Ok(bytes)) => Ok(bytes),
                    Ok(Err(e)) => Err(Transport::Http(e)),
                    Err(_elapsed) => Err(Transport::Idle),
                }
            });
        Ok(FeedConnection {
            content_type,
            blocks: Box::pin(bytes.eventsource()),
        })
    }
}

impl FeedConnection {
    /// The reply's `Content-Type` (`text/event-stream`).
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The next event or gap; `None` when the connection ended (the
    /// server closed it, or it dropped). A block that cannot be read is
    /// an `Err` and the connection goes on.
    pub async fn next(&mut self) -> Option<Result<FeedItem>> {
        loop {
            match self.next_frame().await {
                Ok(Frame::Item(item)) => return Some(Ok(item)),
                Ok(Frame::Resync | Frame::Other) => {}
                Err(ReadError::Bad(e)) => return Some(Err(e)),
                Err(ReadError::Dropped(_)) => return None,
            }
        }
    }

    /// The next block, whatever it means.
    pub(crate) async fn next_frame(&mut self) -> Result<Frame, ReadError> {
        match self.blocks.next().await {
            None => Err(ReadError::Dropped("the server ended the stream".into())),
            Some(Ok(block)) => parse_frame(&block.event, &block.data).map_err(ReadError::Bad),
            Some(Err(EventStreamError::Transport(e))) => Err(ReadError::Dropped(e.to_string())),
            Some(Err(e)) => Err(ReadError::Bad(Error::BadReply(format!("SSE: {e}")))),
        }
    }
}

/// `data` of an `event: gap` block.
#[derive(Deserialize)]
struct GapData {
    after: i64,
    before: i64,
}

/// The meaning of one SSE block with this `event` name and `data`.
pub(crate) fn parse_frame(event: &str, data: &str) -> Result<Frame> {
    let bad = |what: &str, e: serde_json::Error| Error::BadReply(format!("{what}: {e}"));
    match event {
        "event" => serde_json::from_str::<Event>(data)
            .map(|e| Frame::Item(FeedItem::Event(e)))
            .map_err(|e| bad("feed event", e)),
        "gap" => serde_json::from_str::<GapData>(data)
            .map(|g| {
                Frame::Item(FeedItem::Gap {
                    after: g.after,
                    before: g.before,
                })
            })
            .map_err(|e| bad("feed gap", e)),
        "resync" => Ok(Frame::Resync),
        _ => Ok(Frame::Other),
    }
}

#[cfg(test)]
mod tests {
    use meshdesk_protocol::rest::EventKind;

    use super::*;

    const EVENT: &str = r#"{"id":12,"at":1,"kind":"device_offline","actor":null,
        "device_id":"dev_1","device_name":"office-pc","target_user":null,"permission":null,
        "session_id":null,"duration_ms":null,"detail":null}"#;

    #[test]
    fn blocks_become_items() {
        match parse_frame("event", EVENT).expect("event") {
            Frame::Item(FeedItem::Event(e)) => {
                assert_eq!((e.id, e.kind), (12, EventKind::DeviceOffline))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_frame("gap", r#"{"after": 3, "before": 9}"#).expect("gap"),
            Frame::Item(FeedItem::Gap {
                after: 3,
                before: 9
            })
        );
        assert_eq!(parse_frame("resync", "{}").expect("resync"), Frame::Resync);
        assert_eq!(parse_frame("message", "hi").expect("other"), Frame::Other);
    }

    #[test]
    fn bad_data_is_a_bad_reply() {
        for (event, data) in [("event", "{}"), ("gap", r#"{"after": 1}"#), ("event", "")] {
            assert!(
                matches!(parse_frame(event, data), Err(Error::BadReply(_))),
                "{event} {data}"
            );
        }
    }

    #[tokio::test]
    async fn sse_text_is_parsed_with_comments_skipped() {
        let text = format!(": keep-alive\n\nevent: event\nid: 12\ndata: {}\n\n: ping\n\nevent: gap\ndata: {{\"after\":12,\"before\":20}}\n\n", EVENT.replace('\n', ""));
        let chunks: Vec<Result<Vec<u8>, Transport>> =
            text.as_bytes().chunks(7).map(|c| Ok(c.to_vec())).collect();
        let mut conn = FeedConnection {
            content_type: "text/event-stream".into(),
            blocks: Box::pin(futures::stream::iter(chunks).eventsource()),
        };
        assert!(matches!(conn.next().await, Some(Ok(FeedItem::Event(e))) if e.id == 12));
        assert!(matches!(
            conn.next().await,
            Some(Ok(FeedItem::Gap {
                after: 12,
                before: 20
            }))
        ));
        assert!(conn.next().await.is_none());
    }
}
