//! The activity feed's paged history, `GET /events`, with its filters;
//! the live stream is in [`super::event_stream`].

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::Json;
use meshdesk_protocol::rest::{ErrorBody, EventsPage, Scope};
use serde::Deserialize;

use super::event_stream;
use super::routes::Routes;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::feed::cursor::gap;
use crate::feed::filter::{EventFilter, Since};
use crate::state::AppState;
use crate::store::EventQuery;

/// Default and largest page size.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub fn router() -> Routes {
    Routes::new()
        .route("/events", get(page))
        .route("/events/stream", get(event_stream::stream))
}

/// Filters and paging of `GET /events`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Only events of these kinds; repeat the key for several
    /// (`kind=device_online&kind=device_offline`). An unknown kind is a 400.
    #[serde(default)]
    #[param(value_type = Option<Vec<meshdesk_protocol::rest::EventKind>>, style = Form, explode)]
    pub kind: Vec<String>,
    /// Only events about this device (its id). A device you may not see
    /// yields no events.
    #[param(min_length = 1)]
    pub device: Option<String>,
    /// Only events after this: an event id (such as the previous page's
    /// `next_since`) or an RFC 3339 time (`2026-01-31T12:00:00Z`). The page
    /// is then oldest first and `next_since` continues it.
    #[param(example = "57")]
    pub since: Option<String>,
}

/// Decode a query string with repeatable keys; errors are a 400 worded
/// as axum's own `Query` rejection.
pub fn decode_query<T: serde::de::DeserializeOwned + Default>(raw: Option<&str>) -> Result<T> {
    match raw {
        None | Some("") => Ok(T::default()),
        Some(q) => serde_html_form::from_str(q)
            .map_err(|e| Error::BadRequest(format!("Failed to deserialize query string: {e}"))),
    }
}

/// What a page request asks for, validated.
#[derive(Debug, PartialEq, Eq)]
struct PageRequest {
    filter: EventFilter,
    since: Option<Since>,
    before: Option<i64>,
    limit: u32,
}

fn page_request(q: EventsQuery) -> Result<PageRequest> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::BadRequest(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    Ok(PageRequest {
        filter: EventFilter::parse(&q.kind, q.device)?,
        since: q.since.as_deref().map(Since::parse).transpose()?,
        before: q.before,
        limit,
    })
}

/// Events the user may see that match the filters: newest first, or with
/// `since` the events after it, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "feed", params(EventsQuery),
    responses((status = 200, body = EventsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn page(
    State(st): State<AppState>,
    auth: AuthUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventsPage>> {
    auth.require(Scope::EventsRead)?;
    let req = page_request(decode_query(raw.as_deref())?)?;
    let q = EventQuery {
        filter: &req.filter,
        since: req.since,
        before: req.before,
        limit: req.limit,
    };
    let events = st.store.read_events(auth.user.id, &q).await?.events;
    let full = events.len() == req.limit as usize;
    let last = events.last().map(|e| e.id).filter(|_| full);
    let (next_before, next_since, gap) = match req.since {
        Some(since) => (None, last, gap(since, st.store.pruned().await?)),
        None => (last, None, None),
    };
    Ok(Json(EventsPage {
        events,
        next_before,
        next_since,
        gap,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshdesk_protocol::rest::EventKind;

    fn request(query: &str) -> Result<PageRequest> {
        page_request(decode_query(Some(query))?)
    }

    #[test]
    fn repeated_kinds_device_and_since_are_decoded() {
        let r = request("kind=device_online&kind=device_offline&device=dev_1&since=12&limit=5")
            .expect("valid");
        assert_eq!(
            r.filter.kinds,
            [EventKind::DeviceOnline, EventKind::DeviceOffline]
        );
        assert_eq!(r.filter.device.as_deref(), Some("dev_1"));
        assert_eq!((r.since, r.limit), (Some(Since::Id(12)), 5));
        let r = request("since=2026-01-01T00%3A00%3A00Z").expect("time");
        assert_eq!(r.since, Some(Since::Time(1_767_225_600_000)));
        let empty = page_request(decode_query(None).expect("none")).expect("defaults");
        assert_eq!((empty.limit, empty.since, empty.before), (50, None, None));
    }

    #[test]
    fn bad_values_are_named() {
        let err = |q: &str| request(q).expect_err(q).to_string();
        assert!(err("kind=nope").starts_with("unknown kind `nope`"));
        assert_eq!(err("limit=0"), "limit must be 1 to 200");
        assert_eq!(err("limit=201"), "limit must be 1 to 200");
        assert!(err("since=soon").starts_with("since:"));
        assert!(err("limit=x").starts_with("Failed to deserialize query string: "));
        assert!(err("before=1&before=2").starts_with("Failed to deserialize query string: "));
    }
}
