//! The activity feed: append events, page them per user.
//!
//! An event concerns an account (`user_id`: the account owner, or the
//! device's owner), optionally a device, and optionally a second user
//! (`target_id`: the share recipient or the viewer of a session). A user
//! sees an event when it concerns their account, names them as target, or
//! is about a device they may currently see.

use meshdesk_protocol::rest::{Event, EventFile, EventKind, Permission};
use meshdesk_protocol::signal::FileChange;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row};

use super::Store;
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

/// The result of [`Store::read_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRead {
    pub events: Vec<Event>,
    /// The newest event id stored at the time of the read, visible or not.
    pub high_water: i64,
}

fn high_water(conn: &rusqlite::Connection) -> Result<i64> {
    let max = "SELECT COALESCE(MAX(id), 0) FROM events";
    Ok(conn.query_row(max, [], |r| r.get(0))?)
}

/// Add `v` to the statement's arguments; its placeholder.
fn bind(args: &mut Vec<Value>, v: impl Into<Value>) -> String {
    args.push(v.into());
    format!("?{}", args.len())
}

/// Append the conditions of `q` (other than visibility) to `sql`.
fn narrow(sql: &mut String, args: &mut Vec<Value>, q: &EventQuery<'_>) {
    if !q.filter.kinds.is_empty() {
        let marks: Vec<String> = q
            .filter
            .kinds
            .iter()
            .map(|k| bind(args, k.as_str().to_string()))
            .collect();
        sql.push_str(&format!(" AND kind IN ({})", marks.join(", ")));
    }
    if let Some(d) = &q.filter.device {
        sql.push_str(&format!(" AND device_id = {}", bind(args, d.clone())));
    }
    match q.since {
        Some(Since::Id(id)) => sql.push_str(&format!(" AND id > {}", bind(args, id))),
        Some(Since::Time(t)) => sql.push_str(&format!(" AND at > {}", bind(args, t))),
        None => {}
    }
    if let Some(b) = q.before {
        sql.push_str(&format!(" AND id < {}", bind(args, b)));
    }
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

/// The columns [`event_from_row`] reads, in its order.
const EVENT_COLUMNS: &str =
    "id, at, kind, actor, device_id, device_name, target_user, permission, \
     session_id, duration_ms, detail, file_path, file_size, file_upload, file_change";

/// A size as SQLite stores it (a signed 64-bit integer; larger sizes,
/// which no file has, are kept as the largest one).
fn stored_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let kind: String = r.get(2)?;
    let perm: Option<String> = r.get(7)?;
    Ok(Event {
        id: r.get(0)?,
        at: r.get(1)?,
        kind: EventKind::parse(&kind).unwrap_or(EventKind::AccountCreated),
        actor: r.get(3)?,
        device_id: r.get(4)?,
        device_name: r.get(5)?,
        target_user: r.get(6)?,
        permission: perm.as_deref().and_then(Permission::parse),
        session_id: r.get(8)?,
        duration_ms: r.get(9)?,
        detail: r.get(10)?,
        file: event_file(
            r.get(11)?,
            r.get::<_, Option<i64>>(12)?
                .and_then(|n| u64::try_from(n).ok()),
            r.get(13)?,
            r.get::<_, Option<String>>(14)?
                .as_deref()
                .and_then(FileChange::parse),
        ),
    })
}

