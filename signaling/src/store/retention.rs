//! Feed retention in the store: delete old events, and remember how far
//! deleting went so that a reader resuming from before it learns of the
//! gap (see [`crate::feed::cursor::gap`]).
//!
//! Pruning deletes a prefix of ids (everything up to the newest event
//! recorded before the cutoff), so "every id up to `through_id` is gone"
//! holds exactly, even if the clock once stepped back.

use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::error::Result;
use crate::feed::cursor::Pruned;

impl Store {
    /// Delete every event up to the newest one recorded before
    /// `cutoff_at` (epoch ms); returns how many were deleted.
    pub fn prune_events(&self, cutoff_at: i64) -> Result<usize> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let through: Option<i64> = tx.query_row(
            "SELECT MAX(id) FROM events WHERE at < ?1",
            [cutoff_at],
            |r| r.get(0),
        )?;
        let Some(through) = through else {
            return Ok(0);
        };
        let newest_at: i64 = tx.query_row(
            "SELECT MAX(at) FROM events WHERE id <= ?1",
            [through],
            |r| r.get(0),
        )?;
        let deleted = tx.execute("DELETE FROM events WHERE id <= ?1", [through])?;
        tx.execute(
            "INSERT INTO events_pruned (id, through_id, newest_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET
                 through_id = MAX(through_id, excluded.through_id),
                 newest_at = MAX(newest_at, excluded.newest_at)",
            params![through, newest_at],
        )?;
        tx.commit()?;
        Ok(deleted)
    }

    /// How far pruning has deleted; `None` when it never deleted anything.
    pub fn pruned(&self) -> Result<Option<Pruned>> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT through_id, newest_at FROM events_pruned WHERE id = 1",
                [],
                |r| {
                    Ok(Pruned {
                        through_id: r.get(0)?,
                        newest_at: r.get(1)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use meshdesk_protocol::rest::EventKind;

    use crate::feed::filter::{EventFilter, Since};
    use crate::store::{EventQuery, NewEvent, Store};

    fn add(store: &Store, at: i64, kind: EventKind, user: i64) -> i64 {
        let e = NewEvent {
            at,
            kind: Some(kind),
            user_id: Some(user),
            ..NewEvent::default()
        };
        store.insert_event(&e).expect("insert").id
    }

    fn user(store: &Store, name: &str) -> i64 {
        store
            .create_user(name, "hash", 0, false)
            .expect("create user")
            .id
    }

    #[test]
    fn pruning_deletes_a_prefix_and_remembers_it() {
        let store = Store::open_in_memory().expect("db");
        let u = user(&store, "ann");
        assert_eq!(store.pruned().expect("pruned"), None);
        assert_eq!(store.prune_events(1_000).expect("nothing old"), 0);
        let old = add(&store, 100, EventKind::LoginFailed, u);
        // Recorded after a clock step back: older than `old` by time but
        // newer by id, so the prefix rule deletes both.
        let stepped = add(&store, 50, EventKind::LoginFailed, u);
        let kept = add(&store, 2_000, EventKind::LoginFailed, u);
        assert_eq!(store.prune_events(1_000).expect("prune"), 2);
        let p = store.pruned().expect("pruned").expect("some");
        assert_eq!((p.through_id, p.newest_at), (stepped, 100));
        assert!(old < stepped);
        let q = EventQuery {
            filter: &EventFilter::default(),
            since: Some(Since::Id(0)),
            before: None,
            limit: 10,
        };
        let read = store.read_events(u, &q).expect("read");
        let ids: Vec<i64> = read.events.iter().map(|e| e.id).collect();
        assert_eq!(ids, [kept]);
        assert_eq!(read.high_water, kept);
        // A later prune with an earlier cutoff does not move it back.
        assert_eq!(store.prune_events(10).expect("no-op"), 0);
        assert_eq!(store.pruned().expect("pruned"), Some(p));
    }

    #[test]
    fn reads_filter_by_kind_and_since_and_order_by_direction() {
        let store = Store::open_in_memory().expect("db");
        let u = user(&store, "ann");
        let a = add(&store, 10, EventKind::LoginFailed, u);
        let b = add(&store, 20, EventKind::DeviceRenamed, u);
        let c = add(&store, 30, EventKind::LoginFailed, u);
        let failed = EventFilter {
            kinds: vec![EventKind::LoginFailed],
            device: None,
        };
        let read = |since, before| {
            let q = EventQuery {
                filter: &failed,
                since,
                before,
                limit: 10,
            };
            let r = store.read_events(u, &q).expect("read");
            r.events.iter().map(|e| e.id).collect::<Vec<_>>()
        };
        let account = ids_of(&store, u);
        assert!(account.contains(&b));
        assert_eq!(read(None, None)[..2], [c, a]);
        assert_eq!(read(Some(Since::Id(a)), None), [c]);
        assert_eq!(read(Some(Since::Time(10)), Some(c)), Vec::<i64>::new());
        assert_eq!(read(Some(Since::Time(9)), None)[..1], [a]);
    }

    fn ids_of(store: &Store, u: i64) -> Vec<i64> {
        let q = EventQuery {
            filter: &EventFilter::default(),
            since: None,
            before: None,
            limit: 200,
        };
        let read = store.read_events(u, &q).expect("read");
        read.events.iter().map(|e| e.id).collect()
    }
}
