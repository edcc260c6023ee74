//! WebSocket test clients for both endpoints: one generic connection type,
//! parameterised by role, so hosts and viewers share send, receive, wait and
//! assertion helpers.

use std::fmt::Debug;
use std::marker::PhantomData;

use futures_util::{SinkExt, StreamExt};
use meshdesk_protocol::signal::{
    DeviceInfo, ErrorCode, ErrorMsg, HostToServer, IceCandidate, IceMsg, Screen, ServerToHost,
    ServerToViewer, ViewerToServer,
};
use meshdesk_protocol::{decode, encode, PROTOCOL_VERSION};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Server, TestDevice, WAIT};

/// A client WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Open a client WebSocket the way the real clients do (no Nagle) and with
/// a small read buffer: tungstenite zeroes its whole read buffer (128 KiB
/// by default) before every read, which made the load generator of
/// `bench signaling` spend a third of its time in `memset`.
pub async fn ws_connect(
    req: impl IntoClientRequest + Unpin,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    tokio_tungstenite::connect_async_with_config(req, Some(config), true)
        .await
        .map(|(ws, _)| ws)
}

/// An `ice` message of `session_id` carrying candidate text `candidate`.
pub fn ice(session_id: &str, candidate: &str) -> IceMsg {
    IceMsg {
        session_id: session_id.into(),
        candidate: IceCandidate {
            candidate: candidate.into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        },
    }
}

/// What differs between the host and the viewer endpoint.
pub trait Role {
    /// Messages this role sends.
    type Out: Serialize;
    /// Messages the server sends to this role.
    type In: DeserializeOwned + Debug + PartialEq;
    /// For failure messages.
    const NAME: &'static str;
    fn ping() -> Self::Out;
    fn is_pong(m: &Self::In) -> bool;
    /// The error inside a message, if it is one.
    fn error(m: &Self::In) -> Option<&ErrorMsg>;
}

/// The host endpoint.
#[derive(Debug)]
pub enum HostRole {}

/// The viewer endpoint.
#[derive(Debug)]
pub enum ViewerRole {}

impl Role for HostRole {
    type Out = HostToServer;
    type In = ServerToHost;
    const NAME: &'static str = "host";
    fn ping() -> HostToServer {
        HostToServer::Ping
    }
    fn is_pong(m: &ServerToHost) -> bool {
        matches!(m, ServerToHost::Pong)
    }
    fn error(m: &ServerToHost) -> Option<&ErrorMsg> {
        match m {
            ServerToHost::Error(e) => Some(e),
            _ => None,
        }
    }
}

