//! The live activity feed as a [`Stream`] that resumes by itself.
//!
//! [`Client::events`] keeps one connection to `GET /events/stream` open.
//! When it drops (a network blip, a server restart), it waits (backoff
//! with jitter, capped at 30 s) and reconnects with `Last-Event-ID` set to
//! the last event it yielded, so the server sends what was missed; events
//! that come twice are dropped, so the consumer sees each once, in order.
//! Events the server no longer keeps come as one [`FeedItem::Gap`]. A 401
//! or 403 (a revoked token, a signed-out session) ends the stream with
//! that error instead of retrying.

mod connection;
mod resume;

use std::time::Instant;

use futures::Stream;
use meshdesk_protocol::rest::Event;

pub use connection::FeedConnection;
use connection::{Frame, ReadError};
use resume::Resume;

use crate::{Client, Error, EventsQuery, Result};

/// One item of the live feed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedItem {
    /// Something happened.
    Event(Event),
    /// Events with ids strictly between `after` and `before` were pruned
    /// (older than the server's retention) and cannot be sent.
    Gap {
        /// The last id before the gap.
        after: i64,
        /// The first id after it.
        before: i64,
    },
}

impl Client {
    /// The live feed, filtered by `query` (kinds, device, since; paging is
    /// ignored), as a stream that reconnects and resumes by itself. It
    /// ends only with an error that retrying cannot fix (401, 403, another
    /// 4xx), or when dropped.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use futures::StreamExt;
    /// use meshdesk_client::{rest::EventKind, EventsQuery, FeedItem};
    /// let events = client.events(EventsQuery::new().kind(EventKind::DeviceOffline));
    /// let mut events = std::pin::pin!(events);
    /// while let Some(item) = events.next().await {
    ///     match item? {
    ///         FeedItem::Event(e) => println!("{:?} went offline", e.device_name),
    ///         FeedItem::Gap { after, before } => println!("missed {after}..{before}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(
        &self,
        query: EventsQuery,
    ) -> impl Stream<Item = Result<FeedItem>> + Send + 'static {
        Feed::new(self.clone(), query, None).into_stream()
    }
}

/// The state of a resuming feed.
pub(crate) struct Feed {
    /// Where to connect, and with which token.
    client: Client,
    /// The filters of every connection.
    query: EventsQuery,
    /// Last id, duplicates, backoff.
    resume: Resume,
    /// The open connection, if any.
    conn: Option<FeedConnection>,
    /// Set after a final error: the stream is over.
    done: bool,
}

impl Feed {
    /// A feed that will connect on first use, or goes on from `conn`
    /// (opened by the caller before something it must not miss).
    pub(crate) fn new(client: Client, query: EventsQuery, conn: Option<FeedConnection>) -> Feed {
        let mut resume = Resume::new();
        if conn.is_some() {
            resume.connected(Instant::now());
        }
        Feed {
            client,
            query,
            resume,
            conn,
            done: false,
        }
    }

    /// The feed as a `Stream`.
    pub(crate) fn into_stream(self) -> impl Stream<Item = Result<FeedItem>> + Send + 'static {
        futures::stream::unfold(self, |mut feed| async move {
            let item = feed.next().await?;
            Some((item, feed))
        })
    }

    /// The next new item, reconnecting as often as needed; `None` after a
    /// final error was returned.
    pub(crate) async fn next(&mut self) -> Option<Result<FeedItem>> {
        while !self.done {
            let Some(conn) = self.conn.as_mut() else {
                if let Err(e) = self.connect().await {
                    return Some(Err(e));
                }
                continue;
            };
            match conn.next_frame().await {
                Ok(Frame::Item(item)) if self.admit(&item) => return Some(Ok(item)),
                Ok(Frame::Item(_) | Frame::Other) => {}
                Ok(Frame::Resync) => {
                    tracing::debug!("feed stream fell behind; resuming");
                    self.conn = None;
                }
                Err(ReadError::Bad(e)) => return Some(Err(e)),
                Err(ReadError::Dropped(reason)) => {
                    tracing::info!(%reason, last_event_id = ?self.resume.last_event_id(), "feed stream dropped");
                    self.conn = None;
                    self.wait(None).await;
                }
            }
        }
        None
    }

    /// Whether the feed ended with a final error.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Whether `item` is new; records it.
    fn admit(&mut self, item: &FeedItem) -> bool {
        match item {
            FeedItem::Event(e) => self.resume.admit_event(e.id),
            FeedItem::Gap { after, before } => self.resume.admit_gap(*after, *before),
        }
    }

    /// One connection attempt. A failure that retrying can fix is waited
    /// out here; one it cannot ends the feed and is returned.
    async fn connect(&mut self) -> Result<()> {
        let last = self.resume.last_event_id();
        match self.client.open_feed(&self.query, last).await {
            Ok(conn) => {
                tracing::debug!(last_event_id = ?last, "feed stream connected");
                self.resume.connected(Instant::now());
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) if is_final(&e) => {
                self.done = true;
                Err(e)
            }
            Err(e) => {
                tracing::warn!(error = %e, "feed stream: cannot connect; retrying");
                let at_least = match e {
                    Error::TooManyAttempts { retry_after_secs } => {
                        Some(std::time::Duration::from_secs(retry_after_secs))
                    }
                    _ => None,
                };
                self.wait(at_least).await;
                Ok(())
            }
        }
    }

    /// Sleeps the backoff (at least `at_least`).
    async fn wait(&mut self, at_least: Option<std::time::Duration>) {
        let delay = self.resume.dropped(Instant::now(), rand::random::<f64>());
        tokio::time::sleep(delay.max(at_least.unwrap_or_default())).await;
    }
}

/// Whether a failed connection attempt must end the feed: the server
/// refused this request itself (4xx other than 429), which a retry would
/// only repeat. Unreachable servers, 5xx and bad replies are retried.
fn is_final(e: &Error) -> bool {
    match e.status() {
        Some(429) => false,
        Some(s) => (400..500).contains(&s),
        None => matches!(e, Error::BadUrl(_)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_end_the_feed() {
        let api = |status| Error::Api {
            status,
            message: "x".into(),
        };
        assert!(is_final(&api(401)) && is_final(&api(403)) && is_final(&api(400)));
        assert!(!is_final(&api(503)) && !is_final(&api(500)));
        assert!(!is_final(&Error::TooManyAttempts {
            retry_after_secs: 2
        }));
        assert!(!is_final(&Error::Unreachable {
            url: "http://h".into(),
            reason: "refused".into()
        }));
        assert!(!is_final(&Error::BadReply("html".into())));
    }
}
