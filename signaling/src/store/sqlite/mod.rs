//! The SQLite backend: all state in one file in the data dir.
//!
//! rusqlite is synchronous; every call is a few hundred microseconds on a
//! local file, so the async methods run it inline while holding the
//! connection's mutex briefly (never across an `.await`).

mod api_tokens;
mod devices;
mod events;
mod factors;
mod ping;
mod retention;
mod schema;
mod shares;
mod users;
mod webhook_queue;
mod webhooks;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The newest schema version this build knows.
pub fn schema_version() -> i64 {
    schema::version()
}

/// A SQLite database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Sqlite {
    /// One connection serialises writers, which SQLite does anyway.
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    /// Open (or create) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Sqlite> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Sqlite::init(conn)
    }

    /// A private in-memory database, for unit tests.
    pub fn open_in_memory() -> Result<Sqlite> {
        Sqlite::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Sqlite> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut conn = conn;
        schema::migrate(&mut conn)?;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Internal("database mutex poisoned".into()))
    }
}
