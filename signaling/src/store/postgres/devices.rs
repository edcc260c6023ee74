//! Enrolled devices, their keys, and who may see them, in PostgreSQL.

use async_trait::async_trait;
use meshdesk_protocol::rest::{ConsentPolicy, Permission};
use meshdesk_protocol::signal::Screen;
use tokio_postgres::{GenericClient, Row};

use super::shares::LIVE;
use super::Postgres;
use crate::error::{Error, Result};
use crate::store::{DeviceRow, Devices, NewDevice};

const DEVICE_COLUMNS: &str = "d.id, d.owner_id, u.username, d.name, d.os, d.public_key, \
     d.created_at, d.last_seen, d.consent_owner, d.consent_shared, d.screens, d.sound, d.view_may_copy";
/// How many columns [`DEVICE_COLUMNS`] names: a query's own columns come
/// after them.
const DEVICE_COLUMN_COUNT: usize = 13;

/// A stored policy; the column's CHECK admits only the three names.
fn policy(r: &Row, i: usize) -> Result<ConsentPolicy> {
    let name: String = r.try_get(i)?;
    Ok(ConsentPolicy::parse(&name).unwrap_or_default())
}

fn device_from(r: &Row) -> Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.try_get(0)?,
        owner_id: r.try_get(1)?,
        owner: r.try_get(2)?,
        name: r.try_get(3)?,
        os: r.try_get(4)?,
        public_key: r.try_get(5)?,
        created_at: r.try_get(6)?,
        last_seen: r.try_get(7)?,
        consent_owner: policy(r, 8)?,
        consent_shared: policy(r, 9)?,
        // Written by this server only (`touch_device`); an unreadable
        // value reads as no screens.
        screens: serde_json::from_str(&r.try_get::<_, String>(10)?).unwrap_or_default(),
        sound: r.try_get(11)?,
        view_may_copy: r.try_get(12)?,
    })
}

/// One device, on a connection or inside a transaction.
async fn device_in(c: &impl GenericClient, id: &str) -> Result<Option<DeviceRow>> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d JOIN users u ON u.id = d.owner_id WHERE d.id = $1"
    );
    let row = c.query_opt(&sql, &[&id]).await?;
    row.as_ref().map(device_from).transpose()
}

