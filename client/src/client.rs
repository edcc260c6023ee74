//! [`Client`]: one server, an optional bearer token, and the plumbing every
//! typed call goes through (URLs, sending, reading the reply).

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use meshdesk_tls::{rustls, Trust};

use crate::error::{self, Error, Result};

/// How long a new TCP (and TLS) connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a REST call (not the live feed) may take in all.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A bearer token: a sign-in's or an API token's secret. Its `Debug`
/// prints `***`, so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The secret, to send.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// A client of one Meshdesk server. Cheap to clone (the connection pool is
/// shared).
///
/// ```
/// let client = meshdesk_client::Client::new("http://127.0.0.1:8080/")?
///     .with_token("md_example");
/// assert_eq!(client.server(), "http://127.0.0.1:8080");
/// # Ok::<(), meshdesk_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    /// Normalised base URL, `http(s)://HOST[:PORT]`, no trailing slash.
    server: String,
    /// `server` + `/api/v1`, parsed once; paths are appended to it.
    api_base: Url,
    /// Connection pool.
    http: reqwest::Client,
    /// Sent as `Authorization: Bearer` on every call when present.
    token: Option<Token>,
}

impl Client {
    /// A client of the server at `server_url` (`http(s)://HOST[:PORT]`,
    /// spaces and trailing slashes ignored), not signed in. An `https://`
    /// server is verified against the system's trusted CAs; see
    /// [`Client::with_trust`] for a CA file or a pinned fingerprint.
    pub fn new(server_url: &str) -> Result<Client> {
        Client::with_trust(server_url, &Trust::System)
    }

    /// [`Client::new`], verifying an `https://` server's certificate as
    /// `trust` says: the system's CAs, a CA file
    /// ([`Trust::CaFile`]), or exactly the certificate with a pinned
    /// SHA-256 fingerprint ([`Trust::Pinned`], in the form the server
    /// prints). Verification is never skipped.
    ///
    /// ```
    /// use meshdesk_client::{Client, Trust};
    /// let pin = "0D:C2:79:7E:15:5F:B0:99:95:BC:2C:40:07:24:43:64:92:97:B3:D1:64:90:EE:D6:46:91:C5:34:8B:D4:8B:94";
    /// let trust = Trust::from_options(None, Some(pin)).expect("a fingerprint");
    /// let client = Client::with_trust("https://192.168.1.5:8443", &trust)?;
    /// # Ok::<(), meshdesk_client::Error>(())
    /// ```
    pub fn with_trust(server_url: &str, trust: &Trust) -> Result<Client> {
        let bad = || Error::BadUrl(server_url.to_string());
        let server = server_url.trim().trim_end_matches('/').to_string();
        let rest = server
            .strip_prefix("http://")
            .or_else(|| server.strip_prefix("https://"))
            .ok_or_else(bad)?;
        if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['?', '#']) {
            return Err(bad());
        }
        let api_base = Url::parse(&format!("{server}/api/v1")).map_err(|_| bad())?;
        let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT);
        // Only an https:// server needs the CAs read (or the pin set up).
        if server.starts_with("https://") {
            let tls = meshdesk_tls::client_config(trust).map_err(|e| Error::Tls(e.to_string()))?;
            builder = builder.use_preconfigured_tls(rustls::ClientConfig::clone(&tls));
        }
        let http = builder.build().map_err(|e| Error::Unreachable {
            url: server.clone(),
            reason: error::root_cause(&e),
        })?;
        Ok(Client {
            server,
            api_base,
            http,
            token: None,
        })
    }

    /// The same client, sending `token` (from [`Client::sign_in`] or an API
    /// token) as `Authorization: Bearer` on every call.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(Token(token.into()));
        self
    }

    /// The normalised server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The bearer token this client sends, if any.
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// The URL of an API path: `/api/v1` followed by `segments`, each
    /// percent-encoded as one path segment.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api_base.clone();
        // A base that parsed as http(s) always has path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A raw request to `/api/v1/...` with this client's token, for what
    /// the typed calls do not cover (odd headers, malformed bodies in
    /// tests). Send it with reqwest; nothing here checks the reply.
    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.authorized(self.http.request(method, self.url(segments)))
    }

    /// The connection pool, for requests outside `/api/v1`.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Adds the bearer token, if any.
    pub(crate) fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => request.bearer_auth(t.expose()),
            None => request,
        }
    }

    /// Sends a REST call: a success reply, or the error it stands for.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let request = request
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| Error::BadUrl(error::root_cause(&e)))?;
        // A pooled connection the server closed (it restarted) fails the
        // request before any reply: an idempotent one is sent once more,
        // on a new connection.
        let again = request
            .method()
            .is_idempotent()
            .then(|| request.try_clone())
            .flatten();
        let resp = match (self.http.execute(request).await, again) {
            (Err(e), Some(again)) if e.is_request() && !e.is_timeout() => {
                tracing::debug!(error = %error::root_cause(&e), "request failed before a reply; once more");
                self.http.execute(again).await
            }
            (sent, _) => sent,
        }
        .map_err(|e| self.unreachable(&e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error::from_reply(resp).await)
        }
    }

    /// A call whose reply is JSON of type `T`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T> {
        let mut request = self.request(method, segments);
        if let Some(body) = body {
            request = request.json(body);
        }
        let resp = self.send(request).await?;
        resp.json()
            .await
            .map_err(|e| Error::BadReply(error::root_cause(&e)))
    }

    /// A call whose reply has no body worth reading (204, 202).
    pub(crate) async fn call_empty(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<()> {
        let mut request = self.request(method, segments);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await.map(drop)
    }

    /// The error for a request that got no reply.
    pub(crate) fn unreachable(&self, e: &reqwest::Error) -> Error {
        Error::Unreachable {
            url: self.server.clone(),
            reason: error::root_cause(e),
        }
    }
}

/// No request body (for [`Client::call`] and [`Client::call_empty`]).
pub(crate) const NO_BODY: Option<&()> = None;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked_and_normalised() {
        let c = Client::new(" http://127.0.0.1:8080/ ").expect("ok");
        assert_eq!(c.server(), "http://127.0.0.1:8080");
        for bad in ["127.0.0.1:8080", "ftp://x", "http://", "http://a b"] {
            assert!(matches!(Client::new(bad), Err(Error::BadUrl(_))), "{bad}");
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        let c = Client::new("https://mesh.example").expect("ok");
        assert_eq!(
            c.url(&["devices", "dev 1", "shares", "b/ob?"]).as_str(),
            "https://mesh.example/api/v1/devices/dev%201/shares/b%2Fob%3F"
        );
    }

    #[test]
    fn tokens_never_print() {
        let c = Client::new("http://h").expect("ok").with_token("secret-1");
        assert!(!format!("{c:?}").contains("secret-1"));
        assert_eq!(c.token().map(Token::expose), Some("secret-1"));
    }
}
