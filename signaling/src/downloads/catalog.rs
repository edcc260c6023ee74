//! What the downloads directory holds, with each file's SHA-256.
//!
//! Read on each request (the directory is the operator's: `scripts/package`
//! may refill it while the server runs). Hashes are remembered by name,
//! size and modification time, so a listing costs a directory read, and a
//! file is hashed once after each change. Blocking: call from
//! `spawn_blocking`.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use meshdesk_protocol::rest::DownloadFile;
use sha2::{Digest, Sha256};

use super::names::is_servable;

/// The name the server answers itself (generated from the listing); a file
/// of that name in the directory is not offered.
pub const SUMS: &str = "SHA256SUMS";

/// The downloads directory and the hashes computed so far.
#[derive(Debug)]
pub struct Catalog {
    /// The directory served (`[downloads] dir`).
    dir: PathBuf,
    /// Hash by name, valid while size and mtime are unchanged.
    hashes: Mutex<HashMap<String, (Stamp, String)>>,
}

/// What must stay the same for a remembered hash to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    modified: Option<SystemTime>,
}

impl Catalog {
    pub fn new(dir: PathBuf) -> Catalog {
        Catalog {
            dir,
            hashes: Mutex::new(HashMap::new()),
        }
    }

    /// Every servable regular file, sorted by name. A missing directory
    /// holds nothing.
    pub fn list(&self) -> std::io::Result<Vec<DownloadFile>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(file) = self.file(&name)? {
                files.push(file);
            }
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// The file `name` with its size and hash, if it is offered. `name`
    /// must have passed [`is_servable`]; others are never offered.
    pub fn file(&self, name: &str) -> std::io::Result<Option<DownloadFile>> {
        if !is_servable(name) || name == SUMS {
            return Ok(None);
        }
        let path = self.path(name);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let stamp = Stamp {
            size: meta.len(),
            modified: meta.modified().ok(),
        };
        let sha256 = self.hash(name, &path, stamp)?;
        Ok(Some(DownloadFile {
            name: name.to_string(),
            size: stamp.size,
            sha256,
        }))
    }

    /// Where `name` lives (only for names [`Self::file`] offered).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn hash(&self, name: &str, path: &Path, stamp: Stamp) -> std::io::Result<String> {
        let remembered = self
            .hashes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .filter(|(s, _)| *s == stamp)
            .map(|(_, h)| h.clone());
        if let Some(hash) = remembered {
            return Ok(hash);
        }
        let hash = sha256_file(path)?;
        self.hashes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), (stamp, hash.clone()));
        Ok(hash)
    }
}

/// `sha256sum`'s lines for `files`: `HASH  NAME`.
pub fn sums(files: &[DownloadFile]) -> String {
    files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.name))
        .collect()
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("meshdesk-catalog-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn lists_servable_files_with_their_hashes() {
        let d = dir("list");
        std::fs::write(d.join("b.deb"), b"abc").unwrap();
        std::fs::write(d.join("a.tar.gz"), b"").unwrap();
        std::fs::write(d.join(".hidden"), b"x").unwrap();
        std::fs::write(d.join("bad name"), b"x").unwrap();
        std::fs::write(d.join(SUMS), b"stale").unwrap();
        std::fs::create_dir(d.join("subdir")).unwrap();
        let c = Catalog::new(d.clone());
        let files = c.list().unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.tar.gz", "b.deb"]);
        assert_eq!(files[1].size, 3);
        assert_eq!(
            files[1].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sums(&files[1..]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  b.deb\n"
        );
        assert_eq!(c.file("../b.deb").unwrap(), None);
        assert_eq!(c.file("subdir").unwrap(), None);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_changed_file_is_hashed_again_and_a_missing_dir_is_empty() {
        let d = dir("change");
        let c = Catalog::new(d.clone());
        std::fs::write(d.join("f"), b"abc").unwrap();
        let first = c.file("f").unwrap().unwrap().sha256;
        std::fs::write(d.join("f"), b"abcd").unwrap();
        assert_ne!(c.file("f").unwrap().unwrap().sha256, first);
        std::fs::remove_dir_all(&d).unwrap();
        assert!(c.list().unwrap().is_empty());
    }
}
