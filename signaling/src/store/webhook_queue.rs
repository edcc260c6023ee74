//! The delivery worker's side of the webhook queue: what is due, what an
//! attempt needs, and writing down how it went.

use meshdesk_protocol::rest::DeliveryStatus;
use rusqlite::{params, OptionalExtension};

use super::webhooks::{DeliveryJob, DueDelivery, Settled};
use super::Store;
use crate::auth::Secret;
use crate::error::{Error, Result};

/// A webhook that was just disabled: whose it was, for the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledWebhook {
    pub id: i64,
    pub user_id: i64,
    pub url: String,
}

impl Store {
    /// For each enabled webhook with pending deliveries, the earliest one
    /// (due or not), earliest first.
    pub fn due_deliveries(&self) -> Result<Vec<DueDelivery>> {
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

    /// Everything an attempt at a pending delivery needs; None if it is no
    /// longer pending or its webhook is off or gone.
    pub fn delivery_job(&self, id: i64) -> Result<Option<DeliveryJob>> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT d.id, d.webhook_id, w.url, w.secret, d.event, d.attempts, d.first_attempt_at
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 WHERE d.id = ?1 AND d.status = 'pending' AND w.enabled = 1",
                [id],
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
    pub fn settle_delivery(&self, job: &DeliveryJob, how: &Settled, now: i64) -> Result<u32> {
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
                super::webhooks::status_str(how.status),
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
    pub fn disable_webhook(&self, id: i64, why: &str) -> Result<Option<DisabledWebhook>> {
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

#[cfg(test)]
mod tests {
    use meshdesk_protocol::rest::{Event, EventKind};

    use super::*;
    use crate::store::NewWebhookRow;

    fn event(id: i64, kind: EventKind) -> Event {
        crate::feed::test_event(id, kind, None)
    }

    fn hook(store: &Store, user_id: i64, kinds: Vec<EventKind>) -> i64 {
        let new = NewWebhookRow {
            user_id,
            url: "http://127.0.0.1:9/".into(),
            secret: Secret::new("whsec_test".into()),
            kinds,
            devices: vec![],
        };
        store.create_webhook(&new, 0, 20).expect("create").id
    }

    #[test]
    fn events_queue_for_their_audience_and_a_disabled_hook_fails_its_queue() {
        let store = Store::open_in_memory().expect("db");
        let alice = store.create_user("alice", "h", 0, false).expect("alice").id;
        let bob = store.create_user("bob", "h", 0, false).expect("bob").id;
        let a = hook(&store, alice, vec![]);
        let b = hook(&store, bob, vec![EventKind::LoginFailed]);
        let queued = store
            .enqueue_deliveries(&event(1, EventKind::LoginFailed), &[alice], 5)
            .expect("queue");
        assert_eq!(queued, 1, "bob may not see alice's event");
        store
            .enqueue_deliveries(&event(2, EventKind::ShareGranted), &[alice, bob], 6)
            .expect("queue");
        let due = store.due_deliveries().expect("due");
        assert_eq!(due.len(), 1, "one per webhook, bob's filter refused");
        assert_eq!((due[0].webhook_id, due[0].next_attempt_at), (a, 5));
        let job = store
            .delivery_job(due[0].id)
            .expect("job")
            .expect("pending");
        assert_eq!(job.event.id, 1);
        let failed = Settled {
            status: DeliveryStatus::Pending,
            status_code: Some(500),
            error: Some("the receiver answered 500".into()),
            next_attempt_at: Some(100),
        };
        assert_eq!(store.settle_delivery(&job, &failed, 10).expect("settle"), 1);
        let off = store.disable_webhook(a, "disabled").expect("disable");
        assert_eq!(off.map(|d| d.user_id), Some(alice));
        assert!(store.due_deliveries().expect("due").is_empty());
        let list = store.deliveries(a, 10).expect("list");
        assert!(
            list.iter().all(|d| d.status == DeliveryStatus::Failed),
            "{list:?}"
        );
        assert_eq!(list[1].last_status_code, Some(500));
        assert!(store.webhook(bob, a).expect("query").is_none(), "not bob's");
        assert!(store.webhook(bob, b).expect("query").is_some());
    }
}
