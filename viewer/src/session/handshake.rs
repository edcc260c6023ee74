//! Opening a session: the viewer WebSocket (on the first of the login's
//! servers that answers), `session_request`, the server's
//! `session_created`, the host's `offer`, our `answer` (docs/protocol.md
//! section 10.1). Connectivity (ICE) is finished by the session driver.

use std::time::Duration;

use meshdesk_peer::server_list::{worth_another, Next};
use meshdesk_peer::{
    ConnectOptions, PeerError, ServerList, SignalClient, SignalReceiver, SignalSender,
};
use meshdesk_peer::{ViewerPeer, ViewerStreams};
use meshdesk_protocol::rest::{Device, IceServer, Permission};
use meshdesk_protocol::signal::{
    EndReason, ErrorCode, ErrorMsg, ServerToViewer, SessionEndMsg, ViewerToServer,
};

use super::verify::Verifier;
use crate::account::api::viewer_ws_url;
use crate::account::login_file::Login;
use crate::ViewerError;

/// How long the server and the host may take to produce an offer.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// WebSocket pings on the signaling connection, and the silence after which
/// it counts as dead: short, so a session notices a silently dead (half-
/// open) connection within 9 to 12 s, well inside the server's 30 s grace
/// for a resume.
const HEARTBEAT: (Duration, Duration) = (Duration::from_secs(3), Duration::from_secs(9));
/// Our `request_id`, to recognise the reply to our `session_request`.
const REQUEST_ID: &str = "connect";

/// Where and how to open the viewer WebSocket: the first time, and again
/// to resume the session.
#[derive(Debug, Clone)]
pub struct SignalTarget {
    /// The login's server URLs; the current one is where the WebSocket
    /// goes first (the one that last answered, the session's once it has
    /// one).
    pub servers: ServerList,
    /// The bearer token (never logged) and the heartbeat.
    pub options: ConnectOptions,
}

/// An open signaling connection.
pub type Signal = (SignalSender<ViewerToServer>, SignalReceiver<ServerToViewer>);

impl SignalTarget {
    /// The login's token and trust, for `servers` (from
    /// [`crate::account::Servers::list`], so that the WebSocket goes first
    /// where REST was answered).
    pub fn new(login: &Login, servers: ServerList) -> Result<Self, ViewerError> {
        let tls = crate::account::server_trust::client_config(login)?;
        Ok(Self {
            servers,
            options: ConnectOptions::default()
                .with_bearer(login.bearer())
                .with_heartbeat(HEARTBEAT.0, HEARTBEAT.1)
                .with_tls(tls),
        })
    }

    /// `ws(s)://SERVER/api/v1/ws/viewer` of the current server.
    pub fn url(&self) -> String {
        viewer_ws_url(self.servers.current())
    }

    /// Connect to the current server.
    pub async fn connect_current(&self) -> Result<Signal, PeerError> {
        SignalClient::connect(&self.url(), self.options.clone()).await
    }

    /// Connect to the first server that answers, from the current one on;
    /// one that refuses the upgrade (a 401: the login expired) stops it.
    pub async fn connect(&mut self) -> Result<Signal, ViewerError> {
        let mut failures = Vec::new();
        loop {
            match self.connect_current().await {
                Ok(signal) => {
                    self.servers.connected();
                    return Ok(signal);
                }
                Err(e) if worth_another(e.status()) => {
                    failures.push((self.url(), e));
                    if self.servers.failed() == Next::RoundOver {
                        return Err(none_answered(failures));
                    }
                    if let Some((url, e)) = failures.last() {
                        tracing::debug!(%url, error = %e, next = self.servers.current(), "no answer; trying the next server");
                    }
                }
                Err(e) => return Err(websocket_error(e)),
            }
        }
    }
}

/// The error once no server answered: as before for one server, else each
/// with its reason.
fn none_answered(mut failures: Vec<(String, PeerError)>) -> ViewerError {
    if failures.len() == 1 {
        return websocket_error(failures.remove(0).1);
    }
    let each: Vec<String> = failures
        .iter()
        .map(|(url, e)| format!("{url}: {e}"))
        .collect();
    ViewerError::ConnectionFailed(format!("signaling: {}", each.join("; ")))
}

/// A session whose offer was answered; ICE may still be running.
#[derive(Debug)]
pub struct Established {
    pub peer: ViewerPeer,
    pub streams: ViewerStreams,
    pub session_id: String,
    /// The session's resume secret, from `session_created`.
    pub resume_secret: Option<String>,
    /// How long the server keeps the session after a lost connection
    /// (`session_created`'s `resume_grace_secs`).
    pub resume_grace_secs: Option<u64>,
    /// What the server granted: `view` sessions send no input.
    pub permission: Permission,
    pub signal_tx: SignalSender<ViewerToServer>,
    pub signal_rx: SignalReceiver<ServerToViewer>,
    /// To connect again after the connection failed.
    pub target: SignalTarget,
    /// Checks the host's DTLS binding before any input goes out.
    pub verifier: Verifier,
}