/// An event's file, when it has one (a path).
fn event_file(
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

impl Store {
    /// Append an event and return it as the API shows it.
    pub fn insert_event(&self, e: &NewEvent) -> Result<Event> {
        insert_in(&*self.lock()?, e)
    }

    /// Append an event, work out who may see it, and queue it for the
    /// webhooks that want it, in one transaction: a delivery is queued
    /// exactly when its event is stored (at-least-once across a crash).
    pub fn record_event(&self, e: &NewEvent, now: i64) -> Result<Recorded> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let event = insert_in(&tx, e)?;
        let audience = audience_in(&tx, e)?;
        let deliveries = super::webhooks::enqueue_in(&tx, &event, &audience, now)?;
        tx.commit()?;
        Ok(Recorded {
            event,
            audience,
            deliveries,
        })
    }

    /// Events visible to `user_id` that match `q`: newest first, or
    /// oldest first with `q.since`. Also returns the newest id stored at
    /// the time of the read (0 when there is none), read under the same
    /// lock, so a stream knows every later event is still to come.
    pub fn read_events(&self, user_id: i64, q: &EventQuery<'_>) -> Result<EventRead> {
        let mut args: Vec<Value> = vec![Value::Integer(user_id)];
        let mut sql = format!(
            "SELECT {EVENT_COLUMNS}
             FROM events
             WHERE (user_id = ?1 OR target_id = ?1
                 OR device_id IN (SELECT id FROM devices WHERE owner_id = ?1
                                  UNION SELECT device_id FROM shares WHERE user_id = ?1))",
        );
        narrow(&mut sql, &mut args, q);
        let order = if q.since.is_some() { "ASC" } else { "DESC" };
        let limit = bind(&mut args, i64::from(q.limit));
        sql.push_str(&format!(" ORDER BY id {order} LIMIT {limit}"));
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), event_from_row)?;
        let events = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let high_water = high_water(&conn)?;
        Ok(EventRead { events, high_water })
    }

    /// The newest event id stored (0 when there is none).
    pub fn event_high_water(&self) -> Result<i64> {
        high_water(&*self.lock()?)
    }

    /// Users who may see an event now (for live delivery).
    pub fn event_audience(&self, e: &NewEvent) -> Result<Vec<i64>> {
        audience_in(&*self.lock()?, e)
    }
}

/// What [`Store::record_event`] stored.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event: Event,
    /// Who may see it now.
    pub audience: Vec<i64>,
    /// How many webhook deliveries were queued with it.
    pub deliveries: usize,
}

fn audience_in(conn: &Connection, e: &NewEvent) -> Result<Vec<i64>> {
    let mut ids = match &e.device_id {
        Some(d) => super::devices::audience_of(conn, d)?,
        None => Vec::new(),
    };
    ids.extend(e.user_id);
    ids.extend(e.target_id);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn insert_in(conn: &Connection, e: &NewEvent) -> Result<Event> {
    let kind = e.kind.unwrap_or(EventKind::AccountCreated);
    conn.execute(
        "INSERT INTO events (at, kind, user_id, actor, device_id, device_name, target_user, target_id,
                             permission, session_id, duration_ms, detail,
                             file_path, file_size, file_upload, file_change)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            e.at,
            kind.as_str(),
            e.user_id,
            e.actor,
            e.device_id,
            e.device_name,
            e.target_user,
            e.target_id,
            e.permission.map(|p| p.as_str()),
            e.session_id,
            e.duration_ms,
            e.detail,
            e.path,
            e.size.map(stored_size),
            e.upload,
            e.change.map(FileChange::as_str)
        ],
    )?;
    Ok(Event {
        id: conn.last_insert_rowid(),
        at: e.at,
        kind,
        actor: e.actor.clone(),
        device_id: e.device_id.clone(),
        device_name: e.device_name.clone(),
        target_user: e.target_user.clone(),
        permission: e.permission,
        session_id: e.session_id.clone(),
        duration_ms: e.duration_ms,
        detail: e.detail.clone(),
        file: event_file(e.path.clone(), e.size, e.upload, e.change),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_events_details_are_stored_and_read_back() {
        let store = Store::open_in_memory().expect("db");
        let user = store.create_user("ann", "h", 0, false).expect("user").id;
        let e = NewEvent {
            at: 1,
            kind: Some(EventKind::SharedFileChanged),
            user_id: Some(user),
            path: Some("Documents/a.txt".into()),
            change: Some(FileChange::Deleted),
            ..NewEvent::default()
        };
        let stored = store.insert_event(&e).expect("insert");
        let huge = NewEvent {
            kind: Some(EventKind::FileSent),
            size: Some(u64::MAX),
            upload: Some(true),
            ..e.clone()
        };
        store.insert_event(&huge).expect("insert");
        let filter = EventFilter::default();
        let q = EventQuery {
            filter: &filter,
            since: Some(Since::Id(0)),
            before: None,
            limit: 10,
        };
        let read = store.read_events(user, &q).expect("read").events;
        assert_eq!(read[0], stored);
        let file = |i: usize| read[i].file.as_deref().cloned().expect("a file");
        assert_eq!(
            file(0),
            EventFile {
                path: "Documents/a.txt".into(),
                size: None,
                upload: None,
                change: Some(FileChange::Deleted),
            }
        );
        assert_eq!(
            (file(1).size, file(1).upload),
            (Some(i64::MAX as u64), Some(true))
        );
    }
}
