//! Accounts, sign-in tokens and enrollment codes: what the store keeps of
//! them and the calls every backend answers.

use async_trait::async_trait;

use crate::error::Result;

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
    pub created_at: i64,
}

/// An account with its password hash, for sign-in only.
#[derive(Clone)]
pub struct UserWithHash {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for UserWithHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserWithHash")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Accounts and their short-lived secrets.
#[async_trait]
pub trait Users: Send + Sync {
    /// Create an account. The first account ever is an admin. With
    /// `first_only`, refuse when any account exists.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
        first_only: bool,
    ) -> Result<User>;

    /// Look an account up by name (case-insensitive), with its hash.
    async fn user_for_login(&self, username: &str) -> Result<Option<UserWithHash>>;

    /// Look an account up by name (case-insensitive).
    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(self.user_for_login(username).await?.map(|u| u.user))
    }

    /// Store a login token's hash.
    async fn insert_token(
        &self,
        hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;

    /// The account a sign-in token belongs to, if it has not expired.
    async fn session_user(&self, hash: &[u8], now: i64) -> Result<Option<User>>;

    /// Forget a token (sign-out).
    async fn delete_token(&self, hash: &[u8]) -> Result<()>;

    /// Store a new enrollment code's hash.
    async fn insert_enrollment_code(
        &self,
        hash: &[u8],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;

    /// Delete expired tokens and old enrollment codes.
    async fn purge_expired(&self, now: i64) -> Result<()>;
}
