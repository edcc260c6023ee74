//! The handlers: the listing (JSON and `SHA256SUMS`), one file (with its
//! SHA-256 as ETag, so an unchanged file is a 304), and `/install.sh`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use meshdesk_protocol::rest::{DownloadFile, DownloadList};

use super::catalog::{self, Catalog};
use super::install;
use super::names::{is_servable, RULE};
use crate::error::{Error, Result};
use crate::state::AppState;

/// `GET /downloads/`: every file with its size and SHA-256.
pub async fn listing(State(state): State<AppState>) -> Result<Json<DownloadList>> {
    let files = list(&state.downloads).await?;
    Ok(Json(DownloadList { files }))
}

/// `GET /downloads/SHA256SUMS`: the same, as `sha256sum --check` reads it.
pub async fn sums(State(state): State<AppState>) -> Result<Response> {
    let files = list(&state.downloads).await?;
    let body = catalog::sums(&files);
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// `GET /downloads/{name}`: the file, or 304 when `If-None-Match` names
/// its hash.
pub async fn file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    if !is_servable(&name) {
        return Err(Error::BadRequest(RULE.into()));
    }
    let catalog = Arc::clone(&state.downloads);
    let found = tokio::task::spawn_blocking(move || {
        let Some(file) = catalog.file(&name)? else {
            return Ok(None);
        };
        let bytes = std::fs::read(catalog.path(&file.name))?;
        Ok::<_, std::io::Error>(Some((file, bytes)))
    })
    .await
    .map_err(|e| Error::Internal(format!("download task: {e}")))??;
    let Some((file, bytes)) = found else {
        return Err(Error::NotFound("download"));
    };
    let etag = format!("\"{}\"", file.sha256);
    let common = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    if matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let disposition = format!("attachment; filename=\"{}\"", file.name);
    let typed = [
        (header::CONTENT_TYPE, content_type(&file).to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((common, typed, bytes).into_response())
}

/// `GET /install.sh`: the installer for this server.
pub async fn install_script(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let config = &state.config;
    // `cookie_secure` already holds for TLS served here or an https public_url.
    let url = install::server_url(config.public_url.as_ref(), host, config.cookie_secure)?;
    let fingerprint = state.tls.as_ref().map(|t| t.fingerprint.to_string());
    let pin = state.tls.as_ref().and_then(|t| t.spki_pin.as_deref());
    let body = install::script(&url, pin.zip(fingerprint.as_deref()));
    Ok((
        [(header::CONTENT_TYPE, "text/x-shellscript; charset=utf-8")],
        body,
    )
        .into_response())
}

async fn list(catalog: &Arc<Catalog>) -> Result<Vec<DownloadFile>> {
    let catalog = Arc::clone(catalog);
    let files = tokio::task::spawn_blocking(move || catalog.list())
        .await
        .map_err(|e| Error::Internal(format!("download listing task: {e}")))??;
    Ok(files)
}

/// Whether `If-None-Match` lists `etag` (or is `*`).
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

fn content_type(file: &DownloadFile) -> &'static str {
    let name = file.name.as_str();
    if name.ends_with(".deb") {
        "application/vnd.debian.binary-package"
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        "application/gzip"
    } else {
        "application/octet-stream"
    }
}
