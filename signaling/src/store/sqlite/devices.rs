//! Enrolled devices, their keys, and who may see them, in SQLite.

use async_trait::async_trait;
use meshdesk_protocol::rest::{ConsentPolicy, Permission};
use meshdesk_protocol::signal::Screen;
use rusqlite::{params, OptionalExtension, Row};

use super::shares::LIVE;
use super::Sqlite;
use crate::error::{Error, Result};
use crate::store::{DeviceRow, Devices, NewDevice};

const DEVICE_COLUMNS: &str = "d.id, d.owner_id, u.username, d.name, d.os, d.public_key, \
     d.created_at, d.last_seen, d.consent_owner, d.consent_shared, d.screens, d.sound, d.view_may_copy";
/// How many columns [`DEVICE_COLUMNS`] names: a query's own columns come
/// after them.
const DEVICE_COLUMN_COUNT: usize = 13;

/// A stored policy; the column's CHECK admits only the three names.
fn policy(r: &Row<'_>, i: usize) -> rusqlite::Result<ConsentPolicy> {
    let name: String = r.get(i)?;
    Ok(ConsentPolicy::parse(&name).unwrap_or_default())
}

fn device_from_row(r: &Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        owner: r.get(2)?,
        name: r.get(3)?,
        os: r.get(4)?,
        public_key: r.get(5)?,
        created_at: r.get(6)?,
        last_seen: r.get(7)?,
        consent_owner: policy(r, 8)?,
        consent_shared: policy(r, 9)?,
        // Written by this server only (`touch_device`); an unreadable
        // value reads as no screens.
        screens: serde_json::from_str(&r.get::<_, String>(10)?).unwrap_or_default(),
        sound: r.get(11)?,
        view_may_copy: r.get(12)?,
    })
}

