//! Webhooks and their deliveries: `/webhooks[/{id}]`,
//! `/webhooks/{id}/deliveries[/{delivery_id}/resend]`.

use meshdesk_protocol::rest::{CreatedWebhook, Delivery, NewWebhook, Webhook};
use reqwest::Method;
use serde::Serialize;

use crate::client::NO_BODY;
use crate::{Client, Result};

/// The body of `PATCH /webhooks/{id}`.
#[derive(Serialize)]
struct SetEnabled {
    enabled: bool,
}

impl Client {
    /// `POST /webhooks`: registers a URL that receives signed POSTs of
    /// feed events; the signing secret is in the reply only, once.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use meshdesk_client::rest::{EventKind, NewWebhook};
    /// let created = client
    ///     .create_webhook(&NewWebhook {
    ///         url: "https://alerts.example/meshdesk".into(),
    ///         kinds: Some(vec![EventKind::DeviceOffline]),
    ///         devices: None,
    ///     })
    ///     .await?;
    /// println!("webhook {} registered", created.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_webhook(&self, webhook: &NewWebhook) -> Result<CreatedWebhook> {
        self.call(Method::POST, &["webhooks"], Some(webhook)).await
    }

    /// `GET /webhooks`: this user's webhooks.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// for w in client.webhooks().await? {
    ///     println!("{} {} enabled: {}", w.id, w.url, w.enabled);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        self.call(Method::GET, &["webhooks"], NO_BODY).await
    }

    /// `GET /webhooks/{id}`: one webhook.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let w = client.webhook(3).await?;
    /// println!("{} failures in a row", w.consecutive_failures);
    /// # Ok(()) }
    /// ```
    pub async fn webhook(&self, id: i64) -> Result<Webhook> {
        let id = id.to_string();
        self.call(Method::GET, &["webhooks", &id], NO_BODY).await
    }

    /// `PATCH /webhooks/{id}` `{"enabled": ...}`: turns a webhook off, or
    /// back on after it was disabled for failing.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let w = client.set_webhook_enabled(3, true).await?;
    /// assert!(w.enabled);
    /// # Ok(()) }
    /// ```
    pub async fn set_webhook_enabled(&self, id: i64, enabled: bool) -> Result<Webhook> {
        let id = id.to_string();
        let body = SetEnabled { enabled };
        self.call(Method::PATCH, &["webhooks", &id], Some(&body))
            .await
    }

    /// `DELETE /webhooks/{id}`: removes a webhook; its pending deliveries
    /// are dropped.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// client.remove_webhook(3).await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_webhook(&self, id: i64) -> Result<()> {
        let id = id.to_string();
        self.call_empty(Method::DELETE, &["webhooks", &id], NO_BODY)
            .await
    }

    /// `GET /webhooks/{id}/deliveries`: its recent deliveries, with the
    /// status codes the receiver answered.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// for d in client.deliveries(3).await? {
    ///     println!("{} {:?} {:?}", d.id, d.status, d.last_status_code);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn deliveries(&self, webhook: i64) -> Result<Vec<Delivery>> {
        let id = webhook.to_string();
        self.call(Method::GET, &["webhooks", &id, "deliveries"], NO_BODY)
            .await
    }

    /// `POST /webhooks/{id}/deliveries/{delivery_id}/resend`: queues a
    /// delivery again (202).
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let again = client.resend_delivery(3, 41).await?;
    /// println!("{:?}", again.status);
    /// # Ok(()) }
    /// ```
    pub async fn resend_delivery(&self, webhook: i64, delivery: i64) -> Result<Delivery> {
        let (w, d) = (webhook.to_string(), delivery.to_string());
        let path = ["webhooks", &w, "deliveries", &d, "resend"];
        self.call(Method::POST, &path, NO_BODY).await
    }
}
