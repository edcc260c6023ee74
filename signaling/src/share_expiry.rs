//! Shares given for a time end at `expires_at`: a task that [`crate::run`]
//! owns sleeps until the earliest end, then takes every expired share out
//! of the store and withdraws it (sessions end, the feed says so, the
//! device leaves the holder's list). A new share with an end wakes it, so
//! a sooner end is never overslept.

use std::time::Duration;

use crate::api::shares::withdrawn;
use crate::clock::now_ms;
use crate::state::AppState;

/// The longest sleep between passes, whatever the store says: a safety net
/// against a missed wake-up or a clock that jumped.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long to sleep at `now` (Unix ms) before the next pass, given the
/// earliest end of any share.
pub fn sleep_for(next_end: Option<i64>, now: i64) -> Duration {
    match next_end {
        None => MAX_SLEEP,
        Some(at) => {
            let wait = u64::try_from(at.saturating_sub(now)).unwrap_or(0);
            Duration::from_millis(wait).min(MAX_SLEEP)
        }
    }
}

/// Withdraw every share that has ended by `now`; returns the earliest end
/// still to come. Store failures are logged; the next pass tries again.
pub async fn pass(st: &AppState, now: i64) -> Option<i64> {
    match st.store.take_expired_shares(now).await {
        Ok(ended) => {
            for share in &ended {
                tracing::info!(device = %share.device_id, user = %share.username, "share expired");
                withdrawn(st, share, None).await;
            }
        }
        Err(err) => tracing::error!(error = %err, "could not expire shares"),
    }
    st.store.next_share_expiry().await.unwrap_or_else(|err| {
        tracing::error!(error = %err, "could not read share expiry");
        None
    })
}

/// Expire shares forever, from a first pass at once (shares that ended
/// while the server was down).
pub async fn run(st: AppState) {
    loop {
        let next = pass(&st, now_ms()).await;
        let wait = sleep_for(next, now_ms());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = st.share_expiry.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_sleeps_until_the_next_end_but_never_long() {
        assert_eq!(sleep_for(None, 0), MAX_SLEEP);
        assert_eq!(sleep_for(Some(1_500), 1_000), Duration::from_millis(500));
        assert_eq!(sleep_for(Some(900), 1_000), Duration::ZERO);
        assert_eq!(sleep_for(Some(i64::MAX), 0), MAX_SLEEP);
    }
}
