//! What became of each input message, and the running counts for stats.

/// What the session did with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Something was injected into the display.
    Injected,
    /// Valid, but nothing to do: a release of something we never pressed,
    /// a duplicate button press, less than one wheel line, or a release-all
    /// with nothing held.
    Ignored,
    /// The session is view-only; the message was dropped.
    DroppedViewOnly,
    /// The message was bad; it was dropped and the session goes on.
    Rejected(Rejection),
}

/// Why a message was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Not valid JSON, not a known message, or out of range.
    Malformed,
    /// A key `code` this host does not know, without text to type instead.
    UnknownKey,
}

/// Counts of messages by outcome, for the session's stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Messages that injected something.
    pub injected: u64,
    /// Messages dropped because the session is view-only.
    pub dropped_view_only: u64,
    /// Malformed messages and unknown keys.
    pub rejected: u64,
    /// Valid messages with nothing to do.
    pub ignored: u64,
    /// Messages whose injection failed at the display.
    pub failed: u64,
}

impl InputStats {
    /// Count one outcome.
    pub(crate) fn count(&mut self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Injected => &mut self.injected,
            Outcome::Ignored => &mut self.ignored,
            Outcome::DroppedViewOnly => &mut self.dropped_view_only,
            Outcome::Rejected(_) => &mut self.rejected,
        };
        *counter = counter.saturating_add(1);
    }

    /// Whether the `n`th rejection should be logged: the first ten, then at
    /// powers of two, so a viewer flooding bad messages cannot flood the
    /// log. Counting instead of timing keeps the session free of clocks.
    pub(crate) fn should_log_rejection(n: u64) -> bool {
        n <= 10 || n.is_power_of_two()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_outcome() {
        let mut stats = InputStats::default();
        stats.count(Outcome::Injected);
        stats.count(Outcome::Injected);
        stats.count(Outcome::Ignored);
        stats.count(Outcome::DroppedViewOnly);
        stats.count(Outcome::Rejected(Rejection::Malformed));
        stats.count(Outcome::Rejected(Rejection::UnknownKey));
        assert_eq!(
            stats,
            InputStats {
                injected: 2,
                dropped_view_only: 1,
                rejected: 2,
                ignored: 1,
                failed: 0,
            }
        );
    }

    #[test]
    fn rejection_logging_thins_out() {
        let logged = (1..=1000)
            .filter(|&n| InputStats::should_log_rejection(n))
            .count();
        // 1..=10, then 16, 32, 64, 128, 256, 512.
        assert_eq!(logged, 16);
    }
}
