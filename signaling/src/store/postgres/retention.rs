//! Feed retention in PostgreSQL (see [`crate::store::Retention`]).

use async_trait::async_trait;

use super::Postgres;
use crate::error::Result;
use crate::feed::cursor::Pruned;
use crate::store::Retention;

#[async_trait]
impl Retention for Postgres {
    async fn prune_events(&self, cutoff_at: i64) -> Result<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let through: Option<i64> = tx
            .query_one("SELECT MAX(id) FROM events WHERE at < $1", &[&cutoff_at])
            .await?
            .try_get(0)?;
        let Some(through) = through else {
            return Ok(0);
        };
        let newest_at: i64 = tx
            .query_one("SELECT MAX(at) FROM events WHERE id <= $1", &[&through])
            .await?
            .try_get(0)?;
        let deleted = tx
            .execute("DELETE FROM events WHERE id <= $1", &[&through])
            .await?;
        tx.execute(
            "INSERT INTO events_pruned (id, through_id, newest_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET
                 through_id = GREATEST(events_pruned.through_id, excluded.through_id),
                 newest_at = GREATEST(events_pruned.newest_at, excluded.newest_at)",
            &[&through, &newest_at],
        )
        .await?;
        tx.commit().await?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    async fn pruned(&self) -> Result<Option<Pruned>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT through_id, newest_at FROM events_pruned WHERE id = 1",
                &[],
            )
            .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        Ok(Some(Pruned {
            through_id: r.try_get(0)?,
            newest_at: r.try_get(1)?,
        }))
    }
}
