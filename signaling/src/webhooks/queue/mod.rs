//! The delivery queue's scheduling: which due deliveries to start now and
//! when to look again. At most one attempt per webhook runs at a time
//! (its deliveries go in order, and a slow receiver holds one slot, not
//! all of them), and at most [`CONCURRENCY`] in all.

pub mod worker;

use std::collections::HashSet;

use crate::store::DueDelivery;

/// Attempts running at once, over all webhooks.
pub const CONCURRENCY: usize = 4;

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Deliveries to attempt now.
    pub start: Vec<DueDelivery>,
    /// When the next one falls due (None: wait to be woken).
    pub wake_at: Option<i64>,
}

/// Plan from each webhook's earliest pending delivery (`due`), the
/// webhooks with an attempt running (`busy`) and the free slots.
pub fn plan(due: &[DueDelivery], busy: &HashSet<i64>, free: usize, now: i64) -> Plan {
    let mut p = Plan::default();
    for d in due.iter().filter(|d| !busy.contains(&d.webhook_id)) {
        if d.next_attempt_at <= now {
            if p.start.len() < free {
                p.start.push(*d);
            }
            // No free slot: a running attempt's end wakes the worker.
        } else {
            p.wake_at = Some(
                p.wake_at
                    .map_or(d.next_attempt_at, |w| w.min(d.next_attempt_at)),
            );
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: i64, webhook_id: i64, at: i64) -> DueDelivery {
        DueDelivery {
            id,
            webhook_id,
            next_attempt_at: at,
        }
    }

    #[test]
    fn due_deliveries_start_and_the_next_one_sets_the_wake_up() {
        let due = [d(1, 10, 5), d(2, 11, 100), d(3, 12, 50)];
        let p = plan(&due, &HashSet::new(), 4, 10);
        assert_eq!(p.start, [d(1, 10, 5)]);
        assert_eq!(p.wake_at, Some(50));
    }

    #[test]
    fn busy_webhooks_wait_and_slots_are_bounded() {
        let due = [d(1, 10, 0), d(2, 11, 0), d(3, 12, 0), d(4, 13, 20)];
        let busy = HashSet::from([10]);
        let p = plan(&due, &busy, 1, 10);
        assert_eq!(p.start, [d(2, 11, 0)]);
        assert_eq!(p.wake_at, Some(20));
        assert_eq!(plan(&[], &busy, 4, 10), Plan::default());
    }
}
