//! `meshdesk-host run`: stay connected to the server (authenticating with
//! the device key), heartbeat, reconnect with jittered backoff, and run the
//! sessions the server grants. Sessions live in the [`Sessions`] registry,
//! which outlives any one signaling connection: media is peer to peer, so a
//! session keeps running while the server is away.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use meshdesk_peer::{ConnectOptions, PeerError, SignalClient, SignalReceiver, SignalSender};
use meshdesk_protocol::signal::{
    DeviceInfo, ErrorCode, HostToServer, Screen, ServerToHost, SessionEndMsg,
};
use meshdesk_protocol::{device_auth_payload, PROTOCOL_VERSION};
use tokio::sync::mpsc;
use tokio::time::{interval, timeout, Instant};

use super::backoff::Backoff;
use super::config::HostConfig;
use super::session::{self, Finished, Grant, SessionIn};
use super::AgentError;
use crate::media::{MediaConfig, MediaPipeline};
use meshdesk_peer::netwatch::{self, AddressWatch};
use meshdesk_tasks::{sleep_or_never, AbortOnDrop};

/// Most sessions served at once.
const MAX_SESSIONS: usize = 8;

/// How long the server may take to answer a ping sent because a session
/// lost its connection (a sign that this machine's network changed).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Heartbeats without any message from the server before the connection is
/// given up as dead (the server answers every ping).
const MISSED_HEARTBEATS: u32 = 3;

/// How one signaling connection ended.
#[derive(Debug)]
enum Exit {
    /// Shutdown was asked for.
    Shutdown,
    /// The connection dropped; reconnect.
    Lost(String),
}

/// Live sessions, by id.
struct Sessions {
    map: HashMap<String, (mpsc::Sender<SessionIn>, AbortOnDrop<Finished>)>,
    /// Messages sessions want sent to the server.
    out_tx: mpsc::UnboundedSender<HostToServer>,
    out_rx: mpsc::UnboundedReceiver<HostToServer>,
    /// Sessions report here when they end.
    done_tx: mpsc::UnboundedSender<Finished>,
    done_rx: mpsc::UnboundedReceiver<Finished>,
    /// The display's shared capture and encode pipeline.
    media: Option<Arc<MediaPipeline>>,
    /// Why there is no pipeline, for refusals.
    media_error: Option<String>,
    display: Option<String>,
    /// Sessions signal here when their peer connection loses connectivity.
    path_lost: Arc<tokio::sync::Notify>,
}

