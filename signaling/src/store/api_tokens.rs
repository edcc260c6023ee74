//! Personal API tokens: only their SHA-256 is stored, with their scopes,
//! expiry and when they were last used.

use async_trait::async_trait;
use meshdesk_protocol::rest::TokenInfo;

use super::User;
use crate::auth::access::Access;
use crate::error::Result;

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub hash: &'a [u8],
    pub scopes: &'a [meshdesk_protocol::rest::Scope],
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// API tokens.
#[async_trait]
pub trait ApiTokens: Send + Sync {
    /// Store a new token; returns it as listed.
    async fn insert_api_token(&self, t: &NewApiToken<'_>) -> Result<TokenInfo>;

    /// A user's tokens, newest first (expired ones included, so the user
    /// sees why a program stopped working).
    async fn api_tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>>;

    /// How many tokens a user has.
    async fn api_token_count(&self, user_id: i64) -> Result<u32>;

    /// Delete one of a user's tokens; returns its hash (to end what it
    /// opened), or `None` if the user has no such token.
    async fn delete_api_token(&self, user_id: i64, id: i64) -> Result<Option<[u8; 32]>>;

    /// The user and scopes of an API token that has not expired, marking
    /// it used at `now`.
    async fn use_api_token(&self, hash: &[u8], now: i64) -> Result<Option<(User, Access)>>;

    /// Whether an API token exists and has not expired, without counting
    /// as a use of it.
    async fn api_token_valid(&self, hash: &[u8], now: i64) -> Result<bool>;
}
