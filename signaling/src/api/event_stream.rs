//! The activity feed as Server-Sent Events, `GET /events/stream`, with
//! the same filters as `GET /events` and resume after `Last-Event-ID` (or
//! `since`). The stream's logic is in [`crate::feed::live`]; this file
//! parses the request and ends the stream with its sign-in.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use meshdesk_protocol::rest::{ErrorBody, Scope};
use serde::Deserialize;

use super::events::decode_query;
use crate::clock::now_ms;
use crate::error::Result;
use crate::extract::AuthUser;
use crate::feed::filter::{EventFilter, Since};
use crate::feed::live::LiveFeed;
use crate::state::AppState;

/// Filters of `GET /events/stream`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only events of these kinds; repeat the key for several. An unknown
    /// kind is a 400.
    #[serde(default)]
    #[param(value_type = Option<Vec<meshdesk_protocol::rest::EventKind>>, style = Form, explode)]
    pub kind: Vec<String>,
    /// Only events about this device (its id).
    #[param(min_length = 1)]
    pub device: Option<String>,
    /// First replay the stored events after this event id or RFC 3339
    /// time, then go live. A `Last-Event-ID` header takes precedence.
    #[param(example = "57")]
    pub since: Option<String>,
}

/// Where the stream starts: the `Last-Event-ID` header (a reconnecting
/// `EventSource` sends it), else `since`, else now.
fn start(headers: &HeaderMap, since: Option<&str>) -> Result<Option<Since>> {
    // A bad `since` is refused even when the header overrides it.
    let since = since.map(Since::parse).transpose()?;
    if let Some(v) = headers.get("last-event-id") {
        return Since::last_event_id(v.as_bytes()).map(Some);
    }
    Ok(since)
}

/// How often an open feed stream checks that its token is still valid
/// (expiry, or removal other than a sign-out, which ends it at once).
const TOKEN_RECHECK: Duration = Duration::from_secs(60);

/// Resolves when the token a stream was opened with stops being valid: it
/// was signed out, or the store no longer accepts it (expired, account
/// removed). A stream must not outlive its sign-in. Also resolves when the
/// server shuts down, so that open streams do not hold it up.
async fn token_ends(st: AppState, hash: [u8; 32]) {
    use tokio::sync::broadcast::error::RecvError;
    let mut signed_out = st.hub.signed_out();
    let mut recheck = tokio::time::interval(TOKEN_RECHECK);
    recheck.tick().await;
    let stopped = st.shutdown.stopped();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => {
                tracing::debug!("feed stream closed: server shutting down");
                return;
            }
            out = signed_out.recv() => match out {
                Ok(h) if h == hash => break,
                Ok(_) => {}
                // Missed some sign-outs: maybe ours.
                Err(RecvError::Lagged(_)) => {
                    if !still_valid(&st, &hash).await {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            _ = recheck.tick() => {
                if !still_valid(&st, &hash).await {
                    break;
                }
            }
        }
    }
    tracing::debug!("feed stream closed: its sign-in ended");
}

/// Whether the store still accepts the token; a failing store counts as
/// no, as it did before.
async fn still_valid(st: &AppState, hash: &[u8; 32]) -> bool {
    matches!(st.store.token_valid(hash, now_ms()).await, Ok(true))
}

/// Events as Server-Sent Events: each `event: event` carries one event as
/// JSON in `data` and its id in `id`. With `Last-Event-ID` or `since`, the
/// stored events after it come first, in id order, then live ones, none
/// twice; an `event: gap` with `data: {"after": A, "before": B}` first says
/// that retention deleted events with ids between A and B.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "feed", params(StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, maximum = 999_999_999_999_999_f64, description = "Resume after this event id (what EventSource sends on reconnect)")),
    responses((status = 200, description = "text/event-stream of Event objects", content_type = "text/event-stream"),
              (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream(
    State(st): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    auth.require(Scope::EventsRead)?;
    let q: StreamQuery = decode_query(raw.as_deref())?;
    let filter = EventFilter::parse(&q.kind, q.device)?;
    let since = start(&headers, q.since.as_deref())?;
    let feed = LiveFeed::open(&st, auth.user.id, filter, since).await?;
    tracing::debug!(user = %auth.user.username, resume = ?since, "feed stream opened");
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let next = feed.next().await?;
        Some((Ok(next), feed))
    })
    .take_until(token_ends(st.clone(), auth.token.hash()));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn last_event_id_wins_over_since() {
        let mut h = HeaderMap::new();
        assert_eq!(start(&h, None).expect("none"), None);
        assert_eq!(start(&h, Some("4")).expect("since"), Some(Since::Id(4)));
        h.insert("last-event-id", HeaderValue::from_static("9"));
        assert_eq!(start(&h, Some("4")).expect("header"), Some(Since::Id(9)));
        h.insert("last-event-id", HeaderValue::from_static("later"));
        assert!(start(&h, None).is_err());
    }
}
