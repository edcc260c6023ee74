//! `meshdesk-host run`: stay connected to the server (authenticating with
//! the device key), heartbeat, reconnect, and run the sessions the server
//! grants. With several server URLs (host.toml `server = [...]`, the nodes
//! of a cluster) a failed or dropped connection moves to the next one at
//! once ([`ServerList`]); after a whole round failed the agent waits the
//! jittered backoff. Sessions live in the [`Sessions`] registry, which
//! outlives any one signaling connection: media is peer to peer, so a
//! session keeps running while the server is away.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use meshdesk_peer::netwatch::{self, AddressWatch};
use meshdesk_peer::server_list::Next;
use meshdesk_peer::{
    ConnectOptions, PeerError, ServerList, SignalClient, SignalReceiver, SignalSender,
};
use meshdesk_protocol::signal::{ErrorCode, HostToServer, ServerToHost};
use meshdesk_protocol::{device_auth_payload, PROTOCOL_VERSION};
use tokio::time::{timeout, Instant};

use super::backoff::Backoff;
use super::config::HostConfig;
use super::liveness::{Liveness, Verdict};
use super::screens;
use super::session::{Grant, SessionIn};
use super::sessions::Sessions;
use super::status::StatusFile;
use super::systemd::Systemd;
use super::AgentError;

/// How one signaling connection ended.
#[derive(Debug)]
enum Exit {
    /// Shutdown was asked for.
    Shutdown,
    /// The connection dropped after `online_for` online; reconnect.
    Lost { why: String, online_for: Duration },
}

/// Run the agent until `shutdown` resolves. Returns an error only when the
/// server refuses this device for good (removed, or its key is unknown).
pub async fn run(
    cfg: HostConfig,
    key: SigningKey,
    status: StatusFile,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    let mut sessions = Sessions::new(&cfg, &key)?;
    let _metrics = sessions.serve_metrics(&cfg.metrics).await?;
    // Says in the log, once and now, when there is no sound to be had.
    let sound = sessions.sound();
    let _sound_check = meshdesk_tasks::AbortOnDrop::spawn(async move {
        if sound.check().await.is_ok() {
            tracing::info!("sound server found: sessions get the PC's sound");
        }
    });
    let systemd = Systemd::from_env(sessions.media());
    let announce = Announce {
        status: &status,
        systemd: &systemd,
    };
    let mut backoff = Backoff::default();
    let mut watch = netwatch::open_or_warn();
    // Checked when host.toml was loaded.
    let mut servers = cfg
        .servers()
        .map_err(|e| AgentError::BadUrl(e.to_string()))?;
    let options = super::tls::signal_options(&cfg)?;
    tokio::pin!(shutdown);
    loop {
        let server = servers.current().to_string();
        let exit = tokio::select! {
            r = connect_and_serve(&server, &options, &cfg, &key, &mut sessions, &mut watch, &announce) => r,
            _ = &mut shutdown => Ok(Exit::Shutdown),
            never = systemd.beating() => match never {},
        };
        announce.offline();
        let online_for = match exit {
            Ok(Exit::Shutdown) => break,
            Ok(Exit::Lost { why, online_for }) => {
                tracing::warn!(%server, %why, "disconnected from the server");
                servers.connected();
                online_for
            }
            Err(e @ AgentError::AuthRefused(_)) => {
                sessions.end_all();
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(%server, error = %e, "cannot connect");
                Duration::ZERO
            }
        };
        let delay = next_delay(&mut servers, &mut backoff, online_for);
        tracing::info!(?delay, server = servers.current(), "reconnecting");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut shutdown => break,
            never = systemd.beating() => match never {},
        }
    }
    sessions.end_all();
    tracing::info!("host agent stopped");
    Ok(())
}

/// How long to wait before the next attempt, and move `servers` on: a
/// moment before the next server of the list, the backoff after a whole
/// round failed (reset first if the connection had been stable).
fn next_delay(servers: &mut ServerList, backoff: &mut Backoff, online_for: Duration) -> Duration {
    backoff.connection_lasted(online_for);
    match servers.failed() {
        Next::Another => backoff.spread(rand::random::<f64>()),
        Next::RoundOver => backoff.next_delay(rand::random::<f64>()),
    }
}

/// Who hears that the agent came online or went offline: the status file
/// `meshdesk-host status` reads, and systemd (READY=1 and its status line).
struct Announce<'a> {
    status: &'a StatusFile,
    systemd: &'a Systemd,
}

impl Announce<'_> {
    fn online(&self, server: &str) {
        self.status.set_online(Some(server));
        self.systemd.online();
    }

    fn offline(&self) {
        self.status.set_online(None);
        self.systemd.offline();
    }
}

fn ws_url(server: &str) -> String {
    meshdesk_peer::server_url::websocket_url(server, "/api/v1/ws/host")
}

