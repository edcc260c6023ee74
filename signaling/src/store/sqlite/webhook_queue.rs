//! The delivery worker's side of the webhook queue, in SQLite.

use async_trait::async_trait;
use meshdesk_protocol::rest::DeliveryStatus;
use rusqlite::{params, OptionalExtension};

use super::Sqlite;
use crate::auth::Secret;
use crate::error::{Error, Result};
use crate::store::{status_str, DeliveryJob, DisabledWebhook, DueDelivery, Settled, WebhookQueue};

#[async_trait]
impl WebhookQueue for Sqlite {
    /// For each enabled webhook with pending deliveries, the earliest one
    /// (due or not), earliest first.
    async fn due_deliveries(&self) -> Result<Vec<DueDelivery>> {
        let conn = self.lock()?;
        // SQLite takes the bare columns from the row holding the MIN.
        let mut stmt = conn.prepare(
            "SELECT d.id, d.webhook_id, MIN(d.next_attempt_at) AS due
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND w.enabled = 1
             GROUP BY d.webhook_id ORDER BY due",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DueDelivery {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                next_attempt_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Everything an attempt at a pending, due delivery needs; None if it
    /// is no longer pending or due, or its webhook is off or gone. One
    /// node per file: its worker's own bookkeeping is the claim.
    async fn claim_delivery(&self, id: i64, now: i64, _until: i64) -> Result<Option<DeliveryJob>> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT d.id, d.webhook_id, w.url, w.secret, d.event, d.attempts, d.first_attempt_at
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 WHERE d.id = ?1 AND d.status = 'pending' AND w.enabled = 1
                   AND d.next_attempt_at <= ?2",
                params![id, now],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, u32>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, webhook_id, url, secret, event, attempts, first_attempt_at)) = row else {
            return Ok(None);
        };
        let event = serde_json::from_str(&event)
            .map_err(|e| Error::Internal(format!("delivery {id}: stored event: {e}")))?;
        Ok(Some(DeliveryJob {
            id,
            webhook_id,
            url,
            secret: Secret::new(secret),
            event,
            attempts,
            first_attempt_at,
        }))
    }

    /// Write down an attempt's end and the webhook's run of failures (reset
    /// by a delivery, one longer after a failure). Returns that run.
    async fn settle_delivery(&self, job: &DeliveryJob, how: &Settled, now: i64) -> Result<u32> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let delivered = how.status == DeliveryStatus::Delivered;
        tx.execute(
            "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1,
                 first_attempt_at = COALESCE(first_attempt_at, ?3), next_attempt_at = ?4,
                 last_status_code = ?5, last_error = ?6,
                 delivered_at = CASE WHEN ?7 THEN ?3 ELSE NULL END
             WHERE id = ?1 AND status = 'pending'",
            params![
                job.id,
                status_str(how.status),
                now,
                how.next_attempt_at,
                how.status_code,
                how.error,
                delivered
            ],
        )?;
        tx.execute(
            "UPDATE webhooks SET consecutive_failures =
                 CASE WHEN ?2 THEN 0 ELSE consecutive_failures + 1 END WHERE id = ?1",
            params![job.webhook_id, delivered],
        )?;
        let run: u32 = tx
            .query_row(
                "SELECT consecutive_failures FROM webhooks WHERE id = ?1",
                [job.webhook_id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        tx.commit()?;
        Ok(run)
    }

    /// Turn a webhook off after its failures and fail its pending
    /// deliveries. None if it was already off or is gone.
    async fn disable_webhook(&self, id: i64, why: &str) -> Result<Option<DisabledWebhook>> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let hook = tx
            .query_row(
                "SELECT user_id, url FROM webhooks WHERE id = ?1 AND enabled = 1",
                [id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        let Some((user_id, url)) = hook else {
            return Ok(None);
        };
        tx.execute("UPDATE webhooks SET enabled = 0 WHERE id = ?1", [id])?;
        tx.execute(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,
                 last_error = COALESCE(last_error || '; ', '') || ?2
             WHERE webhook_id = ?1 AND status = 'pending'",
            params![id, why],
        )?;
        tx.commit()?;
        Ok(Some(DisabledWebhook { id, user_id, url }))
    }
}
