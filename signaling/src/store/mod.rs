//! Durable state in one SQLite file: accounts, second factors, sign-in and API tokens,
//! enrollment codes, devices, shares, the activity feed, and webhooks with
//! their delivery queue.
//!
//! rusqlite is synchronous; every call is a few hundred microseconds on a
//! local file, so handlers call it directly while holding the connection's
//! mutex briefly. Everything that must survive a restart lives here; live
//! state (connections, sessions, presence) lives in the hub.

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

pub use api_tokens::NewApiToken;
pub use devices::{DeviceRow, NewDevice};
pub use events::{EventQuery, EventRead, NewEvent};
pub use factors::PasskeyRow;
pub use shares::EndedShare;
pub use users::User;
pub use webhook_queue::DisabledWebhook;
pub use webhooks::{DeliveryJob, DueDelivery, NewWebhookRow, Settled};

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "meshdesk.db";

/// The newest schema version this build knows.
pub fn schema_version() -> i64 {
    schema::version()
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// One connection serialises writers, which SQLite does anyway.
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Open (or create) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Store::init(conn)
    }

    /// A private in-memory database, for unit tests.
    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut conn = conn;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Internal("database mutex poisoned".into()))
    }
}
