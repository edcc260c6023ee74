//! A JSON body extractor whose rejections use the API's error format.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use crate::error::Error;
use crate::state::AppState;

/// Like `axum::Json`, but a bad body becomes `{"error": "..."}` with the
/// right status: 413 too large (naming the configured limit), and 400 for
/// bad JSON, a wrong content type (axum's 415) and wrong fields (axum's 422),
/// as docs/protocol.md promises.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T> FromRequest<AppState> for ApiJson<T>
where
    axum::Json<T>: FromRequest<AppState, Rejection = JsonRejection>,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match rej.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    Error::PayloadTooLarge(state.config.max_body_bytes)
                }
                StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::BadRequest(
                    "expected a JSON body with Content-Type: application/json".into(),
                ),
                _ => Error::BadRequest(rej.body_text()),
            }),
        }
    }
}
