//! A device's connection: challenge-response authentication with its
//! Ed25519 key, presence, heartbeats, and its half of session brokering.

use std::time::Duration;

use axum::extract::ws::WebSocket;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use meshdesk_protocol::signal::{
    check_screen_id, DeviceInfo, EndReason, ErrorCode, ErrorMsg, HostToServer, Screen,
    ServerToHost, MAX_SCREEN_ID_LEN,
};
use meshdesk_protocol::{decode, device_auth_payload, PROTOCOL_VERSION};
use rand::RngCore;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::Instrument;

use super::host_reports::Reports;
use super::ratelimit::TokenBucket;
use super::{accept, admit, classify, close_for_shutdown, configure, decode_error, send};
use super::{Admit, Incoming};
use crate::auth::origin::origin_allowed;
use crate::broker::{self, error, Relay};
use crate::clock::now_ms;
use crate::cluster::FromHost;
use crate::error::{Error, Result};
use crate::extract::ClientIp;
use crate::feed;
use crate::hub::{HostCmd, CONN_QUEUE};
use crate::state::AppState;
use crate::store::{DeviceRow, NewEvent};

/// How long a new connection has to authenticate.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /api/v1/ws/host`.
pub async fn upgrade(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    if !origin_allowed(&headers, &st.config.allowed_origins, false) {
        return Err(Error::Forbidden("origin not allowed"));
    }
    let conn = st.hub.next_conn_id();
    let span = tracing::info_span!("host", conn, %ip, device = tracing::field::Empty);
    let state = st.clone();
    accept(&st, configure(ws, 0), move |socket| {
        run(state, socket, conn).instrument(span)
    })
}

