//! Shares: another user's `view` or `control` right on a device, for good
//! or until `expires_at`.
//!
//! An expired share is deleted by the expiry task ([`crate::share_expiry`])
//! at its end; until that runs, [`LIVE`] keeps it out of every access check.

use meshdesk_protocol::rest::{Share, SharePermission};
use rusqlite::params;

use super::Store;
use crate::error::Result;

/// SQL condition true for a share (aliased `s`) that has not expired now.
pub(super) const LIVE: &str = "(s.expires_at IS NULL OR s.expires_at > \
     CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER))";

/// A share that ended: revoked, or reached its end and removed by
/// [`Store::take_expired_shares`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedShare {
    pub device_id: String,
    pub device_name: String,
    pub owner_id: i64,
    pub user_id: i64,
    pub username: String,
}

fn perm_str(p: SharePermission) -> &'static str {
    match p {
        SharePermission::View => "view",
        SharePermission::Control => "control",
    }
}

fn perm_parse(p: &str) -> SharePermission {
    if p == "control" {
        SharePermission::Control
    } else {
        SharePermission::View
    }
}

impl Store {
    /// Grant or change a share; `expires_at` (Unix ms) replaces any earlier end.
    pub fn upsert_share(
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
    pub fn delete_share(&self, device_id: &str, user_id: i64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "DELETE FROM shares WHERE device_id = ?1 AND user_id = ?2",
            params![device_id, user_id],
        )?;
        Ok(n > 0)
    }

    /// The shares of a device that have not expired.
    pub fn shares(&self, device_id: &str) -> Result<Vec<Share>> {
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
    pub fn next_share_expiry(&self) -> Result<Option<i64>> {
        let conn = self.lock()?;
        Ok(conn.query_row(
            "SELECT MIN(expires_at) FROM shares WHERE expires_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Delete, in one transaction, every share whose end is at or before
    /// `now`, and return them so their holders can be told.
    pub fn take_expired_shares(&self, now: i64) -> Result<Vec<EndedShare>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewDevice;

    /// A device of alice's, and bob: (device id, alice's id, bob's id).
    fn device_with_owner(store: &Store) -> (String, i64, i64) {
        let alice = store.create_user("alice", "hash", 0, false).expect("alice");
        let bob = store.create_user("bob", "hash", 0, false).expect("bob");
        store
            .insert_enrollment_code(&[1u8; 32], alice.id, 0, i64::MAX)
            .expect("code");
        let new = NewDevice {
            id: "dev_1".into(),
            public_key: vec![2u8; 32],
            name: "office-pc".into(),
            os: "Linux".into(),
        };
        let device = store.enroll_device(&[1u8; 32], 0, &new).expect("enroll");
        (device.id, alice.id, bob.id)
    }

    #[test]
    fn an_expired_share_is_hidden_then_taken_once() {
        let store = Store::open_in_memory().expect("db");
        let (device, _owner, bob) = device_with_owner(&store);
        let past = crate::clock::now_ms() - 1;
        store
            .upsert_share(&device, bob, SharePermission::Control, 0, Some(past))
            .expect("share");
        assert_eq!(store.permission(bob, &device).expect("read"), None);
        assert!(store.shares(&device).expect("list").is_empty());
        assert!(store.devices_visible_to(bob).expect("list").is_empty());
        assert_eq!(store.next_share_expiry().expect("next"), Some(past));
        let taken = store.take_expired_shares(past).expect("take");
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].user_id, bob);
        assert!(store.take_expired_shares(past).expect("again").is_empty());
        assert_eq!(store.next_share_expiry().expect("next"), None);
    }

    #[test]
    fn a_share_with_a_future_end_works_until_then() {
        let store = Store::open_in_memory().expect("db");
        let (device, _owner, bob) = device_with_owner(&store);
        let later = crate::clock::now_ms() + 3_600_000;
        store
            .upsert_share(&device, bob, SharePermission::View, 0, Some(later))
            .expect("share");
        assert!(store.permission(bob, &device).expect("read").is_some());
        assert_eq!(
            store.shares(&device).expect("list")[0].expires_at,
            Some(later)
        );
        assert!(store
            .take_expired_shares(later - 1)
            .expect("take")
            .is_empty());
        // Granting again without an end makes it last.
        store
            .upsert_share(&device, bob, SharePermission::View, 0, None)
            .expect("share");
        assert_eq!(store.next_share_expiry().expect("next"), None);
    }
}
