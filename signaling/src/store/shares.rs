//! Shares: another user's `view` or `control` right on a device, for good
//! or until `expires_at`.
//!
//! An expired share is deleted by the expiry task ([`crate::share_expiry`])
//! at its end; until that runs, every backend keeps it out of every access
//! check by comparing its end with the database's own clock.

use async_trait::async_trait;
use meshdesk_protocol::rest::{Share, SharePermission};

use crate::error::Result;

/// A share that ended: revoked, or reached its end and removed by
/// [`Shares::take_expired_shares`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedShare {
    pub device_id: String,
    pub device_name: String,
    pub owner_id: i64,
    pub user_id: i64,
    pub username: String,
}

/// A share's permission as stored.
pub fn perm_str(p: SharePermission) -> &'static str {
    match p {
        SharePermission::View => "view",
        SharePermission::Control => "control",
    }
}

/// A stored permission; the column's CHECK admits only the two names.
pub fn perm_parse(p: &str) -> SharePermission {
    if p == "control" {
        SharePermission::Control
    } else {
        SharePermission::View
    }
}

/// Shares of devices.
#[async_trait]
pub trait Shares: Send + Sync {
    /// Grant or change a share; `expires_at` (Unix ms) replaces any earlier end.
    async fn upsert_share(
        &self,
        device_id: &str,
        user_id: i64,
        perm: SharePermission,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<()>;

    /// Revoke a share; false if there was none.
    async fn delete_share(&self, device_id: &str, user_id: i64) -> Result<bool>;

    /// The shares of a device that have not expired, by username
    /// (case-insensitive).
    async fn shares(&self, device_id: &str) -> Result<Vec<Share>>;

    /// The earliest end of a share given for a time, if any.
    async fn next_share_expiry(&self) -> Result<Option<i64>>;

    /// Delete, in one transaction, every share whose end is at or before
    /// `now`, and return them so their holders can be told.
    async fn take_expired_shares(&self, now: i64) -> Result<Vec<EndedShare>>;
}
