//! Enrolled devices, their keys, and who may see them: what the store
//! keeps of them and the calls every backend answers.

use async_trait::async_trait;
use meshdesk_protocol::rest::{ConsentPolicy, Permission};
use meshdesk_protocol::signal::Screen;

use crate::error::Result;

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: String,
    pub owner_id: i64,
    pub owner: String,
    pub name: String,
    pub os: String,
    pub public_key: Vec<u8>,
    pub created_at: i64,
    pub last_seen: Option<i64>,
    /// Consent for the owner's own sessions.
    pub consent_owner: ConsentPolicy,
    /// Consent for shared users' sessions.
    pub consent_shared: ConsentPolicy,
    /// The screens the host last reported, primary first.
    pub screens: Vec<Screen>,
    /// Whether sessions hear the device's sound.
    pub sound: bool,
    /// Whether `view` sessions may copy from the device's clipboard.
    pub view_may_copy: bool,
}

impl DeviceRow {
    /// The consent policy that applies to a session with `permission`.
    pub fn consent_for(&self, permission: Permission) -> ConsentPolicy {
        match permission {
            Permission::Owner => self.consent_owner,
            Permission::View | Permission::Control => self.consent_shared,
        }
    }
}

/// What enrollment creates.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: String,
    pub public_key: Vec<u8>,
    pub name: String,
    pub os: String,
}

/// Devices and access to them.
#[async_trait]
pub trait Devices: Send + Sync {
    /// Redeem a one-time enrollment code and create the device for the
    /// code's owner, atomically. Fails for an unknown, used or expired code
    /// and for a key that is revoked or already enrolled.
    async fn enroll_device(&self, code_hash: &[u8], now: i64, new: &NewDevice)
        -> Result<DeviceRow>;

    /// One device by id.
    async fn device(&self, id: &str) -> Result<Option<DeviceRow>>;

    /// Every device a user may see, with the user's permission on it,
    /// ordered by name (case-insensitive), then id.
    async fn devices_visible_to(&self, user_id: i64) -> Result<Vec<(DeviceRow, Permission)>>;

    /// A user's permission on a device, or `None` if they may not see it.
    async fn permission(&self, user_id: i64, device_id: &str) -> Result<Option<Permission>>;

    /// Rename a device.
    async fn rename_device(&self, id: &str, name: &str) -> Result<()>;

    /// Set a device's consent policies; `None` keeps one as it is.
    async fn set_consent(
        &self,
        id: &str,
        owner: Option<ConsentPolicy>,
        shared: Option<ConsentPolicy>,
    ) -> Result<()>;

    /// Turn the device's sound in sessions on or off.
    async fn set_sound(&self, id: &str, on: bool) -> Result<()>;

    /// Let `view` sessions copy from the device's clipboard, or not.
    async fn set_view_may_copy(&self, id: &str, on: bool) -> Result<()>;

    /// Remove a device and revoke its key for good.
    async fn remove_device(&self, id: &str, now: i64) -> Result<()>;

    /// Record what a connected device reported: its OS string, its
    /// screens, and when.
    async fn touch_device(&self, id: &str, os: &str, screens: &[Screen], now: i64) -> Result<()>;

    /// Record when a device was last connected.
    async fn set_last_seen(&self, id: &str, now: i64) -> Result<()>;

    /// Users who may see a device: its owner and everyone it is shared
    /// with, each once.
    async fn device_audience(&self, device_id: &str) -> Result<Vec<i64>>;
}
