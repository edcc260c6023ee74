//! A signed-in user's connection: live presence and feed events, and the
//! viewer's half of session brokering.

use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use meshdesk_protocol::rest::Scope;
use meshdesk_protocol::signal::{ServerToViewer, ViewerToServer};
use meshdesk_protocol::PROTOCOL_VERSION;
use meshdesk_tasks::sleep_or_never;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::ratelimit::TokenBucket;
use super::{accept, admit, close_for_shutdown, configure, send, Admit};
use crate::auth::origin::origin_allowed;
use crate::broker::{self, Relay};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::extract::token_from_headers;
use crate::extract::ClientIp;
use crate::hub::{Fanout, FanoutKind, ViewerCmd, CONN_QUEUE};
use crate::resume::{self, Closed};
use crate::state::AppState;
use crate::store::User;

/// How often a viewer connection looks for grants its host never answered.
const PENDING_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);
/// A session the host has not accepted within this is ended.
const PENDING_TIMEOUT_MS: i64 = 30_000;
/// Larger than any one fan-out, so its parts leave in one write.
const FANOUT_WRITE_BUFFER: usize = 64 * 1024;
/// A write that takes longer than this means the peer is gone (its network
/// vanished and the send buffer is full): the connection is dropped.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// A probed connection (another connection of its user asked to resume one
/// of its sessions) that sends nothing within this is closed as dead.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

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
    let (user, access) = st
        .store
        .authenticate(&token.hash(), now_ms())
        .await?
        .ok_or(Error::Unauthorized(
            "session expired or invalid; sign in again",
        ))?;
    access.require(Scope::SessionsConnect)?;
    // Presence comes with the connection; the feed only with its scope.
    let feed = access.allows(Scope::EventsRead);
    let conn = st.hub.next_conn_id();
    let span = tracing::info_span!("viewer", conn, %ip, user = %user.username);
    let state = st.clone();
    accept(&st, configure(ws, FANOUT_WRITE_BUFFER), move |socket| {
        run(state, socket, conn, user, token.hash(), feed).instrument(span)
    })
}

/// How the connection loop ended.
#[derive(Debug)]
enum End {
    /// The viewer, the hub or a probe ended it: why (for the log), and
    /// whether its sessions may be resumed.
    Closed(&'static str, Closed),
    /// The server is stopping.
    Shutdown,
}

async fn run(
    st: AppState,
    mut socket: WebSocket,
    conn: u64,
    user: User,
    token_hash: [u8; 32],
    feed: bool,
) {
    let (tx, rx) = mpsc::channel(CONN_QUEUE);
    let fanout = st.hub.subscribe();
    st.hub.register_viewer(conn, token_hash, tx);
    tracing::info!("viewer connected");
    let result = serve(&st, &mut socket, conn, &user, feed, rx, fanout).await;
    let closed = match result {
        Ok(End::Closed(why, closed)) => {
            tracing::info!(why, "viewer connection closed");
            closed
        }
        Ok(End::Shutdown) => {
            // Sessions are live state that ends with the process (their
            // media goes on peer to peer): nothing to end or detach.
            close_for_shutdown(&mut socket).await;
            tracing::info!("viewer connection closed: server shutting down");
            return;
        }
        Err(e) => {
            tracing::info!(error = %e, "viewer connection lost");
            Closed::Lost
        }
    };
    // A dead peer's full send buffer must not hold up the clean-up.
    let _ = tokio::time::timeout(WRITE_TIMEOUT, futures_util::SinkExt::close(&mut socket)).await;
    resume::viewer_closed(&st, conn, closed).await;
}

/// Presence of every device the user may see.
async fn snapshot(st: &AppState, user: &User) -> Vec<ServerToViewer> {
    match st.store.devices_visible_to(user.id).await {
        Ok(rows) => rows
            .into_iter()
            .map(|(d, _)| ServerToViewer::Presence {
                online: st.device_online(&d.id),
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

/// `welcome`, then the presence of every device the user may see.
async fn greet(st: &AppState, socket: &mut WebSocket, user: &User) -> Result<()> {
    let welcome = ServerToViewer::Welcome {
        protocol: PROTOCOL_VERSION,
        username: user.username.clone(),
    };
    timed(send(socket, &welcome)).await?;
    for m in snapshot(st, user).await {
        timed(send(socket, &m)).await?;
    }
    Ok(())
}

/// The connection loop: the hub's commands and fan-out out, the viewer's
/// messages in, until it closes, fails or the server stops.
async fn serve(
    st: &AppState,
    socket: &mut WebSocket,
    conn: u64,
    user: &User,
    feed: bool,
    mut rx: mpsc::Receiver<ViewerCmd>,
    mut fanout: tokio::sync::broadcast::Receiver<Arc<Fanout>>,
) -> Result<End> {
    greet(st, socket, user).await?;
    let mut sweep = tokio::time::interval(PENDING_SWEEP);
    let mut bucket = TokenBucket::new(
        st.config.ws_rate_per_sec,
        st.config.ws_rate_burst,
        std::time::Instant::now(),
    );
    let mut probe_due: Option<tokio::time::Instant> = None;
    let stopped = st.shutdown.stopped();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            biased;
            () = &mut stopped => return Ok(End::Shutdown),
            msg = rx.recv() => match msg {
                Some(ViewerCmd::Send(m)) => timed(send(socket, &m)).await?,
                Some(ViewerCmd::Probe) => {
                    if probe_due.is_none() {
                        tracing::info!("probing: another connection asks for a session of this one");
                        probe_due = Some(tokio::time::Instant::now() + PROBE_TIMEOUT);
                        timed(socket.send(Message::Ping(Default::default()))).await?;
                    }
                }
                None => return Ok(End::Closed("signed out or removed by the server", Closed::SignedOut)),
            },
            f = fanout.recv() => match f {
                Ok(f) => timed(send_fanout(socket, &f, user.id, feed)).await?,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "viewer fell behind; resending presence");
                    for m in snapshot(st, user).await {
                        timed(send(socket, &m)).await?;
                    }
                }
                Err(RecvError::Closed) => return Ok(End::Closed("hub closed", Closed::Lost)),
            },
            _ = sweep.tick() => broker::expire_pending(st, conn, now_ms() - PENDING_TIMEOUT_MS).await,
            _ = sleep_or_never(probe_due) => {
                return Ok(End::Closed("no answer to a liveness probe", Closed::Lost));
            }
            frame = socket.recv() => {
                // Anything at all (a pong included) proves it alive.
                probe_due = None;
                if let Some(end) = on_frame(st, socket, conn, user, frame, &mut bucket).await? {
                    return Ok(end);
                }
            }
        }
    }
}

/// One frame from the viewer: handle it and reply, or say how the
/// connection ended.
async fn on_frame(
    st: &AppState,
    socket: &mut WebSocket,
    conn: u64,
    user: &User,
    frame: Option<std::result::Result<Message, axum::Error>>,
    bucket: &mut TokenBucket,
) -> Result<Option<End>> {
    let reply = match admit::<ViewerToServer>(frame, bucket) {
        // A close frame: the page was closed, reloaded or left, or the
        // viewer quit. Nobody will resume its sessions.
        Admit::Closed { said_so: true } => {
            return Ok(Some(End::Closed("closed by the viewer", Closed::Left)));
        }
        Admit::Closed { said_so: false } => {
            return Ok(Some(End::Closed("connection lost", Closed::Lost)));
        }
        Admit::Skip => None,
        Admit::Refuse(e) => {
            st.metrics.ws_refused(e.code);
            Some(ServerToViewer::Error(e))
        }
        Admit::Message(msg) => handle(st, conn, user, msg).await,
    };
    if let Some(reply) = reply {
        timed(send(socket, &reply)).await?;
    }
    Ok(None)
}

/// One write to the socket, within [`WRITE_TIMEOUT`].
async fn timed(
    write: impl std::future::Future<Output = std::result::Result<(), axum::Error>>,
) -> Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(Error::WriteTimeout(WRITE_TIMEOUT)),
    }
}

