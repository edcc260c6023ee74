//! `meshdesk-signaling backup FILE` and `restore FILE`: a consistent copy
//! of the SQLite database taken while the server runs, and putting one
//! back while it does not.
//!
//! A backup is `VACUUM INTO` on a connection of its own: one read
//! transaction, so the copy is the database as of one instant, and in WAL
//! mode the server's writers go on meanwhile. It is written beside FILE
//! and renamed over it once checked ([`check`]), so FILE is always either
//! the old backup or the whole new one.

mod check;
pub mod command;
pub mod lock;
mod restore;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::store::DB_FILE;

pub use check::check;
pub use lock::DataDirLock;
pub use restore::{restore, Restored};

/// How long a backup waits for a writer's lock before giving up (the
/// server holds it for milliseconds at a time).
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// What a backup made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackedUp {
    pub file: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
}

/// The database file of a data dir.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Copy the data dir's database to `dest` (replacing it) as of one instant.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<BackedUp> {
    let db = db_path(data_dir);
    if !db.is_file() {
        return Err(Error::BadRequest(format!(
            "no database at {}",
            db.display()
        )));
    }
    let tmp = sibling(dest, &format!(".tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let copied = copy_into(&db, &tmp).and_then(|()| check(&tmp));
    let schema_version = match copied {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, dest).map_err(|e| io(dest, e))?;
    let bytes = std::fs::metadata(dest).map_err(|e| io(dest, e))?.len();
    tracing::info!(file = %dest.display(), bytes, schema_version, "backup written");
    Ok(BackedUp {
        file: dest.to_path_buf(),
        bytes,
        schema_version,
    })
}

/// `VACUUM INTO`: a compact, self-contained copy (no WAL beside it),
/// synced to disk before it returns.
fn copy_into(db: &Path, out: &Path) -> Result<()> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(BUSY_WAIT)?;
    let target = out
        .to_str()
        .ok_or_else(|| Error::BadRequest(format!("{}: not a UTF-8 path", out.display())))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    drop(conn);
    std::fs::File::open(out)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(out, e))
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::BadRequest(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("meshdesk-{tag}-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    #[tokio::test]
    async fn a_backup_restores_into_an_empty_data_dir() {
        let (src, dst) = (temp("bk-src"), temp("bk-dst"));
        let store = Store::open(&db_path(&src)).expect("store");
        store
            .create_user("alice", "hash", 1, false)
            .await
            .expect("user");
        let file = src.join("copy.db");
        let made = backup(&src, &file).expect("backup");
        assert_eq!(made.schema_version, crate::store::schema_version());
        drop(store);
        let r = restore(&dst, &file).expect("restore");
        assert_eq!(r.previous, None, "nothing to keep aside");
        let back = Store::open(&db_path(&dst)).expect("restored store");
        assert!(back.user_by_name("alice").await.expect("query").is_some());
        let _ = (std::fs::remove_dir_all(&src), std::fs::remove_dir_all(&dst));
    }

    #[test]
    fn anything_but_a_meshdesk_database_is_refused() {
        let d = temp("bk-bad");
        let junk = d.join("junk.db");
        std::fs::write(&junk, b"not sqlite at all, just bytes .................").expect("w");
        let e = check(&junk).expect_err("junk");
        assert!(e.to_string().contains("not a SQLite database"), "{e}");
        let other = d.join("other.db");
        Connection::open(&other)
            .and_then(|c| c.execute_batch("CREATE TABLE t (x)"))
            .expect("other db");
        let e = check(&other).expect_err("other");
        assert!(e.to_string().contains("not a Meshdesk database"), "{e}");
        let e = restore(&d.join("data"), &junk).expect_err("refused");
        assert!(e.to_string().contains("junk.db"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
