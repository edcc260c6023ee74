//! Second factors in PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::GenericClient;

use super::Postgres;
use crate::auth::second_factor::AccountFactors;
use crate::error::Result;
use crate::store::{Factors, PasskeyRow};

/// A time step as stored (steps are 30 s periods since 1970: far below
/// `i64::MAX`).
fn step_col(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

#[async_trait]
impl Factors for Postgres {
    async fn account_factors(&self, user_id: i64) -> Result<AccountFactors> {
        let client = self.client().await?;
        let totp = client
            .query_opt(
                "SELECT secret, last_step FROM totp WHERE user_id = $1 AND enabled",
                &[&user_id],
            )
            .await?;
        let totp = match totp {
            Some(r) => {
                let step: Option<i64> = r.try_get(1)?;
                Some((r.try_get(0)?, step.and_then(|v| u64::try_from(v).ok())))
            }
            None => None,
        };
        let rows = client
            .query(
                "SELECT hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
                &[&user_id],
            )
            .await?;
        let mut recovery = Vec::new();
        for r in rows {
            // Every stored hash is 32 bytes (SHA-256); anything else is skipped.
            if let Ok(h) = <[u8; 32]>::try_from(r.try_get::<_, Vec<u8>>(0)?) {
                recovery.push(h);
            }
        }
        let passkeys: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM passkeys WHERE user_id = $1",
                &[&user_id],
            )
            .await?
            .try_get(0)?;
        Ok(AccountFactors {
            totp,
            recovery,
            passkeys: usize::try_from(passkeys).unwrap_or(0),
        })
    }

    async fn totp_start(&self, user_id: i64, secret: &str, now: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO totp (user_id, secret, enabled, created_at) VALUES ($1, $2, FALSE, $3)
                 ON CONFLICT (user_id) DO UPDATE SET secret = $2, created_at = $3
                 WHERE NOT totp.enabled",
                &[&user_id, &secret, &now],
            )
            .await?;
        Ok(n == 1)
    }

    async fn totp_pending(&self, user_id: i64) -> Result<Option<String>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT secret FROM totp WHERE user_id = $1 AND NOT enabled",
                &[&user_id],
            )
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn totp_enable(&self, user_id: i64, step: u64, codes: &[[u8; 32]]) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE totp SET enabled = TRUE, last_step = $2 WHERE user_id = $1 AND NOT enabled",
                &[&user_id, &step_col(step)],
            )
            .await?;
        if n != 1 {
            return Ok(false);
        }
        put_recovery_codes(&*tx, user_id, codes).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn totp_use_step(&self, user_id: i64, step: u64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE totp SET last_step = $2
                 WHERE user_id = $1 AND enabled AND (last_step IS NULL OR last_step < $2)",
                &[&user_id, &step_col(step)],
            )
            .await?;
        Ok(n == 1)
    }

    async fn use_recovery_code(&self, user_id: i64, hash: &[u8; 32], now: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE recovery_codes SET used_at = $3
                 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL",
                &[&user_id, &&hash[..], &now],
            )
            .await?;
        Ok(n == 1)
    }

    async fn replace_recovery_codes(&self, user_id: i64, codes: &[[u8; 32]]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        put_recovery_codes(&*tx, user_id, codes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn totp_disable(&self, user_id: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM totp WHERE user_id = $1", &[&user_id])
            .await?;
        tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user_id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn passkeys(&self, user_id: i64) -> Result<Vec<PasskeyRow>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, credential, created_at, last_used_at FROM passkeys
                 WHERE user_id = $1 ORDER BY id",
                &[&user_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PasskeyRow {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    credential: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    last_used_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn insert_passkey(
        &self,
        user_id: i64,
        name: &str,
        credential_id: &[u8],
        credential: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "INSERT INTO passkeys (user_id, name, credential_id, credential, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id) DO NOTHING RETURNING id",
                &[&user_id, &name, &credential_id, &credential, &now],
            )
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn passkey_used(&self, id: i64, credential: &str, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1",
                &[&id, &credential, &now],
            )
            .await?;
        Ok(())
    }

    async fn delete_passkey(&self, user_id: i64, id: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM passkeys WHERE id = $1 AND user_id = $2",
                &[&id, &user_id],
            )
            .await?;
        Ok(n == 1)
    }
}

/// The account's recovery codes become `codes`, inside the caller's
/// transaction.
async fn put_recovery_codes(
    c: &impl GenericClient,
    user_id: i64,
    codes: &[[u8; 32]],
) -> Result<()> {
    c.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user_id])
        .await?;
    for h in codes {
        c.execute(
            "INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)",
            &[&user_id, &&h[..]],
        )
        .await?;
    }
    Ok(())
}