#[async_trait]
impl Devices for Sqlite {
    /// Redeem a one-time enrollment code and create the device for the
    /// code's owner, atomically. Fails for an unknown, used or expired code
    /// and for a key that is revoked or already enrolled.
    async fn enroll_device(
        &self,
        code_hash: &[u8],
        now: i64,
        new: &NewDevice,
    ) -> Result<DeviceRow> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let code: Option<(i64, i64, Option<i64>)> = tx
            .query_row(
                "SELECT user_id, expires_at, used_at FROM enrollment_codes WHERE hash = ?1",
                [code_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let owner_id = match code {
            None => return Err(Error::Unauthorized("enrollment code is not valid")),
            Some((_, _, Some(_))) => {
                return Err(Error::Unauthorized("enrollment code was already used"))
            }
            Some((_, expires, None)) if expires <= now => {
                return Err(Error::Unauthorized("enrollment code has expired"))
            }
            Some((user_id, _, None)) => user_id,
        };
        let revoked: bool = tx
            .query_row(
                "SELECT 1 FROM revoked_keys WHERE public_key = ?1",
                [&new.public_key],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if revoked {
            return Err(Error::Forbidden(
                "this device key was removed and cannot enroll again",
            ));
        }
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM devices WHERE public_key = ?1",
                [&new.public_key],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if exists {
            return Err(Error::Conflict(
                "this device key is already enrolled".into(),
            ));
        }
        tx.execute(
            "UPDATE enrollment_codes SET used_at = ?1 WHERE hash = ?2",
            params![now, code_hash],
        )?;
        tx.execute(
            "INSERT INTO devices (id, owner_id, name, os, public_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![new.id, owner_id, new.name, new.os, new.public_key, now],
        )?;
        let row = tx.query_row(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices d JOIN users u ON u.id = d.owner_id WHERE d.id = ?1"),
            [&new.id],
            device_from_row,
        )?;
        tx.commit()?;
        Ok(row)
    }

    /// One device by id.
    async fn device(&self, id: &str) -> Result<Option<DeviceRow>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices d JOIN users u ON u.id = d.owner_id WHERE d.id = ?1"),
                [id],
                device_from_row,
            )
            .optional()?)
    }

    /// Every device a user may see, with the user's permission on it.
    async fn devices_visible_to(&self, user_id: i64) -> Result<Vec<(DeviceRow, Permission)>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLUMNS}, 'owner' FROM devices d JOIN users u ON u.id = d.owner_id
               WHERE d.owner_id = ?1
             UNION ALL
             SELECT {DEVICE_COLUMNS}, s.permission FROM shares s
               JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = d.owner_id
               WHERE s.user_id = ?1 AND {LIVE}
             ORDER BY 4 COLLATE NOCASE, 1"
        ))?;
        let rows = stmt.query_map([user_id], |r| {
            let perm: String = r.get(DEVICE_COLUMN_COUNT)?;
            Ok((
                device_from_row(r)?,
                Permission::parse(&perm).unwrap_or(Permission::View),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// A user's permission on a device, or `None` if they may not see it.
    async fn permission(&self, user_id: i64, device_id: &str) -> Result<Option<Permission>> {
        let conn = self.lock()?;
        let owner: Option<i64> = conn
            .query_row(
                "SELECT owner_id FROM devices WHERE id = ?1",
                [device_id],
                |r| r.get(0),
            )
            .optional()?;
        match owner {
            None => Ok(None),
            Some(o) if o == user_id => Ok(Some(Permission::Owner)),
            Some(_) => {
                let p: Option<String> = conn
                    .query_row(
                        &format!(
                            "SELECT s.permission FROM shares s
                             WHERE s.device_id = ?1 AND s.user_id = ?2 AND {LIVE}"
                        ),
                        params![device_id, user_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                Ok(p.and_then(|p| Permission::parse(&p)))
            }
        }
    }

    /// Rename a device.
    async fn rename_device(&self, id: &str, name: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE devices SET name = ?1 WHERE id = ?2",
            params![name, id],
        )?;
        Ok(())
    }

    /// Set a device's consent policies; `None` keeps one as it is.
    async fn set_consent(
        &self,
        id: &str,
        owner: Option<ConsentPolicy>,
        shared: Option<ConsentPolicy>,
    ) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE devices SET consent_owner = COALESCE(?1, consent_owner),
                                consent_shared = COALESCE(?2, consent_shared)
             WHERE id = ?3",
            params![owner.map(|p| p.as_str()), shared.map(|p| p.as_str()), id],
        )?;
        Ok(())
    }

    /// Turn the device's sound in sessions on or off.
    async fn set_sound(&self, id: &str, on: bool) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE devices SET sound = ?1 WHERE id = ?2",
            params![on, id],
        )?;
        Ok(())
    }

    /// Let `view` sessions copy from the device's clipboard, or not.
    async fn set_view_may_copy(&self, id: &str, on: bool) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE devices SET view_may_copy = ?1 WHERE id = ?2",
            params![on, id],
        )?;
        Ok(())
    }

    /// Remove a device and revoke its key for good.
    async fn remove_device(&self, id: &str, now: i64) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO revoked_keys (public_key, revoked_at)
             SELECT public_key, ?2 FROM devices WHERE id = ?1",
            params![id, now],
        )?;
        tx.execute("DELETE FROM devices WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Record what a connected device reported: its OS string, its
    /// screens, and when.
    async fn touch_device(&self, id: &str, os: &str, screens: &[Screen], now: i64) -> Result<()> {
        let screens = serde_json::to_string(screens).map_err(|e| Error::Internal(e.to_string()))?;
        let conn = self.lock()?;
        conn.execute(
            "UPDATE devices SET os = ?1, screens = ?2, last_seen = ?3 WHERE id = ?4",
            params![os, screens, now, id],
        )?;
        Ok(())
    }

    /// Record when a device was last connected.
    async fn set_last_seen(&self, id: &str, now: i64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE devices SET last_seen = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        Ok(())
    }

    async fn device_audience(&self, device_id: &str) -> Result<Vec<i64>> {
        audience_of(&*self.lock()?, device_id)
    }
}

/// [`Devices::device_audience`] on a connection already held (inside a
/// transaction).
pub(super) fn audience_of(conn: &rusqlite::Connection, device_id: &str) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT owner_id FROM devices WHERE id = ?1
         UNION SELECT user_id FROM shares WHERE device_id = ?1",
    )?;
    let ids = stmt.query_map([device_id], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<Vec<i64>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_count_matches_the_columns() {
        assert_eq!(DEVICE_COLUMNS.split(',').count(), DEVICE_COLUMN_COUNT);
    }
}
