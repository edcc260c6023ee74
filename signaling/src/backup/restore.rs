//! `restore FILE`: put a backup in place of the data dir's database,
//! keeping the current one aside as `meshdesk.db.bak`. Refused while a
//! server runs on the data dir ([`DataDirLock`]) and for any file that
//! is not a sound Meshdesk database of a known schema ([`check`]).

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{check, db_path, io, sibling, DataDirLock};
use crate::error::Result;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The database now in place.
    pub db: PathBuf,
    /// Where the one it replaced went (`None`: there was none).
    pub previous: Option<PathBuf>,
    /// The restored file's schema version (older ones are migrated when
    /// the server starts).
    pub schema_version: i64,
}

/// Restore `file` into `data_dir`.
pub fn restore(data_dir: &Path, file: &Path) -> Result<Restored> {
    let schema_version = check(file)?;
    let _lock = DataDirLock::exclusive(data_dir)?;
    let db = db_path(data_dir);
    let incoming = sibling(&db, ".restoring");
    std::fs::copy(file, &incoming).map_err(|e| io(&incoming, e))?;
    std::fs::File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&incoming, e))?;
    let previous = set_aside(&db)?;
    std::fs::rename(&incoming, &db).map_err(|e| io(&db, e))?;
    tracing::info!(db = %db.display(), from = %file.display(), schema_version, "database restored");
    Ok(Restored {
        db,
        previous,
        schema_version,
    })
}

/// Move the current database (and its WAL, folded in first when it can
/// be) to `.bak`, replacing an older `.bak`.
fn set_aside(db: &Path) -> Result<Option<PathBuf>> {
    if !db.exists() {
        return Ok(None);
    }
    // Fold the WAL into the file so `.bak` stands alone; a database too
    // damaged for that keeps its WAL beside it, as `.bak-wal`.
    if let Err(e) = Connection::open(db)
        .and_then(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
    {
        tracing::warn!(error = %e, "could not checkpoint the current database");
    }
    let bak = sibling(db, ".bak");
    std::fs::rename(db, &bak).map_err(|e| io(db, e))?;
    let wal = sibling(db, "-wal");
    let bak_wal = sibling(&bak, "-wal");
    let _ = std::fs::remove_file(&bak_wal);
    if wal.exists() {
        std::fs::rename(&wal, &bak_wal).map_err(|e| io(&wal, e))?;
    }
    let _ = std::fs::remove_file(sibling(db, "-shm"));
    Ok(Some(bak))
}
