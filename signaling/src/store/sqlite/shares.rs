//! Shares in SQLite. Until the expiry task deletes an expired share,
//! [`LIVE`] keeps it out of every access check.

use async_trait::async_trait;
use meshdesk_protocol::rest::{Share, SharePermission};
use rusqlite::params;

use super::Sqlite;
use crate::error::Result;
use crate::store::{perm_parse, perm_str, EndedShare, Shares};

/// SQL condition true for a share (aliased `s`) that has not expired now.
pub(super) const LIVE: &str = "(s.expires_at IS NULL OR s.expires_at > \
     CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER))";

#[async_trait]
impl Shares for Sqlite {
    /// Grant or change a share; `expires_at` (Unix ms) replaces any earlier end.
    async fn upsert_share(
        &self,
        device_id: &str,
        user_id: i64,
        perm: SharePermission,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO shares (device_id, user_id, permission, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (device_id, user_id) DO UPDATE
               SET permission = excluded.permission, expires_at = excluded.expires_at",
            params![device_id, user_id, perm_str(perm), now, expires_at],
        )?;
        Ok(())
    }

    /// Revoke a share; false if there was none.
    async fn delete_share(&self, device_id: &str, user_id: i64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "DELETE FROM shares WHERE device_id = ?1 AND user_id = ?2",
            params![device_id, user_id],
        )?;
        Ok(n > 0)
    }

    /// The shares of a device that have not expired.
    async fn shares(&self, device_id: &str) -> Result<Vec<Share>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT u.username, s.permission, s.created_at, s.expires_at FROM shares s
             JOIN users u ON u.id = s.user_id
             WHERE s.device_id = ?1 AND {LIVE} ORDER BY u.username COLLATE NOCASE"
        ))?;
        let rows = stmt.query_map([device_id], |r| {
            let p: String = r.get(1)?;
            Ok(Share {
                username: r.get(0)?,
                permission: perm_parse(&p),
                created_at: r.get(2)?,
                expires_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The earliest end of a share given for a time, if any.
    async fn next_share_expiry(&self) -> Result<Option<i64>> {
        let conn = self.lock()?;
        Ok(conn.query_row(
            "SELECT MIN(expires_at) FROM shares WHERE expires_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Delete, in one transaction, every share whose end is at or before
    /// `now`, and return them so their holders can be told.
    async fn take_expired_shares(&self, now: i64) -> Result<Vec<EndedShare>> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let expired = {
            let mut stmt = tx.prepare(
                "SELECT s.device_id, d.name, d.owner_id, s.user_id, u.username
                 FROM shares s JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = s.user_id
                 WHERE s.expires_at IS NOT NULL AND s.expires_at <= ?1",
            )?;
            let rows = stmt.query_map([now], |r| {
                Ok(EndedShare {
                    device_id: r.get(0)?,
                    device_name: r.get(1)?,
                    owner_id: r.get(2)?,
                    user_id: r.get(3)?,
                    username: r.get(4)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.execute(
            "DELETE FROM shares WHERE expires_at IS NOT NULL AND expires_at <= ?1",
            [now],
        )?;
        tx.commit()?;
        Ok(expired)
    }
}