/// How the authenticated loop ended.
#[derive(Debug)]
enum End {
    /// The host, the hub or the heartbeat ended it; why, for the log.
    Closed(&'static str),
    /// The server is stopping.
    Shutdown,
}

/// The connection task: log how it ended, clean up.
async fn run(st: AppState, mut socket: WebSocket, conn: u64) {
    let device = match authenticate(&st, &mut socket).await {
        Ok(d) => d,
        Err(reason) => {
            tracing::info!(%reason, "host authentication failed");
            let _ = futures_util::SinkExt::close(&mut socket).await;
            return;
        }
    };
    tracing::Span::current().record("device", device.id.as_str());
    let (tx, rx) = mpsc::channel(CONN_QUEUE);
    let came_online = st.hub.register_host(&device.id, conn, tx);
    if came_online {
        tracing::info!("device online");
        st.cluster.announce_presence(&device.id, true);
        feed::presence_changed(&st, &device.id, &device.name, true, device_event(&device)).await;
    }
    let welcome = ServerToHost::Welcome {
        device_id: device.id.clone(),
        name: device.name.clone(),
        heartbeat_secs: st.config.heartbeat_secs,
    };
    let result = match send(&mut socket, &welcome).await {
        Ok(()) => serve(&st, &mut socket, &device.id, rx).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(End::Closed(why)) => tracing::info!(why, "host connection closed"),
        Ok(End::Shutdown) => return shut_down(&st, &mut socket, &device).await,
        Err(e) => tracing::info!(error = %e, "host connection lost"),
    }
    let _ = futures_util::SinkExt::close(&mut socket).await;
    went_offline(&st, conn, device).await;
}

/// The server is stopping: close with the reason and remember when the
/// device was last seen. Its presence and sessions are live state that
/// ends with the process, so no offline event: the device did not go
/// away, the server did, and its sessions go on peer to peer.
async fn shut_down(st: &AppState, socket: &mut WebSocket, device: &DeviceRow) {
    close_for_shutdown(socket).await;
    tracing::info!("host connection closed: server shutting down");
    if let Err(e) = st.store.set_last_seen(&device.id, now_ms()).await {
        tracing::warn!(error = %e, "could not store last_seen");
    }
}

/// The connection is gone: if it was the device's current one, the device
/// is offline, and sessions it never accepted cannot start.
async fn went_offline(st: &AppState, conn: u64, device: DeviceRow) {
    if st.hub.unregister_host(&device.id, conn) {
        st.cluster.announce_presence(&device.id, false);
        let id = device.id.clone();
        broker::end_where(st, EndReason::PeerGone, |s| {
            s.device_id == id && s.accepted_at.is_none()
        })
        .await;
        if st.cluster.holds_elsewhere(&device.id) {
            // It moved to another node, which told the watchers.
            tracing::info!("device now connected to another node");
            return;
        }
        tracing::info!("device offline");
        if let Err(e) = st.store.set_last_seen(&device.id, now_ms()).await {
            tracing::warn!(error = %e, "could not store last_seen");
        }
        let current = st
            .store
            .device(&device.id)
            .await
            .ok()
            .flatten()
            .unwrap_or(device);
        feed::presence_changed(
            st,
            &current.id,
            &current.name,
            false,
            device_event(&current),
        )
        .await;
    }
}

fn device_event(d: &DeviceRow) -> NewEvent {
    NewEvent {
        user_id: Some(d.owner_id),
        device_id: Some(d.id.clone()),
        device_name: Some(d.name.clone()),
        ..Default::default()
    }
}

/// Challenge, wait for `auth`, verify the signature with the stored key.
async fn authenticate(st: &AppState, socket: &mut WebSocket) -> Result<DeviceRow> {
    let mut nonce = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = STANDARD.encode(nonce);
    let challenge = ServerToHost::Challenge {
        protocol: PROTOCOL_VERSION,
        nonce: nonce.clone(),
    };
    send(socket, &challenge).await?;
    let frame = timeout(AUTH_TIMEOUT, socket.recv())
        .await
        .map_err(|_| Error::Handshake("no auth message in time"))?;
    let text = match classify(frame) {
        Incoming::Text(t) => t,
        _ => return Err(Error::Handshake("expected an auth message")),
    };
    let refuse = |code, msg: &str| ServerToHost::Error(error(code, msg, None));
    let (protocol, device_id, signature, info) = match decode::<HostToServer>(&text) {
        Ok(HostToServer::Auth {
            protocol,
            device_id,
            signature,
            info,
        }) => (protocol, device_id, signature, info),
        Ok(_) => {
            let _ = send(
                socket,
                &refuse(ErrorCode::Unauthorized, "authenticate first"),
            )
            .await;
            return Err(Error::Handshake("first message was not auth"));
        }
        Err(e) => {
            let _ = send(socket, &ServerToHost::Error(decode_error(&e))).await;
            return Err(Error::BadAuthMessage(e));
        }
    };
    if protocol != PROTOCOL_VERSION {
        let msg = format!("server speaks protocol {PROTOCOL_VERSION}");
        let _ = send(socket, &refuse(ErrorCode::UnsupportedVersion, &msg)).await;
        return Err(Error::ProtocolVersion(protocol));
    }
    let device = st.store.device(&device_id).await.ok().flatten();
    let verified = device
        .as_ref()
        .is_some_and(|d| verify(&d.public_key, &nonce, &signature));
    let Some(device) = device.filter(|_| verified) else {
        let _ = send(
            socket,
            &refuse(ErrorCode::Unauthorized, "device authentication failed"),
        )
        .await;
        return Err(Error::DeviceAuth(device_id));
    };
    update_info(st, &device.id, &info).await;
    Ok(device)
}

fn verify(public_key: &[u8], nonce: &str, signature_b64: &str) -> bool {
    let Ok(key_bytes) = <[u8; 32]>::try_from(public_key) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&key_bytes) else {
        return false;
    };
    let Ok(sig_bytes) = STANDARD.decode(signature_b64) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&sig_bytes) else {
        return false;
    };
    key.verify(&device_auth_payload(nonce), &sig).is_ok()
}

/// Most screens a host may report.
const MAX_SCREENS: usize = 16;

async fn update_info(st: &AppState, device_id: &str, info: &DeviceInfo) {
    let Ok(os) = crate::api::validate::text("os", &info.os, 128) else {
        return;
    };
    let sane = |s: &&Screen| {
        check_screen_id(&s.id).is_ok()
            && s.name.len() <= MAX_SCREEN_ID_LEN
            && !s.name.chars().any(char::is_control)
            && (1..=32767).contains(&s.width)
            && (1..=32767).contains(&s.height)
    };
    let screens: Vec<Screen> = info
        .screens
        .iter()
        .filter(sane)
        .take(MAX_SCREENS)
        .cloned()
        .collect();
    if screens.len() != info.screens.len() {
        tracing::warn!(
            reported = info.screens.len(),
            kept = screens.len(),
            "left out screens the host described badly"
        );
    }
    if let Err(e) = st
        .store
        .touch_device(device_id, &os, &screens, now_ms())
        .await
    {
        tracing::warn!(error = %e, "could not store device info");
    }
}

