//! Test clients: REST through meshdesk-client, hosts and viewers over
//! WebSocket.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use meshdesk_client::rest::{EnrollRequest, SharePermission};
use meshdesk_client::Client;
use meshdesk_protocol::signal::{DeviceInfo, HostToServer, Screen};
use meshdesk_protocol::{device_auth_payload, PROTOCOL_VERSION};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::Server;

use crate::conn::Ws;

/// The test password of every account [`Api::user`] creates.
pub const PASSWORD: &str = "password-123";

/// REST client bound to one server: typed calls through `meshdesk-client`
/// ([`Api::client`]), plus [`Api::call`] and [`Api::raw`], the escape
/// hatch for tests that check exact statuses and bodies or send what the
/// typed client never would (bad JSON, odd headers).
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    /// Not signed in; [`Api::client`] adds a token to a clone of it.
    client: Client,
}

impl Api {
    /// A client of `server`, trusting its test CA if it has one.
    pub fn new(server: &Server) -> Api {
        let trust = match &server.ca_file {
            Some(ca) => meshdesk_client::Trust::CaFile(ca.clone()),
            None => meshdesk_client::Trust::System,
        };
        Api::with_trust(server, &trust)
    }

    /// A client of an `https://` server verified as `trust` says (the
    /// test CA's file, a pinned fingerprint).
    pub fn with_trust(server: &Server, trust: &meshdesk_client::Trust) -> Api {
        Api {
            base: server.base.clone(),
            client: Client::with_trust(&server.base, trust).expect("the test server's URL"),
        }
    }

    /// A typed client sending `token`.
    pub fn client(&self, token: &str) -> Client {
        self.client.clone().with_token(token)
    }

    /// A typed client that is not signed in.
    pub fn anonymous(&self) -> &Client {
        &self.client
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
        let mut req = self.raw(method, path);
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

    /// A raw request builder for unusual cases (headers, raw bodies), on
    /// the client's connection pool; `path` is below `/api/v1` and may
    /// carry a query string.
    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .http()
            .request(method, format!("{}/api/v1{path}", self.base))
    }

    /// Sign up and sign in; returns the token.
    pub async fn user(&self, name: &str) -> String {
        let made = self.client.sign_up(name, PASSWORD).await;
        assert!(made.is_ok(), "sign up {name}: {made:?}");
        self.login(name).await
    }

    /// Sign in with the test password; returns the token.
    pub async fn login(&self, name: &str) -> String {
        match self.client.sign_in(name, PASSWORD, None).await {
            Ok(login) => login.token,
            Err(e) => panic!("login {name}: {e}"),
        }
    }

    /// Create an enrollment code as `token`'s user.
    pub async fn code(&self, token: &str) -> String {
        match self.client(token).enrollment_code().await {
            Ok(code) => code.code,
            Err(e) => panic!("enrollment code: {e}"),
        }
    }

    /// Share a device (`perm`: `view` or `control`).
    pub async fn share(&self, owner: &str, device: &str, user: &str, perm: &str) {
        let perm = match perm {
            "view" => SharePermission::View,
            "control" => SharePermission::Control,
            other => panic!("not a share permission: {other}"),
        };
        let shared = self.client(owner).grant_share(device, user, perm).await;
        assert!(shared.is_ok(), "{shared:?}");
    }

    /// Whether `token`'s user sees `device_id` online.
    pub async fn online(&self, token: &str, device_id: &str) -> bool {
        self.client(token)
            .device(device_id)
            .await
            .is_ok_and(|d| d.online)
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
        let request = EnrollRequest {
            code: code.into(),
            public_key: STANDARD.encode(key.verifying_key().to_bytes()),
            name: name.into(),
            os: "TestOS 1.0".into(),
        };
        match api.anonymous().enroll(&request).await {
            Ok(enrolled) => TestDevice {
                id: enrolled.device_id,
                name: name.to_string(),
                key,
            },
            Err(e) => panic!("enroll: {e}"),
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

// Helpers for authorization and bad-input tests.

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
    match crate::conn::ws_connect(req).await {
        Ok(ws) => Ok(ws),
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
        }
    }
}
