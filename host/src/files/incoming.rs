//! One file being received: its data goes to the `.part` file, hashed as
//! it comes; the file takes its name only when the sender's SHA-256
//! matches all of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use meshdesk_protocol::files::{check_name, Chunk, ACK_EVERY, CHUNK_BYTES};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::names::{candidates, part_path};
use super::prefix::hashed;
use super::FilesError;

/// Which transfer owns each `.part` file: the newest. A viewer killed
/// half way leaves its session (and its transfer) behind until the host
/// notices; the same file sent again takes the `.part` over at once, and
/// the old transfer writes nothing more.
#[derive(Debug, Default)]
pub struct Leases {
    owners: std::sync::Mutex<std::collections::HashMap<PathBuf, u64>>,
    next: std::sync::atomic::AtomicU64,
}

impl Leases {
    fn take(self: &Arc<Self>, part: &Path) -> Lease {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        owners.insert(part.to_path_buf(), id);
        Lease {
            leases: Arc::clone(self),
            part: part.to_path_buf(),
            id,
        }
    }
}

/// A transfer's claim on its `.part` file; released on drop.
#[derive(Debug)]
struct Lease {
    leases: Arc<Leases>,
    part: PathBuf,
    id: u64,
}

impl Lease {
    fn held(&self) -> bool {
        let owners = self.leases.owners.lock().unwrap_or_else(|p| p.into_inner());
        owners.get(&self.part) == Some(&self.id)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut owners = self.leases.owners.lock().unwrap_or_else(|p| p.into_inner());
        if owners.get(&self.part) == Some(&self.id) {
            owners.remove(&self.part);
        }
    }
}

/// A file being received.
#[derive(Debug)]
pub struct Incoming {
    /// The name the sender gave.
    pub name: String,
    pub size: u64,
    dir: PathBuf,
    part: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    /// Bytes written (and hashed).
    written: u64,
    /// What the last acknowledgement said.
    acked: u64,
    lease: Lease,
}

impl Incoming {
    /// Start (or take up again) receiving `name` into `dir`; returns the
    /// offset to send from: what an earlier attempt left, in whole chunks.
    pub async fn open(
        dir: &Path,
        name: &str,
        size: u64,
        modified_ms: Option<u64>,
        leases: &Arc<Leases>,
    ) -> Result<(Self, u64), FilesError> {
        check_name(name).map_err(FilesError::BadName)?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| FilesError::io("creating the receive folder", e))?;
        let part = part_path(dir, name, size, modified_ms);
        let lease = leases.take(&part);
        let found = tokio::fs::metadata(&part)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        let chunk = CHUNK_BYTES as u64;
        let offset = (found.min(size) / chunk) * chunk;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&part)
            .await
            .map_err(|e| FilesError::io("creating the partial file", e))?;
        file.set_len(offset)
            .await
            .map_err(|e| FilesError::io("resizing the partial file", e))?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| FilesError::io("seeking in the partial file", e))?;
        let hasher = hashed(&part, offset, "reading the partial file").await?;
        let incoming = Incoming {
            name: name.to_string(),
            size,
            dir: dir.to_path_buf(),
            part,
            file,
            hasher,
            written: offset,
            acked: offset,
            lease,
        };
        Ok((incoming, offset))
    }

    /// Whether this transfer still owns its `.part` (a newer one of the
    /// same file takes it over).
    fn still_owner(&self) -> Result<(), FilesError> {
        match self.lease.held() {
            true => Ok(()),
            false => Err(FilesError::Protocol(
                "the same file is being sent again, in another transfer".into(),
            )),
        }
    }

    /// Bytes received so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Write a chunk; it must start where the data so far ends and stay
    /// within the size. Returns the offset to acknowledge, when one is due.
    pub async fn write(&mut self, chunk: Chunk<'_>) -> Result<Option<u64>, FilesError> {
        self.still_owner()?;
        if chunk.offset != self.written {
            return Err(FilesError::Protocol(format!(
                "data at offset {} where {} was expected",
                chunk.offset, self.written
            )));
        }
        let end = self.written + chunk.data.len() as u64;
        if end > self.size {
            return Err(FilesError::Protocol(format!(
                "more data than the {} bytes announced",
                self.size
            )));
        }
        self.file
            .write_all(chunk.data)
            .await
            .map_err(|e| FilesError::io("writing the file", e))?;
        self.hasher.update(chunk.data);
        self.written = end;
        if end - self.acked >= ACK_EVERY || end == self.size {
            self.file
                .flush()
                .await
                .map_err(|e| FilesError::io("writing the file", e))?;
            self.acked = end;
            return Ok(Some(end));
        }
        Ok(None)
    }

    /// Flush what was written (before the transfer is left to resume).
    pub async fn pause(mut self) {
        let _ = self.file.flush().await;
    }

    /// The sender says all was sent and its SHA-256: keep the file under
    /// a free name (returned) if everything arrived and matches.
    pub async fn finish(mut self, sha256: &str) -> Result<String, FilesError> {
        self.still_owner()?;
        if self.written != self.size {
            return Err(FilesError::Protocol(format!(
                "the transfer ended after {} of {} bytes",
                self.written, self.size
            )));
        }
        let digest = hex::encode(self.hasher.finalize_reset());
        if digest != sha256 {
            drop(self.file);
            let _ = tokio::fs::remove_file(&self.part).await;
            return Err(FilesError::Mismatch);
        }
        self.file
            .sync_all()
            .await
            .map_err(|e| FilesError::io("writing the file", e))?;
        drop(self.file);
        let (dir, part, name) = (self.dir, self.part, self.name);
        tokio::task::spawn_blocking(move || settle(&dir, &part, &name))
            .await
            .map_err(|e| FilesError::Protocol(e.to_string()))?
    }
}

