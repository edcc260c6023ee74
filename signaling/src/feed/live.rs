//! The driver of one resumable feed stream (`GET /events/stream`): it
//! subscribes to the live broadcast, then replays stored events after the
//! reader's cursor page by page, then passes on live events, dropping
//! those already sent. When the broadcast drops events for a slow reader,
//! it catches up from the store the same way. The decisions are
//! [`FeedCursor`]'s; this file only reads, receives and formats.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::response::sse::Event as SseEvent;
use meshdesk_protocol::rest::{Event, Gap};
use tokio::sync::broadcast::{self, error::RecvError};

use super::cursor::{gap, FeedCursor, Step};
use super::filter::{EventFilter, Since};
use crate::error::Result;
use crate::hub::{Fanout, FanoutKind};
use crate::state::AppState;
use crate::store::{EventQuery, Store};

/// Stored events read per replay step.
pub const REPLAY_PAGE: u32 = 200;

/// One reader's stream.
#[derive(Debug)]
pub struct LiveFeed {
    /// Where replays read from.
    store: Store,
    /// The reader; only events they may see are sent.
    user_id: i64,
    /// The kinds and device they asked for.
    filter: EventFilter,
    /// The live broadcast, subscribed before the first store read.
    rx: broadcast::Receiver<Arc<Fanout>>,
    /// What was sent and what is left to replay.
    cursor: FeedCursor,
    /// What is ready to send, in order.
    queue: VecDeque<Out>,
}

/// One thing a stream sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// `event: event`, with the event's id.
    Event(Event),
    /// `event: gap`: retention deleted events after the cursor.
    Gap(Gap),
}

impl Out {
    /// The SSE block: `event: event`, `id: ID`, `data: EVENT JSON`; or
    /// `event: gap`, `data: {"after": A, "before": B}` with no id, so a
    /// client's `Last-Event-ID` stays the last event it got.
    pub fn into_sse(self) -> SseEvent {
        match self {
            Out::Event(ev) => SseEvent::default()
                .event("event")
                .id(ev.id.to_string())
                .data(meshdesk_protocol::encode(&ev)),
            Out::Gap(g) => SseEvent::default()
                .event("gap")
                .data(meshdesk_protocol::encode(&g)),
        }
    }
}

impl LiveFeed {
    /// Open a stream for `user_id`: from now on, or resuming after `since`
    /// (a gap event first when retention deleted events after it).
    pub async fn open(
        st: &AppState,
        user_id: i64,
        filter: EventFilter,
        since: Option<Since>,
    ) -> Result<LiveFeed> {
        // Subscribe first: every event not in a later store read arrives here.
        let rx = st.hub.subscribe();
        let mut queue = VecDeque::new();
        let cursor = match since {
            Some(since) => {
                queue.extend(gap(since, st.store.pruned().await?).map(Out::Gap));
                FeedCursor::resume(since)
            }
            None => FeedCursor::live(st.store.event_high_water().await?),
        };
        Ok(LiveFeed {
            store: st.store.clone(),
            user_id,
            filter,
            rx,
            cursor,
            queue,
        })
    }

    /// The next SSE event to send; `None` when the stream must end (the
    /// broadcast closed, or the store failed).
    pub async fn next(&mut self) -> Option<SseEvent> {
        self.next_out().await.map(Out::into_sse)
    }

    /// The next thing to send, as plain data.
    pub async fn next_out(&mut self) -> Option<Out> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            match self.cursor.step() {
                Step::Replay(since) => {
                    if let Err(err) = self.replay(since).await {
                        tracing::error!(error = %err, "feed stream: could not read events");
                        return None;
                    }
                }
                Step::Live => self.receive().await?,
            }
        }
    }

    /// Read one page of stored events after `since` into the queue.
    async fn replay(&mut self, since: Since) -> Result<()> {
        let q = EventQuery {
            filter: &self.filter,
            since: Some(since),
            before: None,
            limit: REPLAY_PAGE,
        };
        let read = self.store.read_events(self.user_id, &q).await?;
        let full = read.events.len() == REPLAY_PAGE as usize;
        let last = read.events.last().map(|e| e.id);
        self.queue.extend(read.events.into_iter().map(Out::Event));
        self.cursor.page_read(last, full, read.high_water);
        Ok(())
    }

    /// Wait for the next broadcast; queue what of it this reader gets.
    async fn receive(&mut self) -> Option<()> {
        match self.rx.recv().await {
            Ok(fanout) => {
                for part in fanout.for_user(self.user_id) {
                    if let FanoutKind::Event(ev) = &part.kind {
                        if self.filter.matches(ev) && self.cursor.admit(ev.id) {
                            self.queue.push_back(Out::Event(ev.clone()));
                        }
                    }
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(
                    missed,
                    after = self.cursor.sent(),
                    "feed stream lagged; catching up from the store"
                );
                let since = Since::Id(self.cursor.sent());
                let pruned = self.store.pruned().await.ok().flatten();
                self.queue.extend(gap(since, pruned).map(Out::Gap));
                self.cursor.lagged();
            }
            Err(RecvError::Closed) => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::NewEvent;
    use meshdesk_protocol::rest::EventKind;
    use std::time::Duration;

    /// Events recorded for `user` while the stream is not read at all,
    /// more than the live broadcast holds.
    async fn flood(st: &AppState, user: i64, n: usize) {
        for _ in 0..n {
            let e = NewEvent {
                user_id: Some(user),
                ..NewEvent::default()
            };
            crate::feed::record(st, EventKind::LoginFailed, e).await;
        }
    }

    #[tokio::test]
    async fn a_reader_that_lags_behind_the_broadcast_misses_nothing() {
        let dir = std::env::temp_dir().join(format!("meshdesk-live-{}", rand::random::<u64>()));
        let st = crate::build_state(Config::default_for_tests(&dir))
            .await
            .expect("state");
        let user = st
            .store
            .create_user("ann", "hash", 0, false)
            .await
            .expect("user")
            .id;
        let mut feed = LiveFeed::open(&st, user, EventFilter::default(), None)
            .await
            .expect("open");
        let n = 5_000;
        flood(&st, user, n).await;
        let mut ids = Vec::with_capacity(n);
        while ids.len() < n {
            let next = tokio::time::timeout(Duration::from_secs(10), feed.next_out());
            match next.await.expect("an event in time").expect("an event") {
                Out::Event(e) => ids.push(e.id),
                Out::Gap(g) => panic!("no gap without pruning: {g:?}"),
            }
        }
        let want: Vec<i64> = (1..=n as i64).collect();
        assert!(ids == want, "every event once, in order");
        // Then live again: the next event is the next one.
        flood(&st, user, 1).await;
        match feed.next_out().await {
            Some(Out::Event(e)) => assert_eq!(e.id, n as i64 + 1),
            other => panic!("expected the next live event, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
