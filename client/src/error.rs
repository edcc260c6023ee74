//! The one error type of the crate, and how a failed HTTP reply becomes one.
//!
//! Three kinds of failure stay apart, because a caller acts on each
//! differently: the server could not be reached (retry later, check the
//! URL), it answered something this crate cannot read (a bug or the wrong
//! server), or it refused the request with a status and its
//! `{"error": "..."}` text (fix the request or the credentials).

use meshdesk_protocol::rest::ErrorBody;
use serde::Deserialize;

/// Everything a call of this crate can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server URL is not `http(s)://HOST[:PORT]`.
    #[error("invalid server URL `{0}`: expected http://HOST[:PORT] or https://HOST[:PORT]")]
    BadUrl(String),
    /// The TLS settings are unusable (a CA file that cannot be read).
    #[error("TLS: {0}")]
    Tls(String),
    /// No HTTP reply at all: refused, timed out, DNS, TLS.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// The innermost cause.
        reason: String,
    },
    /// A reply came but is not what the API documents (wrong JSON, a body
    /// cut short, not an SSE stream).
    #[error("bad reply from the server: {0}")]
    BadReply(String),
    /// The server refused the request: its status and `{"error": ...}` text.
    #[error("server answered {status}: {message}")]
    Api {
        /// The HTTP status, 4xx or 5xx.
        status: u16,
        /// The server's `error` text (or a note that it sent none).
        message: String,
    },
    /// The password was right but the account needs a second factor: sign
    /// in again with one of `methods` (e.g. `totp`).
    #[error("a second factor is needed ({}): {message}", methods.join(", "))]
    SecondFactor {
        /// What the server accepts, e.g. `["totp", "webauthn"]`.
        methods: Vec<String>,
        /// The server's `error` text.
        message: String,
    },
    /// 429: too many attempts; the server asks to wait this long.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyAttempts {
        /// From `Retry-After` (1 when the server sent none).
        retry_after_secs: u64,
    },
}

impl Error {
    /// The HTTP status of a refusal, if the server answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::SecondFactor { .. } => Some(401),
            Error::TooManyAttempts { .. } => Some(429),
            _ => None,
        }
    }

    /// Whether the server refused the credentials or token (401) or what
    /// they may do (403): retrying the same request cannot help.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error reply that may name second factors (`POST /login`).
#[derive(Deserialize)]
struct ErrorReply {
    error: String,
    #[serde(default)]
    second_factor: Option<Vec<String>>,
}

/// The error a non-success reply stands for, read from its headers and
/// body.
pub(crate) async fn from_reply(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    if status == 429 {
        return Error::TooManyAttempts {
            retry_after_secs: retry_after(resp.headers()),
        };
    }
    let text = resp.text().await.unwrap_or_default();
    from_parts(status, &text)
}

/// The error for a refusal with `status` and body `text`.
pub(crate) fn from_parts(status: u16, text: &str) -> Error {
    match serde_json::from_str::<ErrorReply>(text) {
        Ok(ErrorReply {
            error,
            second_factor: Some(methods),
        }) if status == 401 && !methods.is_empty() => Error::SecondFactor {
            methods,
            message: error,
        },
        Ok(ErrorReply { error, .. }) => Error::Api {
            status,
            message: error,
        },
        Err(_) => Error::Api {
            status,
            message: serde_json::from_str::<ErrorBody>(text)
                .map(|b| b.error)
                .unwrap_or_else(|_| "no error message".into()),
        },
    }
}

/// Seconds from a `Retry-After` header (whole seconds), 1 without one.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1)
}

/// The innermost error text (reqwest's outer text is "error sending
/// request").
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(refused) = meshdesk_tls::refusal(e) {
        return refused.to_string();
    }
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_status_and_text() {
        let e = from_parts(404, r#"{"error": "no such device"}"#);
        assert!(matches!(&e, Error::Api { status: 404, message } if message == "no such device"));
        assert_eq!(e.to_string(), "server answered 404: no such device");
        let e = from_parts(502, "<html>gateway</html>");
        assert!(matches!(&e, Error::Api { status: 502, message } if message == "no error message"));
    }

    #[test]
    fn a_second_factor_is_its_own_variant() {
        let e = from_parts(
            401,
            r#"{"error": "second factor required", "second_factor": ["totp", "webauthn"]}"#,
        );
        match e {
            Error::SecondFactor { methods, message } => {
                assert_eq!(methods, ["totp", "webauthn"]);
                assert_eq!(message, "second factor required");
            }
            other => panic!("{other:?}"),
        }
        // An empty list or another status is a plain refusal.
        let e = from_parts(401, r#"{"error": "wrong", "second_factor": []}"#);
        assert!(e.is_auth() && matches!(e, Error::Api { status: 401, .. }));
    }

    #[test]
    fn retry_after_defaults_to_one_second() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), 1);
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().expect("value"));
        assert_eq!(retry_after(&h), 7);
    }
}
