//! Whether the database answers, for `GET /healthz`.

use async_trait::async_trait;

use super::Postgres;
use crate::error::Result;
use crate::store::Backend;

#[async_trait]
impl Backend for Postgres {
    /// A round trip on a pooled connection; no table is touched.
    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }
}
