//! Personal API tokens in SQLite: only their SHA-256 is stored, with
//! their scopes, expiry and when they were last used.

use async_trait::async_trait;
use meshdesk_protocol::rest::TokenInfo;
use rusqlite::{params, OptionalExtension, Row};

use super::users::user_from_row;
use super::Sqlite;
use crate::auth::access::{scopes_from_column, scopes_to_column, Access};
use crate::error::Result;
use crate::store::{ApiTokens, NewApiToken, User};

fn info_from_row(r: &Row<'_>) -> rusqlite::Result<TokenInfo> {
    let scopes: String = r.get(2)?;
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        scopes: scopes_from_column(&scopes),
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
        last_used_at: r.get(5)?,
    })
}

#[async_trait]
impl ApiTokens for Sqlite {
    /// Store a new token; returns it as listed.
    async fn insert_api_token(&self, t: &NewApiToken<'_>) -> Result<TokenInfo> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO api_tokens (user_id, name, hash, scopes, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.user_id,
                t.name,
                t.hash,
                scopes_to_column(t.scopes),
                t.created_at,
                t.expires_at
            ],
        )?;
        Ok(TokenInfo {
            id: conn.last_insert_rowid(),
            name: t.name.to_string(),
            scopes: t.scopes.to_vec(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: None,
        })
    }

    /// A user's tokens, newest first (expired ones included, so the user
    /// sees why a program stopped working).
    async fn api_tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT id, name, scopes, created_at, expires_at, last_used_at FROM api_tokens
             WHERE user_id = ?1 ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([user_id], info_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many tokens a user has.
    async fn api_token_count(&self, user_id: i64) -> Result<u32> {
        let conn = self.lock()?;
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM api_tokens WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?)
    }

    /// Delete one of a user's tokens; returns its hash (to end what it
    /// opened), or `None` if the user has no such token.
    async fn delete_api_token(&self, user_id: i64, id: i64) -> Result<Option<[u8; 32]>> {
        let conn = self.lock()?;
        let hash: Option<Vec<u8>> = conn
            .query_row(
                "DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2 RETURNING hash",
                params![id, user_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(hash.and_then(|h| h.try_into().ok()))
    }

    /// The user and scopes of an API token that has not expired, marking
    /// it used at `now`.
    async fn use_api_token(&self, hash: &[u8], now: i64) -> Result<Option<(User, Access)>> {
        let conn = self.lock()?;
        let found = conn
            .query_row(
                "UPDATE api_tokens SET last_used_at = ?2
                 WHERE hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)
                 RETURNING id, user_id, scopes",
                params![hash, now],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, user_id, scopes)) = found else {
            return Ok(None);
        };
        let user = conn
            .query_row(
                "SELECT id, username, is_admin, created_at FROM users WHERE id = ?1",
                [user_id],
                user_from_row,
            )
            .optional()?;
        Ok(user.map(|u| {
            (
                u,
                Access::Token {
                    id,
                    scopes: scopes_from_column(&scopes),
                },
            )
        }))
    }

    async fn api_token_valid(&self, hash: &[u8], now: i64) -> Result<bool> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT 1 FROM api_tokens WHERE hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
                params![hash, now],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}
