//! When to try a failed delivery again: exponential backoff with jitter,
//! for at most [`RETRY_WINDOW_MS`] after the run's first attempt.

/// How long after its first attempt a delivery is retried: 24 h.
pub const RETRY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// The longest wait between two attempts: an hour.
pub const MAX_DELAY_MS: i64 = 3600 * 1000;

/// The time of the next attempt after the `attempts`-th failed one (1 for
/// the first) at `now`, or None when the retry window, counted from
/// `first_attempt_at`, is over. The wait is `base_ms * 2^(attempts-1)`,
/// capped at [`MAX_DELAY_MS`], then scaled by `jitter` in [0, 1) into
/// its upper half, so receivers that failed together do not all come
/// back at once.
pub fn next_attempt(
    now: i64,
    first_attempt_at: i64,
    attempts: u32,
    base_ms: i64,
    jitter: f64,
) -> Option<i64> {
    let doublings = attempts.saturating_sub(1).min(40);
    let delay = base_ms
        .saturating_mul(1i64 << doublings)
        .clamp(1, MAX_DELAY_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    // delay/2 .. delay: never less than half, never more than the delay.
    let wait = delay / 2 + ((delay - delay / 2) as f64 * jitter) as i64;
    let at = now.saturating_add(wait.max(1));
    (at <= first_attempt_at.saturating_add(RETRY_WINDOW_MS)).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_within_their_jitter() {
        for (attempts, full) in [(1, 1000), (2, 2000), (3, 4000), (4, 8000)] {
            let low = next_attempt(0, 0, attempts, 1000, 0.0).expect("in window");
            let high = next_attempt(0, 0, attempts, 1000, 0.999).expect("in window");
            assert_eq!(low, full / 2, "attempt {attempts}");
            assert!(high > low && high <= full, "attempt {attempts}: {high}");
        }
    }

    #[test]
    fn waits_are_capped_at_an_hour() {
        let at = next_attempt(0, 0, 30, 30_000, 0.999).expect("in window");
        assert!((MAX_DELAY_MS / 2..=MAX_DELAY_MS).contains(&at), "{at}");
        assert!(next_attempt(0, 0, u32::MAX, i64::MAX, 1.0).is_some());
    }

    #[test]
    fn retries_stop_a_day_after_the_first_attempt() {
        let late = RETRY_WINDOW_MS - 100;
        assert_eq!(next_attempt(late, 0, 5, 1000, 0.0), None);
        assert!(next_attempt(late, 0, 1, 100, 0.0).is_some());
    }
}
