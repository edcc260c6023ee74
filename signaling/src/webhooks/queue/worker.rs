//! The delivery worker: one loop for the whole server that starts due
//! attempts (see [`super::plan`]) and sleeps until the next is due or new
//! deliveries are queued. It reads everything from the database, so
//! deliveries left pending by a crash or a restart are picked up at start.
//! Attempts run as tasks owned by the worker: they end with it.
//!
//! Every node of a cluster runs one, on the same queue: an attempt first
//! claims its webhook in the store ([`claim_until`]), so one node sends
//! each delivery, and a node that dies mid-attempt leaves it to another
//! once the claim runs out.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meshdesk_protocol::rest::{DeliveryStatus, EventKind, WebhookPayload};
use meshdesk_tasks::{sleep_or_never, TaskSet};
use tokio::time::Instant;

use super::{plan, CONCURRENCY};
use crate::clock::now_ms;
use crate::feed;
use crate::state::AppState;
use crate::store::{DeliveryJob, DueDelivery, NewEvent};
use crate::webhooks::{attempt, settle, signature};

/// How long to wait before reading the queue again after the database
/// failed.
const DATABASE_RETRY: Duration = Duration::from_secs(5);

/// How long a claim on a webhook lasts beyond an attempt's own bound
/// (settling it ends the claim sooner): the settling's own write. Short,
/// because a claim left by a process killed mid-attempt holds the
/// delivery back until it runs out (a restarted server, or another node,
/// retries then).
const CLAIM_MARGIN: Duration = Duration::from_secs(2);

/// When a claim made at `now` for an attempt bounded by `timeout` (the
/// HTTP client enforces it) runs out: after the attempt has ended,
/// however it ends.
pub fn claim_until(now: i64, timeout: Duration) -> i64 {
    let span = (timeout + CLAIM_MARGIN).as_millis();
    now.saturating_add(i64::try_from(span).unwrap_or(i64::MAX))
}

/// Webhooks with an attempt running; an entry leaves (and wakes the
/// worker) when its attempt ends, however it ends.
type Busy = Arc<Mutex<HashSet<i64>>>;

/// Deliver until dropped (see [`crate::run`]).
pub async fn run(st: AppState) {
    let attempts = TaskSet::new();
    let busy: Busy = Arc::default();
    loop {
        let wake = match st.store.due_deliveries().await {
            Ok(due) => start_due(&st, &attempts, &busy, &due),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the webhook queue");
                Some(Instant::now() + DATABASE_RETRY)
            }
        };
        tokio::select! {
            () = st.webhooks.woken() => {}
            () = sleep_or_never(wake) => {}
        }
    }
}

/// Start what is due; returns when to look again.
fn start_due(
    st: &AppState,
    attempts: &TaskSet,
    busy: &Busy,
    due: &[DueDelivery],
) -> Option<Instant> {
    let now = now_ms();
    let running = lock(busy).clone();
    let p = plan(
        due,
        &running,
        CONCURRENCY.saturating_sub(running.len()),
        now,
    );
    for d in p.start {
        lock(busy).insert(d.webhook_id);
        let guard = BusyGuard {
            busy: busy.clone(),
            webhook_id: d.webhook_id,
            st: st.clone(),
        };
        let st = st.clone();
        attempts.spawn(async move {
            let _guard = guard;
            deliver(&st, d.id).await;
        });
    }
    p.wake_at
        .map(|at| Instant::now() + Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
}

struct BusyGuard {
    busy: Busy,
    webhook_id: i64,
    st: AppState,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        lock(&self.busy).remove(&self.webhook_id);
        self.st.webhooks.wake();
    }
}

fn lock(busy: &Busy) -> std::sync::MutexGuard<'_, HashSet<i64>> {
    // Only inserts and removes under the lock: a poisoned set is still valid.
    busy.lock().unwrap_or_else(|p| p.into_inner())
}

/// One attempt at delivery `id`, written down when it ends.
async fn deliver(st: &AppState, id: i64) {
    let now = now_ms();
    let until = claim_until(now, st.config.webhooks.timeout);
    let job = match st.store.claim_delivery(id, now, until).await {
        Ok(Some(job)) => job,
        // Settled meanwhile, or another node's attempt: the worker looks
        // again when this one ends.
        Ok(None) => return,
        Err(e) => {
            tracing::error!(delivery = id, error = %e, "cannot load a webhook delivery");
            return;
        }
    };
    let span = tracing::info_span!("webhook", webhook = job.webhook_id, delivery = id);
    let _enter = span.enter();
    let outcome = post(st, &job).await;
    let now = now_ms();
    let base = i64::try_from(st.config.webhooks.retry_base.as_millis()).unwrap_or(i64::MAX);
    let how = settle::settle(
        &outcome,
        job.attempts,
        job.first_attempt_at,
        now,
        base,
        rand::random(),
    );
    tracing::info!(
        status = ?how.status,
        status_code = how.status_code,
        error = how.error.as_deref(),
        attempt = job.attempts + 1,
        "webhook attempt"
    );
    let run = match st.store.settle_delivery(&job, &how, now).await {
        Ok(run) => run,
        Err(e) => {
            tracing::error!(error = %e, "cannot record a webhook attempt");
            return;
        }
    };
    if how.status != DeliveryStatus::Delivered
        && settle::disables(run, st.config.webhooks.disable_after)
    {
        disable(st, job.webhook_id, run).await;
    }
}

/// The signed POST of a job's payload.
async fn post(st: &AppState, job: &DeliveryJob) -> attempt::Outcome {
    let payload = WebhookPayload {
        delivery_id: job.id,
        webhook_id: job.webhook_id,
        event: job.event.clone(),
    };
    let body = match serde_json::to_vec(&payload) {
        Ok(b) => b,
        Err(e) => {
            return attempt::Outcome::Failed {
                status_code: None,
                error: format!("cannot encode the payload: {e}"),
            }
        }
    };
    let t = now_ms().div_euclid(1000);
    let headers = [
        (
            signature::HEADER,
            signature::sign(job.secret.expose().as_bytes(), t, &body),
        ),
        ("Meshdesk-Delivery", job.id.to_string()),
    ];
    let cfg = &st.config.webhooks;
    attempt::post(
        &crate::webhooks::policy(cfg),
        cfg.timeout,
        &job.url,
        body,
        &headers,
    )
    .await
}

/// Turn a webhook off after `run` failures and tell its owner in the feed.
async fn disable(st: &AppState, webhook_id: i64, run: u32) {
    let why = format!("webhook disabled after {run} failed attempts in a row");
    match st.store.disable_webhook(webhook_id, &why).await {
        Ok(Some(hook)) => {
            tracing::warn!(failures = run, "webhook disabled");
            feed::record(
                st,
                EventKind::WebhookDisabled,
                NewEvent {
                    user_id: Some(hook.user_id),
                    detail: Some(format!(
                        "{} (webhook {}) after {run} failed attempts in a row",
                        crate::webhooks::shown_url(&hook.url),
                        hook.id
                    )),
                    ..Default::default()
                },
            )
            .await;
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot disable a webhook"),
    }
}
