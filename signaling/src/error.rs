//! The crate's one error enum, and how it turns into an HTTP response.
//!
//! Clients get a status and `{"error": "..."}`; details that could leak
//! internals (database messages) only reach the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use meshdesk_protocol::rest::{ErrorBody, SecondFactorRequired};

/// Everything that can go wrong in meshdesk-signaling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is malformed; the message says what is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the configured limit.
    #[error("request body is too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    /// No or invalid credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The password alone is not enough: 401 naming the account's second
    /// factors (`{"error", "second_factor"}`).
    #[error("{message}")]
    SecondFactor {
        message: &'static str,
        factors: Vec<meshdesk_protocol::rest::SecondFactor>,
    },
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such thing (or not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The thing exists already or is in a conflicting state.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after the given seconds.
    #[error("too many attempts, retry in {0} s")]
    TooManyRequests(u64),
    /// The configuration is invalid; the message names the field.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed a query (see `store::postgres`).
    #[error("database error: {0}")]
    Postgres(tokio_postgres::Error),
    /// PostgreSQL cannot be reached now (down, restarting, not
    /// answering): 503, and the client may retry. The detail is logged.
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(String),
    /// The cluster's message bus (NATS) refused or failed; the message
    /// names what was attempted, never the URL's credentials.
    #[error("message bus: {0}")]
    Bus(String),
    /// I/O failed (data dir, listener).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A bug or an impossible state; details are logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// A host's WebSocket broke the authentication handshake; the reason
    /// is logged and the connection closed.
    #[error("{0}")]
    Handshake(&'static str),
    /// A host's first message was not valid JSON of a known shape.
    #[error("bad auth message: {0}")]
    BadAuthMessage(meshdesk_protocol::DecodeError),
    /// A host speaks another protocol version than the server.
    #[error("host speaks protocol {0}, the server {server}", server = meshdesk_protocol::PROTOCOL_VERSION)]
    ProtocolVersion(u32),
    /// A host's signature did not verify, or its device is unknown.
    #[error("bad signature or unknown device {0}")]
    DeviceAuth(String),
    /// A WebSocket failed (the peer went away mid-write, a protocol error).
    #[error("{0}")]
    WebSocket(#[from] axum::Error),
    /// The server cannot take this now (it is shutting down, or at its
    /// connection limit); the message says which, and the client may retry.
    #[error("{0}")]
    Unavailable(&'static str),
    /// A WebSocket write did not finish in time: the peer is gone.
    #[error("a write took over {} s", .0.as_secs())]
    WriteTimeout(std::time::Duration),
}

impl From<meshdesk_relay::Error> for Error {
    /// The relay's errors keep their message: a config error still names
    /// the `relay.` field.
    fn from(e: meshdesk_relay::Error) -> Error {
        match e {
            meshdesk_relay::Error::Config(msg) => Error::Config(msg),
            meshdesk_relay::Error::Io(e) => Error::Io(e),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// What a client is told while PostgreSQL is away.
pub const DATABASE_UNAVAILABLE: &str = "the database is unavailable; try again shortly";

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unauthorized(_) | Error::SecondFactor { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Handshake(_) | Error::BadAuthMessage(_) | Error::ProtocolVersion(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::DeviceAuth(_) => StatusCode::UNAUTHORIZED,
            Error::Unavailable(_) | Error::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Config(_)
            | Error::Database(_)
            | Error::Postgres(_)
            | Error::Bus(_)
            | Error::Io(_)
            | Error::Internal(_)
            | Error::WebSocket(_)
            | Error::WriteTimeout(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Error::Unavailable(_) => self.to_string(),
            Error::DatabaseUnavailable(detail) => {
                tracing::warn!(error = %detail, "request failed: the database is unavailable");
                DATABASE_UNAVAILABLE.to_string()
            }
            _ if status.is_server_error() => {
                tracing::error!(error = %self, "request failed");
                "internal server error".to_string()
            }
            _ => self.to_string(),
        };
        let mut response = match self {
            Error::SecondFactor { ref factors, .. } => {
                let body = SecondFactorRequired {
                    error: message,
                    second_factor: factors.clone(),
                };
                (status, axum::Json(body)).into_response()
            }
            _ => (status, axum::Json(ErrorBody { error: message })).into_response(),
        };
        if let Error::TooManyRequests(secs) = self {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_read_as_the_log_shows_them() {
        let cases = [
            (
                Error::Handshake("no auth message in time"),
                "no auth message in time",
            ),
            (
                Error::ProtocolVersion(9),
                "host speaks protocol 9, the server 1",
            ),
            (
                Error::DeviceAuth("dev_1".into()),
                "bad signature or unknown device dev_1",
            ),
            (
                Error::WriteTimeout(std::time::Duration::from_secs(10)),
                "a write took over 10 s",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
        let bad = meshdesk_protocol::decode::<meshdesk_protocol::signal::HostToServer>("{")
            .expect_err("not JSON");
        assert!(Error::BadAuthMessage(bad)
            .to_string()
            .starts_with("bad auth message: malformed JSON"));
    }

    #[tokio::test]
    async fn a_lost_database_is_a_503_that_says_so_without_details() {
        let e = Error::DatabaseUnavailable("connection refused to 10.0.0.5".into());
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let body: ErrorBody = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body.error, DATABASE_UNAVAILABLE);
    }

    #[test]
    fn relay_config_errors_keep_their_field() {
        let e: Error = meshdesk_relay::Error::Config("relay.listen: cannot bind".into()).into();
        assert_eq!(
            e.to_string(),
            "invalid configuration: relay.listen: cannot bind"
        );
    }
}
