//! Second factors in SQLite.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Transaction};

use super::Sqlite;
use crate::auth::second_factor::AccountFactors;
use crate::error::Result;
use crate::store::{Factors, PasskeyRow};

#[async_trait]
impl Factors for Sqlite {
    /// The account's factors in force (a pending TOTP enrollment is not).
    async fn account_factors(&self, user_id: i64) -> Result<AccountFactors> {
        let conn = self.lock()?;
        let totp = conn
            .query_row(
                "SELECT secret, last_step FROM totp WHERE user_id = ?1 AND enabled = 1",
                [user_id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .optional()?
            .map(|(s, step)| (s, step.map(|v| v as u64)));
        let mut stmt =
            conn.prepare("SELECT hash FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL")?;
        let hashes = stmt
            .query_map([user_id], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // Every stored hash is 32 bytes (SHA-256); anything else is skipped.
        let recovery = hashes
            .into_iter()
            .filter_map(|h| <[u8; 32]>::try_from(h).ok())
            .collect();
        let passkeys: i64 = conn.query_row(
            "SELECT COUNT(*) FROM passkeys WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        Ok(AccountFactors {
            totp,
            recovery,
            passkeys: passkeys as usize,
        })
    }

    /// Start (or restart) a TOTP enrollment; TOTP already on is kept.
    /// Returns false when TOTP is already on.
    async fn totp_start(&self, user_id: i64, secret: &str, now: i64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "INSERT INTO totp (user_id, secret, enabled, created_at) VALUES (?1, ?2, 0, ?3)
             ON CONFLICT (user_id) DO UPDATE SET secret = ?2, created_at = ?3 WHERE enabled = 0",
            params![user_id, secret, now],
        )?;
        Ok(n == 1)
    }

    /// The secret of a pending enrollment.
    async fn totp_pending(&self, user_id: i64) -> Result<Option<String>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT secret FROM totp WHERE user_id = ?1 AND enabled = 0",
                [user_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Turn a pending enrollment on, with `step` used and fresh recovery
    /// codes (replacing any old ones). False if none was pending.
    async fn totp_enable(&self, user_id: i64, step: u64, codes: &[[u8; 32]]) -> Result<bool> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE totp SET enabled = 1, last_step = ?2 WHERE user_id = ?1 AND enabled = 0",
            params![user_id, step as i64],
        )?;
        if n != 1 {
            return Ok(false);
        }
        put_recovery_codes(&tx, user_id, codes)?;
        tx.commit()?;
        Ok(true)
    }

    /// Record `step` as used if it is later than the last one; false if
    /// another sign-in used it (or a later one) first.
    async fn totp_use_step(&self, user_id: i64, step: u64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "UPDATE totp SET last_step = ?2
             WHERE user_id = ?1 AND enabled = 1 AND (last_step IS NULL OR last_step < ?2)",
            params![user_id, step as i64],
        )?;
        Ok(n == 1)
    }

    /// Spend a recovery code; false if it was already spent.
    async fn use_recovery_code(&self, user_id: i64, hash: &[u8; 32], now: i64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "UPDATE recovery_codes SET used_at = ?3
             WHERE user_id = ?1 AND hash = ?2 AND used_at IS NULL",
            params![user_id, &hash[..], now],
        )?;
        Ok(n == 1)
    }

    /// Replace all the account's recovery codes (used or not).
    async fn replace_recovery_codes(&self, user_id: i64, codes: &[[u8; 32]]) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        put_recovery_codes(&tx, user_id, codes)?;
        tx.commit()?;
        Ok(())
    }

    /// Turn TOTP off and forget the recovery codes.
    async fn totp_disable(&self, user_id: i64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM totp WHERE user_id = ?1", [user_id])?;
        conn.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
        Ok(())
    }

    /// The account's passkeys, oldest first.
    async fn passkeys(&self, user_id: i64) -> Result<Vec<PasskeyRow>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT id, name, credential, created_at, last_used_at FROM passkeys
             WHERE user_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([user_id], |r| {
            Ok(PasskeyRow {
                id: r.get(0)?,
                name: r.get(1)?,
                credential: r.get(2)?,
                created_at: r.get(3)?,
                last_used_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Store a new passkey; false if its credential id is already stored.
    async fn insert_passkey(
        &self,
        user_id: i64,
        name: &str,
        credential_id: &[u8],
        credential: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let conn = self.lock()?;
        let n = conn.execute(
            "INSERT INTO passkeys (user_id, name, credential_id, credential, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (credential_id) DO NOTHING",
            params![user_id, name, credential_id, credential, now],
        )?;
        Ok((n == 1).then(|| conn.last_insert_rowid()))
    }

    /// After a sign-in with it: its new counter, and when.
    async fn passkey_used(&self, id: i64, credential: &str, now: i64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE passkeys SET credential = ?2, last_used_at = ?3 WHERE id = ?1",
            params![id, credential, now],
        )?;
        Ok(())
    }

    /// Remove one of the account's passkeys; false if it has none by that id.
    async fn delete_passkey(&self, user_id: i64, id: i64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2",
            params![id, user_id],
        )?;
        Ok(n == 1)
    }
}

/// The account's recovery codes become `codes`, inside `tx`.
fn put_recovery_codes(tx: &Transaction<'_>, user_id: i64, codes: &[[u8; 32]]) -> Result<()> {
    tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
    for h in codes {
        tx.execute(
            "INSERT INTO recovery_codes (user_id, hash) VALUES (?1, ?2)",
            params![user_id, &h[..]],
        )?;
    }
    Ok(())
}
