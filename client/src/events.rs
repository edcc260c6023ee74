//! The paged activity feed, `GET /events`, and the filters it shares with
//! the live stream ([`EventsQuery`]).

use meshdesk_protocol::rest::{EventKind, EventsPage};
use reqwest::Method;

use crate::{Client, Error, Result};

/// Filters and paging of the feed. Empty: every event the user may see.
///
/// ```
/// use meshdesk_client::{rest::EventKind, EventsQuery};
/// let q = EventsQuery::new()
///     .kind(EventKind::DeviceOffline)
///     .kind(EventKind::SessionStarted)
///     .device("dev_123")
///     .limit(20);
/// assert_eq!(
///     q.to_pairs(),
///     [
///         ("kind", "device_offline".to_string()),
///         ("kind", "session_started".to_string()),
///         ("device", "dev_123".to_string()),
///         ("limit", "20".to_string()),
///     ]
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsQuery {
    /// Only these kinds (`kind`, repeated); empty: every kind.
    kinds: Vec<EventKind>,
    /// Only events about this device id (`device`).
    device: Option<String>,
    /// Only events after this id or RFC 3339 time (`since`).
    since: Option<String>,
    /// Paging: only events with an id below this (`before`).
    before: Option<i64>,
    /// Paging: page size (`limit`, the server's default when absent).
    limit: Option<u32>,
}

impl EventsQuery {
    /// No filters.
    pub fn new() -> EventsQuery {
        EventsQuery::default()
    }

    /// Adds a kind to those wanted (repeatable).
    pub fn kind(mut self, kind: EventKind) -> EventsQuery {
        self.kinds.push(kind);
        self
    }

    /// Only events about the device with this id.
    pub fn device(mut self, id: impl Into<String>) -> EventsQuery {
        self.device = Some(id.into());
        self
    }

    /// Only events with an id above `id`.
    pub fn since_id(mut self, id: i64) -> EventsQuery {
        self.since = Some(id.to_string());
        self
    }

    /// Only events after `time` (RFC 3339, e.g. `2026-12-06T23:40:00Z`).
    pub fn since_time(mut self, time: impl Into<String>) -> EventsQuery {
        self.since = Some(time.into());
        self
    }

    /// Paging (`GET /events` only): events with an id below `id`, as in
    /// [`EventsPage::next_before`].
    pub fn before(mut self, id: i64) -> EventsQuery {
        self.before = Some(id);
        self
    }

    /// Paging (`GET /events` only): at most `n` events.
    pub fn limit(mut self, n: u32) -> EventsQuery {
        self.limit = Some(n);
        self
    }

    /// The kinds asked for (empty: all).
    pub fn kinds(&self) -> &[EventKind] {
        &self.kinds
    }

    /// The query string's pairs, in a stable order (`kind` repeated).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = self.filter_pairs();
        pairs.extend(self.before.map(|b| ("before", b.to_string())));
        pairs.extend(self.limit.map(|l| ("limit", l.to_string())));
        pairs
    }

    /// The filters only, without paging: what the live stream takes.
    pub(crate) fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs: Vec<(&'static str, String)> = self
            .kinds
            .iter()
            .map(|k| ("kind", k.as_str().to_string()))
            .collect();
        pairs.extend(self.device.clone().map(|d| ("device", d)));
        pairs.extend(self.since.clone().map(|s| ("since", s)));
        pairs
    }
}

impl Client {
    /// `GET /events`: one page of the feed, newest first. Pass the page's
    /// `next_before` to [`EventsQuery::before`] for the next (older) one.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use meshdesk_client::{rest::EventKind, EventsQuery};
    /// let mut query = EventsQuery::new().kind(EventKind::LoginFailed).limit(50);
    /// loop {
    ///     let page = client.events_page(&query).await?;
    ///     for e in &page.events {
    ///         println!("{} {:?}", e.id, e.detail);
    ///     }
    ///     match page.next_before {
    ///         Some(before) => query = query.before(before),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn events_page(&self, query: &EventsQuery) -> Result<EventsPage> {
        let request = self
            .request(Method::GET, &["events"])
            .query(&query.to_pairs());
        let resp = self.send(request).await?;
        resp.json()
            .await
            .map_err(|e| Error::BadReply(crate::error::root_cause(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_gets_filters_but_not_paging() {
        let q = EventsQuery::new()
            .kind(EventKind::ShareGranted)
            .since_id(41)
            .before(90)
            .limit(5);
        assert_eq!(
            q.filter_pairs(),
            [
                ("kind", "share_granted".to_string()),
                ("since", "41".to_string())
            ]
        );
        assert_eq!(q.to_pairs().len(), 4);
        assert!(EventsQuery::new().to_pairs().is_empty());
    }
}
