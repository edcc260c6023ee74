//! Files on this side of a `get`: the `.part` file the data goes to, and
//! the name it takes when complete (never overwriting one that exists).

use std::path::{Path, PathBuf};

use meshdesk_protocol::files::{check_name, hash_prefix, numbered};

use crate::ViewerError;

/// Where `name` goes for a DEST of `dest`: into it when it is a folder,
/// else `dest` itself.
pub fn target(dest: &Path, name: &str) -> Result<PathBuf, ViewerError> {
    check_name(name)
        .map_err(|e| ViewerError::Server(format!("the remote PC sent a bad name: {e}")))?;
    Ok(match dest.is_dir() {
        true => dest.join(name),
        false => dest.to_path_buf(),
    })
}

/// The `.part` file beside `target`.
pub fn part_of(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.meshdesk.part"))
}

/// Give the finished `part` the first free name from `target` on
/// (`report (1).pdf`); linking fails on a name that exists.
pub fn settle(part: &Path, target: &Path) -> Result<PathBuf, ViewerError> {
    let io = |e: std::io::Error| ViewerError::BadArgument(format!("{}: {e}", target.display()));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 0..10_000u32 {
        let candidate = target.with_file_name(numbered(&name, n));
        match std::fs::hard_link(part, &candidate) {
            Ok(()) => {
                let _ = std::fs::remove_file(part);
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(e)),
        }
    }
    Err(ViewerError::BadArgument(format!(
        "no free name for {}",
        target.display()
    )))
}

/// The SHA-256 state after the first `len` bytes of `path` (what the other
/// side already has of a resumed transfer), read on a blocking thread.
pub async fn hashed(path: &Path, len: u64) -> Result<sha2::Sha256, ViewerError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&owned).and_then(|file| hash_prefix(file, len))
    })
    .await
    .map_err(|e| ViewerError::Transfer(e.to_string()))?
    .map_err(error(path))
}

/// An I/O error with a file on this side, naming the file.
pub fn error(path: &Path) -> impl Fn(std::io::Error) -> ViewerError + '_ {
    move |e| ViewerError::LocalFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetched_file_never_overwrites_one_here() {
        let tmp = std::env::temp_dir().join(format!("mdv-local-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let target = target(&tmp, "a.txt").unwrap();
        assert_eq!(target, tmp.join("a.txt"));
        std::fs::write(&target, b"old").unwrap();
        let part = part_of(&target);
        std::fs::write(&part, b"new").unwrap();
        let stored = settle(&part, &target).unwrap();
        assert_eq!(stored, tmp.join("a (1).txt"));
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(!part.exists());
        assert!(super::target(&tmp, "../x").is_err());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