/// Ask for a session on `device` and answer the host's offer.
/// `key` is the device's pinned public key, which must sign the session's
/// DTLS binding; `screen` the monitor to show first (`None`: the primary).
pub async fn establish(
    target: SignalTarget,
    device: &Device,
    key: &[u8; 32],
    relay_only: bool,
    screen: Option<&str>,
) -> Result<Established, ViewerError> {
    establish_kind(target, device, key, relay_only, screen, false).await
}

/// [`establish`] a files-only session: no screen, no video, no sound.
pub async fn establish_files(
    target: SignalTarget,
    device: &Device,
    key: &[u8; 32],
) -> Result<Established, ViewerError> {
    establish_kind(target, device, key, false, None, true).await
}

async fn establish_kind(
    target: SignalTarget,
    device: &Device,
    key: &[u8; 32],
    relay_only: bool,
    screen: Option<&str>,
    files_only: bool,
) -> Result<Established, ViewerError> {
    let mut deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    let kind = (screen, files_only);
    let result = establish_inner(target, device, key, relay_only, kind, &mut deadline).await;
    result.map_err(|e| match e {
        None => ViewerError::ConnectionFailed(format!(
            "no answer from the remote PC within {} s",
            HANDSHAKE_TIMEOUT.as_secs()
        )),
        Some(e) => e,
    })
}

/// `fut`, unless `deadline` passes first (`Err(None)`).
async fn within<T>(
    deadline: tokio::time::Instant,
    fut: impl std::future::Future<Output = Result<T, ViewerError>>,
) -> Result<T, Option<ViewerError>> {
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(r) => r.map_err(Some),
        Err(_) => Err(None),
    }
}

/// The handshake; `Err(None)` when `deadline` passed (a consent prompt on
/// the remote PC moves it).
async fn establish_inner(
    mut target: SignalTarget,
    device: &Device,
    key: &[u8; 32],
    relay_only: bool,
    (screen, files_only): (Option<&str>, bool),
    deadline: &mut tokio::time::Instant,
) -> Result<Established, Option<ViewerError>> {
    let (signal_tx, mut signal_rx) = within(*deadline, target.connect()).await?;
    let created = within(*deadline, async {
        signal_tx
            .send(ViewerToServer::SessionRequest {
                device_id: device.id.clone(),
                request_id: Some(REQUEST_ID.into()),
                screen: screen.map(str::to_owned),
                files_only,
            })
            .await
            .map_err(websocket_error)?;
        await_created(&mut signal_rx, &device.name).await
    })
    .await?;
    tracing::info!(session = %created.session_id, permission = created.permission.as_str(), "session created");
    let (peer, streams) = within(*deadline, async {
        ViewerPeer::with_policy(&created.ice_servers, relay_only)
            .await
            .map_err(peer_error)
    })
    .await?;
    let sid = &created.session_id;
    let (early, verifier) =
        super::consent::answer_offer(&peer, (sid, key), &signal_tx, &mut signal_rx, deadline)
            .await?;
    for candidate in early {
        if let Err(e) = peer.add_remote_candidate(candidate).await {
            tracing::debug!(error = %e, "early candidate refused");
        }
    }
    Ok(Established {
        peer,
        streams,
        session_id: created.session_id,
        resume_secret: created.resume_secret,
        resume_grace_secs: created.resume_grace_secs,
        permission: created.permission,
        signal_tx,
        signal_rx,
        target,
        verifier,
    })
}

/// What `session_created` told us.
struct Created {
    session_id: String,
    permission: Permission,
    ice_servers: Vec<IceServer>,
    resume_secret: Option<String>,
    resume_grace_secs: Option<u64>,
}

/// Wait for the answer to our `session_request`.
async fn await_created(
    rx: &mut SignalReceiver<ServerToViewer>,
    device_name: &str,
) -> Result<Created, ViewerError> {
    loop {
        match next(rx).await? {
            ServerToViewer::SessionCreated {
                session_id,
                permission,
                ice_servers,
                request_id,
                resume_secret,
                resume_grace_secs,
                ..
            } if request_id.as_deref() == Some(REQUEST_ID) => {
                return Ok(Created {
                    session_id,
                    permission,
                    ice_servers,
                    resume_secret,
                    resume_grace_secs,
                })
            }
            ServerToViewer::Error(e) if e.request_id.as_deref() == Some(REQUEST_ID) => {
                return Err(request_error(&e, device_name))
            }
            _ => {}
        }
    }
}

