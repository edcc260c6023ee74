//! A JSON body extractor whose rejections use the API's error format.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::state::AppState;

/// Like `axum::Json`, but a bad body becomes `{"error": "..."}` with the
/// right status: 413 too large (naming the configured limit), and 400 for
/// bad JSON, a wrong content type and wrong fields, as docs/protocol.md
/// promises. Every request body of the API is an object: serde would also
/// read a struct from an array (`[null, null]`), which is refused here.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Error::BadRequest(
                "expected a JSON body with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rej| match rej.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    Error::PayloadTooLarge(state.config.max_body_bytes)
                }
                _ => Error::BadRequest(rej.body_text()),
            })?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)
            .map_err(|rej: JsonRejection| Error::BadRequest(rej.body_text()))?;
        if !is_object(&bytes) {
            return Err(Error::BadRequest("the body must be a JSON object".into()));
        }
        Ok(ApiJson(value))
    }
}

/// `application/json` or `application/*+json`, parameters allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether a body that parsed starts as an object.
fn is_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_content_types_and_objects_pass() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().expect("header"));
            h
        };
        assert!(is_json(&with("application/json")));
        assert!(is_json(&with("Application/JSON; charset=utf-8")));
        assert!(is_json(&with("application/merge-patch+json")));
        assert!(!is_json(&with("text/plain")));
        assert!(!is_json(&HeaderMap::new()));
        assert!(is_object(b" \n{\"a\": 1}"));
        assert!(!is_object(b"[null, null]"));
        assert!(!is_object(b"null"));
        assert!(!is_object(b""));
    }
}