/// Connect to `server` and authenticate (an error: it never got online),
/// then serve until the connection ends (`Exit::Lost`, with how long it
/// was online) or the server refuses this device for good.
async fn connect_and_serve(
    server: &str,
    options: &ConnectOptions,
    cfg: &HostConfig,
    key: &SigningKey,
    sessions: &mut Sessions,
    watch: &mut Option<AddressWatch>,
    announce: &Announce<'_>,
) -> Result<Exit, AgentError> {
    let (tx, mut rx): (SignalSender<HostToServer>, SignalReceiver<ServerToHost>) =
        SignalClient::connect(&ws_url(server), options.clone())
            .await
            .map_err(|e| AgentError::Unreachable {
                url: server.to_string(),
                reason: e.to_string(),
            })?;
    let heartbeat = authenticate(&tx, &mut rx, cfg, key, sessions).await?;
    tracing::info!(device = %cfg.device_id, %server, "connected to the server");
    announce.online(server);
    let online = Instant::now();
    // Sessions that outlived the previous connection may owe their viewer
    // an ICE restart offer.
    sessions.tell_all(&SessionIn::SignalingRestored);
    let why = match serve(&tx, &mut rx, heartbeat, sessions, watch).await {
        Ok(why) => why,
        Err(e @ AgentError::AuthRefused(_)) => return Err(e),
        Err(e) => e.to_string(),
    };
    Ok(Exit::Lost {
        why,
        online_for: online.elapsed(),
    })
}

/// Serve one authenticated connection; returns why it ended.
async fn serve(
    tx: &SignalSender<HostToServer>,
    rx: &mut SignalReceiver<ServerToHost>,
    heartbeat: Duration,
    sessions: &mut Sessions,
    watch: &mut Option<AddressWatch>,
) -> Result<String, AgentError> {
    let mut liveness = Liveness::new(heartbeat, Instant::now());
    loop {
        let step = tokio::select! {
            biased;
            // What a session sent goes out before its end (a consent
            // decision before the `session_end` it leads to).
            Some(out) = sessions.out_rx.recv() => Step::Send(Some(out)),
            Some(done) = sessions.done_rx.recv() => Step::Send(sessions.finished(done)),
            msg = rx.recv() => from_server(msg, sessions, &mut liveness)?,
            removed = netwatch::removed_or_never(watch) => Step::Judged(address_removed(removed, sessions, watch)),
            changed = screens::changed_or_never(&sessions.monitor_watch) => Step::Send(sessions.monitors_changed(changed)),
            () = sessions.path_lost.notified() => {
                tracing::debug!("a session lost its path: checking the server connection");
                Step::Judged(liveness.path_lost(Instant::now()))
            }
            () = tokio::time::sleep_until(liveness.deadline()) => Step::Judged(liveness.tick(Instant::now())),
        };
        match step {
            Step::Send(Some(msg)) => send(tx, msg).await?,
            Step::Send(None) | Step::Judged(Verdict::Wait) => {}
            Step::Judged(Verdict::Ping) => send(tx, HostToServer::Ping).await?,
            Step::Judged(Verdict::Dead(why)) => return Ok(why.into()),
            Step::Lost(why) => return Ok(why),
        }
    }
}

/// What the connection loop does after one event.
enum Step {
    /// Send this to the server (if anything).
    Send(Option<HostToServer>),
    /// What the connection's liveness calls for.
    Judged(Verdict),
    /// The connection is gone, for this reason.
    Lost(String),
}

/// One message (or the end) from the server.
fn from_server(
    msg: Option<Result<ServerToHost, PeerError>>,
    sessions: &mut Sessions,
    liveness: &mut Liveness,
) -> Result<Step, AgentError> {
    match msg {
        Some(Ok(m)) => {
            liveness.heard(Instant::now());
            Ok(Step::Send(handle(m, sessions)?))
        }
        // The server is going away and said why: reconnect.
        Some(Err(e @ PeerError::ClosedByServer { .. })) => Ok(Step::Lost(e.to_string())),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "bad message from the server");
            Ok(Step::Send(None))
        }
        None => Ok(Step::Judged(Verdict::Dead("connection closed"))),
    }
}

/// This machine lost a local address (or the watch failed). Sockets on the
/// old address are dead, this connection's too: reconnect now, and have
/// the sessions restart ICE once it is back.
fn address_removed(
    removed: std::io::Result<()>,
    sessions: &Sessions,
    watch: &mut Option<AddressWatch>,
) -> Verdict {
    if let Err(e) = removed {
        tracing::warn!(error = %e, "stopped watching local addresses");
        *watch = None;
        return Verdict::Wait;
    }
    sessions.tell_all(&SessionIn::NetworkChanged);
    Verdict::Dead("a local address was removed")
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
            consent,
            display_name,
            screen,
            sound,
            files_only,
            view_may_copy,
        } => {
            tracing::info!(session = %session_id, %user, ?permission, consent = consent.as_str(), "session granted");
            let grant = Grant {
                session_id: session_id.clone(),
                user,
                permission,
                ice_servers,
                consent,
                display_name,
                screen,
                sound,
                files_only,
                view_may_copy,
            };
            if let Err(why) = sessions.start(grant) {
                tracing::warn!(reason = %why, "refusing session");
                let reason = why.to_string();
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
