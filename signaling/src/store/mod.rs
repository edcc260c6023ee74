//! Durable state: accounts, second factors, sign-in and API tokens,
//! enrollment codes, devices, shares, the activity feed, and webhooks with
//! their delivery queue.
//!
//! One interface, [`Backend`] (the traits of this module's files, one per
//! area), and implementations chosen at start (`[database] url`):
//! [`sqlite`] (one file in the data dir, the default) and [`postgres`]
//! (a server several nodes can share). Handlers hold a [`Store`] and call the
//! interface's async methods on it. Everything that must survive a
//! restart lives here; live state (connections, sessions, presence) lives
//! in the hub.

mod api_tokens;
mod devices;
mod events;
mod factors;
pub mod postgres;
mod retention;
mod shares;
pub mod sqlite;
mod users;
mod webhook_queue;
mod webhooks;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::auth::access::Access;
use crate::error::Result;

pub use api_tokens::{ApiTokens, NewApiToken};
pub use devices::{DeviceRow, Devices, NewDevice};
pub use events::{
    audience, event_file, stored_size, Addressed, EventQuery, EventRead, Events, NewEvent, Recorded,
};
pub use factors::{Factors, PasskeyRow};
pub use retention::Retention;
pub use shares::{perm_parse, perm_str, EndedShare, Shares};
pub use users::{User, UserWithHash, Users};
pub use webhook_queue::{DisabledWebhook, WebhookQueue};
pub use webhooks::{
    json, status_parse, status_str, DeliveryJob, DueDelivery, NewWebhookRow, Settled, Webhooks,
};

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "meshdesk.db";

/// The newest SQLite schema version this build knows (backups carry it).
pub fn schema_version() -> i64 {
    sqlite::schema_version()
}

/// Everything a storage backend answers: the traits of each area, plus
/// a health check.
#[async_trait]
pub trait Backend:
    Users
    + Devices
    + Events
    + Shares
    + Webhooks
    + WebhookQueue
    + ApiTokens
    + Factors
    + Retention
    + std::fmt::Debug
    + Send
    + Sync
{
    /// Touch the database cheaply (no write), for `GET /healthz`.
    async fn ping(&self) -> Result<()>;
}

/// Handle to the database, whichever backend keeps it; cheap to clone.
/// Derefs to [`Backend`], so `store.device(id).await` calls the backend.
#[derive(Clone, Debug)]
pub struct Store {
    /// The backend chosen at start.
    backend: Arc<dyn Backend>,
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Store {
    /// Keep state in a backend.
    pub fn new(backend: impl Backend + 'static) -> Store {
        Store {
            backend: Arc::new(backend),
        }
    }

    /// Open (or create) the SQLite file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store::new(sqlite::Sqlite::open(path)?))
    }

    /// Open the backend `settings` name: SQLite in `data_dir`, or the
    /// PostgreSQL database (migrated at start).
    pub async fn open_configured(
        settings: &crate::config::DatabaseSettings,
        data_dir: &Path,
    ) -> Result<Store> {
        match settings {
            crate::config::DatabaseSettings::Sqlite => Store::open(&data_dir.join(DB_FILE)),
            crate::config::DatabaseSettings::Postgres(url) => {
                tracing::info!(database = %url, "state in PostgreSQL");
                Ok(Store::new(postgres::Postgres::connect(url).await?))
            }
        }
    }

    /// A private in-memory SQLite database, for unit tests.
    pub fn open_in_memory() -> Result<Store> {
        Ok(Store::new(sqlite::Sqlite::open_in_memory()?))
    }

    /// Whether a sign-in or API token still works (not expired, revoked
    /// or signed out), without counting as a use of it: for open streams
    /// checking their credentials now and then.
    pub async fn token_valid(&self, hash: &[u8], now: i64) -> Result<bool> {
        if self.session_user(hash, now).await?.is_some() {
            return Ok(true);
        }
        self.api_token_valid(hash, now).await
    }

    /// Who a bearer token or cookie belongs to, and what it may do: a
    /// sign-in first, then an API token (marked used).
    pub async fn authenticate(&self, hash: &[u8], now: i64) -> Result<Option<(User, Access)>> {
        if let Some(user) = self.session_user(hash, now).await? {
            return Ok(Some((user, Access::Session)));
        }
        self.use_api_token(hash, now).await
    }
}
