//! What can go wrong with a file request, worded for the viewer.

use std::io;

/// A refused request or a failed transfer.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The name or path the viewer sent cannot be used.
    #[error("{0}")]
    BadName(String),
    /// The path is not in a shared folder (or does not exist).
    #[error("{0:?} is not in a shared folder")]
    NotShared(String),
    /// The session's grant does not allow it.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A message out of order, or naming an unknown transfer.
    #[error("{0}")]
    Protocol(String),
    /// The disk is full (the partial data is kept).
    #[error("no space left on the remote PC")]
    NoSpace,
    /// The data does not match the SHA-256 the sender announced.
    #[error("the data does not match its SHA-256; the file was not kept")]
    Mismatch,
    /// Any other I/O error.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

impl FilesError {
    /// Wrap an I/O error; a full disk is told apart.
    pub fn io(what: &'static str, source: io::Error) -> Self {
        if is_disk_full(&source) {
            return FilesError::NoSpace;
        }
        FilesError::Io { what, source }
    }
}

/// Whether an I/O error says the disk (or quota) is full.
fn is_disk_full(e: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_reads_as_such() {
        let full = io::Error::from_raw_os_error(28);
        assert!(matches!(
            FilesError::io("writing", full),
            FilesError::NoSpace
        ));
        assert_eq!(
            FilesError::NoSpace.to_string(),
            "no space left on the remote PC"
        );
        let other = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(matches!(
            FilesError::io("writing", other),
            FilesError::Io { .. }
        ));
    }

    #[test]
    fn writing_to_dev_full_is_a_full_disk() {
        use std::io::Write;
        let Ok(mut full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            panic!("/dev/full is missing");
        };
        let e = full.write_all(&[0u8; 4096]).and_then(|()| full.flush());
        assert!(matches!(
            FilesError::io("writing", e.expect_err("ENOSPC")),
            FilesError::NoSpace
        ));
    }
}