impl Sessions {
    fn new(cfg: &HostConfig) -> Sessions {
        let display = std::env::var("DISPLAY").ok();
        let media_cfg = MediaConfig {
            display: display.clone(),
            max_fps: cfg.max_fps,
            bitrate_bps: cfg.bitrate_kbps.saturating_mul(1000),
            deblocking: cfg.deblocking,
        };
        let (media, media_error) = match MediaPipeline::start(media_cfg) {
            Ok(p) => (Some(Arc::new(p)), None),
            Err(e) => {
                tracing::error!(error = %e, "screen capture unavailable; sessions will be refused");
                (None, Some(e.to_string()))
            }
        };
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Sessions {
            map: HashMap::new(),
            out_tx,
            out_rx,
            done_tx,
            done_rx,
            media,
            media_error,
            display,
            path_lost: Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn info(&self) -> DeviceInfo {
        let screens = self
            .media
            .as_ref()
            .map(|m| {
                let (width, height) = m.screen_size();
                vec![Screen { width, height }]
            })
            .unwrap_or_default();
        DeviceInfo {
            os: super::enroll::os_description(),
            screens,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Start a granted session, or say why not.
    fn start(&mut self, grant: Grant) -> Result<(), String> {
        let Some(media) = self.media.clone() else {
            return Err(format!(
                "screen capture unavailable: {}",
                self.media_error.as_deref().unwrap_or("unknown")
            ));
        };
        if self.map.len() >= MAX_SESSIONS {
            return Err("too many sessions on this host".into());
        }
        let (tx, rx) = mpsc::channel(64);
        let sid = grant.session_id.clone();
        let span = tracing::info_span!("session", session = %sid, user = %grant.user, permission = ?grant.permission);
        let out = self.out_tx.clone();
        let done = self.done_tx.clone();
        let display = self.display.clone();
        let path_lost = Arc::clone(&self.path_lost);
        let task = AbortOnDrop::spawn(tracing::Instrument::instrument(
            async move {
                let finished = session::run(grant, media, display, rx, out, path_lost).await;
                let _ = done.send(Finished {
                    session_id: finished.session_id.clone(),
                    reason: finished.reason,
                });
                finished
            },
            span,
        ));
        self.map.insert(sid, (tx, task));
        Ok(())
    }

    fn forward(&mut self, session_id: &str, msg: SessionIn) {
        if let Some((tx, _)) = self.map.get(session_id) {
            let _ = tx.try_send(msg);
        }
    }
}

/// Run the agent until `shutdown` resolves. Returns an error only when the
/// server refuses this device for good (removed, or its key is unknown).
pub async fn run(
    cfg: HostConfig,
    key: SigningKey,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    let mut sessions = Sessions::new(&cfg);
    let mut backoff = Backoff::default();
    let mut watch = netwatch::open_or_warn();
    let url = ws_url(&cfg.server);
    tokio::pin!(shutdown);
    loop {
        let began = Instant::now();
        let exit = tokio::select! {
            r = connect_and_serve(&url, &cfg, &key, &mut sessions, &mut watch) => r,
            _ = &mut shutdown => Ok(Exit::Shutdown),
        };
        match exit {
            Ok(Exit::Shutdown) => break,
            Ok(Exit::Lost(why)) => tracing::warn!(%why, "disconnected from the server"),
            Err(e @ AgentError::AuthRefused(_)) => {
                end_all(&mut sessions);
                return Err(e);
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect"),
        }
        backoff.connection_lasted(began.elapsed());
        let delay = backoff.next_delay(rand::random::<f64>());
        tracing::info!(?delay, "reconnecting");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut shutdown => break,
        }
    }
    end_all(&mut sessions);
    tracing::info!("host agent stopped");
    Ok(())
}

/// End every session (shutdown): dropping the tasks releases held input.
fn end_all(sessions: &mut Sessions) {
    for (sid, (tx, task)) in sessions.map.drain() {
        let _ = tx.try_send(SessionIn::End);
        tracing::info!(session = %sid, "ending session");
        drop(task);
    }
}

fn ws_url(server: &str) -> String {
    let base = server
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    format!("{base}/api/v1/ws/host")
}

async fn connect_and_serve(
    url: &str,
    cfg: &HostConfig,
    key: &SigningKey,
    sessions: &mut Sessions,
    watch: &mut Option<AddressWatch>,
) -> Result<Exit, AgentError> {
    let (tx, mut rx): (SignalSender<HostToServer>, SignalReceiver<ServerToHost>) =
        SignalClient::connect(url, ConnectOptions::default())
            .await
            .map_err(|e| AgentError::Unreachable {
                url: cfg.server.clone(),
                reason: e.to_string(),
            })?;
    let heartbeat = authenticate(&tx, &mut rx, cfg, key, sessions).await?;
    tracing::info!(device = %cfg.device_id, "connected to the server");
    // Sessions that outlived the previous connection may owe their viewer
    // an ICE restart offer.
    for (tx, _) in sessions.map.values() {
        let _ = tx.try_send(SessionIn::SignalingRestored);
    }
    let mut beat = interval(heartbeat);
    let mut last_heard = Instant::now();
    let mut probe: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            Some(done) = sessions.done_rx.recv() => {
                sessions.map.remove(&done.session_id);
                if let Some(reason) = done.reason {
                    let end = HostToServer::SessionEnd(SessionEndMsg::new(done.session_id, reason));
                    send(&tx, end).await?;
                }
            }
            Some(out) = sessions.out_rx.recv() => send(&tx, out).await?,
            msg = rx.recv() => match msg {
                Some(Ok(m)) => {
                    last_heard = Instant::now();
                    probe = None;
                    if let Some(reply) = handle(m, sessions)? {
                        send(&tx, reply).await?;
                    }
                }
                // The server is going away and said why: reconnect.
                Some(Err(e @ PeerError::ClosedByServer { .. })) => {
                    return Ok(Exit::Lost(e.to_string()));
                }
                Some(Err(e)) => tracing::warn!(error = %e, "bad message from the server"),
                None => return Ok(Exit::Lost("connection closed".into())),
            },
            removed = netwatch::removed_or_never(watch) => {
                if let Err(e) = removed {
                    tracing::warn!(error = %e, "stopped watching local addresses");
                    *watch = None;
                    continue;
                }
                // Sockets on the old address are dead, this connection's
                // too: reconnect now, and have the sessions restart ICE
                // once it is back.
                for (tx, _) in sessions.map.values() {
                    let _ = tx.try_send(SessionIn::NetworkChanged);
                }
                return Ok(Exit::Lost("a local address was removed".into()));
            }
            _ = sessions.path_lost.notified(), if probe.is_none() => {
                tracing::debug!("a session lost its path: checking the server connection");
                send(&tx, HostToServer::Ping).await?;
                probe = Some(Instant::now() + PROBE_TIMEOUT);
            }
            _ = sleep_or_never(probe) => {
                return Ok(Exit::Lost("no answer from the server after a network change".into()));
            }
            _ = beat.tick() => {
                if last_heard.elapsed() > heartbeat * MISSED_HEARTBEATS {
                    return Ok(Exit::Lost("the server stopped answering".into()));
                }
                send(&tx, HostToServer::Ping).await?;
            }
        }
    }
}

async fn send(tx: &SignalSender<HostToServer>, msg: HostToServer) -> Result<(), AgentError> {
    tx.send(msg).await.map_err(|e| AgentError::Unreachable {
        url: String::new(),
        reason: e.to_string(),
    })
}

/// Challenge, auth, welcome. Returns the heartbeat interval.
async fn authenticate(
    tx: &SignalSender<HostToServer>,
    rx: &mut SignalReceiver<ServerToHost>,
    cfg: &HostConfig,
    key: &SigningKey,
    sessions: &Sessions,
) -> Result<Duration, AgentError> {
    let next = |what: &'static str| {
        AgentError::Protocol(format!("connection closed while waiting for {what}"))
    };
    let msg = timeout(Duration::from_secs(10), rx.recv())
        .await
        .map_err(|_| AgentError::Protocol("no challenge from the server".into()))?;
    let nonce = match msg {
        Some(Ok(ServerToHost::Challenge { nonce, .. })) => nonce,
        Some(Ok(other)) => {
            return Err(AgentError::Protocol(format!(
                "expected challenge, got {other:?}"
            )))
        }
        Some(Err(e)) => return Err(AgentError::Protocol(e.to_string())),
        None => return Err(next("the challenge")),
    };
    let signature = STANDARD.encode(key.sign(&device_auth_payload(&nonce)).to_bytes());
    let auth = HostToServer::Auth {
        protocol: PROTOCOL_VERSION,
        device_id: cfg.device_id.clone(),
        signature,
        info: sessions.info(),
    };
    send(tx, auth).await?;
    let msg = timeout(Duration::from_secs(10), rx.recv())
        .await
        .map_err(|_| AgentError::Protocol("no welcome from the server".into()))?;
    match msg {
        Some(Ok(ServerToHost::Welcome {
            heartbeat_secs,
            name,
            ..
        })) => {
            tracing::info!(%name, "authenticated");
            Ok(Duration::from_secs(u64::from(heartbeat_secs.max(1))))
        }
        Some(Ok(ServerToHost::Error(e)))
            if matches!(
                e.code,
                ErrorCode::Unauthorized | ErrorCode::UnsupportedVersion
            ) =>
        {
            Err(AgentError::AuthRefused(e.message))
        }
        Some(Ok(other)) => Err(AgentError::Protocol(format!(
            "expected welcome, got {other:?}"
        ))),
        Some(Err(e)) => Err(AgentError::Protocol(e.to_string())),
        None => Err(next("the welcome")),
    }
}

/// One message from the server; returns a direct reply.
fn handle(msg: ServerToHost, sessions: &mut Sessions) -> Result<Option<HostToServer>, AgentError> {
    match msg {
        ServerToHost::SessionGrant {
            session_id,
            user,
            permission,
            ice_servers,
        } => {
            tracing::info!(session = %session_id, %user, ?permission, "session granted");
            let grant = Grant {
                session_id: session_id.clone(),
                user,
                permission,
                ice_servers,
            };
            if let Err(reason) = sessions.start(grant) {
                tracing::warn!(%reason, "refusing session");
                return Ok(Some(HostToServer::SessionReject { session_id, reason }));
            }
        }
        ServerToHost::Answer(m) => sessions.forward(&m.session_id, SessionIn::Answer(m.sdp)),
        ServerToHost::Ice(m) => sessions.forward(&m.session_id, SessionIn::Ice(m.candidate)),
        ServerToHost::RestartIce { session_id } => {
            sessions.forward(&session_id, SessionIn::RestartRequested)
        }
        ServerToHost::SessionEnd(m) => {
            tracing::info!(session = %m.session_id, reason = ?m.reason, "session ended by the server");
            sessions.forward(&m.session_id, SessionIn::End);
        }
        ServerToHost::Renamed { name } => tracing::info!(%name, "renamed by the owner"),
        ServerToHost::Error(e) if e.code == ErrorCode::Unauthorized => {
            return Err(AgentError::AuthRefused(e.message))
        }
        ServerToHost::Error(e) => {
            tracing::warn!(code = ?e.code, message = %e.message, "server reported an error")
        }
        ServerToHost::Pong | ServerToHost::Welcome { .. } | ServerToHost::Challenge { .. } => {}
        ServerToHost::Offer(m) => {
            tracing::warn!(session = %m.session_id, "unexpected offer from a viewer; the host offers")
        }
    }
    Ok(None)
}
