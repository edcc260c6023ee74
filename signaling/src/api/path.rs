//! A path-parameter extractor whose rejections use the API's error
//! format: `/tokens/abc` is a 400 with `{"error": ...}`, not axum's plain
//! text.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::state::AppState;

/// Like `axum::extract::Path`, but a bad segment becomes a JSON 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T> FromRequestParts<AppState> for ApiPath<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(rej) => Err(Error::BadRequest(rej.body_text())),
        }
    }
}
