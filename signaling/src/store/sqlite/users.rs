//! Accounts, login tokens and enrollment codes, in SQLite.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};

use super::Sqlite;
use crate::error::{Error, Result};
use crate::store::{User, UserWithHash, Users};

pub(super) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        is_admin: r.get(2)?,
        created_at: r.get(3)?,
    })
}

#[async_trait]
impl Users for Sqlite {
    /// Create an account. The first account ever is an admin. With
    /// `first_only`, refuse when any account exists.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
        first_only: bool,
    ) -> Result<User> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let count: i64 = tx.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        if first_only && count > 0 {
            return Err(Error::Forbidden("sign-up is closed on this server"));
        }
        let taken: bool = tx
            .query_row(
                "SELECT 1 FROM users WHERE username = ?1",
                [username],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if taken {
            return Err(Error::Conflict(format!("username `{username}` is taken")));
        }
        let is_admin = count == 0;
        tx.execute(
            "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![username, password_hash, is_admin, now],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(User {
            id,
            username: username.to_string(),
            is_admin,
            created_at: now,
        })
    }

    /// Look an account up by name (case-insensitive), with its hash.
    async fn user_for_login(&self, username: &str) -> Result<Option<UserWithHash>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT id, username, is_admin, created_at, password_hash FROM users WHERE username = ?1",
                [username],
                |r| {
                    Ok(UserWithHash {
                        user: user_from_row(r)?,
                        password_hash: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Store a login token's hash.
    async fn insert_token(
        &self,
        hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, user_id, now, expires_at],
        )?;
        Ok(())
    }

    /// The account a sign-in token belongs to, if it has not expired.
    async fn session_user(&self, hash: &[u8], now: i64) -> Result<Option<User>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT u.id, u.username, u.is_admin, u.created_at FROM tokens t
                 JOIN users u ON u.id = t.user_id WHERE t.hash = ?1 AND t.expires_at > ?2",
                params![hash, now],
                user_from_row,
            )
            .optional()?)
    }

    /// Forget a token (sign-out).
    async fn delete_token(&self, hash: &[u8]) -> Result<()> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM tokens WHERE hash = ?1", [hash])?;
        Ok(())
    }

    /// Store a new enrollment code's hash.
    async fn insert_enrollment_code(
        &self,
        hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO enrollment_codes (hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, user_id, now, expires_at],
        )?;
        Ok(())
    }

    /// Delete expired tokens and old enrollment codes.
    async fn purge_expired(&self, now: i64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM tokens WHERE expires_at <= ?1", [now])?;
        conn.execute("DELETE FROM enrollment_codes WHERE expires_at <= ?1", [now])?;
        Ok(())
    }
}
