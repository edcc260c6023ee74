//! The PostgreSQL backend: all state in one database that several nodes
//! can share, through a pool of connections (tokio-postgres with
//! deadpool). The schema is applied at start ([`schema`]).
//!
//! A lost server is not fatal: a request that needs the database while it
//! is away fails with [`Error::DatabaseUnavailable`] (503), and the pool
//! connects again on the next request once the server is back.

mod api_tokens;
mod devices;
mod errors;
mod events;
mod factors;
mod ping;
mod retention;
mod schema;
mod shares;
mod users;
mod webhook_queue;
mod webhooks;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

/// Connections per node: enough for every handler awaiting the database
/// at once on a small machine; PostgreSQL's default limit is 100.
const MAX_CONNECTIONS: usize = 16;

/// Longer than this to connect, or to wait for a free connection, and the
/// request fails as "unavailable" rather than hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL database; cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    /// Connections, opened on demand and dropped when found closed.
    pool: Pool,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("Postgres")
            .field("connections", &status.size)
            .field("idle", &status.available)
            .finish()
    }
}

impl Postgres {
    /// Connect to `url` and bring its schema up to date.
    pub async fn connect(url: &DatabaseUrl) -> Result<Postgres> {
        let mut config = url.config().clone();
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("meshdesk-signaling");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // Drops connections the server closed (a restart) before use.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| Error::Internal(format!("database pool: {e}")))?;
        let pg = Postgres { pool };
        let mut client = pg.client().await?;
        schema::migrate(&mut client).await?;
        Ok(pg)
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }
}

/// A count or small number as the API's `u32` (a negative or huge stored
/// value, which this server never writes, reads as the nearest bound).
fn to_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}
