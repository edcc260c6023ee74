//! The delivery worker's side of the webhook queue, in PostgreSQL.

use async_trait::async_trait;
use meshdesk_protocol::rest::DeliveryStatus;

use super::{to_u32, Postgres};
use crate::auth::Secret;
use crate::error::{Error, Result};
use crate::store::{status_str, DeliveryJob, DisabledWebhook, DueDelivery, Settled, WebhookQueue};

#[async_trait]
impl WebhookQueue for Postgres {
    async fn due_deliveries(&self) -> Result<Vec<DueDelivery>> {
        let client = self.client().await?;
        // DISTINCT ON keeps each webhook's earliest pending delivery; a
        // claim (GREATEST skips a NULL one) puts it off.
        let rows = client
            .query(
                "SELECT id, webhook_id, due FROM (
                     SELECT DISTINCT ON (d.webhook_id) d.id, d.webhook_id,
                            GREATEST(d.next_attempt_at, w.claimed_until) AS due
                     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                     WHERE d.status = 'pending' AND w.enabled AND d.next_attempt_at IS NOT NULL
                     ORDER BY d.webhook_id, d.next_attempt_at, d.id
                 ) first ORDER BY due, webhook_id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    id: r.try_get(0)?,
                    webhook_id: r.try_get(1)?,
                    next_attempt_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    async fn claim_delivery(&self, id: i64, now: i64, until: i64) -> Result<Option<DeliveryJob>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Hold the webhook's row: another node's claim or settle commits
        // before this (and the next statement, with a snapshot of its own,
        // sees it) or waits until this commits.
        let hook = tx
            .query_opt(
                "SELECT w.id FROM webhooks w JOIN webhook_deliveries d ON d.webhook_id = w.id
                 WHERE d.id = $1 FOR UPDATE OF w",
                &[&id],
            )
            .await?;
        if hook.is_none() {
            return Ok(None);
        }
        let row = tx
            .query_opt(
                "UPDATE webhooks w SET claimed_until = $3
                 FROM webhook_deliveries d
                 WHERE d.id = $1 AND w.id = d.webhook_id AND w.enabled
                   AND d.status = 'pending' AND d.next_attempt_at <= $2
                   AND (w.claimed_until IS NULL OR w.claimed_until <= $2)
                 RETURNING d.id, d.webhook_id, w.url, w.secret, d.event, d.attempts,
                           d.first_attempt_at",
                &[&id, &now, &until],
            )
            .await?;
        tx.commit().await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let event: String = r.try_get(4)?;
        let event = serde_json::from_str(&event)
            .map_err(|e| Error::Internal(format!("delivery {id}: stored event: {e}")))?;
        Ok(Some(DeliveryJob {
            id: r.try_get(0)?,
            webhook_id: r.try_get(1)?,
            url: r.try_get(2)?,
            secret: Secret::new(r.try_get(3)?),
            event,
            attempts: to_u32(r.try_get(5)?),
            first_attempt_at: r.try_get(6)?,
        }))
    }

    async fn settle_delivery(&self, job: &DeliveryJob, how: &Settled, now: i64) -> Result<u32> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let delivered = how.status == DeliveryStatus::Delivered;
        let code = how.status_code.map(i64::from);
        tx.execute(
            "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1,
                 first_attempt_at = COALESCE(first_attempt_at, $3), next_attempt_at = $4,
                 last_status_code = $5, last_error = $6,
                 delivered_at = CASE WHEN $7 THEN $3::BIGINT ELSE NULL END
             WHERE id = $1 AND status = 'pending'",
            &[
                &job.id,
                &status_str(how.status),
                &now,
                &how.next_attempt_at,
                &code,
                &how.error,
                &delivered,
            ],
        )
        .await?;
        let run = tx
            .query_opt(
                "UPDATE webhooks SET consecutive_failures =
                     CASE WHEN $2 THEN 0 ELSE consecutive_failures + 1 END,
                     claimed_until = NULL
                 WHERE id = $1 RETURNING consecutive_failures",
                &[&job.webhook_id, &delivered],
            )
            .await?;
        let run = match run {
            Some(r) => to_u32(r.try_get(0)?),
            None => 0,
        };
        tx.commit().await?;
        Ok(run)
    }

    async fn disable_webhook(&self, id: i64, why: &str) -> Result<Option<DisabledWebhook>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let hook = tx
            .query_opt(
                "UPDATE webhooks SET enabled = FALSE WHERE id = $1 AND enabled
                 RETURNING user_id, url",
                &[&id],
            )
            .await?;
        let Some(r) = hook else {
            return Ok(None);
        };
        let (user_id, url): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
        tx.execute(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,
                 last_error = COALESCE(last_error || '; ', '') || $2
             WHERE webhook_id = $1 AND status = 'pending'",
            &[&id, &why],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(DisabledWebhook { id, user_id, url }))
    }
}
