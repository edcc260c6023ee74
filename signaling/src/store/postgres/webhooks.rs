//! Webhooks and their delivery queue in PostgreSQL.

use async_trait::async_trait;
use meshdesk_protocol::rest::{Delivery, Event, EventKind, Webhook};
use tokio_postgres::{GenericClient, Row};

use super::{to_u32, Postgres};
use crate::error::{Error, Result};
use crate::store::{json, status_parse, NewWebhookRow, Webhooks};
use crate::webhooks::filter;

const WEBHOOK_COLUMNS: &str =
    "id, url, kinds, devices, enabled, consecutive_failures, created_at, user_id";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, kind, status, attempts, last_status_code,
     last_error, next_attempt_at, created_at, delivered_at";

fn webhook_from(r: &Row) -> Result<Webhook> {
    let kinds: String = r.try_get(2)?;
    let devices: String = r.try_get(3)?;
    Ok(Webhook {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        kinds: serde_json::from_str(&kinds).unwrap_or_default(),
        devices: serde_json::from_str(&devices).unwrap_or_default(),
        enabled: r.try_get(4)?,
        consecutive_failures: to_u32(r.try_get(5)?),
        created_at: r.try_get(6)?,
    })
}

fn delivery_from(r: &Row) -> Result<Delivery> {
    let kind: String = r.try_get(3)?;
    let status: String = r.try_get(4)?;
    let code: Option<i64> = r.try_get(6)?;
    Ok(Delivery {
        id: r.try_get(0)?,
        webhook_id: r.try_get(1)?,
        event_id: r.try_get(2)?,
        kind: EventKind::parse(&kind).unwrap_or(EventKind::AccountCreated),
        status: status_parse(&status),
        attempts: to_u32(r.try_get(5)?),
        last_status_code: code.and_then(|c| u16::try_from(c).ok()),
        last_error: r.try_get(7)?,
        next_attempt_at: r.try_get(8)?,
        created_at: r.try_get(9)?,
        delivered_at: r.try_get(10)?,
    })
}

async fn webhook_in(c: &impl GenericClient, user_id: i64, id: i64) -> Result<Option<Webhook>> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2");
    let row = c.query_opt(&sql, &[&id, &user_id]).await?;
    row.as_ref().map(webhook_from).transpose()
}

#[async_trait]
impl Webhooks for Postgres {
    async fn create_webhook(&self, new: &NewWebhookRow, now: i64, max: u32) -> Result<Webhook> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The user's row is the lock: two nodes creating at once count in turn.
        tx.execute(
            "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
            &[&new.user_id],
        )
        .await?;
        let count: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM webhooks WHERE user_id = $1",
                &[&new.user_id],
            )
            .await?
            .try_get(0)?;
        if count >= i64::from(max) {
            return Err(Error::Conflict(format!(
                "at most {max} webhooks per user; delete one first"
            )));
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO webhooks (user_id, url, secret, kinds, devices, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &new.user_id,
                    &new.url,
                    &new.secret.expose(),
                    &json(&new.kinds)?,
                    &json(&new.devices)?,
                    &now,
                ],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(Webhook {
            id,
            url: new.url.clone(),
            kinds: new.kinds.clone(),
            devices: new.devices.clone(),
            enabled: true,
            consecutive_failures: 0,
            created_at: now,
        })
    }

    async fn webhooks_of(&self, user_id: i64) -> Result<Vec<Webhook>> {
        let client = self.client().await?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE user_id = $1 ORDER BY id");
        let rows = client.query(&sql, &[&user_id]).await?;
        rows.iter().map(webhook_from).collect()
    }

    async fn webhook(&self, user_id: i64, id: i64) -> Result<Option<Webhook>> {
        webhook_in(&**self.client().await?, user_id, id).await
    }

    async fn delete_webhook(&self, user_id: i64, id: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM webhooks WHERE id = $1 AND user_id = $2",
                &[&id, &user_id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn set_webhook_enabled(
        &self,
        user_id: i64,
        id: i64,
        on: bool,
    ) -> Result<Option<Webhook>> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE webhooks SET enabled = $3,
                     consecutive_failures = CASE WHEN $3 THEN 0 ELSE consecutive_failures END
                 WHERE id = $1 AND user_id = $2",
                &[&id, &user_id, &on],
            )
            .await?;
        webhook_in(&**client, user_id, id).await
    }

    async fn deliveries(&self, webhook_id: i64, limit: u32) -> Result<Vec<Delivery>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1
             ORDER BY id DESC LIMIT $2"
        );
        let rows = client
            .query(&sql, &[&webhook_id, &i64::from(limit)])
            .await?;
        rows.iter().map(delivery_from).collect()
    }

    async fn delivery(&self, webhook_id: i64, id: i64) -> Result<Option<Delivery>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2"
        );
        let row = client.query_opt(&sql, &[&id, &webhook_id]).await?;
        row.as_ref().map(delivery_from).transpose()
    }

    async fn requeue_delivery(&self, id: i64, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,
                     first_attempt_at = NULL, next_attempt_at = $2, delivered_at = NULL
                 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
        Ok(())
    }

    async fn enqueue_deliveries(&self, event: &Event, audience: &[i64], now: i64) -> Result<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let queued = enqueue_in(&*tx, event, audience, now).await?;
        tx.commit().await?;
        Ok(queued)
    }
}

/// Queue `event` for every enabled webhook of its `audience` that wants
/// it, inside the caller's transaction.
pub(super) async fn enqueue_in(
    c: &impl GenericClient,
    event: &Event,
    audience: &[i64],
    now: i64,
) -> Result<usize> {
    if audience.is_empty() {
        return Ok(0);
    }
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE enabled AND user_id = ANY($1)");
    let hooks = c
        .query(&sql, &[&audience])
        .await?
        .iter()
        .map(webhook_from)
        .collect::<Result<Vec<_>>>()?;
    let body = json(event)?;
    let mut queued = 0;
    for hook in hooks.iter().filter(|h| filter::matches(h, event)) {
        c.execute(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, kind, event, status,
                 next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
            &[&hook.id, &event.id, &event.kind.as_str(), &body, &now],
        )
        .await?;
        queued += 1;
    }
    Ok(queued)
}