/// Give the finished `.part` the first free name in `dir`: linking fails
/// on a name that exists, so nothing is ever overwritten, even in a race.
fn settle(dir: &Path, part: &Path, name: &str) -> Result<String, FilesError> {
    for candidate in candidates(name) {
        match std::fs::hard_link(part, dir.join(&candidate)) {
            Ok(()) => {
                let _ = std::fs::remove_file(part);
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(FilesError::io("naming the file", e)),
        }
    }
    Err(FilesError::BadName(format!("no free name for {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leases() -> Arc<Leases> {
        Arc::new(Leases::default())
    }

    fn sha(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    async fn send(incoming: &mut Incoming, data: &[u8], from: u64) {
        for (i, piece) in data[from as usize..].chunks(CHUNK_BYTES).enumerate() {
            let offset = from + (i * CHUNK_BYTES) as u64;
            incoming
                .write(Chunk {
                    id: 1,
                    offset,
                    data: piece,
                })
                .await
                .expect("chunk written");
        }
    }

    #[tokio::test]
    async fn a_file_takes_its_name_only_when_it_matches() {
        let tmp = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (mut incoming, offset) =
            Incoming::open(tmp.path(), "a.bin", data.len() as u64, Some(1), &leases())
                .await
                .unwrap();
        assert_eq!(offset, 0);
        send(&mut incoming, &data, 0).await;
        assert_eq!(incoming.finish(&sha(&data)).await.unwrap(), "a.bin");
        assert_eq!(std::fs::read(tmp.path().join("a.bin")).unwrap(), data);
        // The same name again: numbered, the first one untouched.
        let (mut again, _) = Incoming::open(tmp.path(), "a.bin", 3, None, &leases())
            .await
            .unwrap();
        send(&mut again, b"abc", 0).await;
        assert_eq!(again.finish(&sha(b"abc")).await.unwrap(), "a (1).bin");
        assert_eq!(std::fs::read(tmp.path().join("a.bin")).unwrap(), data);
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no .part left behind");
    }

    #[tokio::test]
    async fn a_transfer_cut_off_resumes_from_its_last_whole_chunk() {
        let tmp = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let size = data.len() as u64;
        let leases = leases();
        let (mut first, _) = Incoming::open(tmp.path(), "b.bin", size, Some(7), &leases)
            .await
            .unwrap();
        let cut = CHUNK_BYTES * 3 + 100;
        send(&mut first, &data[..cut], 0).await;
        first.file.flush().await.unwrap();
        // The first is left behind (its viewer vanished): the second takes
        // over, and the first may not write any more.
        let (mut second, offset) = Incoming::open(tmp.path(), "b.bin", size, Some(7), &leases)
            .await
            .unwrap();
        let late = Chunk {
            id: 1,
            offset: cut as u64,
            data: b"x",
        };
        assert!(matches!(
            first.write(late).await,
            Err(FilesError::Protocol(_))
        ));
        drop(first);
        assert_eq!(offset, (CHUNK_BYTES * 3) as u64);
        send(&mut second, &data, offset).await;
        assert_eq!(second.finish(&sha(&data)).await.unwrap(), "b.bin");
        assert_eq!(std::fs::read(tmp.path().join("b.bin")).unwrap(), data);
    }

    #[tokio::test]
    async fn bad_data_is_refused_and_a_mismatch_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut incoming, _) = Incoming::open(tmp.path(), "c.bin", 4, None, &leases())
            .await
            .unwrap();
        let wrong_place = Chunk {
            id: 1,
            offset: 2,
            data: b"ab",
        };
        assert!(matches!(
            incoming.write(wrong_place).await,
            Err(FilesError::Protocol(_))
        ));
        let too_much = Chunk {
            id: 1,
            offset: 0,
            data: b"abcde",
        };
        assert!(matches!(
            incoming.write(too_much).await,
            Err(FilesError::Protocol(_))
        ));
        send(&mut incoming, b"abcd", 0).await;
        assert!(matches!(
            incoming.finish(&sha(b"xxxx")).await,
            Err(FilesError::Mismatch)
        ));
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        for bad in ["../x", "/etc/passwd", "a/b", ".."] {
            assert!(matches!(
                Incoming::open(tmp.path(), bad, 1, None, &leases()).await,
                Err(FilesError::BadName(_))
            ));
        }
    }
}
