//! Figures read at scrape time: the hub's live counts, and the embedded
//! relay's counters (which the relay keeps as plain numbers, knowing
//! nothing of Prometheus).

use std::sync::Mutex;

use meshdesk_exporter::prometheus::{IntCounter, IntGauge};
use meshdesk_exporter::Registry;
use meshdesk_relay::{Relay, RelayStats};

use super::{gauge, metric, Metrics};
use crate::error::Result;
use crate::hub::Hub;

/// The relay's figures, and what they were at the last scrape.
#[derive(Debug)]
pub(super) struct RelayFigures {
    allocations: IntGauge,
    allocations_total: IntCounter,
    bytes_total: IntCounter,
    /// The counters' values already added, so each scrape adds only what
    /// is new (held while adding, so two scrapes never add twice).
    seen: Mutex<RelayStats>,
}

impl RelayFigures {
    pub(super) fn new() -> Result<RelayFigures> {
        Ok(RelayFigures {
            allocations: gauge(
                "relay_allocations",
                "TURN allocations held now by the embedded relay.",
            )?,
            allocations_total: IntCounter::new(
                "relay_allocations_total",
                "TURN allocations made by the embedded relay.",
            )
            .map_err(metric)?,
            bytes_total: IntCounter::new(
                "relay_bytes_total",
                "Payload bytes the embedded relay relayed, both directions.",
            )
            .map_err(metric)?,
            seen: Mutex::new(RelayStats::default()),
        })
    }

    pub(super) fn register(&self, r: &Registry) -> Result<()> {
        r.register(Box::new(self.allocations.clone()))
            .map_err(metric)?;
        r.register(Box::new(self.allocations_total.clone()))
            .map_err(metric)?;
        r.register(Box::new(self.bytes_total.clone()))
            .map_err(metric)
    }

    fn update(&self, now: RelayStats) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        self.allocations.set(now.allocations_active as i64);
        self.allocations_total
            .inc_by(now.allocations_total.saturating_sub(seen.allocations_total));
        self.bytes_total
            .inc_by(now.relayed_bytes.saturating_sub(seen.relayed_bytes));
        *seen = now;
    }
}

impl Metrics {
    /// Bring the gauges of live state up to date, before a scrape.
    pub fn refresh(&self, hub: &Hub, relay: Option<&Relay>) {
        let live = hub.live_counts();
        self.devices_online.set(live.hosts as i64);
        self.viewers_connected.set(live.viewers as i64);
        self.sessions_active.set(live.sessions_accepted as i64);
        self.sessions_pending
            .set((live.sessions - live.sessions_accepted) as i64);
        if let Some(relay) = relay {
            self.relay.update(relay.stats());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_counters_add_only_what_is_new() {
        let m = Metrics::new().expect("metrics");
        let stats = |total, bytes| RelayStats {
            allocations_active: 1,
            allocations_total: total,
            relayed_bytes: bytes,
        };
        m.relay.update(stats(2, 100));
        m.relay.update(stats(3, 150));
        m.relay.update(stats(3, 150));
        assert_eq!(m.relay.allocations_total.get(), 3);
        assert_eq!(m.relay.bytes_total.get(), 150);
        assert_eq!(m.relay.allocations.get(), 1);
    }
}
