//! A JSON body extractor whose rejections use the API's error format.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use crate::error::Error;

/// Like `axum::Json`, but a bad body becomes `{"error": "..."}` with the
/// right status (400 bad JSON, 413 too large, 415 wrong content type, 422
/// wrong fields reported as 400).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match rej.status() {
                StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge(0),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::BadRequest(
                    "expected a JSON body with Content-Type: application/json".into(),
                ),
                _ => Error::BadRequest(rej.body_text()),
            }),
        }
    }
}
