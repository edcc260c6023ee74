//! Recording activity: store the event, then push it live to everyone
//! allowed to see it.

use meshdesk_protocol::rest::{Event, EventKind};

use crate::clock::now_ms;
use crate::hub::{Fanout, FanoutKind};
use crate::state::AppState;
use crate::store::NewEvent;

/// Store and publish an event. Failures are logged, never fatal: the feed
/// must not take down the action it records.
pub fn record(state: &AppState, kind: EventKind, mut e: NewEvent) -> Option<Event> {
    e.kind = Some(kind);
    if e.at == 0 {
        e.at = now_ms();
    }
    let stored = state
        .store
        .insert_event(&e)
        .and_then(|ev| Ok((ev, state.store.event_audience(&e)?)));
    match stored {
        Ok((event, audience)) => {
            state
                .hub
                .publish(Fanout::new(audience, FanoutKind::Event(event.clone())));
            Some(event)
        }
        Err(err) => {
            tracing::error!(error = %err, kind = kind.as_str(), "could not record event");
            None
        }
    }
}

/// Tell everyone who may see a device that it went online or offline.
pub fn presence(state: &AppState, device_id: &str, name: &str, online: bool) {
    match state.store.device_audience(device_id) {
        Ok(audience) => state.hub.publish(Fanout::new(
            audience,
            FanoutKind::Presence {
                device_id: device_id.to_string(),
                name: name.to_string(),
                online,
            },
        )),
        Err(err) => tracing::error!(error = %err, "could not compute presence audience"),
    }
}
