//! The part of a resumed transfer that is already there, hashed on a
//! blocking thread (reading it may take a while for a big file).

use std::path::Path;

use meshdesk_protocol::files::hash_prefix;
use sha2::Sha256;

use super::FilesError;

/// The SHA-256 state after the first `len` bytes of the file at `path`;
/// `what` names the file in an error ("reading the partial file").
pub async fn hashed(path: &Path, len: u64, what: &'static str) -> Result<Sha256, FilesError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&path).and_then(|file| hash_prefix(file, len))
    })
    .await
    .map_err(|e| FilesError::Protocol(e.to_string()))?
    .map_err(|e| FilesError::io(what, e))
}
