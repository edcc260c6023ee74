//! What an attempt's outcome means for its delivery: delivered, retried
//! later, or given up. Pure: the time and the jitter are inputs.

use meshdesk_protocol::rest::DeliveryStatus;

use super::attempt::Outcome;
use super::backoff;
use crate::store::Settled;

/// How to record `outcome` of the attempt made at `now`, the
/// `attempts_before + 1`-th of a run whose first attempt was at
/// `first_attempt_at` (None: this one).
pub fn settle(
    outcome: &Outcome,
    attempts_before: u32,
    first_attempt_at: Option<i64>,
    now: i64,
    retry_base_ms: i64,
    jitter: f64,
) -> Settled {
    match outcome {
        Outcome::Delivered(code) => Settled {
            status: DeliveryStatus::Delivered,
            status_code: Some(*code),
            error: None,
            next_attempt_at: None,
        },
        Outcome::Failed { status_code, error } => {
            let first = first_attempt_at.unwrap_or(now);
            let attempts = attempts_before.saturating_add(1);
            let next = backoff::next_attempt(now, first, attempts, retry_base_ms, jitter);
            let error = match next {
                Some(_) => error.clone(),
                None => format!("{error} (gave up after {attempts} attempts)"),
            };
            Settled {
                status: if next.is_some() {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Failed
                },
                status_code: *status_code,
                error: Some(error),
                next_attempt_at: next,
            }
        }
    }
}

/// Whether a webhook whose failed attempts in a row now number `run` is
/// to be disabled.
pub fn disables(run: u32, disable_after: u32) -> bool {
    run >= disable_after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: Option<u16>) -> Outcome {
        Outcome::Failed {
            status_code: code,
            error: "the receiver answered 500".into(),
        }
    }

    #[test]
    fn a_2xx_is_delivered() {
        let s = settle(&Outcome::Delivered(204), 3, Some(0), 10, 1000, 0.5);
        assert_eq!(s.status, DeliveryStatus::Delivered);
        assert_eq!(
            (s.status_code, s.error, s.next_attempt_at),
            (Some(204), None, None)
        );
    }

    #[test]
    fn a_failure_is_retried_until_the_window_closes() {
        let s = settle(&failed(Some(500)), 0, None, 1_000, 1000, 0.0);
        assert_eq!(s.status, DeliveryStatus::Pending);
        assert_eq!(s.next_attempt_at, Some(1_500));
        assert_eq!(s.status_code, Some(500));
        let late = backoff::RETRY_WINDOW_MS;
        let s = settle(&failed(None), 20, Some(0), late, 1000, 0.0);
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert_eq!(s.next_attempt_at, None);
        assert!(s
            .error
            .expect("error")
            .contains("gave up after 21 attempts"));
    }

    #[test]
    fn disabling_takes_the_configured_run() {
        assert!(!disables(2, 3));
        assert!(disables(3, 3));
    }
}
