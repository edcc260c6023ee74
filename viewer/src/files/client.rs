//! Requests on the `files` channel, one at a time: list a folder, send a
//! file (resuming where the host's `.part` ends), fetch one (resuming
//! where ours ends). A sender keeps at most a window beyond the last
//! acknowledgement in flight, so memory stays bounded whatever the size.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use meshdesk_peer::{Pipe, PipeEnd, PipeEvent};
use meshdesk_protocol::encode;
use meshdesk_protocol::files::{
    check_name, decode_reply, Chunk, Entry, FilesReply, FilesRequest, ACK_EVERY, CHUNK_BYTES,
    WINDOW_BYTES,
};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::local;
use super::progress::Progress;
use crate::ViewerError;

/// A file sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The name the remote PC stored it under.
    pub stored: String,
    pub size: u64,
    /// Bytes sent this time.
    pub sent: u64,
    /// Where this attempt started.
    pub offset: u64,
}

/// A file fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub stored: PathBuf,
    pub size: u64,
    pub sent: u64,
    pub offset: u64,
}

/// What came on the channel for the request waited on.
enum Incoming {
    Reply(FilesReply),
    Data(bytes::Bytes),
}

/// The client side of the `files` channel.
#[derive(Debug)]
pub struct FilesClient {
    pipe: Pipe,
    events: mpsc::Receiver<PipeEvent>,
    next_id: u32,
}

fn lost() -> ViewerError {
    ViewerError::ConnectionFailed("the session ended during the transfer".into())
}

impl FilesClient {
    pub fn new(end: PipeEnd) -> Self {
        Self {
            pipe: end.pipe,
            events: end.events,
            next_id: 1,
        }
    }

    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    async fn request(&self, request: &FilesRequest) -> Result<(), ViewerError> {
        self.pipe
            .send_text(&encode(request))
            .await
            .map_err(|e| ViewerError::ConnectionFailed(e.to_string()))
    }

