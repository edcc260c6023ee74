//! The activity feed: paged history and a live Server-Sent Events stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::Json;
use futures_util::Stream;
use futures_util::StreamExt;
use meshdesk_protocol::rest::{ErrorBody, EventsPage, Scope};
use serde::Deserialize;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::routes::Routes;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::AuthUser;
use crate::hub::FanoutKind;
use crate::state::AppState;

/// Default and largest page size.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub fn router() -> Routes {
    Routes::new()
        .route("/events", get(page))
        .route("/events/stream", get(stream))
}

/// Paging parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Events the user may see, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "feed", params(EventsQuery),
    responses((status = 200, body = EventsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn page(
    State(st): State<AppState>,
    auth: AuthUser,
    q: std::result::Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventsPage>> {
    auth.require(Scope::EventsRead)?;
    let Query(q) = q.map_err(|e| Error::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::BadRequest(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let events = st.store.events_for(auth.user.id, q.before, limit)?;
    let next_before = if events.len() == limit as usize {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(EventsPage {
        events,
        next_before,
    }))
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
    let still_valid =
        |st: &AppState| matches!(st.store.user_for_token(&hash, now_ms()), Ok(Some(_)));
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
                Err(RecvError::Lagged(_)) if !still_valid(&st) => break,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            _ = recheck.tick() => {
                if !still_valid(&st) {
                    break;
                }
            }
        }
    }
    tracing::debug!("feed stream closed: its sign-in ended");
}

/// Live events as Server-Sent Events: each `event: event` carries one
/// event as JSON in `data` and its id in `id`. An `event: resync` means the
/// stream fell behind: fetch `/events` to catch up.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "feed",
    responses((status = 200, description = "text/event-stream of Event objects", content_type = "text/event-stream"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream(
    State(st): State<AppState>,
    auth: AuthUser,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    auth.require(Scope::EventsRead)?;
    let user_id = auth.user.id;
    tracing::debug!(user = %auth.user.username, "feed stream opened");
    let events = BroadcastStream::new(st.hub.subscribe())
        .map(move |item| {
            let out: Vec<SseEvent> = match item {
                Ok(f) => f
                    .for_user(user_id)
                    .filter_map(|p| match &p.kind {
                        FanoutKind::Event(ev) => Some(
                            SseEvent::default()
                                .event("event")
                                .id(ev.id.to_string())
                                .data(meshdesk_protocol::encode(ev)),
                        ),
                        FanoutKind::Presence { .. } => None,
                    })
                    .collect(),
                Err(BroadcastStreamRecvError::Lagged(_)) => {
                    vec![SseEvent::default().event("resync").data("{}")]
                }
            };
            futures_util::stream::iter(out.into_iter().map(Ok))
        })
        .flatten()
        .take_until(token_ends(st.clone(), auth.token.hash()));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
