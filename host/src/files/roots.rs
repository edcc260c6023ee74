//! The shared folders, by the name viewers see (the last component:
//! `~/Documents` is `Documents`), and the one check every path of a
//! request goes through: it must resolve, symlinks followed, to a place
//! inside one of them.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use meshdesk_protocol::files::{split_path, Entry, EntryKind, MAX_ENTRIES};

use super::FilesError;

/// One shared folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// What viewers call it.
    pub label: String,
    /// Where it is, symlinks resolved.
    pub dir: PathBuf,
}

/// The shared folders.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    roots: Vec<Root>,
}

impl Roots {
    /// The folders that exist, labelled; a second one with the same last
    /// component is `Documents (2)`.
    pub fn new(dirs: &[PathBuf]) -> Self {
        let mut roots: Vec<Root> = Vec::new();
        for dir in dirs {
            let real = match dir.canonicalize() {
                Ok(real) if real.is_dir() => real,
                _ => {
                    tracing::warn!(dir = %dir.display(), "shared folder not found; not shared");
                    continue;
                }
            };
            let base = real
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "root".into());
            let label = unique_label(&base, |l| roots.iter().any(|r| r.label == l));
            roots.push(Root { label, dir: real });
        }
        Self { roots }
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Root> {
        self.roots.iter()
    }

    /// Where a viewer's path is on disk, if it is inside a shared folder
    /// and exists. `""` (the top) has no place: see [`Self::list`].
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FilesError> {
        let parts = split_path(path).map_err(FilesError::BadName)?;
        let (first, rest) = parts
            .split_first()
            .ok_or_else(|| FilesError::NotShared(path.into()))?;
        let root = self
            .roots
            .iter()
            .find(|r| r.label == *first)
            .ok_or_else(|| FilesError::NotShared(path.into()))?;
        let joined = rest.iter().fold(root.dir.clone(), |p, part| p.join(part));
        let real = joined
            .canonicalize()
            .map_err(|_| FilesError::NotShared(path.into()))?;
        if !real.starts_with(&root.dir) {
            return Err(FilesError::NotShared(path.into()));
        }
        Ok(real)
    }

    /// The viewer's name for a place on disk inside a shared folder.
    pub fn name_of(&self, real: &Path) -> Option<String> {
        self.roots.iter().find_map(|root| {
            let rel = real.strip_prefix(&root.dir).ok()?;
            let mut name = root.label.clone();
            for part in rel.components() {
                name.push('/');
                name.push_str(&part.as_os_str().to_string_lossy());
            }
            Some(name)
        })
    }

    /// The entries of a folder (`""`: the shared folders), folders first,
    /// then by name; entries that lead outside the shared folders
    /// (symlinks) are left out. `true` when there were more than
    /// [`MAX_ENTRIES`].
    pub fn list(&self, path: &str) -> Result<(Vec<Entry>, bool), FilesError> {
        if split_path(path).map_err(FilesError::BadName)?.is_empty() {
            let entries = self
                .roots
                .iter()
                .map(|r| entry(r.label.clone(), &r.dir))
                .collect();
            return Ok((entries, false));
        }
        let dir = self.resolve(path)?;
        if !dir.is_dir() {
            return Err(FilesError::BadName(format!("{path:?} is not a folder")));
        }
        let mut entries = Vec::new();
        let mut truncated = false;
        let read = std::fs::read_dir(&dir).map_err(|e| FilesError::io("reading the folder", e))?;
        for item in read.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let Ok(real) = item.path().canonicalize() else {
                continue; // a dangling symlink
            };
            if self.name_of(&real).is_none() {
                continue;
            }
            if entries.len() == MAX_ENTRIES {
                truncated = true;
                break;
            }
            entries.push(entry(name, &real));
        }
        entries.sort_by(|a, b| {
            (a.kind != EntryKind::Folder, &a.name).cmp(&(b.kind != EntryKind::Folder, &b.name))
        });
        Ok((entries, truncated))
    }
}

/// `base`, or `base (2)`, `base (3)`... the first that is not `taken`.
fn unique_label(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base} ({n})"))
        .find(|l| !taken(l))
        .unwrap_or_else(|| base.to_string())
}

fn entry(name: String, real: &Path) -> Entry {
    let meta = std::fs::metadata(real).ok();
    let folder = meta.as_ref().is_some_and(|m| m.is_dir());
    Entry {
        name,
        kind: if folder {
            EntryKind::Folder
        } else {
            EntryKind::File
        },
        size: if folder {
            0
        } else {
            meta.as_ref().map_or(0, |m| m.len())
        },
        modified_ms: meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, Roots) {
        let tmp = tempfile::tempdir().unwrap();
        let docs = tmp.path().join("Documents");
        std::fs::create_dir_all(docs.join("reports")).unwrap();
        std::fs::write(docs.join("reports/q3.pdf"), b"q3").unwrap();
        std::fs::write(docs.join("a.txt"), b"hello").unwrap();
        std::fs::write(tmp.path().join("secret.txt"), b"no").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), docs.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), docs.join("up")).unwrap();
        std::os::unix::fs::symlink(docs.join("a.txt"), docs.join("inside.txt")).unwrap();
        let roots = Roots::new(&[docs, tmp.path().join("missing")]);
        (tmp, roots)
    }

    #[test]
    fn the_top_lists_the_shared_folders_by_their_last_component() {
        let (_tmp, roots) = tree();
        let (top, _) = roots.list("").unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].name, "Documents");
        assert_eq!(top[0].kind, EntryKind::Folder);
    }

    #[test]
    fn listings_leave_out_what_leads_outside() {
        let (_tmp, roots) = tree();
        let (entries, truncated) = roots.list("Documents").unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["reports", "a.txt", "inside.txt"]);
        assert!(!truncated);
        assert_eq!(entries[1].size, 5);
        assert!(entries[1].modified_ms.is_some());
    }

    #[test]
    fn nothing_outside_the_shared_folders_resolves() {
        let (_tmp, roots) = tree();
        assert!(roots.resolve("Documents/reports/q3.pdf").is_ok());
        for bad in [
            "Documents/leak.txt",
            "Documents/up/secret.txt",
            "Documents/../secret.txt",
            "/etc/passwd",
            "Other/a.txt",
            "Documents/nothing.txt",
            "",
        ] {
            assert!(roots.resolve(bad).is_err(), "{bad:?}");
        }
        let inside = roots.resolve("Documents/inside.txt").unwrap();
        assert_eq!(roots.name_of(&inside).as_deref(), Some("Documents/a.txt"));
    }

    #[test]
    fn labels_stay_unique() {
        assert_eq!(unique_label("Documents", |_| false), "Documents");
        assert_eq!(
            unique_label("Documents", |l| l == "Documents"),
            "Documents (2)"
        );
    }
}