#[async_trait]
impl Devices for Postgres {
    async fn enroll_device(
        &self,
        code_hash: &[u8],
        now: i64,
        new: &NewDevice,
    ) -> Result<DeviceRow> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // FOR UPDATE: two nodes redeeming the same code take turns, and
        // the second sees it used.
        let code = tx
            .query_opt(
                "SELECT user_id, expires_at, used_at FROM enrollment_codes WHERE hash = $1 FOR UPDATE",
                &[&code_hash],
            )
            .await?;
        let owner_id: i64 = match code {
            None => return Err(Error::Unauthorized("enrollment code is not valid")),
            Some(r) => {
                let expires: i64 = r.try_get(1)?;
                if r.try_get::<_, Option<i64>>(2)?.is_some() {
                    return Err(Error::Unauthorized("enrollment code was already used"));
                }
                if expires <= now {
                    return Err(Error::Unauthorized("enrollment code has expired"));
                }
                r.try_get(0)?
            }
        };
        let key = &new.public_key;
        let revoked = tx
            .query_opt("SELECT 1 FROM revoked_keys WHERE public_key = $1", &[key])
            .await?
            .is_some();
        if revoked {
            return Err(Error::Forbidden(
                "this device key was removed and cannot enroll again",
            ));
        }
        let exists = tx
            .query_opt("SELECT 1 FROM devices WHERE public_key = $1", &[key])
            .await?
            .is_some();
        if exists {
            return Err(Error::Conflict(
                "this device key is already enrolled".into(),
            ));
        }
        tx.execute(
            "UPDATE enrollment_codes SET used_at = $1 WHERE hash = $2",
            &[&now, &code_hash],
        )
        .await?;
        tx.execute(
            "INSERT INTO devices (id, owner_id, name, os, public_key, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&new.id, &owner_id, &new.name, &new.os, key, &now],
        )
        .await
        .map_err(|e| match Error::from(e) {
            // Enrolled by another node since the check above.
            e if super::errors::is_unique_violation(&e) => {
                Error::Conflict("this device key is already enrolled".into())
            }
            e => e,
        })?;
        let row = device_in(&*tx, &new.id)
            .await?
            .ok_or_else(|| Error::Internal("enrolled device not found".into()))?;
        tx.commit().await?;
        Ok(row)
    }

    async fn device(&self, id: &str) -> Result<Option<DeviceRow>> {
        device_in(&**self.client().await?, id).await
    }

    async fn devices_visible_to(&self, user_id: i64) -> Result<Vec<(DeviceRow, Permission)>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {DEVICE_COLUMNS}, 'owner' FROM devices d JOIN users u ON u.id = d.owner_id
               WHERE d.owner_id = $1
             UNION ALL
             SELECT {DEVICE_COLUMNS}, s.permission FROM shares s
               JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = d.owner_id
               WHERE s.user_id = $1 AND {LIVE}"
        );
        let mut out = Vec::new();
        for r in client.query(&sql, &[&user_id]).await? {
            let perm: String = r.try_get(DEVICE_COLUMN_COUNT)?;
            let perm = Permission::parse(&perm).unwrap_or(Permission::View);
            out.push((device_from(&r)?, perm));
        }
        // SQLite's order: name folded to ASCII lower case, then id.
        out.sort_by(|(a, _), (b, _)| {
            let key = |d: &DeviceRow| (d.name.to_ascii_lowercase(), d.id.clone());
            key(a).cmp(&key(b))
        });
        Ok(out)
    }

    async fn permission(&self, user_id: i64, device_id: &str) -> Result<Option<Permission>> {
        let client = self.client().await?;
        let owner = client
            .query_opt("SELECT owner_id FROM devices WHERE id = $1", &[&device_id])
            .await?;
        let owner: i64 = match owner {
            None => return Ok(None),
            Some(r) => r.try_get(0)?,
        };
        if owner == user_id {
            return Ok(Some(Permission::Owner));
        }
        let sql = format!(
            "SELECT s.permission FROM shares s WHERE s.device_id = $1 AND s.user_id = $2 AND {LIVE}"
        );
        let Some(r) = client.query_opt(&sql, &[&device_id, &user_id]).await? else {
            return Ok(None);
        };
        Ok(Permission::parse(&r.try_get::<_, String>(0)?))
    }

    async fn rename_device(&self, id: &str, name: &str) -> Result<()> {
        let client = self.client().await?;
        client
            .execute("UPDATE devices SET name = $1 WHERE id = $2", &[&name, &id])
            .await?;
        Ok(())
    }

    async fn set_consent(
        &self,
        id: &str,
        owner: Option<ConsentPolicy>,
        shared: Option<ConsentPolicy>,
    ) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE devices SET consent_owner = COALESCE($1, consent_owner),
                                    consent_shared = COALESCE($2, consent_shared)
                 WHERE id = $3",
                &[&owner.map(|p| p.as_str()), &shared.map(|p| p.as_str()), &id],
            )
            .await?;
        Ok(())
    }

    async fn set_sound(&self, id: &str, on: bool) -> Result<()> {
        let client = self.client().await?;
        client
            .execute("UPDATE devices SET sound = $1 WHERE id = $2", &[&on, &id])
            .await?;
        Ok(())
    }

    async fn set_view_may_copy(&self, id: &str, on: bool) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE devices SET view_may_copy = $1 WHERE id = $2",
                &[&on, &id],
            )
            .await?;
        Ok(())
    }

    async fn remove_device(&self, id: &str, now: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO revoked_keys (public_key, revoked_at)
             SELECT public_key, $2 FROM devices WHERE id = $1 ON CONFLICT DO NOTHING",
            &[&id, &now],
        )
        .await?;
        tx.execute("DELETE FROM devices WHERE id = $1", &[&id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn touch_device(&self, id: &str, os: &str, screens: &[Screen], now: i64) -> Result<()> {
        let screens = serde_json::to_string(screens).map_err(|e| Error::Internal(e.to_string()))?;
        let client = self.client().await?;
        client
            .execute(
                "UPDATE devices SET os = $1, screens = $2, last_seen = $3 WHERE id = $4",
                &[&os, &screens, &now, &id],
            )
            .await?;
        Ok(())
    }

    async fn set_last_seen(&self, id: &str, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE devices SET last_seen = $1 WHERE id = $2",
                &[&now, &id],
            )
            .await?;
        Ok(())
    }

    async fn device_audience(&self, device_id: &str) -> Result<Vec<i64>> {
        audience_of(&**self.client().await?, device_id).await
    }
}

/// [`Devices::device_audience`] on a connection or inside a transaction.
pub(super) async fn audience_of(c: &impl GenericClient, device_id: &str) -> Result<Vec<i64>> {
    let rows = c
        .query(
            "SELECT owner_id FROM devices WHERE id = $1
             UNION SELECT user_id FROM shares WHERE device_id = $1",
            &[&device_id],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}
