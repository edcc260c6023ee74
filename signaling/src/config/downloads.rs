//! The `[downloads]` table: the directory served at `/downloads/` (the
//! host packages `scripts/package` writes, for `/install.sh`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[downloads]` as written by an operator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadsFile {
    /// Directory whose files are offered at `/downloads/`. Default:
    /// `downloads` in the data dir. A missing directory offers nothing.
    pub dir: Option<PathBuf>,
}

/// Validated `[downloads]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadsSettings {
    /// The directory served.
    pub dir: PathBuf,
}

impl DownloadsSettings {
    /// The settings, with the default resolved against `data_dir`.
    pub fn from_file(f: DownloadsFile, data_dir: &Path) -> DownloadsSettings {
        DownloadsSettings {
            dir: f.dir.unwrap_or_else(|| data_dir.join("downloads")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_inside_the_data_dir() {
        let s = DownloadsSettings::from_file(DownloadsFile::default(), Path::new("/var/lib/m"));
        assert_eq!(s.dir, Path::new("/var/lib/m/downloads"));
        let f = DownloadsFile {
            dir: Some("/srv/dl".into()),
        };
        let s = DownloadsSettings::from_file(f, Path::new("/var/lib/m"));
        assert_eq!(s.dir, Path::new("/srv/dl"));
    }
}
