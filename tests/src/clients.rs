//! Test clients: REST over reqwest, hosts and viewers over WebSocket.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use meshdesk_protocol::signal::{
    DeviceInfo, HostToServer, Screen, ServerToHost, ServerToViewer, ViewerToServer,
};
use meshdesk_protocol::{decode, device_auth_payload, encode, PROTOCOL_VERSION};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Server, WAIT};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// REST client bound to one server.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(server: &Server) -> Api {
        Api {
            base: server.base.clone(),
            http: reqwest::Client::new(),
        }
    }

    /// Send a request; `token` adds a bearer header. Returns status and the
    /// JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// A raw request builder for unusual cases (headers, raw bodies).
    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1{path}", self.base))
    }

    /// Sign up and sign in; returns the token.
    pub async fn user(&self, name: &str) -> String {
        let (s, b) = self
            .call(
                "POST",
                "/accounts",
                None,
                Some(json!({"username": name, "password": "password-123"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "sign up {name}: {b}");
        self.login(name).await
    }

    /// Sign in with the test password; returns the token.
    pub async fn login(&self, name: &str) -> String {
        let (s, b) = self
            .call(
                "POST",
                "/login",
                None,
                Some(json!({"username": name, "password": "password-123"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login {name}: {b}");
        b["token"].as_str().expect("token").to_string()
    }

    /// Create an enrollment code as `token`'s user.
    pub async fn code(&self, token: &str) -> String {
        let (s, b) = self
            .call("POST", "/enrollment-codes", Some(token), None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["code"].as_str().expect("code").to_string()
    }

    /// Share a device.
    pub async fn share(&self, owner: &str, device: &str, user: &str, perm: &str) {
        let (s, b) = self
            .call(
                "POST",
                &format!("/devices/{device}/shares"),
                Some(owner),
                Some(json!({"username": user, "permission": perm})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
}

/// A device identity with a real Ed25519 key.
#[derive(Debug, Clone)]
pub struct TestDevice {
    pub id: String,
    pub name: String,
    pub key: SigningKey,
}

impl TestDevice {
    /// A fresh key pair.
    pub fn key() -> SigningKey {
        SigningKey::generate(&mut rand::rngs::OsRng)
    }

    /// Enroll a new device with `code`.
    pub async fn enroll(api: &Api, code: &str, name: &str) -> TestDevice {
        let key = TestDevice::key();
        let (s, b) = TestDevice::enroll_raw(api, code, name, &key).await;
        assert_eq!(s, StatusCode::CREATED, "enroll: {b}");
        TestDevice {
            id: b["device_id"].as_str().expect("device_id").to_string(),
            name: name.to_string(),
            key,
        }
    }

    /// The enrollment request, outcome unchecked.
    pub async fn enroll_raw(
        api: &Api,
        code: &str,
        name: &str,
        key: &SigningKey,
    ) -> (StatusCode, Value) {
        let body = json!({
            "code": code,
            "public_key": STANDARD.encode(key.verifying_key().to_bytes()),
            "name": name,
            "os": "TestOS 1.0",
        });
        api.call("POST", "/enroll", None, Some(body)).await
    }

    /// Sign an auth challenge.
    pub fn sign(&self, nonce: &str) -> String {
        STANDARD.encode(self.key.sign(&device_auth_payload(nonce)).to_bytes())
    }
}

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

/// A host connection.
#[derive(Debug)]
pub struct HostConn {
    pub ws: Ws,
}

impl HostConn {
    /// Open the socket and read the challenge nonce.
    pub async fn open(server: &Server) -> (HostConn, String) {
        let (ws, _) = tokio_tungstenite::connect_async(server.ws_url("host"))
            .await
            .expect("connect host ws");
        let mut c = HostConn { ws };
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
                    width: 1280,
                    height: 720,
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

    pub async fn send(&mut self, msg: &HostToServer) {
        self.send_raw(&encode(msg)).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// Next message; panics on timeout or close.
    pub async fn recv(&mut self) -> ServerToHost {
        let t = recv_text(&mut self.ws).await.expect("host socket closed");
        decode(&t).unwrap_or_else(|e| panic!("server sent undecodable {t}: {e}"))
    }

    /// Next message, or None when the server closed the socket.
    pub async fn recv_or_closed(&mut self) -> Option<ServerToHost> {
        let t = recv_text(&mut self.ws).await?;
        Some(decode(&t).unwrap_or_else(|e| panic!("server sent undecodable {t}: {e}")))
    }
}

/// A viewer connection.
#[derive(Debug)]
pub struct ViewerConn {
    pub ws: Ws,
}

impl ViewerConn {
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
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(ViewerConn { ws }),
            Err(e) => Err(e.to_string()),
        }
    }

    pub async fn send(&mut self, msg: &ViewerToServer) {
        self.send_raw(&encode(msg)).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// Next message; panics on timeout or close.
    pub async fn recv(&mut self) -> ServerToViewer {
        let t = recv_text(&mut self.ws).await.expect("viewer socket closed");
        decode(&t).unwrap_or_else(|e| panic!("server sent undecodable {t}: {e}"))
    }

    /// Skip messages until one matches; panics after the timeout.
    pub async fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerToViewer) -> bool,
    ) -> ServerToViewer {
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
}

impl HostConn {
    /// Skip messages until one matches; panics after the timeout.
    pub async fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerToHost) -> bool,
    ) -> ServerToHost {
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
}

// Helpers for authorization and bad-input tests.

use meshdesk_protocol::signal::{ErrorCode, ErrorMsg};

/// Attempt a WebSocket upgrade on `/api/v1/ws/{kind}` with extra headers;
/// returns the socket, or the HTTP status the server refused it with.
pub async fn ws_upgrade(server: &Server, kind: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let mut req = server.ws_url(kind).into_client_request().expect("request");
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())
            .expect("header name");
        req.headers_mut()
            .insert(name, HeaderValue::from_str(v).expect("header value"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("upgrade failed without an HTTP status: {e}"),
    }
}

/// Assert a REST error reply: exactly this status and `{"error": message}`.
pub fn assert_error(got: (StatusCode, Value), status: u16, message: &str) {
    assert_eq!(got.0.as_u16(), status, "status; body {}", got.1);
    assert_eq!(
        got.1,
        json!({ "error": message }),
        "body for status {status}"
    );
}

impl HostConn {
    /// Ping and skip everything up to the pong: all earlier messages are consumed.
    pub async fn sync(&mut self) {
        self.send(&HostToServer::Ping).await;
        self.wait_for("pong", |m| matches!(m, ServerToHost::Pong))
            .await;
    }

    /// Ping and assert the very next message is the pong: nothing arrived meanwhile.
    pub async fn assert_quiet(&mut self) {
        self.send(&HostToServer::Ping).await;
        let m = self.recv().await;
        assert!(
            matches!(m, ServerToHost::Pong),
            "host expected nothing before pong, got {m:?}"
        );
    }

    /// The next message must be an error with this code; returns it.
    pub async fn expect_error(&mut self, code: ErrorCode) -> ErrorMsg {
        match self.recv().await {
            ServerToHost::Error(e) if e.code == code => e,
            other => panic!("host expected error {code:?}, got {other:?}"),
        }
    }
}

impl ViewerConn {
    /// Ping and skip everything up to the pong: all earlier messages are consumed.
    pub async fn sync(&mut self) {
        self.send(&ViewerToServer::Ping).await;
        self.wait_for("pong", |m| matches!(m, ServerToViewer::Pong))
            .await;
    }

    /// Ping and assert the very next message is the pong: nothing arrived meanwhile.
    pub async fn assert_quiet(&mut self) {
        self.send(&ViewerToServer::Ping).await;
        let m = self.recv().await;
        assert!(
            matches!(m, ServerToViewer::Pong),
            "viewer expected nothing before pong, got {m:?}"
        );
    }

    /// The next message must be an error with this code; returns it.
    pub async fn expect_error(&mut self, code: ErrorCode) -> ErrorMsg {
        match self.recv().await {
            ServerToViewer::Error(e) if e.code == code => e,
            other => panic!("viewer expected error {code:?}, got {other:?}"),
        }
    }

    /// Next message, or None when the server closed the socket.
    pub async fn recv_or_closed(&mut self) -> Option<ServerToViewer> {
        let t = recv_text(&mut self.ws).await?;
        Some(decode(&t).unwrap_or_else(|e| panic!("server sent undecodable {t}: {e}")))
    }
}

impl TestDevice {
    /// The `auth` answer to a challenge `nonce`, with test device info.
    pub fn auth(&self, nonce: &str) -> HostToServer {
        HostToServer::Auth {
            protocol: PROTOCOL_VERSION,
            device_id: self.id.clone(),
            signature: self.sign(nonce),
            info: DeviceInfo {
                os: "TestOS 1.0".into(),
                screens: vec![Screen {
                    width: 1280,
                    height: 720,
                }],
                agent_version: "test".into(),
            },
        }
    }
}
