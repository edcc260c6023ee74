//! Which events a webhook wants: its kinds and devices filters.

use meshdesk_protocol::rest::{Event, Webhook};

/// Whether `event` passes `hook`'s filters. An empty kinds list takes
/// every kind; an empty devices list every event, about a device or not;
/// a devices list only events about one of those devices.
pub fn matches(hook: &Webhook, event: &Event) -> bool {
    let kind_ok = hook.kinds.is_empty() || hook.kinds.contains(&event.kind);
    let device_ok = hook.devices.is_empty()
        || event
            .device_id
            .as_ref()
            .is_some_and(|d| hook.devices.contains(d));
    kind_ok && device_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshdesk_protocol::rest::EventKind;

    fn hook(kinds: Vec<EventKind>, devices: Vec<&str>) -> Webhook {
        Webhook {
            id: 1,
            url: "https://example.com/hook".into(),
            kinds,
            devices: devices.into_iter().map(String::from).collect(),
            enabled: true,
            consecutive_failures: 0,
            created_at: 0,
        }
    }

    fn event(kind: EventKind, device: Option<&str>) -> Event {
        crate::feed::test_event(1, kind, device)
    }

    #[test]
    fn empty_filters_take_everything() {
        let h = hook(vec![], vec![]);
        assert!(matches(&h, &event(EventKind::LoginFailed, None)));
        assert!(matches(&h, &event(EventKind::DeviceOnline, Some("d1"))));
    }

    #[test]
    fn kinds_and_devices_both_must_match() {
        let h = hook(vec![EventKind::DeviceOffline], vec!["d1"]);
        assert!(matches(&h, &event(EventKind::DeviceOffline, Some("d1"))));
        assert!(!matches(&h, &event(EventKind::DeviceOnline, Some("d1"))));
        assert!(!matches(&h, &event(EventKind::DeviceOffline, Some("d2"))));
        assert!(!matches(&h, &event(EventKind::DeviceOffline, None)));
    }
}
