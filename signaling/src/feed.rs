//! Recording activity: store the event, queue it for the webhooks that
//! want it, then push it live to everyone allowed to see it, on this
//! node and (through the cluster's bus) the others. Storing and
//! publishing happen under one lock ([`order`]), and every node publishes
//! its own and the others' events in id order ([`sequence`]), which the
//! resumable stream ([`live`]) depends on.
//!
//! Submodules: [`filter`] (what a reader asks for), [`cursor`] (the
//! resume bookkeeping), [`live`] (the stream's driver), [`sequence`] and
//! [`order`] (the live order and its driver), [`retention`] (pruning old
//! events) and [`files`] (what a host's file reports say).

pub mod cursor;
pub mod files;
pub mod filter;
pub mod live;
pub mod order;
pub mod retention;
pub mod sequence;

use meshdesk_protocol::rest::{Event, EventKind};

use crate::clock::now_ms;
use crate::hub::{Fanout, FanoutKind, FanoutPart};
use crate::state::AppState;
use crate::store::{Addressed, NewEvent};
use crate::webhooks;

/// Store and publish an event. Failures are logged, never fatal: the feed
/// must not take down the action it records.
pub async fn record(state: &AppState, kind: EventKind, e: NewEvent) -> Option<Event> {
    let make = async {
        let stored = store(state, kind, e).await;
        (stored.as_ref().map(|a| a.event.clone()), stored)
    };
    order::record(state, Vec::new(), make).await
}

/// Tell everyone who may see a device that it went online or offline.
pub async fn presence(state: &AppState, device_id: &str, name: &str, online: bool) {
    if let Some(part) = presence_part(state, device_id, name, online).await {
        state.hub.publish(Fanout { parts: vec![part] });
    }
}

/// Tell `audience` (users who could see a device until just now: a share
/// revoked, the device removed) that it is offline for them.
pub fn gone_for(state: &AppState, audience: Vec<i64>, device_id: &str, name: &str) {
    let part = FanoutPart::new(audience, presence_kind(device_id, name, false));
    state.hub.publish(Fanout { parts: vec![part] });
}

/// A device's connection came or went: presence first (it is what
/// watchers act on), then its feed entry, published together so each
/// watcher gets both in one write.
pub async fn presence_changed(
    state: &AppState,
    device_id: &str,
    name: &str,
    online: bool,
    e: NewEvent,
) {
    let kind = if online {
        EventKind::DeviceOnline
    } else {
        EventKind::DeviceOffline
    };
    let presence = presence_part(state, device_id, name, online).await;
    let make = async { ((), store(state, kind, e).await) };
    order::record(state, presence.into_iter().collect(), make).await;
}

/// Store an event; returns it and who may see it.
async fn store(state: &AppState, kind: EventKind, mut e: NewEvent) -> Option<Addressed> {
    e.kind = Some(kind);
    if e.at == 0 {
        e.at = now_ms();
    }
    match state.store.record_event(&e, now_ms()).await {
        Ok(r) => {
            webhooks::queued(state, &r.event, r.deliveries);
            Some(Addressed {
                event: r.event,
                audience: r.audience,
            })
        }
        Err(err) => {
            tracing::error!(error = %err, kind = kind.as_str(), "could not record event");
            None
        }
    }
}

async fn presence_part(
    state: &AppState,
    device_id: &str,
    name: &str,
    online: bool,
) -> Option<FanoutPart> {
    match state.store.device_audience(device_id).await {
        Ok(audience) => Some(FanoutPart::new(
            audience,
            presence_kind(device_id, name, online),
        )),
        Err(err) => {
            tracing::error!(error = %err, "could not compute presence audience");
            None
        }
    }
}

fn presence_kind(device_id: &str, name: &str, online: bool) -> FanoutKind {
    FanoutKind::Presence {
        device_id: device_id.to_string(),
        name: name.to_string(),
        online,
    }
}

/// An event with every optional field empty, for unit tests.
#[cfg(test)]
pub(crate) fn test_event(id: i64, kind: EventKind, device: Option<&str>) -> Event {
    Event {
        id,
        at: 0,
        kind,
        actor: None,
        device_id: device.map(str::to_string),
        device_name: None,
        target_user: None,
        permission: None,
        session_id: None,
        duration_ms: None,
        detail: None,
        file: None,
    }
}
