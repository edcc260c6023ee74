//! Feed retention in SQLite (see [`crate::store::Retention`]).

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::Sqlite;
use crate::error::Result;
use crate::feed::cursor::Pruned;
use crate::store::Retention;

#[async_trait]
impl Retention for Sqlite {
    /// Delete every event up to the newest one recorded before
    /// `cutoff_at` (epoch ms); returns how many were deleted.
    async fn prune_events(&self, cutoff_at: i64) -> Result<usize> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let through: Option<i64> = tx.query_row(
            "SELECT MAX(id) FROM events WHERE at < ?1",
            [cutoff_at],
            |r| r.get(0),
        )?;
        let Some(through) = through else {
            return Ok(0);
        };
        let newest_at: i64 = tx.query_row(
            "SELECT MAX(at) FROM events WHERE id <= ?1",
            [through],
            |r| r.get(0),
        )?;
        let deleted = tx.execute("DELETE FROM events WHERE id <= ?1", [through])?;
        tx.execute(
            "INSERT INTO events_pruned (id, through_id, newest_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET
                 through_id = MAX(through_id, excluded.through_id),
                 newest_at = MAX(newest_at, excluded.newest_at)",
            params![through, newest_at],
        )?;
        tx.commit()?;
        Ok(deleted)
    }

    /// How far pruning has deleted; `None` when it never deleted anything.
    async fn pruned(&self) -> Result<Option<Pruned>> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT through_id, newest_at FROM events_pruned WHERE id = 1",
                [],
                |r| {
                    Ok(Pruned {
                        through_id: r.get(0)?,
                        newest_at: r.get(1)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }
}
