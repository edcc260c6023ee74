//! Webhooks and their delivery queue in SQLite.

use async_trait::async_trait;
use meshdesk_protocol::rest::{Delivery, Event, EventKind, Webhook};
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

use super::Sqlite;
use crate::error::{Error, Result};
use crate::store::{json, status_parse, NewWebhookRow, Webhooks};
use crate::webhooks::filter;

const WEBHOOK_COLUMNS: &str =
    "id, url, kinds, devices, enabled, consecutive_failures, created_at, user_id";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, kind, status, attempts, last_status_code,
     last_error, next_attempt_at, created_at, delivered_at";

fn webhook_from_row(r: &Row<'_>) -> rusqlite::Result<Webhook> {
    let kinds: String = r.get(2)?;
    let devices: String = r.get(3)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        kinds: serde_json::from_str(&kinds).unwrap_or_default(),
        devices: serde_json::from_str(&devices).unwrap_or_default(),
        enabled: r.get(4)?,
        consecutive_failures: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    let kind: String = r.get(3)?;
    let status: String = r.get(4)?;
    Ok(Delivery {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        event_id: r.get(2)?,
        kind: EventKind::parse(&kind).unwrap_or(EventKind::AccountCreated),
        status: status_parse(&status),
        attempts: r.get(5)?,
        last_status_code: r.get(6)?,
        last_error: r.get(7)?,
        next_attempt_at: r.get(8)?,
        created_at: r.get(9)?,
        delivered_at: r.get(10)?,
    })
}

#[async_trait]
impl Webhooks for Sqlite {
    /// Create a webhook, unless the user already has `max` of them.
    async fn create_webhook(&self, new: &NewWebhookRow, now: i64, max: u32) -> Result<Webhook> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let count: u32 = tx.query_row(
            "SELECT COUNT(*) FROM webhooks WHERE user_id = ?1",
            [new.user_id],
            |r| r.get(0),
        )?;
        if count >= max {
            return Err(Error::Conflict(format!(
                "at most {max} webhooks per user; delete one first"
            )));
        }
        tx.execute(
            "INSERT INTO webhooks (user_id, url, secret, kinds, devices, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.user_id,
                new.url,
                new.secret.expose(),
                json(&new.kinds)?,
                json(&new.devices)?,
                now
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
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

    /// A user's webhooks, oldest first.
    async fn webhooks_of(&self, user_id: i64) -> Result<Vec<Webhook>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE user_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([user_id], webhook_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One of a user's webhooks.
    async fn webhook(&self, user_id: i64, id: i64) -> Result<Option<Webhook>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1 AND user_id = ?2"),
                params![id, user_id],
                webhook_from_row,
            )
            .optional()?)
    }

    /// Delete one of a user's webhooks and its deliveries; false if none.
    async fn delete_webhook(&self, user_id: i64, id: i64) -> Result<bool> {
        let conn = self.lock()?;
        let n = conn.execute(
            "DELETE FROM webhooks WHERE id = ?1 AND user_id = ?2",
            params![id, user_id],
        )?;
        Ok(n > 0)
    }

    /// Turn one of a user's webhooks on (its failure run starts afresh) or
    /// off. None if there is no such webhook.
    async fn set_webhook_enabled(
        &self,
        user_id: i64,
        id: i64,
        on: bool,
    ) -> Result<Option<Webhook>> {
        {
            let conn = self.lock()?;
            conn.execute(
                "UPDATE webhooks SET enabled = ?3,
                     consecutive_failures = CASE WHEN ?3 THEN 0 ELSE consecutive_failures END
                 WHERE id = ?1 AND user_id = ?2",
                params![id, user_id, on],
            )?;
        }
        self.webhook(user_id, id).await
    }

    /// A webhook's latest deliveries, newest first.
    async fn deliveries(&self, webhook_id: i64, limit: u32) -> Result<Vec<Delivery>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?1
             ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![webhook_id, limit], delivery_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One delivery of a webhook.
    async fn delivery(&self, webhook_id: i64, id: i64) -> Result<Option<Delivery>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?1 AND webhook_id = ?2"
                ),
                params![id, webhook_id],
                delivery_from_row,
            )
            .optional()?)
    }

    /// Queue a settled delivery again, as a new run of attempts due now.
    async fn requeue_delivery(&self, id: i64, now: i64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,
                 first_attempt_at = NULL, next_attempt_at = ?2, delivered_at = NULL
             WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// Queue `event` for every enabled webhook of a user in `audience`
    /// whose filters match it. Returns how many deliveries were queued.
    async fn enqueue_deliveries(&self, event: &Event, audience: &[i64], now: i64) -> Result<usize> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let queued = enqueue_in(&tx, event, audience, now)?;
        tx.commit()?;
        Ok(queued)
    }
}

/// Queue `event` for every enabled webhook of its `audience` that wants
/// it, on a connection already held (the caller's transaction).
pub(super) fn enqueue_in(
    tx: &rusqlite::Connection,
    event: &Event,
    audience: &[i64],
    now: i64,
) -> Result<usize> {
    if audience.is_empty() {
        return Ok(0);
    }
    let marks = vec!["?"; audience.len()].join(", ");
    let hooks: Vec<Webhook> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE enabled = 1 AND user_id IN ({marks})"
        ))?;
        let rows = stmt.query_map(params_from_iter(audience), webhook_from_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let body = json(event)?;
    let mut queued = 0;
    for hook in hooks.iter().filter(|h| filter::matches(h, event)) {
        tx.execute(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, kind, event, status,
                 next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
            params![hook.id, event.id, event.kind.as_str(), body, now],
        )?;
        queued += 1;
    }
    Ok(queued)
}
