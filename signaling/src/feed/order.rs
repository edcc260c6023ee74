//! The driver of this node's [`Sequencer`]: every live feed event goes
//! through it, whether this node stored it ([`record`]) or another node
//! did and the bus brought it ([`heard`]). It holds the sequencer under an
//! async lock across storing a local event and publishing, runs the store
//! reads the sequencer asks for, and publishes to the hub what it
//! releases, in id order.
//!
//! On one node the sequencer never waits or reads, so recording an event
//! costs what it always did. In a cluster, [`crate::cluster::events`]
//! brings the other nodes' events and calls [`timeout`] when a gap has
//! waited [`HOLD`] and [`catch_up`] now and then.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{watch, Mutex};

use super::sequence::{Output, Sequencer};
use crate::clock::now_ms;
use crate::hub::{Fanout, FanoutKind, FanoutPart};
use crate::state::AppState;
use crate::store::Addressed;

/// How long an event that overtook a lower id waits for it on the bus
/// before the store is read. The bus takes about a millisecond between
/// nodes; an id never used (a transaction that rolled back) costs this
/// delay once.
pub const HOLD: Duration = Duration::from_millis(50);

/// Events read from the store per gap-filling read.
pub const READ_PAGE: u32 = 500;

/// This node's order of live feed events.
#[derive(Debug)]
pub struct FeedOrder {
    /// Locked across storing a local event and publishing what it
    /// releases, so ids are taken and published one event at a time.
    seq: Mutex<Sequencer>,
    /// When the sequencer wants [`timeout`] called, for the cluster's
    /// event task.
    deadline: watch::Sender<Option<i64>>,
}

impl FeedOrder {
    /// The order of a node whose newest stored event at start is `last`:
    /// alone, or one of a cluster.
    pub fn new(last: i64, clustered: bool) -> FeedOrder {
        let hold = i64::try_from(HOLD.as_millis()).unwrap_or(i64::MAX);
        let seq = if clustered {
            Sequencer::clustered(last, hold)
        } else {
            Sequencer::solo(last)
        };
        FeedOrder {
            seq: Mutex::new(seq),
            deadline: watch::Sender::new(None),
        }
    }

    /// When [`timeout`] is next wanted (milliseconds since the epoch);
    /// changes as gaps open and close.
    pub fn deadlines(&self) -> watch::Receiver<Option<i64>> {
        self.deadline.subscribe()
    }
}

/// Run `make`, which stores an event and returns it with who may see it,
/// then tell the other nodes and publish it, with `first` (presence) in
/// the same write before it. Nothing else is stored or published through
/// here meanwhile.
pub async fn record<T>(
    st: &AppState,
    first: Vec<FanoutPart>,
    make: impl Future<Output = (T, Option<Addressed>)>,
) -> T {
    let mut seq = st.feed_order.seq.lock().await;
    let (out, stored) = make.await;
    if let Some(a) = stored {
        st.cluster.announce_event(&a);
        seq.handle_event(now_ms(), a);
    }
    drive(st, &mut seq, first).await;
    out
}

/// An event another node stored, heard on the bus.
pub async fn heard(st: &AppState, a: Addressed) {
    let mut seq = st.feed_order.seq.lock().await;
    seq.handle_event(now_ms(), a);
    drive(st, &mut seq, Vec::new()).await;
}

/// The deadline of [`FeedOrder::deadlines`] passed.
pub async fn timeout(st: &AppState) {
    let mut seq = st.feed_order.seq.lock().await;
    seq.handle_timeout(now_ms());
    drive(st, &mut seq, Vec::new()).await;
}

/// Look in the store for events the bus may have lost.
pub async fn catch_up(st: &AppState) {
    let mut seq = st.feed_order.seq.lock().await;
    seq.catch_up();
    drive(st, &mut seq, Vec::new()).await;
}

/// Do what the sequencer asks until it asks nothing: publish, in one
/// fan-out after `parts`, what it releases; read what it needs.
async fn drive(st: &AppState, seq: &mut Sequencer, mut parts: Vec<FanoutPart>) {
    while let Some(out) = seq.poll_output() {
        match out {
            Output::Publish(a) => {
                let Addressed { event, audience } = *a;
                parts.push(FanoutPart::new(audience, FanoutKind::Event(event)));
            }
            Output::Read { after } => {
                flush(st, &mut parts);
                match st.store.events_after(after, READ_PAGE).await {
                    Ok(page) => {
                        tracing::debug!(after, read = page.len(), "feed order: read a gap");
                        let full = page.len() >= READ_PAGE as usize;
                        seq.handle_read(now_ms(), page, full);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, after, "feed order: cannot read a gap; retrying");
                        seq.handle_read_failed(now_ms());
                    }
                }
            }
        }
    }
    flush(st, &mut parts);
    let next = seq.poll_timeout();
    st.feed_order.deadline.send_if_modified(|d| {
        let changed = *d != next;
        *d = next;
        changed
    });
}

fn flush(st: &AppState, parts: &mut Vec<FanoutPart>) {
    if !parts.is_empty() {
        st.hub.publish(Fanout {
            parts: std::mem::take(parts),
        });
    }
}
