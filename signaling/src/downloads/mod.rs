//! The host installer served by the server: the files of `[downloads]
//! dir` at `/downloads/` (a JSON listing with sizes and SHA-256,
//! `SHA256SUMS`, and each file with its hash as ETag) and `/install.sh`,
//! the script the web app's "Add device" pipes into `sh`. File names are
//! checked ([`names`]); only plain files directly in the directory are
//! offered. No sign-in is needed: the packages are public, and the
//! enrollment code the script takes is what admits a device.

mod catalog;
mod install;
pub mod names;
mod serve;

use axum::routing::get;
use axum::Router;

pub use catalog::{Catalog, SUMS};

use crate::state::AppState;

/// `/downloads/`, `/downloads/SHA256SUMS`, `/downloads/{name}`, `/install.sh`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/downloads", get(serve::listing))
        .route("/downloads/", get(serve::listing))
        .route(&format!("/downloads/{SUMS}"), get(serve::sums))
        .route("/downloads/{name}", get(serve::file))
        .route("/install.sh", get(serve::install_script))
}
