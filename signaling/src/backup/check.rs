//! Whether a file is a sound Meshdesk database this build can run on:
//! SQLite, passing `PRAGMA integrity_check`, with the Meshdesk tables and
//! a schema version from 1 to the newest this build knows.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::store::schema_version;

/// Tables every Meshdesk schema has had since version 1.
const CORE_TABLES: &[&str] = &["users", "tokens", "devices", "shares", "events"];

/// The schema version of a checked database file.
pub fn check(path: &Path) -> Result<i64> {
    let shown = path.display();
    let bad = |why: String| Error::BadRequest(format!("{shown}: {why}"));
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(format!("cannot open: {e}")))?;
    // The first read fails when the file is not SQLite at all.
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| bad(format!("not a SQLite database ({e})")))?;
    let integrity: String = conn
        .pragma_query_value(None, "integrity_check", |r| r.get(0))
        .map_err(|e| bad(format!("integrity check failed to run: {e}")))?;
    if integrity != "ok" {
        return Err(bad(format!("damaged: integrity check says {integrity}")));
    }
    for table in CORE_TABLES {
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )?;
        if n == 0 {
            return Err(bad(format!("not a Meshdesk database (no `{table}` table)")));
        }
    }
    let known = schema_version();
    if version < 1 || version > known {
        return Err(bad(format!(
            "schema version {version}, but this meshdesk-signaling knows 1 to {known}; \
             restore it with the version that made it"
        )));
    }
    Ok(version)
}
