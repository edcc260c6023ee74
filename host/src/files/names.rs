//! Names on disk: a free name for a received file (never overwriting:
//! `report (1).pdf`), and the `.part` file its data waits in.

use std::path::{Path, PathBuf};

use meshdesk_protocol::files::numbered;
use sha2::{Digest, Sha256};

/// Bytes of the name kept in a `.part` file's name (its suffix adds 19).
const PART_NAME_BYTES: usize = 200;

/// The names to try for `name`, in order: itself, then numbered.
pub fn candidates(name: &str) -> impl Iterator<Item = String> + '_ {
    (0..10_000).map(move |n| numbered(name, n))
}

/// Where the data of a file being received waits: a hidden `.part` file
/// in the same folder, named after the file and what tells it from
/// another file of that name (its size and modification time), so a
/// transfer sent again finds it.
pub fn part_path(dir: &Path, name: &str, size: u64, modified_ms: Option<u64>) -> PathBuf {
    let mut key = Sha256::new();
    key.update(name.as_bytes());
    key.update([0]);
    key.update(size.to_be_bytes());
    key.update(modified_ms.unwrap_or(u64::MAX).to_be_bytes());
    let key = hex::encode(&key.finalize()[..6]);
    let mut short = name;
    while short.len() > PART_NAME_BYTES {
        let mut end = PART_NAME_BYTES;
        while !short.is_char_boundary(end) {
            end -= 1;
        }
        short = &short[..end];
    }
    dir.join(format!(".{short}.{key}.part"))
}

/// Whether a file name is one of our `.part` files (their changes are not
/// news for the feed).
pub fn is_part(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".part")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_go_before_the_extension() {
        assert_eq!(numbered("report.pdf", 1), "report (1).pdf");
        assert_eq!(numbered("archive.tar.gz", 2), "archive (2).tar.gz");
        assert_eq!(numbered("README", 1), "README (1)");
        assert_eq!(numbered(".bashrc", 1), ".bashrc (1)");
        let first: Vec<_> = candidates("a.txt").take(3).collect();
        assert_eq!(first, ["a.txt", "a (1).txt", "a (2).txt"]);
    }

    #[test]
    fn part_files_tell_files_apart_and_stay_short() {
        let dir = Path::new("/r");
        let a = part_path(dir, "a.bin", 10, Some(5));
        assert_eq!(a, part_path(dir, "a.bin", 10, Some(5)));
        assert_ne!(a, part_path(dir, "a.bin", 11, Some(5)));
        assert_ne!(a, part_path(dir, "a.bin", 10, Some(6)));
        let long = part_path(dir, &"é".repeat(127), 1, None);
        let name = long.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= 255 && is_part(name), "{name}");
    }
}
