//! The order in which a node publishes feed events live, as plain data.
//!
//! Feed streams drop an event whose id is not above the last one they
//! sent, and resume after the last id a client got ([`super::cursor`]).
//! That is gap-free only if the live feed publishes events in id order
//! and publishes an id only once every lower id it will ever publish is
//! out. On one node that holds by itself: the node records every event,
//! one at a time. In a cluster, events come from this node and, over the
//! bus, from the others, in any order, and the bus may lose some.
//!
//! The store makes ids visible in order ([`crate::store::Events::record_event`]):
//! once an event is seen, every lower id is stored and readable, or was
//! never used. So when an event arrives with ids missing between the
//! last one published and it, the [`Sequencer`] holds it for a moment
//! ([`Sequencer::clustered`]'s `hold`), since the missing ones are
//! usually on the bus, and then reads the store after the last published
//! id to fill the gap. Late copies are dropped. On one node
//! ([`Sequencer::solo`]) a missing id was never used and nothing waits.
//!
//! Driven by [`super::order`], str0m-style: `handle_*` take the time,
//! [`Sequencer::poll_output`] says what to publish or read, and
//! [`Sequencer::poll_timeout`] when to call [`Sequencer::handle_timeout`].

use std::collections::{BTreeMap, VecDeque};

use crate::store::Addressed;

/// How long to wait before reading again after a read failed.
pub const RETRY_MS: i64 = 1_000;

/// Events held at most; more are dropped, to be read from the store with
/// the gap (they are stored: a node hears only of stored events).
pub const MAX_HELD: usize = 10_000;

/// What the sequencer asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Publish this event live now. Ids increase from one to the next.
    Publish(Box<Addressed>),
    /// Read a page of stored events with ids above `after`, oldest first,
    /// and hand it to [`Sequencer::handle_read`] (or tell
    /// [`Sequencer::handle_read_failed`]).
    Read { after: i64 },
}

/// A node's order of live feed events.
#[derive(Debug)]
pub struct Sequencer {
    /// Every event with an id up to this one was published, was never
    /// used, or is older than this node's start.
    last: i64,
    /// Events above `last + 1`, waiting for the ids below them.
    held: BTreeMap<i64, Addressed>,
    /// How long a gap may wait for the bus before the store is read (ms);
    /// `None` on one node, where a gap is an id never used.
    hold: Option<i64>,
    /// When to read the store for the gap below `held`, if nothing fills
    /// it first.
    deadline: Option<i64>,
    /// A read was asked for and not answered yet.
    reading: bool,
    /// The highest id held when that read was asked for: stored before
    /// the read began, so a short page accounts for every id below it.
    read_covers: Option<i64>,
    /// What the driver has still to do, in order.
    out: VecDeque<Output>,
}

impl Sequencer {
    /// One node alone: it records every event it publishes, in id order,
    /// so it publishes each at once. `last` is the newest id stored at
    /// start.
    pub fn solo(last: i64) -> Sequencer {
        Sequencer::new(last, None)
    }

    /// A node of a cluster: a gap waits up to `hold_ms` for the bus, then
    /// is read from the store.
    pub fn clustered(last: i64, hold_ms: i64) -> Sequencer {
        Sequencer::new(last, Some(hold_ms.max(0)))
    }

    fn new(last: i64, hold: Option<i64>) -> Sequencer {
        Sequencer {
            last,
            held: BTreeMap::new(),
            hold,
            deadline: None,
            reading: false,
            read_covers: None,
            out: VecDeque::new(),
        }
    }

    /// The id up to which everything is published.
    pub fn last(&self) -> i64 {
        self.last
    }

    /// An event stored by this node or heard from another at `now`.
    pub fn handle_event(&mut self, now: i64, ev: Addressed) {
        let id = ev.event.id;
        if id <= self.last || self.held.contains_key(&id) {
            return;
        }
        if self.held.len() >= MAX_HELD {
            tracing::debug!(id, "feed order: too many held; reading it with the gap");
            return;
        }
        self.held.insert(id, ev);
        self.release(now);
    }

    /// The page a [`Output::Read`] asked for; `full` when it holds as
    /// many events as a page may (more may follow).
    pub fn handle_read(&mut self, now: i64, page: Vec<Addressed>, full: bool) {
        if !self.reading {
            return;
        }
        self.reading = false;
        let read_to = page.iter().map(|a| a.event.id).max();
        for a in page {
            if a.event.id > self.last {
                self.held.entry(a.event.id).or_insert(a);
            }
        }
        // A short page ends with the newest event stored when it was
        // read, and what was held then was stored before: all that exists
        // up to the higher of the two is now in hand. (Events held since
        // may be newer than the read.) A full page vouches only for
        // itself.
        let through = if full {
            read_to
        } else {
            read_to.max(self.read_covers)
        };
        if let Some(through) = through {
            self.publish_through(through);
        }
        if full {
            self.read();
        } else {
            self.release(now);
        }
    }

    /// The read asked for failed: try again in [`RETRY_MS`] if events
    /// are waiting.
    pub fn handle_read_failed(&mut self, now: i64) {
        self.reading = false;
        if !self.held.is_empty() {
            self.deadline = Some(now + RETRY_MS);
        }
    }

    /// Time passed: read the store if a gap waited long enough.
    pub fn handle_timeout(&mut self, now: i64) {
        if self.deadline.is_some_and(|d| now >= d) && !self.reading {
            self.read();
        }
    }

    /// Read the store after the last published id now, for events the
    /// bus lost while no later one came to reveal the gap (after a
    /// reconnect, and now and then). Nothing on one node.
    pub fn catch_up(&mut self) {
        if self.hold.is_some() && !self.reading {
            self.read();
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Sequencer::handle_timeout`], if a gap is waiting.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.deadline
    }

    /// Publish what follows `last` without a gap (on one node: all), and
    /// start waiting for the gap below what is left.
    fn release(&mut self, now: i64) {
        while let Some(entry) = self.held.first_entry() {
            let id = *entry.key();
            if id != self.last + 1 && self.hold.is_some() {
                break;
            }
            self.out
                .push_back(Output::Publish(Box::new(entry.remove())));
            self.last = id;
        }
        let Some(hold) = self.hold else { return };
        if self.held.is_empty() {
            self.deadline = None;
        } else if !self.reading {
            let deadline = *self.deadline.get_or_insert(now + hold);
            if now >= deadline {
                self.read();
            }
        }
    }

    /// Publish every held event up to `through`; all that exists up to it
    /// is held, so nothing below it is left to come.
    fn publish_through(&mut self, through: i64) {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() > through {
                break;
            }
            self.out
                .push_back(Output::Publish(Box::new(entry.remove())));
        }
        self.last = self.last.max(through);
    }

    fn read(&mut self) {
        self.deadline = None;
        self.reading = true;
        self.read_covers = self.held.last_key_value().map(|(&id, _)| id);
        self.out.push_back(Output::Read { after: self.last });
    }
}

#[cfg(test)]
#[path = "sequence_tests.rs"]
mod tests;
