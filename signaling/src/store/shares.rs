//! Shares: another user's `view` or `control` right on a device.

use meshdesk_protocol::rest::{Share, SharePermission};
use rusqlite::params;

use super::Store;
use crate::error::Result;

fn perm_str(p: SharePermission) -> &'static str {
    match p {
        SharePermission::View => "view",
        SharePermission::Control => "control",
    }
}

impl Store {
    /// Grant or change a share.
    pub fn upsert_share(
        &self,
        device_id: &str,
        user_id: i64,
        perm: SharePermission,
        now: i64,
    ) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO shares (device_id, user_id, permission, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device_id, user_id) DO UPDATE SET permission = excluded.permission",
            params![device_id, user_id, perm_str(perm), now],
        )?;
        Ok(())
    }

    /// Revoke a share; false if there was none.
    pub fn delete_share(&self, device_id: &str, user_id: i64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "DELETE FROM shares WHERE device_id = ?1 AND user_id = ?2",
            params![device_id, user_id],
        )?;
        Ok(n > 0)
    }

    /// The shares of a device.
    pub fn shares(&self, device_id: &str) -> Result<Vec<Share>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT u.username, s.permission, s.created_at FROM shares s JOIN users u ON u.id = s.user_id
             WHERE s.device_id = ?1 ORDER BY u.username COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([device_id], |r| {
            let p: String = r.get(1)?;
            Ok(Share {
                username: r.get(0)?,
                permission: if p == "control" {
                    SharePermission::Control
                } else {
                    SharePermission::View
                },
                created_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
