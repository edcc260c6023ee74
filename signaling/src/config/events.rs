//! The `[events]` table: how long the activity feed keeps events.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Default `retention_days`.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Largest `retention_days` (a hundred years; keeps the arithmetic small).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// `[events]` as written by an operator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsFile {
    /// Days an event is kept; older ones are deleted, and a reader resuming
    /// from before them is told of the gap. 1 to 36500. Default 30.
    pub retention_days: Option<u32>,
}

/// Validated `[events]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsSettings {
    /// How long events are kept.
    pub retention: Duration,
}

impl EventsSettings {
    pub fn from_file(f: EventsFile) -> Result<EventsSettings> {
        let days = f.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS);
        if days == 0 || days > MAX_RETENTION_DAYS {
            return Err(Error::Config(format!(
                "events.retention_days: must be 1 to {MAX_RETENTION_DAYS}"
            )));
        }
        Ok(EventsSettings {
            retention: Duration::from_secs(86_400 * u64::from(days)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_defaults_to_30_days_and_names_its_field() {
        let s = EventsSettings::from_file(EventsFile::default()).expect("default");
        assert_eq!(s.retention, Duration::from_secs(30 * 86_400));
        for bad in [0, MAX_RETENTION_DAYS + 1] {
            let f = EventsFile {
                retention_days: Some(bad),
            };
            let e = EventsSettings::from_file(f).expect_err("out of range");
            assert!(e.to_string().contains("events.retention_days"), "{e}");
        }
    }
}
