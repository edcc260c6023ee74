//! `[files]` in host.toml: where received files go and which folders
//! viewers may browse.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The default receive folder, under the home folder.
const DEFAULT_RECEIVE_DIR: &str = "~/Downloads/Meshdesk";

/// `[files]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// Where files sent to this PC are written (`~` is the home folder);
    /// default `~/Downloads/Meshdesk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_dir: Option<String>,
    /// Folders viewers may browse and fetch from (default none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<String>,
}

impl FilesConfig {
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }

    /// The receive folder, `~` expanded.
    pub fn receive_dir(&self) -> PathBuf {
        expand(self.receive_dir.as_deref().unwrap_or(DEFAULT_RECEIVE_DIR))
    }

    /// The shared folders, `~` expanded.
    pub fn shared_dirs(&self) -> Vec<PathBuf> {
        self.shared.iter().map(|s| expand(s)).collect()
    }
}

/// `~` and `~/...` are the home folder.
pub fn expand(path: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    match path.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from("/")),
        Some(rest) if rest.starts_with('/') => match home() {
            Some(h) => h.join(rest.trim_start_matches('/')),
            None => Path::new(path).to_path_buf(),
        },
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_folder_is_expanded() {
        let home = PathBuf::from(std::env::var("HOME").expect("HOME"));
        assert_eq!(expand("~/Documents"), home.join("Documents"));
        assert_eq!(expand("~"), home);
        assert_eq!(expand("/srv/share"), PathBuf::from("/srv/share"));
        assert_eq!(expand("~bob/x"), PathBuf::from("~bob/x"));
        let cfg = FilesConfig::default();
        assert_eq!(cfg.receive_dir(), home.join("Downloads/Meshdesk"));
    }
}
