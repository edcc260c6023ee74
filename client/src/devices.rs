//! Devices, their enrollment and their shares: `/enrollment-codes`,
//! `/enroll`, `/devices[/{id}]`, `/devices/{id}/shares[/{username}]`.

use meshdesk_protocol::rest::{
    Device, EnrollRequest, EnrollResponse, EnrollmentCode, RenameDevice, Share, SharePermission,
    ShareRequest,
};
use reqwest::Method;

use crate::client::NO_BODY;
use crate::{Client, Result};

impl Client {
    /// `POST /enrollment-codes`: a one-time code for `meshdesk-host enroll`.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let code = client.enrollment_code().await?;
    /// println!("meshdesk-host enroll --server {} --code {}", client.server(), code.code);
    /// # Ok(()) }
    /// ```
    pub async fn enrollment_code(&self) -> Result<EnrollmentCode> {
        self.call(Method::POST, &["enrollment-codes"], NO_BODY)
            .await
    }

    /// `POST /enroll`: what a host does with a code and its public key
    /// (needs no token).
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client, public_key: String) -> Result<(), meshdesk_client::Error> {
    /// use meshdesk_client::rest::EnrollRequest;
    /// let enrolled = client
    ///     .enroll(&EnrollRequest {
    ///         code: "ABCD-EFGH-IJKL-MNOP".into(),
    ///         public_key,
    ///         name: "office-pc".into(),
    ///         os: "Debian 12".into(),
    ///     })
    ///     .await?;
    /// println!("enrolled as {}", enrolled.device_id);
    /// # Ok(()) }
    /// ```
    pub async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse> {
        self.call(Method::POST, &["enroll"], Some(request)).await
    }

    /// `GET /devices`: every device this user may see.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// for d in client.devices().await? {
    ///     println!("{} {}", d.name, if d.online { "online" } else { "offline" });
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.call(Method::GET, &["devices"], NO_BODY).await
    }

    /// `GET /devices/{id}`: one device.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let d = client.device("dev_123").await?;
    /// println!("{} is {:?} to me", d.name, d.permission);
    /// # Ok(()) }
    /// ```
    pub async fn device(&self, id: &str) -> Result<Device> {
        self.call(Method::GET, &["devices", id], NO_BODY).await
    }

    /// `PATCH /devices/{id}`: renames a device (owners only).
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let d = client.rename_device("dev_123", "office-pc").await?;
    /// assert_eq!(d.name, "office-pc");
    /// # Ok(()) }
    /// ```
    pub async fn rename_device(&self, id: &str, name: &str) -> Result<Device> {
        let body = RenameDevice { name: name.into() };
        self.call(Method::PATCH, &["devices", id], Some(&body))
            .await
    }

    /// `DELETE /devices/{id}`: removes a device (owners only); its key is
    /// refused from then on.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// client.remove_device("dev_123").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_device(&self, id: &str) -> Result<()> {
        self.call_empty(Method::DELETE, &["devices", id], NO_BODY)
            .await
    }

    /// `GET /devices/{id}/shares`: who else may use a device (owners only).
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// for s in client.shares("dev_123").await? {
    ///     println!("{}: {:?}", s.username, s.permission);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn shares(&self, device: &str) -> Result<Vec<Share>> {
        self.call(Method::GET, &["devices", device, "shares"], NO_BODY)
            .await
    }

    /// `POST /devices/{id}/shares`: shares a device with another user.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use meshdesk_client::rest::SharePermission;
    /// client.grant_share("dev_123", "bob", SharePermission::View).await?;
    /// # Ok(()) }
    /// ```
    pub async fn grant_share(
        &self,
        device: &str,
        username: &str,
        permission: SharePermission,
    ) -> Result<Share> {
        let body = ShareRequest {
            username: username.into(),
            permission,
            expires_at: None,
        };
        self.grant_share_with(device, &body).await
    }

    /// `POST /devices/{id}/shares` with every field: a share that ends by
    /// itself at `expires_at` (RFC 3339).
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use meshdesk_client::rest::{SharePermission, ShareRequest};
    /// let share = ShareRequest {
    ///     username: "bob".into(),
    ///     permission: SharePermission::Control,
    ///     expires_at: Some("2027-01-01T09:00:00Z".into()),
    /// };
    /// client.grant_share_with("dev_123", &share).await?;
    /// # Ok(()) }
    /// ```
    pub async fn grant_share_with(&self, device: &str, share: &ShareRequest) -> Result<Share> {
        self.call(Method::POST, &["devices", device, "shares"], Some(share))
            .await
    }

    /// `DELETE /devices/{id}/shares/{username}`: revokes a share; that
    /// user's open sessions on the device end.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// client.revoke_share("dev_123", "bob").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_share(&self, device: &str, username: &str) -> Result<()> {
        let path = ["devices", device, "shares", username];
        self.call_empty(Method::DELETE, &path, NO_BODY).await
    }
}
