//! A signed-in user's connection: live presence and feed events, and the
//! viewer's half of session brokering.

use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use meshdesk_protocol::signal::{EndReason, ServerToViewer, ViewerToServer};
use meshdesk_protocol::PROTOCOL_VERSION;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::ratelimit::TokenBucket;
use super::{admit, configure, send, Admit};
use crate::auth::extract::token_from_headers;
use crate::auth::origin::origin_allowed;
use crate::auth::ClientIp;
use crate::broker::{self, Notify, Relay};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::hub::{Fanout, CONN_QUEUE};
use crate::state::AppState;
use crate::store::User;

/// How often a viewer connection looks for grants its host never answered.
const PENDING_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);
/// A session the host has not accepted within this is ended.
const PENDING_TIMEOUT_MS: i64 = 30_000;
/// Larger than any one fan-out, so its parts leave in one write.
const FANOUT_WRITE_BUFFER: usize = 64 * 1024;

/// `GET /api/v1/ws/viewer`: authenticated by bearer token or session cookie.
pub async fn upgrade(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    if !origin_allowed(&headers, &st.config.allowed_origins, false) {
        return Err(Error::Forbidden("origin not allowed"));
    }
    let (token, _) = token_from_headers(&headers).ok_or(Error::Unauthorized("sign in first"))?;
    let user = st
        .store
        .user_for_token(&token.hash(), now_ms())?
        .ok_or(Error::Unauthorized(
            "session expired or invalid; sign in again",
        ))?;
    Ok(
        configure(ws, FANOUT_WRITE_BUFFER).on_upgrade(move |socket| {
            let conn = st.hub.next_conn_id();
            let span = tracing::info_span!("viewer", conn, %ip, user = %user.username);
            run(st, socket, conn, user, token.hash()).instrument(span)
        }),
    )
}

async fn run(st: AppState, mut socket: WebSocket, conn: u64, user: User, token_hash: [u8; 32]) {
    let (tx, rx) = mpsc::channel(CONN_QUEUE);
    let fanout = st.hub.subscribe();
    st.hub.register_viewer(conn, token_hash, tx);
    tracing::info!("viewer connected");
    let result = serve(&st, &mut socket, conn, &user, rx, fanout).await;
    match result {
        Ok(why) => tracing::info!(why, "viewer connection closed"),
        Err(e) => tracing::info!(error = %e, "viewer connection lost"),
    }
    let _ = futures_util::SinkExt::close(&mut socket).await;
    for s in st.hub.unregister_viewer(conn) {
        broker::finish(&st, &s, EndReason::PeerGone, Notify::Host);
    }
}

/// Presence of every device the user may see.
fn snapshot(st: &AppState, user: &User) -> Vec<ServerToViewer> {
    match st.store.devices_visible_to(user.id) {
        Ok(rows) => rows
            .into_iter()
            .map(|(d, _)| ServerToViewer::Presence {
                online: st.hub.is_online(&d.id),
                device_id: d.id,
                name: d.name,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "could not list devices");
            Vec::new()
        }
    }
}

async fn serve(
    st: &AppState,
    socket: &mut WebSocket,
    conn: u64,
    user: &User,
    mut rx: mpsc::Receiver<ServerToViewer>,
    mut fanout: tokio::sync::broadcast::Receiver<Arc<Fanout>>,
) -> std::result::Result<&'static str, String> {
    let err = |e: axum::Error| e.to_string();
    let welcome = ServerToViewer::Welcome {
        protocol: PROTOCOL_VERSION,
        username: user.username.clone(),
    };
    send(socket, &welcome).await.map_err(err)?;
    for m in snapshot(st, user) {
        send(socket, &m).await.map_err(err)?;
    }
    let mut sweep = tokio::time::interval(PENDING_SWEEP);
    let mut bucket = TokenBucket::new(
        st.config.ws_rate_per_sec,
        st.config.ws_rate_burst,
        std::time::Instant::now(),
    );
    loop {
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Some(m) => send(socket, &m).await.map_err(err)?,
                None => return Ok("signed out or removed by the server"),
            },
            f = fanout.recv() => match f {
                Ok(f) => send_fanout(socket, &f, user.id).await.map_err(err)?,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "viewer fell behind; resending presence");
                    for m in snapshot(st, user) {
                        send(socket, &m).await.map_err(err)?;
                    }
                }
                Err(RecvError::Closed) => return Ok("hub closed"),
            },
            _ = sweep.tick() => broker::expire_pending(st, conn, now_ms() - PENDING_TIMEOUT_MS),
            frame = socket.recv() => {
                let reply = match admit::<ViewerToServer>(frame, &mut bucket) {
                    Admit::Closed => return Ok("closed by the viewer"),
                    Admit::Skip => None,
                    Admit::Refuse(e) => Some(ServerToViewer::Error(e)),
                    Admit::Message(msg) => handle(st, conn, user, msg),
                };
                if let Some(reply) = reply {
                    send(socket, &reply).await.map_err(err)?;
                }
            }
        }
    }
}

/// The parts of a fan-out this user may see, encoded once in the hub for
/// every receiver, buffered and written together.
async fn send_fanout(
    socket: &mut WebSocket,
    f: &Fanout,
    user_id: i64,
) -> std::result::Result<(), axum::Error> {
    use futures_util::SinkExt;
    let mut queued = false;
    for part in f.for_user(user_id) {
        if let Ok(text) = Utf8Bytes::try_from(part.wire.clone()) {
            socket.feed(Message::Text(text)).await?;
            queued = true;
        }
    }
    if queued {
        socket.flush().await?;
    }
    Ok(())
}

/// One message from a viewer; returns the direct reply.
fn handle(st: &AppState, conn: u64, user: &User, msg: ViewerToServer) -> Option<ServerToViewer> {
    let result = match msg {
        ViewerToServer::Ping => return Some(ServerToViewer::Pong),
        ViewerToServer::SessionRequest {
            device_id,
            request_id,
        } => {
            return Some(match broker::request(st, conn, user, &device_id) {
                Ok(ServerToViewer::SessionCreated {
                    session_id,
                    device_id,
                    permission,
                    ice_servers,
                    ..
                }) => ServerToViewer::SessionCreated {
                    session_id,
                    device_id,
                    permission,
                    ice_servers,
                    request_id,
                },
                Ok(other) => other,
                Err(mut e) => {
                    tracing::info!(code = ?e.code, device = %device_id, "session request refused");
                    e.request_id = request_id;
                    ServerToViewer::Error(e)
                }
            });
        }
        ViewerToServer::Offer(m) => broker::from_viewer(st, conn, Relay::Offer(m)),
        ViewerToServer::Answer(m) => broker::from_viewer(st, conn, Relay::Answer(m)),
        ViewerToServer::Ice(m) => broker::from_viewer(st, conn, Relay::Ice(m)),
        ViewerToServer::SessionEnd(m) => {
            broker::end_by(st, &m.session_id, None, Some(conn), m.reason)
        }
    };
    match result {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(code = ?e.code, message = %e.message, "refused viewer message");
            Some(ServerToViewer::Error(e))
        }
    }
}
