//! Accounts, login tokens and enrollment codes in PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::Postgres;
use crate::error::{Error, Result};
use crate::store::{User, UserWithHash, Users};

/// The columns [`user_from`] reads, in its order.
pub(super) const USER_COLUMNS: &str = "id, username, is_admin, created_at";

pub(super) fn user_from(r: &Row) -> Result<User> {
    Ok(User {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        is_admin: r.try_get(2)?,
        created_at: r.try_get(3)?,
    })
}

#[async_trait]
impl Users for Postgres {
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
        first_only: bool,
    ) -> Result<User> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Sign-ups on every node take turns: exactly one first account,
        // which alone becomes the admin.
        tx.batch_execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .await?;
        let count: i64 = tx
            .query_one("SELECT COUNT(*) FROM users", &[])
            .await?
            .try_get(0)?;
        if first_only && count > 0 {
            return Err(Error::Forbidden("sign-up is closed on this server"));
        }
        let taken = tx
            .query_opt(
                "SELECT 1 FROM users WHERE lower(username) = lower($1)",
                &[&username],
            )
            .await?
            .is_some();
        if taken {
            return Err(Error::Conflict(format!("username `{username}` is taken")));
        }
        let is_admin = count == 0;
        let id: i64 = tx
            .query_one(
                "INSERT INTO users (username, password_hash, is_admin, created_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&username, &password_hash, &is_admin, &now],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(User {
            id,
            username: username.to_string(),
            is_admin,
            created_at: now,
        })
    }

    async fn user_for_login(&self, username: &str) -> Result<Option<UserWithHash>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower($1)"
        );
        let Some(r) = client.query_opt(&sql, &[&username]).await? else {
            return Ok(None);
        };
        Ok(Some(UserWithHash {
            user: user_from(&r)?,
            password_hash: r.try_get(4)?,
        }))
    }

    async fn insert_token(
        &self,
        hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&hash, &user_id, &now, &expires_at],
            )
            .await?;
        Ok(())
    }

    async fn session_user(&self, hash: &[u8], now: i64) -> Result<Option<User>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT u.id, u.username, u.is_admin, u.created_at FROM tokens t
                 JOIN users u ON u.id = t.user_id WHERE t.hash = $1 AND t.expires_at > $2",
                &[&hash, &now],
            )
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn delete_token(&self, hash: &[u8]) -> Result<()> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM tokens WHERE hash = $1", &[&hash])
            .await?;
        Ok(())
    }

    async fn insert_enrollment_code(
        &self,
        hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO enrollment_codes (hash, user_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&hash, &user_id, &now, &expires_at],
            )
            .await?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM tokens WHERE expires_at <= $1", &[&now])
            .await?;
        client
            .execute(
                "DELETE FROM enrollment_codes WHERE expires_at <= $1",
                &[&now],
            )
            .await?;
        Ok(())
    }
}
