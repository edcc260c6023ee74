//! The activity feed in SQLite.
//!
//! An event concerns an account (`user_id`: the account owner, or the
//! device's owner), optionally a device, and optionally a second user
//! (`target_id`: the share recipient or the viewer of a session). A user
//! sees an event when it concerns their account, names them as target, or
//! is about a device they may currently see.

use std::collections::HashMap;

use async_trait::async_trait;
use meshdesk_protocol::rest::{Event, EventKind, Permission};
use meshdesk_protocol::signal::FileChange;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row};

use super::Sqlite;
use crate::error::Result;
use crate::feed::filter::Since;
use crate::store::{
    audience, event_file, stored_size, Addressed, EventQuery, EventRead, Events, NewEvent, Recorded,
};

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

/// The columns [`event_from_row`] reads, in its order.
const EVENT_COLUMNS: &str =
    "id, at, kind, actor, device_id, device_name, target_user, permission, \
     session_id, duration_ms, detail, file_path, file_size, file_upload, file_change";

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

#[async_trait]
impl Events for Sqlite {
    /// Append an event and return it as the API shows it.
    async fn insert_event(&self, e: &NewEvent) -> Result<Event> {
        insert_in(&*self.lock()?, e)
    }

    /// Append an event, work out who may see it, and queue it for the
    /// webhooks that want it, in one transaction: a delivery is queued
    /// exactly when its event is stored (at-least-once across a crash).
    async fn record_event(&self, e: &NewEvent, now: i64) -> Result<Recorded> {
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
    async fn read_events(&self, user_id: i64, q: &EventQuery<'_>) -> Result<EventRead> {
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
    async fn event_high_water(&self) -> Result<i64> {
        high_water(&*self.lock()?)
    }

    /// Up to `limit` stored events after `after`, oldest first, each with
    /// who may see it now.
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Addressed>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS}, user_id, target_id FROM events
             WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, i64::from(limit)], |r| {
            let named: [Option<i64>; 2] = [r.get(15)?, r.get(16)?];
            Ok((event_from_row(r)?, named))
        })?;
        let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut devices: HashMap<String, Vec<i64>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for (event, named) in rows {
            let device = match &event.device_id {
                Some(d) => match devices.get(d) {
                    Some(ids) => ids.clone(),
                    None => {
                        let ids = super::devices::audience_of(&conn, d)?;
                        devices.insert(d.clone(), ids.clone());
                        ids
                    }
                },
                None => Vec::new(),
            };
            let audience = audience(device, named.into_iter().flatten());
            out.push(Addressed { event, audience });
        }
        Ok(out)
    }
}

fn audience_in(conn: &Connection, e: &NewEvent) -> Result<Vec<i64>> {
    let device = match &e.device_id {
        Some(d) => super::devices::audience_of(conn, d)?,
        None => Vec::new(),
    };
    Ok(audience(device, e.named_users()))
}

fn insert_in(conn: &Connection, e: &NewEvent) -> Result<Event> {
    let kind = e.kind_or_default();
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
    Ok(e.stored_as(conn.last_insert_rowid()))
}