/// The authenticated loop. Returns why it ended cleanly, or the error.
async fn serve(
    st: &AppState,
    socket: &mut WebSocket,
    device_id: &str,
    mut rx: mpsc::Receiver<HostCmd>,
) -> Result<End> {
    let silence = st.config.heartbeat_timeout;
    let stopped = st.shutdown.stopped();
    tokio::pin!(stopped);
    let mut deadline = Instant::now() + silence;
    let mut bucket = TokenBucket::new(
        st.config.ws_rate_per_sec,
        st.config.ws_rate_burst,
        std::time::Instant::now(),
    );
    let mut reports = Reports::new(std::time::Instant::now());
    loop {
        tokio::select! {
            biased;
            () = &mut stopped => return Ok(End::Shutdown),
            cmd = rx.recv() => match cmd {
                Some(HostCmd::Send(msg)) => send(socket, &msg).await?,
                Some(HostCmd::Close(why)) => {
                    let msg = ServerToHost::Error(error(ErrorCode::Unauthorized, why, None));
                    let _ = send(socket, &msg).await;
                    return Ok(End::Closed(why));
                }
                None => return Ok(End::Closed("hub closed")),
            },
            frame = socket.recv() => {
                deadline = Instant::now() + silence;
                let reply = match admit::<HostToServer>(frame, &mut bucket) {
                    Admit::Closed { .. } => return Ok(End::Closed("closed by the host")),
                    Admit::Skip => None,
                    Admit::Refuse(e) => {
                        st.metrics.ws_refused(e.code);
                        Some(ServerToHost::Error(e))
                    }
                    Admit::Message(msg) => handle(st, device_id, &mut reports, msg).await,
                };
                if let Some(reply) = reply {
                    send(socket, &reply).await?;
                }
            }
            _ = sleep_until(deadline) => return Ok(End::Closed("heartbeat timeout")),
        }
    }
}

/// One message from an authenticated host; returns the direct reply.
async fn handle(
    st: &AppState,
    device_id: &str,
    reports: &mut Reports,
    msg: HostToServer,
) -> Option<ServerToHost> {
    // A lone node brokers every session itself: no lookup.
    let here = !st.cluster.is_clustered()
        || msg.session_id().is_none_or(|sid| {
            let now = now_ms();
            st.hub.with_sessions(|t| t.knows(sid, device_id, now))
        });
    let msg = match st.cluster.route_from_host(device_id, msg, here) {
        FromHost::Here(msg) => msg,
        // Its viewer's node answers, through the bus, if it must.
        FromHost::Passed => return None,
    };
    let result = match msg {
        HostToServer::Ping => return Some(ServerToHost::Pong),
        HostToServer::Auth { .. } => Err(error(ErrorCode::Invalid, "already authenticated", None)),
        HostToServer::Info { info } => {
            update_info(st, device_id, &info).await;
            Ok(())
        }
        HostToServer::SharedFileChanged { path, change } => {
            reports
                .shared_changed(st, device_id, &path, change, std::time::Instant::now())
                .await
        }
        session => session_message(st, device_id, reports, session).await,
    };
    match result {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(code = ?e.code, message = %e.message, "refused host message");
            st.metrics.ws_refused(e.code);
            Some(ServerToHost::Error(e))
        }
    }
}

/// A host's message about one of its sessions, brokered by this node:
/// from its connection here, or passed on by the node that holds it
/// ([`crate::cluster::relay`]).
pub(crate) async fn session_message(
    st: &AppState,
    device_id: &str,
    reports: &mut Reports,
    msg: HostToServer,
) -> Result<(), ErrorMsg> {
    match msg {
        HostToServer::SessionAccept { session_id } => {
            broker::accept(st, device_id, &session_id).await
        }
        // The only end whose words reach the other side: a host's refusal.
        HostToServer::SessionReject { session_id, reason } => {
            tracing::info!(session = %session_id, %reason, "host refused session");
            broker::end_by(
                st,
                &session_id,
                Some(device_id),
                None,
                EndReason::Rejected,
                Some(&reason),
            )
            .await
        }
        HostToServer::Consent(m) => crate::consent::from_host(st, device_id, m).await,
        HostToServer::Offer(m) => broker::from_host(st, device_id, Relay::Offer(m)),
        HostToServer::Answer(m) => broker::from_host(st, device_id, Relay::Answer(m)),
        HostToServer::Ice(m) => broker::from_host(st, device_id, Relay::Ice(m)),
        HostToServer::SessionEnd(m) => {
            broker::end_by(st, &m.session_id, Some(device_id), None, m.reason, None).await
        }
        HostToServer::FileTransfer(m) => {
            reports
                .transfer(st, device_id, &m, std::time::Instant::now())
                .await
        }
        HostToServer::Ping
        | HostToServer::Auth { .. }
        | HostToServer::Info { .. }
        | HostToServer::SharedFileChanged { .. } => Err(error(
            ErrorCode::Invalid,
            "not a message about a session",
            None,
        )),
    }
}
