//! Which feed events raise an alert, and the alert's text: plain
//! functions over the event, with no I/O.

use meshdesk_client::rest::{Event, EventKind};

/// What a user can ask to be alerted about (`--on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Trigger {
    /// A device went offline.
    Offline,
    /// A session started on a device.
    Session,
    /// A device was shared with someone.
    Share,
}

impl Trigger {
    /// The feed kind behind the trigger.
    pub fn kind(self) -> EventKind {
        match self {
            Trigger::Offline => EventKind::DeviceOffline,
            Trigger::Session => EventKind::SessionStarted,
            Trigger::Share => EventKind::ShareGranted,
        }
    }
}

/// The checked choices of the command line.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Alert on these; never empty.
    pub triggers: Vec<Trigger>,
    /// Only events about devices with these ids or names (any case);
    /// empty: every device.
    pub devices: Vec<String>,
}

impl Rules {
    /// The alert line for `event`, if it raises one.
    pub fn alert(&self, event: &Event) -> Option<String> {
        let trigger = self.triggers.iter().find(|t| t.kind() == event.kind)?;
        if !self.about_chosen_device(event) {
            return None;
        }
        let device = event
            .device_name
            .as_deref()
            .or(event.device_id.as_deref())
            .unwrap_or("a device");
        let who = event.actor.as_deref().unwrap_or("someone");
        let permission = event.permission.map(|p| p.as_str()).unwrap_or("access");
        let at = rfc3339(event.at);
        Some(match trigger {
            Trigger::Offline => format!("ALERT {device} went offline at {at}"),
            Trigger::Session => {
                format!("ALERT {who} started a session on {device} ({permission}) at {at}")
            }
            Trigger::Share => {
                let target = event.target_user.as_deref().unwrap_or("someone");
                format!("ALERT {who} shared {device} with {target} ({permission}) at {at}")
            }
        })
    }

    fn about_chosen_device(&self, event: &Event) -> bool {
        self.devices.is_empty()
            || self.devices.iter().any(|want| {
                event.device_id.as_deref() == Some(want.as_str())
                    || event
                        .device_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(want))
            })
    }
}

/// Epoch milliseconds as RFC 3339 in UTC, to the second.
fn rfc3339(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{at_ms} ms"))
}

#[cfg(test)]
mod tests {
    use meshdesk_client::rest::Permission;

    use super::*;

    fn event(kind: EventKind, device: &str) -> Event {
        Event {
            id: 1,
            at: 1_796_600_400_000,
            kind,
            actor: Some("bob".into()),
            device_id: Some(format!("dev_{device}")),
            device_name: Some(device.into()),
            target_user: Some("carol".into()),
            permission: Some(Permission::Control),
            session_id: None,
            duration_ms: None,
            detail: None,
            file: None,
        }
    }

    fn rules(devices: &[&str]) -> Rules {
        Rules {
            triggers: vec![Trigger::Offline, Trigger::Session, Trigger::Share],
            devices: devices.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn alert_lines_say_what_happened() {
        let r = rules(&[]);
        assert_eq!(
            r.alert(&event(EventKind::DeviceOffline, "office-pc"))
                .as_deref(),
            Some("ALERT office-pc went offline at 2026-12-06T23:40:00Z")
        );
        assert_eq!(
            r.alert(&event(EventKind::SessionStarted, "office-pc"))
                .as_deref(),
            Some("ALERT bob started a session on office-pc (control) at 2026-12-06T23:40:00Z")
        );
        assert_eq!(
            r.alert(&event(EventKind::ShareGranted, "office-pc"))
                .as_deref(),
            Some("ALERT bob shared office-pc with carol (control) at 2026-12-06T23:40:00Z")
        );
        assert_eq!(r.alert(&event(EventKind::DeviceOnline, "office-pc")), None);
    }

    #[test]
    fn devices_are_chosen_by_id_or_name() {
        let r = rules(&["dev_laptop", "OFFICE-PC"]);
        assert!(r
            .alert(&event(EventKind::DeviceOffline, "laptop"))
            .is_some());
        assert!(r
            .alert(&event(EventKind::DeviceOffline, "office-pc"))
            .is_some());
        assert!(r.alert(&event(EventKind::DeviceOffline, "nas")).is_none());
        let only_offline = Rules {
            triggers: vec![Trigger::Offline],
            devices: vec![],
        };
        assert!(only_offline
            .alert(&event(EventKind::ShareGranted, "nas"))
            .is_none());
    }
}