    /// The next message for request `id` (replies for others are stale
    /// and skipped); an error reply becomes the error.
    async fn next(&mut self, id: u32) -> Result<Incoming, ViewerError> {
        loop {
            match self.events.recv().await {
                Some(PipeEvent::Text(text)) => match decode_reply(&text) {
                    Ok(FilesReply::Error { id: of, message }) if of.is_none_or(|of| of == id) => {
                        return Err(ViewerError::Transfer(message))
                    }
                    Ok(reply) if reply.id() == Some(id) => return Ok(Incoming::Reply(reply)),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "undecodable files reply"),
                },
                Some(PipeEvent::Binary(data)) => return Ok(Incoming::Data(data)),
                Some(PipeEvent::Open) => {}
                Some(PipeEvent::Closed) | None => return Err(lost()),
            }
        }
    }

    async fn reply(&mut self, id: u32) -> Result<FilesReply, ViewerError> {
        loop {
            match self.next(id).await? {
                Incoming::Reply(reply) => return Ok(reply),
                Incoming::Data(_) => tracing::debug!("stale file data dropped"),
            }
        }
    }

    /// List `path` (`""`: the shared folders).
    pub async fn list(&mut self, path: &str) -> Result<(Vec<Entry>, bool), ViewerError> {
        let id = self.id();
        self.request(&FilesRequest::List {
            id,
            path: path.to_string(),
        })
        .await?;
        match self.reply(id).await? {
            FilesReply::Listing {
                entries, truncated, ..
            } => Ok((entries, truncated)),
            other => Err(unexpected(&other)),
        }
    }

    /// Send `file` into the receive folder (`folder`: a shared folder).
    pub async fn put(&mut self, file: &Path, folder: Option<&str>) -> Result<Sent, ViewerError> {
        let err = local::error(file);
        let meta = tokio::fs::metadata(file).await.map_err(&err)?;
        if !meta.is_file() {
            return Err(ViewerError::BadArgument(format!(
                "{} is not a file",
                file.display()
            )));
        }
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        check_name(&name).map_err(ViewerError::BadArgument)?;
        let size = meta.len();
        let modified_ms = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64);
        let id = self.id();
        self.request(&FilesRequest::Put {
            id,
            name: name.clone(),
            size,
            folder: folder.map(str::to_owned),
            modified_ms,
        })
        .await?;
        let offset = match self.reply(id).await? {
            FilesReply::PutReady { offset, .. } if offset <= size => offset,
            other => return Err(unexpected(&other)),
        };
        // What the remote PC has already: hashed here, not sent.
        let mut hasher = local::hashed(file, offset).await?;
        let mut reader = tokio::fs::File::open(file).await.map_err(&err)?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        let mut pos = offset;
        reader
            .seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(&err)?;
        let progress = Progress::start(&name, size, offset);
        let mut acked = offset;
        while pos < size {
            let want = (size - pos).min(CHUNK_BYTES as u64) as usize;
            // Wait for the window, reading acknowledgements (and taking
            // any that are there already).
            while pos + want as u64 - acked > WINDOW_BYTES {
                acked = acked.max(self.ack(id).await?);
            }
            while let Ok(event) = self.events.try_recv() {
                acked = acked.max(self.take_ack(id, event)?);
            }
            reader.read_exact(&mut buf[..want]).await.map_err(&err)?;
            hasher.update(&buf[..want]);
            let chunk = Chunk {
                id,
                offset: pos,
                data: &buf[..want],
            };
            self.pipe
                .send_binary(&chunk.encode())
                .await
                .map_err(|e| ViewerError::ConnectionFailed(e.to_string()))?;
            pos += want as u64;
            progress.set(acked);
        }
        let sha256 = hex::encode(hasher.finalize());
        self.request(&FilesRequest::PutEnd { id, sha256 }).await?;
        let stored = loop {
            match self.reply(id).await? {
                FilesReply::Ack { offset, .. } => progress.set(offset),
                FilesReply::PutDone { name, .. } => break name,
                other => return Err(unexpected(&other)),
            }
        };
        progress.finish();
        Ok(Sent {
            stored,
            size,
            sent: size - offset,
            offset,
        })
    }

    /// Wait for the next acknowledgement of `id`.
    async fn ack(&mut self, id: u32) -> Result<u64, ViewerError> {
        loop {
            if let FilesReply::Ack { offset, .. } = self.reply(id).await? {
                return Ok(offset);
            }
        }
    }

    /// An event read without waiting: an acknowledgement's offset, or 0.
    fn take_ack(&mut self, id: u32, event: PipeEvent) -> Result<u64, ViewerError> {
        match event {
            PipeEvent::Text(text) => match decode_reply(&text) {
                Ok(FilesReply::Ack { id: of, offset }) if of == id => Ok(offset),
                Ok(FilesReply::Error { id: of, message }) if of.is_none_or(|of| of == id) => {
                    Err(ViewerError::Transfer(message))
                }
                _ => Ok(0),
            },
            PipeEvent::Closed => Err(lost()),
            _ => Ok(0),
        }
    }

    /// Fetch `path` into `dest` (a folder or a file name); a `.part` left
    /// by an earlier attempt resumes.
    pub async fn get(&mut self, path: &str, dest: &Path) -> Result<Got, ViewerError> {
        let name = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path);
        let target = local::target(dest, name)?;
        let part = local::part_of(&target);
        let err = local::error(&part);
        let found = tokio::fs::metadata(&part)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        let offset = found / CHUNK_BYTES as u64 * CHUNK_BYTES as u64;
        let id = self.id();
        self.request(&FilesRequest::Get {
            id,
            path: path.to_string(),
            offset,
        })
        .await?;
        let size = match self.reply(id).await? {
            FilesReply::GetReady {
                size, offset: o, ..
            } if o == offset && offset <= size => size,
            other => return Err(unexpected(&other)),
        };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&part)
            .await
            .map_err(&err)?;
        file.set_len(offset).await.map_err(&err)?;
        let mut hasher = local::hashed(&part, offset).await?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(&err)?;
        let mut pos = offset;
        let progress = Progress::start(name, size, offset);
        let mut acked = offset;
        let sha256 = loop {
            match self.next(id).await? {
                Incoming::Data(data) => {
                    let chunk = Chunk::decode(&data)
                        .map_err(|e| ViewerError::Transfer(format!("bad file data: {e}")))?;
                    if chunk.id != id || chunk.offset != pos || pos + chunk.data.len() as u64 > size
                    {
                        return Err(ViewerError::Transfer(format!(
                            "file data out of order (at {} where {pos} was expected)",
                            chunk.offset
                        )));
                    }
                    file.write_all(chunk.data).await.map_err(&err)?;
                    hasher.update(chunk.data);
                    pos += chunk.data.len() as u64;
                    if pos - acked >= ACK_EVERY {
                        file.flush().await.map_err(&err)?;
                        acked = pos;
                        self.request(&FilesRequest::Ack { id, offset: pos }).await?;
                        progress.set(pos);
                    }
                }
                Incoming::Reply(FilesReply::GetDone { sha256, .. }) => break sha256,
                Incoming::Reply(other) => return Err(unexpected(&other)),
            }
        };
        file.sync_all().await.map_err(&err)?;
        drop(file);
        progress.finish();
        if pos != size {
            return Err(ViewerError::Transfer(format!(
                "the remote PC ended after {pos} of {size} bytes"
            )));
        }
        if hex::encode(hasher.finalize()) != sha256 {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(ViewerError::Transfer(
                "the data does not match its SHA-256 (did the file change meanwhile?); fetch it again"
                    .into(),
            ));
        }
        let stored = local::settle(&part, &target)?;
        Ok(Got {
            stored,
            size,
            sent: size - offset,
            offset,
        })
    }
}

fn unexpected(reply: &FilesReply) -> ViewerError {
    ViewerError::Transfer(format!("unexpected reply from the remote PC: {reply:?}"))
}
