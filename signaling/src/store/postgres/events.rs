//! The activity feed in PostgreSQL.
//!
//! Ids come from an identity column, which hands them out in order but
//! lets transactions commit in any order. Several nodes record events at
//! once, so each insert first takes [`EVENT_ORDER_LOCK`] for the rest of
//! its transaction: an id is taken only after every lower one committed
//! or rolled back, and ids become visible in order cluster-wide, which
//! the resumable stream and the live feed's gap filling
//! ([`crate::feed::sequence`]) rely on. It serialises inserting events
//! (one insert transaction at a time), not reading them.

use std::collections::HashMap;

use async_trait::async_trait;
use meshdesk_protocol::rest::{Event, EventKind, Permission};
use meshdesk_protocol::signal::FileChange;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, IsolationLevel, Row};

use super::Postgres;
use crate::error::Result;
use crate::feed::filter::Since;
use crate::store::{
    audience, event_file, stored_size, Addressed, EventQuery, EventRead, Events, NewEvent, Recorded,
};

/// The key of the transaction-scoped advisory lock every event insert
/// takes before its id ("meshevnt").
const EVENT_ORDER_LOCK: i64 = 0x6d65_7368_6576_6e74;

/// The columns [`event_from`] reads, in its order.
const EVENT_COLUMNS: &str =
    "id, at, kind, actor, device_id, device_name, target_user, permission, \
     session_id, duration_ms, detail, file_path, file_size, file_upload, file_change";

/// A statement's arguments, owned, so a query can be built piece by piece.
type Args = Vec<Box<dyn ToSql + Sync + Send>>;

/// Add `v` to the statement's arguments; its placeholder.
fn bind(args: &mut Args, v: impl ToSql + Sync + Send + 'static) -> String {
    args.push(Box::new(v));
    format!("${}", args.len())
}

/// Append the conditions of `q` (other than visibility) to `sql`.
fn narrow(sql: &mut String, args: &mut Args, q: &EventQuery<'_>) {
    if !q.filter.kinds.is_empty() {
        let kinds: Vec<String> = q.filter.kinds.iter().map(|k| k.as_str().into()).collect();
        sql.push_str(&format!(" AND kind = ANY({})", bind(args, kinds)));
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

fn event_from(r: &Row) -> Result<Event> {
    let kind: String = r.try_get(2)?;
    let perm: Option<String> = r.try_get(7)?;
    let size: Option<i64> = r.try_get(12)?;
    let change: Option<String> = r.try_get(14)?;
    Ok(Event {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        kind: EventKind::parse(&kind).unwrap_or(EventKind::AccountCreated),
        actor: r.try_get(3)?,
        device_id: r.try_get(4)?,
        device_name: r.try_get(5)?,
        target_user: r.try_get(6)?,
        permission: perm.as_deref().and_then(Permission::parse),
        session_id: r.try_get(8)?,
        duration_ms: r.try_get(9)?,
        detail: r.try_get(10)?,
        file: event_file(
            r.try_get(11)?,
            size.and_then(|n| u64::try_from(n).ok()),
            r.try_get(13)?,
            change.as_deref().and_then(FileChange::parse),
        ),
    })
}

async fn high_water(c: &impl GenericClient) -> Result<i64> {
    let row = c
        .query_one("SELECT COALESCE(MAX(id), 0)::BIGINT FROM events", &[])
        .await?;
    Ok(row.try_get(0)?)
}

#[async_trait]
impl Events for Postgres {
    async fn insert_event(&self, e: &NewEvent) -> Result<Event> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let event = insert_in(&*tx, e).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn record_event(&self, e: &NewEvent, now: i64) -> Result<Recorded> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Before the insert: the audience does not need the id, and the
        // order lock is then held only for the insert and the queueing.
        let audience = audience_in(&*tx, e).await?;
        let event = insert_in(&*tx, e).await?;
        let deliveries = super::webhooks::enqueue_in(&*tx, &event, &audience, now).await?;
        tx.commit().await?;
        Ok(Recorded {
            event,
            audience,
            deliveries,
        })
    }

    async fn read_events(&self, user_id: i64, q: &EventQuery<'_>) -> Result<EventRead> {
        let mut args: Args = vec![Box::new(user_id)];
        let mut sql = format!(
            "SELECT {EVENT_COLUMNS}
             FROM events
             WHERE (user_id = $1 OR target_id = $1
                 OR device_id IN (SELECT id FROM devices WHERE owner_id = $1
                                  UNION SELECT device_id FROM shares WHERE user_id = $1))",
        );
        narrow(&mut sql, &mut args, q);
        let order = if q.since.is_some() { "ASC" } else { "DESC" };
        let limit = bind(&mut args, i64::from(q.limit));
        sql.push_str(&format!(" ORDER BY id {order} LIMIT {limit}"));
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let mut client = self.client().await?;
        // One snapshot for the page and the high-water mark.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let rows = tx.query(&sql, &params).await?;
        let events = rows.iter().map(event_from).collect::<Result<Vec<_>>>()?;
        let high_water = high_water(&*tx).await?;
        tx.commit().await?;
        Ok(EventRead { events, high_water })
    }

    async fn event_high_water(&self) -> Result<i64> {
        high_water(&**self.client().await?).await
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Addressed>> {
        let mut client = self.client().await?;
        // One snapshot for the events and their devices' audiences.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS}, user_id, target_id FROM events
                     WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &i64::from(limit)],
            )
            .await?;
        let mut devices: HashMap<String, Vec<i64>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let event = event_from(r)?;
            let named: [Option<i64>; 2] = [r.try_get(15)?, r.try_get(16)?];
            let device = match &event.device_id {
                Some(d) => match devices.get(d) {
                    Some(ids) => ids.clone(),
                    None => {
                        let ids = super::devices::audience_of(&*tx, d).await?;
                        devices.insert(d.clone(), ids.clone());
                        ids
                    }
                },
                None => Vec::new(),
            };
            let audience = audience(device, named.into_iter().flatten());
            out.push(Addressed { event, audience });
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Who may see `e` now: its device's audience and the users it names.
async fn audience_in(c: &impl GenericClient, e: &NewEvent) -> Result<Vec<i64>> {
    let device = match &e.device_id {
        Some(d) => super::devices::audience_of(c, d).await?,
        None => Vec::new(),
    };
    Ok(audience(device, e.named_users()))
}

/// Insert `e` inside a transaction, which then holds [`EVENT_ORDER_LOCK`]
/// until it ends.
async fn insert_in(c: &impl GenericClient, e: &NewEvent) -> Result<Event> {
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENT_ORDER_LOCK])
        .await?;
    let kind = e.kind_or_default();
    let row = c
        .query_one(
            "INSERT INTO events (at, kind, user_id, actor, device_id, device_name, target_user,
                                 target_id, permission, session_id, duration_ms, detail,
                                 file_path, file_size, file_upload, file_change)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING id",
            &[
                &e.at,
                &kind.as_str(),
                &e.user_id,
                &e.actor,
                &e.device_id,
                &e.device_name,
                &e.target_user,
                &e.target_id,
                &e.permission.map(|p| p.as_str()),
                &e.session_id,
                &e.duration_ms,
                &e.detail,
                &e.path,
                &e.size.map(stored_size),
                &e.upload,
                &e.change.map(FileChange::as_str),
            ],
        )
        .await?;
    Ok(e.stored_as(row.try_get(0)?))
}
