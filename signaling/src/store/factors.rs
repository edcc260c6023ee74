//! Second factors: TOTP secrets (pending and on), recovery code hashes
//! and passkeys. Spending a step or a code is one conditional UPDATE in
//! every backend, so two sign-ins racing with the same code cannot both win.

use async_trait::async_trait;

use crate::auth::second_factor::AccountFactors;
use crate::error::Result;

/// A stored passkey.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: i64,
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON (public key and counter; no secret).
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// An account's second factors.
#[async_trait]
pub trait Factors: Send + Sync {
    /// The account's factors in force (a pending TOTP enrollment is not).
    async fn account_factors(&self, user_id: i64) -> Result<AccountFactors>;

    /// Start (or restart) a TOTP enrollment; TOTP already on is kept.
    /// Returns false when TOTP is already on.
    async fn totp_start(&self, user_id: i64, secret: &str, now: i64) -> Result<bool>;

    /// The secret of a pending enrollment.
    async fn totp_pending(&self, user_id: i64) -> Result<Option<String>>;

    /// Turn a pending enrollment on, with `step` used and fresh recovery
    /// codes (replacing any old ones). False if none was pending.
    async fn totp_enable(&self, user_id: i64, step: u64, codes: &[[u8; 32]]) -> Result<bool>;

    /// Record `step` as used if it is later than the last one; false if
    /// another sign-in used it (or a later one) first.
    async fn totp_use_step(&self, user_id: i64, step: u64) -> Result<bool>;

    /// Spend a recovery code; false if it was already spent.
    async fn use_recovery_code(&self, user_id: i64, hash: &[u8; 32], now: i64) -> Result<bool>;

    /// Replace all the account's recovery codes (used or not).
    async fn replace_recovery_codes(&self, user_id: i64, codes: &[[u8; 32]]) -> Result<()>;

    /// Turn TOTP off and forget the recovery codes.
    async fn totp_disable(&self, user_id: i64) -> Result<()>;

    /// The account's passkeys, oldest first.
    async fn passkeys(&self, user_id: i64) -> Result<Vec<PasskeyRow>>;

    /// Store a new passkey and return its id; `None` if its credential id
    /// is already stored.
    async fn insert_passkey(
        &self,
        user_id: i64,
        name: &str,
        credential_id: &[u8],
        credential: &str,
        now: i64,
    ) -> Result<Option<i64>>;

    /// After a sign-in with it: its new counter, and when.
    async fn passkey_used(&self, id: i64, credential: &str, now: i64) -> Result<()>;

    /// Remove one of the account's passkeys; false if it has none by that id.
    async fn delete_passkey(&self, user_id: i64, id: i64) -> Result<bool>;
}
