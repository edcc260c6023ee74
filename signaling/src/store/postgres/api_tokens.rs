//! Personal API tokens in PostgreSQL: only their SHA-256 is stored, with
//! their scopes, expiry and when they were last used.

use async_trait::async_trait;
use meshdesk_protocol::rest::TokenInfo;
use tokio_postgres::Row;

use super::users::{user_from, USER_COLUMNS};
use super::Postgres;
use crate::auth::access::{scopes_from_column, scopes_to_column, Access};
use crate::error::Result;
use crate::store::{ApiTokens, NewApiToken, User};

fn info_from(r: &Row) -> Result<TokenInfo> {
    let scopes: String = r.try_get(2)?;
    Ok(TokenInfo {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        scopes: scopes_from_column(&scopes),
        created_at: r.try_get(3)?,
        expires_at: r.try_get(4)?,
        last_used_at: r.try_get(5)?,
    })
}

#[async_trait]
impl ApiTokens for Postgres {
    async fn insert_api_token(&self, t: &NewApiToken<'_>) -> Result<TokenInfo> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO api_tokens (user_id, name, hash, scopes, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &t.user_id,
                    &t.name,
                    &t.hash,
                    &scopes_to_column(t.scopes),
                    &t.created_at,
                    &t.expires_at,
                ],
            )
            .await?;
        Ok(TokenInfo {
            id: row.try_get(0)?,
            name: t.name.to_string(),
            scopes: t.scopes.to_vec(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: None,
        })
    }

    async fn api_tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, scopes, created_at, expires_at, last_used_at FROM api_tokens
                 WHERE user_id = $1 ORDER BY id DESC",
                &[&user_id],
            )
            .await?;
        rows.iter().map(info_from).collect()
    }

    async fn api_token_count(&self, user_id: i64) -> Result<u32> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM api_tokens WHERE user_id = $1",
                &[&user_id],
            )
            .await?
            .try_get(0)?;
        Ok(super::to_u32(n))
    }

    async fn delete_api_token(&self, user_id: i64, id: i64) -> Result<Option<[u8; 32]>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 RETURNING hash",
                &[&id, &user_id],
            )
            .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        Ok(r.try_get::<_, Vec<u8>>(0)?.try_into().ok())
    }

    async fn use_api_token(&self, hash: &[u8], now: i64) -> Result<Option<(User, Access)>> {
        let client = self.client().await?;
        let found = client
            .query_opt(
                "UPDATE api_tokens SET last_used_at = $2
                 WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)
                 RETURNING id, user_id, scopes",
                &[&hash, &now],
            )
            .await?;
        let Some(t) = found else {
            return Ok(None);
        };
        let (id, user_id, scopes): (i64, i64, String) =
            (t.try_get(0)?, t.try_get(1)?, t.try_get(2)?);
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let Some(u) = client.query_opt(&sql, &[&user_id]).await? else {
            return Ok(None);
        };
        let access = Access::Token {
            id,
            scopes: scopes_from_column(&scopes),
        };
        Ok(Some((user_from(&u)?, access)))
    }

    async fn api_token_valid(&self, hash: &[u8], now: i64) -> Result<bool> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT 1 FROM api_tokens WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)",
                &[&hash, &now],
            )
            .await?;
        Ok(row.is_some())
    }
}