/// The next decodable message; the connection ending is an error here.
pub(super) async fn next(
    rx: &mut SignalReceiver<ServerToViewer>,
) -> Result<ServerToViewer, ViewerError> {
    loop {
        match rx.recv().await {
            Some(Ok(m)) => return Ok(m),
            Some(Err(PeerError::Decode(e))) => tracing::debug!(error = %e, "undecodable message"),
            Some(Err(e)) => return Err(websocket_error(e)),
            None => {
                return Err(ViewerError::ConnectionFailed(
                    "the server closed the connection".into(),
                ))
            }
        }
    }
}

/// What a refused `session_request` means for the person connecting.
pub fn request_error(e: &ErrorMsg, device_name: &str) -> ViewerError {
    match e.code {
        // Both "no such device" and "not yours" on purpose (protocol 10.3).
        ErrorCode::NotFound => ViewerError::UnknownDevice(device_name.to_string()),
        ErrorCode::Offline => ViewerError::Offline(device_name.to_string()),
        ErrorCode::Unauthorized => ViewerError::LoginExpired,
        ErrorCode::Forbidden | ErrorCode::RateLimited => ViewerError::Refused(e.message.clone()),
        _ => ViewerError::Server(e.message.clone()),
    }
}

/// A session that ended before it was set up: a refusal with the host's
/// own words says them.
pub fn ended_early(end: SessionEndMsg) -> ViewerError {
    match (end.reason, end.detail) {
        (EndReason::Rejected, Some(why)) => ViewerError::Refused(why),
        (reason, _) => ViewerError::Ended(reason),
    }
}

/// What a failed or refused WebSocket means for the person connecting.
pub fn websocket_error(e: PeerError) -> ViewerError {
    if e.status() == Some(401) {
        ViewerError::LoginExpired
    } else {
        ViewerError::ConnectionFailed(format!("signaling: {e}"))
    }
}

pub(super) fn peer_error(e: PeerError) -> ViewerError {
    ViewerError::ConnectionFailed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: ErrorCode, message: &str) -> ErrorMsg {
        ErrorMsg {
            code,
            message: message.into(),
            session_id: None,
            request_id: Some(REQUEST_ID.into()),
        }
    }

    #[test]
    fn refusals_become_clear_errors() {
        let e = request_error(&err(ErrorCode::Offline, "the device is offline"), "pc");
        assert_eq!(e.to_string(), "device `pc` is offline");
        let e = request_error(&err(ErrorCode::NotFound, "no such device"), "pc");
        assert!(matches!(e, ViewerError::UnknownDevice(_)));
        let e = request_error(&err(ErrorCode::Forbidden, "too many sessions"), "pc");
        assert_eq!(e.to_string(), "session refused: too many sessions");
        let e = request_error(&err(ErrorCode::Internal, "database"), "pc");
        assert!(matches!(e, ViewerError::Server(_)));
    }

    #[test]
    fn a_refusal_says_the_hosts_reason_when_it_has_one() {
        let end = |reason, detail: Option<&str>| SessionEndMsg {
            session_id: "s".into(),
            reason,
            detail: detail.map(Into::into),
        };
        let e = ended_early(end(
            EndReason::Rejected,
            Some("too many sessions on this host"),
        ));
        assert_eq!(
            e.to_string(),
            "session refused: too many sessions on this host"
        );
        let e = ended_early(end(EndReason::Rejected, None));
        assert!(matches!(e, ViewerError::Ended(EndReason::Rejected)));
        let e = ended_early(end(EndReason::Revoked, Some("ignored")));
        assert!(matches!(e, ViewerError::Ended(EndReason::Revoked)));
    }

    #[test]
    fn refused_upgrades_mean_the_login_expired() {
        let refused = |status| PeerError::UpgradeRefused {
            status,
            text: format!("HTTP error: {status}"),
        };
        assert!(matches!(
            websocket_error(refused(401)),
            ViewerError::LoginExpired
        ));
        let e = websocket_error(refused(403));
        assert_eq!(
            e.to_string(),
            "connection failed: signaling: websocket: HTTP error: 403"
        );
        let e = websocket_error(PeerError::WebSocket("Connection refused".into()));
        assert!(e.to_string().starts_with("connection failed: signaling:"));
    }

    #[tokio::test]
    async fn the_websocket_goes_to_the_next_server_when_one_cannot_be_reached() {
        // Two ports nobody listens on: each is tried once, and both named.
        let dead = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            format!("http://{}", l.local_addr().expect("addr"))
        };
        let (a, b) = (dead(), dead());
        let mut target = SignalTarget {
            servers: ServerList::new(vec![a.clone(), b.clone()]).expect("two"),
            options: ConnectOptions::default(),
        };
        let e = target.connect().await.expect_err("nobody there");
        let text = e.to_string();
        assert!(
            text.contains(&viewer_ws_url(&a)) && text.contains(&viewer_ws_url(&b)),
            "{text}"
        );
        assert_eq!(
            target.servers.current(),
            a,
            "the next try starts again at the first"
        );
    }
}
