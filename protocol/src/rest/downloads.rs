//! The server's downloads (`GET /downloads/`): the host's packages and
//! tarball that `scripts/package` put in its `[downloads] dir`, each with
//! the SHA-256 an installer checks before installing it.

use serde::{Deserialize, Serialize};

/// `GET /downloads/`: every file offered, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadList {
    /// The files, sorted by name.
    pub files: Vec<DownloadFile>,
}

/// One file at `/downloads/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadFile {
    /// File name (letters, digits, `.`, `-`, `_`, `+`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the contents, lowercase hex (also the file's ETag).
    pub sha256: String,
}
