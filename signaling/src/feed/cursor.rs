//! The resume bookkeeping of one feed stream, as plain data: where the
//! stream stands, whether it still has stored events to replay, which live
//! events to drop as already sent, and whether retention lost events the
//! reader asked for.
//!
//! The hand-over is gap-free because the driver subscribes to the live
//! broadcast before it reads the store, and the feed publishes events in
//! id order: every event is then either in a store read or arrives live
//! (or both), and a live event is dropped only when its id is at most one
//! already accounted for.

use meshdesk_protocol::rest::Gap;

use super::filter::Since;

/// What retention has deleted so far, as the store remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// The highest deleted id; every id up to it is gone.
    pub through_id: i64,
    /// The newest `at` among the deleted events.
    pub newest_at: i64,
}

/// The gap a reader starting at `since` must be told about, if retention
/// deleted events after it.
pub fn gap(since: Since, pruned: Option<Pruned>) -> Option<Gap> {
    let p = pruned?;
    let before = p.through_id + 1;
    match since {
        Since::Id(after) if after < p.through_id => Some(Gap { after, before }),
        Since::Time(t) if t < p.newest_at => Some(Gap { after: 0, before }),
        _ => None,
    }
}

/// What the driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read the next page of stored events after this cursor.
    Replay(Since),
    /// Wait for live events.
    Live,
}

/// Where one stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCursor {
    /// Every event with an id up to this one was sent or is not wanted.
    sent: i64,
    /// Stored events still to replay, from this cursor on.
    replay: Option<Since>,
}

impl FeedCursor {
    /// A stream that resumes: replay the stored events after `since`.
    pub fn resume(since: Since) -> FeedCursor {
        let sent = match since {
            Since::Id(id) => id,
            Since::Time(_) => 0,
        };
        FeedCursor {
            sent,
            replay: Some(since),
        }
    }

    /// A stream that starts now: `high_water` is the newest id stored
    /// when it subscribed; only newer events are sent.
    pub fn live(high_water: i64) -> FeedCursor {
        FeedCursor {
            sent: high_water,
            replay: None,
        }
    }

    pub fn step(&self) -> Step {
        match self.replay {
            Some(since) => Step::Replay(since),
            None => Step::Live,
        }
    }

    /// The id up to which everything is accounted for.
    pub fn sent(&self) -> i64 {
        self.sent
    }

    /// A replay page was read and sent: `last` is its last event's id,
    /// `full` whether more may follow, `high_water` the newest id stored
    /// at that read. After a short page, every stored event up to
    /// `high_water` was either sent or not wanted.
    pub fn page_read(&mut self, last: Option<i64>, full: bool, high_water: i64) {
        if let Some(last) = last {
            self.sent = self.sent.max(last);
        }
        if full {
            self.replay = Some(Since::Id(self.sent));
        } else {
            self.replay = None;
            self.sent = self.sent.max(high_water);
        }
    }

    /// Whether to send live event `id`: only if it is newer than all
    /// accounted for; it then is.
    pub fn admit(&mut self, id: i64) -> bool {
        if id <= self.sent {
            return false;
        }
        self.sent = id;
        true
    }

    /// The live broadcast dropped events for this stream: catch up from
    /// the store after the last one accounted for.
    pub fn lagged(&mut self) {
        self.replay = Some(Since::Id(self.sent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_replays_pages_then_drops_live_duplicates() {
        let mut c = FeedCursor::resume(Since::Id(10));
        assert_eq!(c.step(), Step::Replay(Since::Id(10)));
        c.page_read(Some(13), true, 20);
        assert_eq!(c.step(), Step::Replay(Since::Id(13)));
        // The short page ends at 18, but 19 and 20 were stored and not
        // wanted (another user's, another kind): live copies are dropped.
        c.page_read(Some(18), false, 20);
        assert_eq!(c.step(), Step::Live);
        let sent: Vec<i64> = [17, 18, 19, 20, 21, 21, 22]
            .into_iter()
            .filter(|&id| c.admit(id))
            .collect();
        assert_eq!(sent, [21, 22]);
    }

    #[test]
    fn a_time_cursor_with_nothing_after_it_goes_live_from_the_high_water() {
        let mut c = FeedCursor::resume(Since::Time(1_000));
        assert_eq!(c.step(), Step::Replay(Since::Time(1_000)));
        c.page_read(None, false, 40);
        assert_eq!(c.step(), Step::Live);
        assert!(!c.admit(40));
        assert!(c.admit(41));
    }

    #[test]
    fn a_lag_catches_up_from_the_last_event_sent() {
        let mut c = FeedCursor::live(5);
        assert!(c.admit(6));
        c.lagged();
        assert_eq!(c.step(), Step::Replay(Since::Id(6)));
        c.page_read(Some(9), false, 9);
        assert_eq!(c.sent(), 9);
        assert!(!c.admit(7), "replayed already");
        assert!(c.admit(10));
    }

    #[test]
    fn gaps_are_reported_only_when_pruning_passed_the_cursor() {
        let pruned = Some(Pruned {
            through_id: 100,
            newest_at: 5_000,
        });
        assert_eq!(gap(Since::Id(100), pruned), None);
        assert_eq!(gap(Since::Id(7), None), None);
        assert_eq!(
            gap(Since::Id(7), pruned),
            Some(Gap {
                after: 7,
                before: 101
            })
        );
        assert_eq!(gap(Since::Time(5_000), pruned), None);
        assert_eq!(
            gap(Since::Time(4_999), pruned),
            Some(Gap {
                after: 0,
                before: 101
            })
        );
    }
}
