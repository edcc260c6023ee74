//! One file being fetched by the viewer: read in chunks and hashed, never
//! more than a window beyond what the viewer acknowledged.

use std::path::Path;

use meshdesk_peer::Pipe;
use meshdesk_protocol::encode;
use meshdesk_protocol::files::{Chunk, FilesReply, CHUNK_BYTES, WINDOW_BYTES};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;

use super::prefix::hashed;
use super::FilesError;

/// Send `real` (the viewer calls it `name`) from `offset` on; `acks`
/// follows the viewer's acknowledgements. Returns the file's size.
pub async fn send(
    pipe: &Pipe,
    id: u32,
    real: &Path,
    name: &str,
    offset: u64,
    mut acks: watch::Receiver<u64>,
) -> Result<u64, FilesError> {
    let mut file = tokio::fs::File::open(real)
        .await
        .map_err(|e| FilesError::io("opening the file", e))?;
    let meta = file
        .metadata()
        .await
        .map_err(|e| FilesError::io("reading the file", e))?;
    if !meta.is_file() {
        return Err(FilesError::BadName(format!("{name:?} is not a file")));
    }
    let size = meta.len();
    if offset > size {
        return Err(FilesError::Protocol(format!(
            "offset {offset} is beyond the file's {size} bytes"
        )));
    }
    // What the viewer has already: hashed, not sent.
    let mut hasher = hashed(real, offset, "reading the file").await?;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut pos = offset;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|e| FilesError::io("reading the file", e))?;
    let ready = FilesReply::GetReady {
        id,
        name: name.to_string(),
        size,
        offset,
    };
    reply(pipe, &ready).await?;
    while pos < size {
        let want = (size - pos).min(CHUNK_BYTES as u64) as usize;
        file.read_exact(&mut buf[..want])
            .await
            .map_err(|e| FilesError::io("reading the file (did it shrink?)", e))?;
        hasher.update(&buf[..want]);
        let end = pos + want as u64;
        acks.wait_for(|acked| end.saturating_sub(*acked) <= WINDOW_BYTES)
            .await
            .map_err(|_| FilesError::Protocol("the transfer was stopped".into()))?;
        let chunk = Chunk {
            id,
            offset: pos,
            data: &buf[..want],
        };
        pipe.send_binary(&chunk.encode())
            .await
            .map_err(|e| FilesError::Protocol(e.to_string()))?;
        pos = end;
    }
    let sha256 = hex::encode(hasher.finalize());
    reply(pipe, &FilesReply::GetDone { id, sha256 }).await?;
    Ok(size)
}

/// Send a reply on the channel.
pub async fn reply(pipe: &Pipe, msg: &FilesReply) -> Result<(), FilesError> {
    pipe.send_text(&encode(msg))
        .await
        .map_err(|e| FilesError::Protocol(e.to_string()))
}