impl Role for ViewerRole {
    type Out = ViewerToServer;
    type In = ServerToViewer;
    const NAME: &'static str = "viewer";
    fn ping() -> ViewerToServer {
        ViewerToServer::Ping
    }
    fn is_pong(m: &ServerToViewer) -> bool {
        matches!(m, ServerToViewer::Pong)
    }
    fn error(m: &ServerToViewer) -> Option<&ErrorMsg> {
        match m {
            ServerToViewer::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// A connection to one endpoint.
#[derive(Debug)]
pub struct Conn<R> {
    pub ws: Ws,
    role: PhantomData<R>,
}

/// A host connection.
pub type HostConn = Conn<HostRole>;
/// A viewer connection.
pub type ViewerConn = Conn<ViewerRole>;

async fn recv_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Err(_) => panic!("no message within {WAIT:?}"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(Message::Close(_)))) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

impl<R: Role> Conn<R> {
    /// Wrap an already upgraded socket.
    pub fn new(ws: Ws) -> Conn<R> {
        Conn {
            ws,
            role: PhantomData,
        }
    }

    pub async fn send(&mut self, msg: &R::Out) {
        self.send_raw(&encode(msg)).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// Close with a close frame, as a page that is closed or left does.
    pub async fn close(mut self) {
        self.ws.close(None).await.expect("close frame");
    }

    /// Next message; panics on timeout or close.
    pub async fn recv(&mut self) -> R::In {
        self.recv_or_closed()
            .await
            .unwrap_or_else(|| panic!("{} socket closed", R::NAME))
    }

    /// Next message, or None when the server closed the socket.
    pub async fn recv_or_closed(&mut self) -> Option<R::In> {
        let t = recv_text(&mut self.ws).await?;
        Some(decode(&t).unwrap_or_else(|e| panic!("server sent undecodable {t}: {e}")))
    }

    /// Skip messages until one matches; panics after the timeout.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&R::In) -> bool) -> R::In {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = tokio::time::timeout(left, self.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"));
            if pred(&m) {
                return m;
            }
        }
    }

    /// Ping and skip everything up to the pong: all earlier messages are consumed.
    pub async fn sync(&mut self) {
        self.send(&R::ping()).await;
        self.wait_for("pong", R::is_pong).await;
    }

    /// Ping and assert the very next message is the pong: nothing arrived meanwhile.
    pub async fn assert_quiet(&mut self) {
        self.send(&R::ping()).await;
        let m = self.recv().await;
        assert!(
            R::is_pong(&m),
            "{} expected nothing before pong, got {m:?}",
            R::NAME
        );
    }

    /// The next message must be an error with this code; returns it.
    pub async fn expect_error(&mut self, code: ErrorCode) -> ErrorMsg {
        let m = self.recv().await;
        match R::error(&m) {
            Some(e) if e.code == code => e.clone(),
            _ => panic!("{} expected error {code:?}, got {m:?}", R::NAME),
        }
    }
}

impl Conn<HostRole> {
    /// Open the socket and read the challenge nonce.
    pub async fn open(server: &Server) -> (HostConn, String) {
        let ws = ws_connect(server.ws_url("host"))
            .await
            .expect("connect host ws");
        let mut c = HostConn::new(ws);
        match c.recv().await {
            ServerToHost::Challenge { nonce, protocol } => {
                assert_eq!(protocol, PROTOCOL_VERSION);
                (c, nonce)
            }
            other => panic!("expected challenge, got {other:?}"),
        }
    }

    /// Connect and authenticate as `dev`; waits for `welcome`.
    pub async fn connect(server: &Server, dev: &TestDevice) -> HostConn {
        let (mut c, nonce) = HostConn::open(server).await;
        c.send(&HostToServer::Auth {
            protocol: PROTOCOL_VERSION,
            device_id: dev.id.clone(),
            signature: dev.sign(&nonce),
            info: DeviceInfo {
                os: "TestOS 1.0".into(),
                screens: vec![Screen {
                    id: "screen".into(),
                    name: "screen".into(),
                    width: 1280,
                    height: 720,
                    primary: true,
                    x: 0,
                    y: 0,
                }],
                agent_version: "test".into(),
            },
        })
        .await;
        match c.recv().await {
            ServerToHost::Welcome { device_id, .. } => assert_eq!(device_id, dev.id),
            other => panic!("expected welcome, got {other:?}"),
        }
        c
    }
}

impl Conn<ViewerRole> {
    /// Connect with a bearer token; waits for `welcome`.
    pub async fn connect(server: &Server, token: &str) -> ViewerConn {
        let mut c = ViewerConn::try_connect(server, token, None)
            .await
            .expect("viewer connect");
        match c.recv().await {
            ServerToViewer::Welcome { .. } => c,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Attempt the upgrade, with an optional Origin header.
    pub async fn try_connect(
        server: &Server,
        token: &str,
        origin: Option<&str>,
    ) -> Result<ViewerConn, String> {
        ViewerConn::try_upgrade(server, token, origin)
            .await
            .map_err(|e| e.to_string())
    }

    /// Attempt the upgrade; a refusal keeps the server's HTTP response.
    pub async fn try_upgrade(
        server: &Server,
        token: &str,
        origin: Option<&str>,
    ) -> Result<ViewerConn, tokio_tungstenite::tungstenite::Error> {
        let mut req = server
            .ws_url("viewer")
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        if let Some(o) = origin {
            req.headers_mut()
                .insert("origin", HeaderValue::from_str(o).expect("header"));
        }
        ws_connect(req).await.map(ViewerConn::new)
    }
}
