//! Retention of the activity feed: events older than `[events]
//! retention_days` are deleted once at start-up and then every
//! [`PRUNE_EVERY`], by a task that [`crate::run`] owns.

use std::time::Duration;

use crate::clock::now_ms;
use crate::state::AppState;
use crate::store::Store;

/// How often old events are pruned after the start-up pass.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The `at` (epoch ms) before which events are deleted at `now`.
pub fn cutoff(now_ms: i64, retention: Duration) -> i64 {
    let keep = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(keep)
}

/// Delete the events that are too old at `now`. Failures are logged: the
/// next pass tries again.
pub async fn prune_once(store: &Store, retention: Duration, now: i64) {
    match store.prune_events(cutoff(now, retention)).await {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(
            deleted,
            retention_days = retention.as_secs() / 86_400,
            "pruned old feed events"
        ),
        Err(err) => tracing::error!(error = %err, "could not prune feed events"),
    }
}

/// Prune every [`PRUNE_EVERY`], forever (the start-up pass is done by
/// [`crate::build_state`], before serving).
pub async fn run(st: AppState) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; the start-up pass already ran.
    every.tick().await;
    loop {
        every.tick().await;
        prune_once(&st.store, st.config.events.retention, now_ms()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewEvent;
    use meshdesk_protocol::rest::EventKind;

    #[test]
    fn the_cutoff_is_retention_before_now() {
        let day = Duration::from_secs(86_400);
        assert_eq!(cutoff(10 * 86_400_000, day), 9 * 86_400_000);
        assert_eq!(cutoff(0, Duration::MAX), -i64::MAX);
    }

    #[tokio::test]
    async fn a_pass_deletes_only_what_is_older_than_retention() {
        let store = Store::open_in_memory().expect("db");
        let day_ms = 86_400_000;
        let now = 100 * day_ms;
        for age_days in [31, 29] {
            let e = NewEvent {
                at: now - age_days * day_ms,
                kind: Some(EventKind::LoginFailed),
                ..NewEvent::default()
            };
            store.insert_event(&e).await.expect("insert");
        }
        prune_once(&store, Duration::from_secs(30 * 86_400), now).await;
        let pruned = store.pruned().await.expect("read").expect("pruned one");
        assert_eq!(pruned.through_id, 1);
        assert_eq!(pruned.newest_at, now - 31 * day_ms);
    }
}
