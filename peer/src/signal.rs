//! The signaling WebSocket client, for hosts (`/api/v1/ws/host`) and viewers
//! (`/api/v1/ws/viewer`) alike.
//!
//! Messages are the typed enums of `meshdesk_protocol::signal`, carried as
//! JSON text frames (`meshdesk_protocol::encode`/`decode`). The client is
//! thin on purpose: it does not know the handshake (a host answers the
//! server's `challenge` with `auth`; a viewer authenticates with a bearer
//! token header or cookie and gets `welcome`) — the caller does, with
//! `SignalClient::<HostToServer, ServerToHost>` or
//! `SignalClient::<ViewerToServer, ServerToViewer>`.
//!
//! `wss://` URLs verify the server's certificate as [`ConnectOptions::tls`]
//! says (the system's CAs by default; a CA file or a pinned fingerprint
//! through `meshdesk_tls`), never skipping it.
//!
//! One task owns the socket. It sends WebSocket pings every heartbeat
//! interval and gives up when nothing at all arrived for the heartbeat
//! timeout. It is aborted when both the sender and the receiver are dropped.

use std::fmt;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::Message;

use crate::PeerError;
use meshdesk_tasks::AbortOnDrop;

/// Messages waiting to be written; a full queue makes `send` wait.
const OUTGOING_CAPACITY: usize = 64;
/// Decoded messages waiting for the application.
const INCOMING_CAPACITY: usize = 256;
/// How long completing the close handshake the server began may take.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// A secret token; its `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Sent as `Authorization: Bearer TOKEN` (viewers). Default: none.
    pub bearer_token: Option<BearerToken>,
    /// Extra request headers, e.g. a `Cookie`. Default: none.
    pub headers: Vec<(String, String)>,
    /// How often to send a WebSocket ping. Default: 15 s.
    pub heartbeat_interval: Duration,
    /// Give up when nothing arrived for this long. Default: 45 s.
    pub heartbeat_timeout: Duration,
    /// How `wss://` servers are verified (`meshdesk_tls::client_config`).
    /// Default: none, the system's trusted CAs.
    pub tls: Option<Arc<meshdesk_tls::rustls::ClientConfig>>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            bearer_token: None,
            headers: Vec::new(),
            heartbeat_interval: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(45),
            tls: None,
        }
    }
}

impl ConnectOptions {
    /// Authenticate with `Authorization: Bearer TOKEN`.
    pub fn with_bearer(mut self, token: BearerToken) -> Self {
        self.bearer_token = Some(token);
        self
    }

    /// Add a request header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Verify `wss://` servers with this config.
    pub fn with_tls(mut self, tls: Arc<meshdesk_tls::rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Set the ping interval and the silence after which the connection is
    /// considered dead.
    pub fn with_heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.heartbeat_timeout = timeout;
        self
    }
}

/// Connects a typed signaling WebSocket: `Out` is what we send, `In` what
/// the server sends.
#[derive(Debug)]
pub struct SignalClient<Out, In>(PhantomData<fn(Out) -> In>);

impl<Out, In> SignalClient<Out, In>
where
    Out: Serialize + Send + 'static,
    In: DeserializeOwned + Send + 'static,
{
    /// Open the WebSocket at `url` (`ws://` or `wss://`).
    pub async fn connect(
        url: &str,
        options: ConnectOptions,
    ) -> Result<(SignalSender<Out>, SignalReceiver<In>), PeerError> {
        let mut request = url
            .into_client_request()
            .map_err(|e| PeerError::InvalidRequest(e.to_string()))?;
        let headers = request.headers_mut();
        if let Some(BearerToken(token)) = &options.bearer_token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| PeerError::InvalidRequest("token is not a valid header".into()))?;
            headers.insert(header::AUTHORIZATION, value);
        }
        for (name, value) in &options.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| PeerError::InvalidRequest(e.to_string()))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| PeerError::InvalidRequest(e.to_string()))?;
            headers.insert(name, value);
        }
        let connector = tls_connector(url, &options)?;
        // No Nagle: signaling messages are small and latency-bound.
        let (socket, _response) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector)
                .await
                .map_err(|e| match (&e, meshdesk_tls::refusal(&e)) {
                    // The certificate refusal itself, not "IO error: ...".
                    (_, Some(refused)) => PeerError::WebSocket(refused.to_string()),
                    (tokio_tungstenite::tungstenite::Error::Http(answer), None) => {
                        PeerError::UpgradeRefused {
                            status: answer.status().as_u16(),
                            text: e.to_string(),
                        }
                    }
                    (_, None) => PeerError::WebSocket(e.to_string()),
                })?;

        let (out_tx, out_rx) = mpsc::channel(OUTGOING_CAPACITY);
        let (in_tx, in_rx) = mpsc::channel(INCOMING_CAPACITY);
        let task = Arc::new(AbortOnDrop::spawn(run::<Out, In>(
            socket, out_rx, in_tx, options,
        )));
        let sender = SignalSender {
            tx: out_tx,
            _task: Arc::clone(&task),
        };
        let receiver = SignalReceiver {
            rx: in_rx,
            _task: task,
        };
        Ok((sender, receiver))
    }
}

