//! The data dir's lock file (`meshdesk.lock`): a running server holds it
//! shared, a restore exclusive, so a restore never swaps the database
//! under a live server. An advisory `flock`: the kernel drops it when
//! the process ends, however it ends.

use std::fs::File;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::error::{Error, Result};

/// The lock file's name inside the data dir.
pub const LOCK_FILE: &str = "meshdesk.lock";

/// A held lock on a data dir; released on drop.
#[derive(Debug)]
pub struct DataDirLock {
    /// Open for as long as the lock is held (closing it releases).
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// What a server holds while it runs (several may share it). Fails at
    /// once, rather than waiting, while a restore runs.
    pub fn shared(data_dir: &Path) -> Result<DataDirLock> {
        Self::take(data_dir, FlockOperation::NonBlockingLockShared)?.ok_or_else(|| {
            Error::Conflict(format!(
                "a restore is in progress on {}; start the server when it is done",
                data_dir.display()
            ))
        })
    }

    /// What a restore holds: nobody else may have the data dir.
    pub fn exclusive(data_dir: &Path) -> Result<DataDirLock> {
        Self::take(data_dir, FlockOperation::NonBlockingLockExclusive)?.ok_or_else(|| {
            Error::Conflict(format!(
                "a meshdesk-signaling server is running on {}: stop it before restoring",
                data_dir.display()
            ))
        })
    }

    /// Where the lock is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `None` when someone else holds the lock the other way.
    fn take(data_dir: &Path, op: FlockOperation) -> Result<Option<DataDirLock>> {
        let path = data_dir.join(LOCK_FILE);
        let io = |e: std::io::Error| {
            Error::Config(format!("data_dir: cannot open {}: {e}", path.display()))
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match flock(&file, op) {
            Ok(()) => Ok(Some(DataDirLock { _file: file, path })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(io(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_share_and_a_restore_excludes() {
        let dir = std::env::temp_dir().join(format!("meshdesk-lock-{}", std::process::id()));
        let a = DataDirLock::shared(&dir).expect("first server");
        let b = DataDirLock::shared(&dir).expect("second server");
        let e = DataDirLock::exclusive(&dir).expect_err("servers run");
        assert!(e.to_string().contains("stop it before restoring"), "{e}");
        drop((a, b));
        let r = DataDirLock::exclusive(&dir).expect("nobody runs");
        let e = DataDirLock::shared(&dir).expect_err("restore runs");
        assert!(e.to_string().contains("restore is in progress"), "{e}");
        drop(r);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
