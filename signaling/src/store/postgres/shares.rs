//! Shares in PostgreSQL. Until the expiry task deletes an expired share,
//! [`LIVE`] keeps it out of every access check.

use async_trait::async_trait;
use meshdesk_protocol::rest::{Share, SharePermission};

use super::Postgres;
use crate::error::Result;
use crate::store::{perm_parse, perm_str, EndedShare, Shares};

/// SQL condition true for a share (aliased `s`) that has not expired now.
pub(super) const LIVE: &str =
    "(s.expires_at IS NULL OR s.expires_at > (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT)";

#[async_trait]
impl Shares for Postgres {
    async fn upsert_share(
        &self,
        device_id: &str,
        user_id: i64,
        perm: SharePermission,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO shares (device_id, user_id, permission, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (device_id, user_id) DO UPDATE
                   SET permission = excluded.permission, expires_at = excluded.expires_at",
                &[&device_id, &user_id, &perm_str(perm), &now, &expires_at],
            )
            .await?;
        Ok(())
    }

    async fn delete_share(&self, device_id: &str, user_id: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM shares WHERE device_id = $1 AND user_id = $2",
                &[&device_id, &user_id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn shares(&self, device_id: &str) -> Result<Vec<Share>> {
        let client = self.client().await?;
        // Byte order of the lower-cased name, as SQLite's NOCASE sorts.
        let sql = format!(
            "SELECT u.username, s.permission, s.created_at, s.expires_at FROM shares s
             JOIN users u ON u.id = s.user_id
             WHERE s.device_id = $1 AND {LIVE} ORDER BY lower(u.username) COLLATE \"C\""
        );
        let rows = client.query(&sql, &[&device_id]).await?;
        rows.iter()
            .map(|r| {
                Ok(Share {
                    username: r.try_get(0)?,
                    permission: perm_parse(&r.try_get::<_, String>(1)?),
                    created_at: r.try_get(2)?,
                    expires_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    async fn next_share_expiry(&self) -> Result<Option<i64>> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT MIN(expires_at) FROM shares WHERE expires_at IS NOT NULL",
                &[],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn take_expired_shares(&self, now: i64) -> Result<Vec<EndedShare>> {
        let client = self.client().await?;
        // One statement: what it deletes is what it returns, even with
        // another node expiring at the same moment.
        let rows = client
            .query(
                "WITH gone AS (
                     DELETE FROM shares WHERE expires_at IS NOT NULL AND expires_at <= $1
                     RETURNING device_id, user_id
                 )
                 SELECT g.device_id, d.name, d.owner_id, g.user_id, u.username
                 FROM gone g JOIN devices d ON d.id = g.device_id JOIN users u ON u.id = g.user_id",
                &[&now],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(EndedShare {
                    device_id: r.try_get(0)?,
                    device_name: r.try_get(1)?,
                    owner_id: r.try_get(2)?,
                    user_id: r.try_get(3)?,
                    username: r.try_get(4)?,
                })
            })
            .collect()
    }
}