/// The parts of a fan-out this user may see, encoded once in the hub for
/// every receiver, buffered and written together.
async fn send_fanout(
    socket: &mut WebSocket,
    f: &Fanout,
    user_id: i64,
    feed: bool,
) -> std::result::Result<(), axum::Error> {
    use futures_util::SinkExt;
    let mut queued = false;
    let parts = f
        .for_user(user_id)
        .filter(|p| feed || !matches!(p.kind, FanoutKind::Event(_)));
    for part in parts {
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
async fn handle(
    st: &AppState,
    conn: u64,
    user: &User,
    msg: ViewerToServer,
) -> Option<ServerToViewer> {
    let result = match msg {
        ViewerToServer::Ping => return Some(ServerToViewer::Pong),
        ViewerToServer::SessionRequest {
            device_id,
            request_id,
            screen,
            files_only,
        } => {
            let wanted = broker::Wanted { screen, files_only };
            return Some(
                match broker::request(st, conn, user, &device_id, wanted).await {
                    Ok(ServerToViewer::SessionCreated {
                        session_id,
                        device_id,
                        permission,
                        ice_servers,
                        resume_secret,
                        resume_grace_secs,
                        device_name,
                        device_public_key,
                        ..
                    }) => ServerToViewer::SessionCreated {
                        session_id,
                        device_id,
                        permission,
                        ice_servers,
                        request_id,
                        resume_secret,
                        resume_grace_secs,
                        device_name,
                        device_public_key,
                    },
                    Ok(other) => other,
                    Err(mut e) => {
                        tracing::info!(code = ?e.code, device = %device_id, "session request refused");
                        st.metrics.ws_refused(e.code);
                        e.request_id = request_id;
                        ServerToViewer::Error(e)
                    }
                },
            );
        }
        ViewerToServer::Offer(m) => broker::from_viewer(st, conn, Relay::Offer(m)),
        ViewerToServer::Answer(m) => broker::from_viewer(st, conn, Relay::Answer(m)),
        ViewerToServer::Ice(m) => broker::from_viewer(st, conn, Relay::Ice(m)),
        ViewerToServer::RestartIce { session_id } => {
            broker::restart_ice_from_viewer(st, conn, &session_id)
        }
        ViewerToServer::SessionEnd(m) => {
            broker::end_by(st, &m.session_id, None, Some(conn), m.reason, None).await
        }
        ViewerToServer::SessionResume {
            session_id,
            resume_secret,
        } => {
            let secret = resume_secret.as_deref();
            return match resume::resume(st, conn, user, &session_id, secret) {
                Ok(reply) => reply,
                Err(e) => {
                    st.metrics.ws_refused(e.code);
                    Some(ServerToViewer::Error(e))
                }
            };
        }
    };
    match result {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(code = ?e.code, message = %e.message, "refused viewer message");
            st.metrics.ws_refused(e.code);
            Some(ServerToViewer::Error(e))
        }
    }
}
