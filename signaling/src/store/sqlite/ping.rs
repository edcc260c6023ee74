//! Whether the database answers, for `GET /healthz`.

use async_trait::async_trait;

use super::Sqlite;
use crate::error::Result;
use crate::store::Backend;

#[async_trait]
impl Backend for Sqlite {
    /// Read the schema version: touches the file, takes no write lock.
    async fn ping(&self) -> Result<()> {
        let conn = self.lock()?;
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_open_store_answers() {
        let s = Sqlite::open_in_memory().expect("store");
        s.ping().await.expect("answers");
    }
}
