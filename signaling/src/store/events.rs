//! The activity feed: append events, page them per user.
//!
//! An event concerns an account (`user_id`: the account owner, or the
//! device's owner), optionally a device, and optionally a second user
//! (`target_id`: the share recipient or the viewer of a session). A user
//! sees an event when it concerns their account, names them as target, or
//! is about a device they may currently see.

use async_trait::async_trait;
use meshdesk_protocol::rest::{Event, EventFile, EventKind, Permission};
use meshdesk_protocol::signal::FileChange;

use crate::error::Result;
use crate::feed::filter::{EventFilter, Since};

/// Which of a user's events to read.
#[derive(Debug, Clone, Copy)]
pub struct EventQuery<'a> {
    /// Kinds and device asked for.
    pub filter: &'a EventFilter,
    /// Only events after this (then oldest first).
    pub since: Option<Since>,
    /// Only events with an id below this.
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// The result of [`Events::read_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRead {
    pub events: Vec<Event>,
    /// The newest event id stored at the time of the read, visible or not.
    pub high_water: i64,
}

/// An event to append. `at` is set by the caller (the clock is an input).
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub at: i64,
    pub kind: Option<EventKind>,
    /// The account the event is about (owner of the device, or the user).
    pub user_id: Option<i64>,
    pub actor: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub target_user: Option<String>,
    pub target_id: Option<i64>,
    pub permission: Option<Permission>,
    pub session_id: Option<String>,
    pub duration_ms: Option<i64>,
    pub detail: Option<String>,
    /// A file event's file: its name, or its path in a shared folder.
    pub path: Option<String>,
    /// A file transfer's size in bytes.
    pub size: Option<u64>,
    /// A file transfer's direction: whether the viewer sent the file.
    pub upload: Option<bool>,
    /// What happened to a shared file.
    pub change: Option<FileChange>,
}

impl NewEvent {
    /// The event as the API shows it once stored with `id`.
    pub fn stored_as(&self, id: i64) -> Event {
        Event {
            id,
            at: self.at,
            kind: self.kind_or_default(),
            actor: self.actor.clone(),
            device_id: self.device_id.clone(),
            device_name: self.device_name.clone(),
            target_user: self.target_user.clone(),
            permission: self.permission,
            session_id: self.session_id.clone(),
            duration_ms: self.duration_ms,
            detail: self.detail.clone(),
            file: event_file(self.path.clone(), self.size, self.upload, self.change),
        }
    }

    /// The kind stored for an event that names none.
    pub fn kind_or_default(&self) -> EventKind {
        self.kind.unwrap_or(EventKind::AccountCreated)
    }

    /// Who may see the event besides a device's audience: the account it
    /// is about and its target.
    pub fn named_users(&self) -> impl Iterator<Item = i64> {
        self.user_id.into_iter().chain(self.target_id)
    }
}

/// A size as the databases store it (a signed 64-bit integer; larger
/// sizes, which no file has, are kept as the largest one).
pub fn stored_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// An event's file, when it has one (a path).
pub fn event_file(
    path: Option<String>,
    size: Option<u64>,
    upload: Option<bool>,
    change: Option<FileChange>,
) -> Option<Box<EventFile>> {
    path.map(|path| {
        Box::new(EventFile {
            path,
            size,
            upload,
            change,
        })
    })
}

/// An event and who may see it: what the live feed publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressed {
    pub event: Event,
    /// User ids allowed to see it, each once, in increasing order.
    pub audience: Vec<i64>,
}

/// Who may see an event: the users who may see its device (`device`,
/// empty without one) and the users it names (its account, its target),
/// each once. [`Events::record_event`] and [`Events::events_after`] both
/// work it out this way.
pub fn audience(mut device: Vec<i64>, named: impl IntoIterator<Item = i64>) -> Vec<i64> {
    device.extend(named);
    device.sort_unstable();
    device.dedup();
    device
}

/// What [`Events::record_event`] stored.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event: Event,
    /// Who may see it now.
    pub audience: Vec<i64>,
    /// How many webhook deliveries were queued with it.
    pub deliveries: usize,
}

/// The feed's storage.
#[async_trait]
pub trait Events: Send + Sync {
    /// Append an event and return it as the API shows it.
    async fn insert_event(&self, e: &NewEvent) -> Result<Event>;

    /// Append an event, work out who may see it, and queue it for the
    /// webhooks that want it, in one transaction: a delivery is queued
    /// exactly when its event is stored (at-least-once across a crash).
    /// Events become visible in id order, even with several nodes on one
    /// database: once an event is seen, every lower id is either stored
    /// and visible too or will never be used.
    async fn record_event(&self, e: &NewEvent, now: i64) -> Result<Recorded>;

    /// Events visible to `user_id` that match `q`: newest first, or
    /// oldest first with `q.since`. Also returns the newest id stored at
    /// the time of the read (0 when there is none), read in the same
    /// snapshot, so a stream knows every later event is still to come.
    async fn read_events(&self, user_id: i64, q: &EventQuery<'_>) -> Result<EventRead>;

    /// The newest event id stored (0 when there is none).
    async fn event_high_water(&self) -> Result<i64>;

    /// Up to `limit` stored events with an id above `after`, oldest first,
    /// each with who may see it now ([`audience`]). A node fills the gaps
    /// of its live feed with these: events another node recorded that the
    /// bus did not bring (yet).
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Addressed>>;
}
