//! What a feed reader asked for: the kinds and the device it wants, and
//! where to start (`since`, or a `Last-Event-ID` header). Plain parsing of
//! query values, no I/O; every bad value is a [`Error::BadRequest`] that
//! names it.

use meshdesk_protocol::rest::{Event, EventKind, ALL_EVENT_KINDS};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// Which events a reader wants, besides what it may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Wanted kinds; empty means every kind.
    pub kinds: Vec<EventKind>,
    /// Only events about this device (its id), when set.
    pub device: Option<String>,
}

impl EventFilter {
    /// Build from the raw `kind` values (repeatable) and `device`.
    pub fn parse(kinds: &[String], device: Option<String>) -> Result<EventFilter> {
        let mut parsed = Vec::with_capacity(kinds.len());
        for k in kinds {
            let kind = EventKind::parse(k).ok_or_else(|| unknown_kind(k))?;
            if !parsed.contains(&kind) {
                parsed.push(kind);
            }
        }
        if device.as_deref() == Some("") {
            return Err(Error::BadRequest("device must not be empty".into()));
        }
        Ok(EventFilter {
            kinds: parsed,
            device,
        })
    }

    /// Whether `e` is one the reader asked for.
    pub fn matches(&self, e: &Event) -> bool {
        let kind_ok = self.kinds.is_empty() || self.kinds.contains(&e.kind);
        let device_ok = match &self.device {
            Some(d) => e.device_id.as_deref() == Some(d.as_str()),
            None => true,
        };
        kind_ok && device_ok
    }
}

fn unknown_kind(k: &str) -> Error {
    let known: Vec<&str> = ALL_EVENT_KINDS.iter().map(|k| k.as_str()).collect();
    Error::BadRequest(format!(
        "unknown kind `{k}`; known kinds: {}",
        known.join(", ")
    ))
}

/// Where a reader starts: after an event id, or after a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Events with an id above this one.
    Id(i64),
    /// Events recorded after this time (Unix epoch milliseconds).
    Time(i64),
}

/// Digits of the largest event id `since` takes.
const MAX_ID_DIGITS: usize = 15;

/// What `since` accepts, as the OpenAPI document states it: an id of up to
/// [`MAX_ID_DIGITS`] digits, or an RFC 3339 time (days up to 28, so every
/// string the pattern allows is a real date).
pub const SINCE_PATTERN: &str = r"^([0-9]{1,15}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))$";

impl Since {
    /// `since`: a non-negative event id, or an RFC 3339 time such as
    /// `2026-01-31T12:00:00Z`.
    pub fn parse(text: &str) -> Result<Since> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            // Ids have at most 15 digits (the documented pattern); more is
            // refused even when it would fit in an i64.
            if text.len() > MAX_ID_DIGITS {
                return Err(Error::BadRequest("since: the event id is too large".into()));
            }
            return text
                .parse()
                .map(Since::Id)
                .map_err(|_| Error::BadRequest("since: the event id is too large".into()));
        }
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            Error::BadRequest(format!(
                "since: `{text}` is neither an event id nor an RFC 3339 time"
            ))
        })?;
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms)
            .map(Since::Time)
            .map_err(|_| Error::BadRequest("since: the time is out of range".into()))
    }

    /// The `Last-Event-ID` header a reconnecting SSE client sends: an
    /// event id only.
    pub fn last_event_id(value: &[u8]) -> Result<Since> {
        let bad = || Error::BadRequest("Last-Event-ID must be an event id".into());
        let text = std::str::from_utf8(value).map_err(|_| bad())?.trim();
        match Since::parse(text) {
            Ok(Since::Id(id)) => Ok(Since::Id(id)),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, device: Option<&str>) -> Event {
        crate::feed::test_event(1, kind, device)
    }

    #[test]
    fn the_documented_pattern_takes_the_ids_parse_takes() {
        assert!(SINCE_PATTERN.contains(&format!("[0-9]{{1,{MAX_ID_DIGITS}}}")));
        assert!(Since::parse(&"9".repeat(MAX_ID_DIGITS)).is_ok());
        assert!(Since::parse(&"9".repeat(MAX_ID_DIGITS + 1)).is_err());
    }

    #[test]
    fn kinds_are_repeatable_and_unknown_ones_are_named() {
        let kinds = ["device_online".to_string(), "device_offline".to_string()];
        let f = EventFilter::parse(&kinds, None).expect("known kinds");
        assert_eq!(f.kinds, [EventKind::DeviceOnline, EventKind::DeviceOffline]);
        assert!(f.matches(&event(EventKind::DeviceOffline, None)));
        assert!(!f.matches(&event(EventKind::DeviceRenamed, None)));
        let e = EventFilter::parse(&["device_online".into(), "device_exploded".into()], None)
            .expect_err("unknown kind");
        assert!(
            e.to_string().starts_with("unknown kind `device_exploded`"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_filter_matches_everything_and_a_device_narrows() {
        assert!(EventFilter::default().matches(&event(EventKind::LoginFailed, None)));
        let f = EventFilter::parse(&[], Some("dev_a".into())).expect("device");
        assert!(f.matches(&event(EventKind::DeviceRenamed, Some("dev_a"))));
        assert!(!f.matches(&event(EventKind::DeviceRenamed, Some("dev_b"))));
        assert!(!f.matches(&event(EventKind::AccountCreated, None)));
        assert!(EventFilter::parse(&[], Some(String::new())).is_err());
    }

    #[test]
    fn since_is_an_id_or_an_rfc3339_time() {
        assert_eq!(Since::parse("57").expect("id"), Since::Id(57));
        assert_eq!(Since::parse("0").expect("id"), Since::Id(0));
        assert_eq!(
            Since::parse("2026-01-01T00:00:01Z").expect("time"),
            Since::Time(1_767_225_601_000)
        );
        assert_eq!(
            Since::parse("2026-01-01T01:00:00.5+01:00").expect("offset"),
            Since::Time(1_767_225_600_500)
        );
        for bad in ["", "-3", "yesterday", "99999999999999999999", "2026-01-01"] {
            let e = Since::parse(bad).expect_err(bad).to_string();
            assert!(e.starts_with("since:"), "{bad}: {e}");
        }
    }

    #[test]
    fn last_event_id_takes_ids_only() {
        assert_eq!(Since::last_event_id(b" 12 ").expect("id"), Since::Id(12));
        for bad in [&b"2026-01-01T00:00:00Z"[..], b"x", b"\xff", b""] {
            assert!(Since::last_event_id(bad).is_err());
        }
    }
}