/// The TLS connector for a `wss://` URL: the configured one, or the
/// system's CAs. `None` for `ws://`.
fn tls_connector(
    url: &str,
    options: &ConnectOptions,
) -> Result<Option<tokio_tungstenite::Connector>, PeerError> {
    if !url.starts_with("wss://") {
        return Ok(None);
    }
    let config = match &options.tls {
        Some(c) => Arc::clone(c),
        None => meshdesk_tls::client_config(&meshdesk_tls::Trust::System)
            .map_err(|e| PeerError::InvalidRequest(e.to_string()))?,
    };
    Ok(Some(tokio_tungstenite::Connector::Rustls(config)))
}

/// What the sender asks of the socket task.
#[derive(Debug)]
enum Command<Out> {
    Send(Out),
    Close,
}

/// Sends typed messages. Cloneable; dropping every sender closes the socket.
#[derive(Debug)]
pub struct SignalSender<Out> {
    /// To the socket task.
    tx: mpsc::Sender<Command<Out>>,
    /// Keeps the socket task alive while either half exists.
    _task: Arc<AbortOnDrop>,
}

impl<Out> Clone for SignalSender<Out> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            _task: Arc::clone(&self._task),
        }
    }
}

impl<Out> SignalSender<Out> {
    /// Queue one message; fails once the connection is gone.
    pub async fn send(&self, message: Out) -> Result<(), PeerError> {
        self.tx
            .send(Command::Send(message))
            .await
            .map_err(|_| PeerError::Closed)
    }

    /// Send a close frame and end the connection.
    pub async fn close(&self) {
        let _ = self.tx.send(Command::Close).await;
    }
}

/// Receives typed messages. `recv` yields `Err(PeerError::Decode)` for a
/// message that does not decode (the connection goes on);
/// `Err(PeerError::WebSocket)` once before the end if the connection
/// failed, or `Err(PeerError::ClosedByServer)` if the server closed it
/// saying why (it is shutting down); `None` after the connection ended.
#[derive(Debug)]
pub struct SignalReceiver<In> {
    /// From the socket task.
    rx: mpsc::Receiver<Result<In, PeerError>>,
    /// Keeps the socket task alive while either half exists.
    _task: Arc<AbortOnDrop>,
}

impl<In> SignalReceiver<In> {
    pub async fn recv(&mut self) -> Option<Result<In, PeerError>> {
        self.rx.recv().await
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The socket task: writes queued messages, reads and decodes frames,
/// pings, and watches for silence.
async fn run<Out: Serialize, In: DeserializeOwned>(
    socket: Socket,
    mut outgoing: mpsc::Receiver<Command<Out>>,
    incoming: mpsc::Sender<Result<In, PeerError>>,
    options: ConnectOptions,
) {
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval_at(
        Instant::now() + options.heartbeat_interval,
        options.heartbeat_interval,
    );
    let mut last_heard = Instant::now();
    let failure = loop {
        tokio::select! {
            biased;
            frame = stream.next() => {
                let frame = match frame {
                    None => break None,
                    Some(Err(e)) => break Some(PeerError::WebSocket(e.to_string())),
                    Some(Ok(frame)) => frame,
                };
                last_heard = Instant::now();
                if let ControlFlow::Break(failure) = on_frame(frame, &incoming, &mut sink).await {
                    break failure;
                }
            }
            command = outgoing.recv() => match command {
                Some(Command::Send(message)) => {
                    let text = meshdesk_protocol::encode(&message);
                    if let Err(e) = sink.send(Message::text(text)).await {
                        break Some(PeerError::WebSocket(e.to_string()));
                    }
                }
                Some(Command::Close) | None => {
                    let _ = sink.send(Message::Close(None)).await;
                    break None;
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() >= options.heartbeat_timeout {
                    let silent = "heartbeat timeout: the server went silent".to_owned();
                    break Some(PeerError::WebSocket(silent));
                }
                if let Err(e) = sink.send(Message::Ping(Default::default())).await {
                    break Some(PeerError::WebSocket(e.to_string()));
                }
            }
        }
    };
    match &failure {
        Some(PeerError::ClosedByServer { code, reason }) => {
            tracing::info!(code, %reason, "the server closed the signaling connection");
        }
        Some(error) => tracing::debug!(%error, "signaling connection failed"),
        None => {}
    }
    if let Some(error) = failure {
        let _ = incoming.send(Err(error)).await;
    }
}

/// One frame from the server: hand a message on, or end the connection
/// (`Break`, with the error to report, if any).
async fn on_frame<In: DeserializeOwned>(
    frame: Message,
    incoming: &mpsc::Sender<Result<In, PeerError>>,
    sink: &mut SplitSink<Socket, Message>,
) -> ControlFlow<Option<PeerError>> {
    match frame {
        Message::Text(text) => {
            let decoded = meshdesk_protocol::decode::<In>(&text).map_err(PeerError::from);
            if incoming.send(decoded).await.is_err() {
                return ControlFlow::Break(None); // Nobody listens any more.
            }
        }
        Message::Close(Some(frame)) => {
            // Complete the close handshake: the server waits for it.
            let _ = tokio::time::timeout(CLOSE_REPLY_TIMEOUT, sink.close()).await;
            return ControlFlow::Break(Some(PeerError::ClosedByServer {
                code: frame.code.into(),
                reason: frame.reason.to_string(),
            }));
        }
        Message::Close(None) => return ControlFlow::Break(None),
        // Pongs to the server's pings are queued by tungstenite and flushed
        // on the next read or write.
        _ => {}
    }
    ControlFlow::Continue(())
}
