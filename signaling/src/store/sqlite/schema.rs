//! Schema migrations, applied in order and recorded in `user_version`.

use rusqlite::Connection;

use crate::error::Result;

/// Each entry moves the schema from version N to N+1. Never edit a shipped
/// entry; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        is_admin      INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        hash       BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX tokens_expiry ON tokens(expires_at);
    CREATE TABLE enrollment_codes (
        hash       BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER
    );
    CREATE TABLE devices (
        id         TEXT PRIMARY KEY,
        owner_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        os         TEXT NOT NULL,
        public_key BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_seen  INTEGER
    );
    CREATE INDEX devices_owner ON devices(owner_id);
    CREATE TABLE revoked_keys (
        public_key BLOB PRIMARY KEY,
        revoked_at INTEGER NOT NULL
    );
    CREATE TABLE shares (
        device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        permission TEXT NOT NULL CHECK (permission IN ('view', 'control')),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (device_id, user_id)
    );
    CREATE INDEX shares_user ON shares(user_id);
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        user_id     INTEGER,
        actor       TEXT,
        device_id   TEXT,
        device_name TEXT,
        target_user TEXT,
        target_id   INTEGER,
        permission  TEXT,
        session_id  TEXT,
        duration_ms INTEGER,
        detail      TEXT
    );
    CREATE INDEX events_user ON events(user_id, id);
    CREATE INDEX events_device ON events(device_id, id);
    CREATE INDEX events_target ON events(target_id, id);
    "#,
    // 2: personal API tokens.
    r#"
    CREATE TABLE api_tokens (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        hash         BLOB NOT NULL UNIQUE,
        scopes       TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER
    );
    CREATE INDEX api_tokens_user ON api_tokens(user_id);
    "#,
    // 3: webhooks: registered webhooks and their delivery queue. A
    // delivery keeps the event's JSON, so retention of the feed never
    // takes a pending delivery's body away.
    r#"
    CREATE TABLE webhooks (
        id                   INTEGER PRIMARY KEY,
        user_id              INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        url                  TEXT NOT NULL,
        secret               TEXT NOT NULL,
        kinds                TEXT NOT NULL,
        devices              TEXT NOT NULL,
        enabled              INTEGER NOT NULL DEFAULT 1,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        created_at           INTEGER NOT NULL
    );
    CREATE INDEX webhooks_user ON webhooks(user_id);
    CREATE TABLE webhook_deliveries (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id       INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_id         INTEGER NOT NULL,
        kind             TEXT NOT NULL,
        event            TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        first_attempt_at INTEGER,
        next_attempt_at  INTEGER,
        last_status_code INTEGER,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        delivered_at     INTEGER
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
    CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);
    "#,
    // 4: feed retention: the one row says how far pruning has deleted, so a
    // resume from before it is told about the gap.
    r#"
    CREATE TABLE events_pruned (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        through_id INTEGER NOT NULL,
        newest_at  INTEGER NOT NULL
    );
    CREATE INDEX events_at ON events(at);
    "#,
    // 5: consent: what the person at a device must do before (prompt) or
    // know during (notify) a session, for the owner's own sessions and for
    // shared users'. Existing devices stay unattended, as they were.
    r#"
    ALTER TABLE devices ADD COLUMN consent_owner TEXT NOT NULL DEFAULT 'unattended'
        CHECK (consent_owner IN ('unattended', 'notify', 'prompt'));
    ALTER TABLE devices ADD COLUMN consent_shared TEXT NOT NULL DEFAULT 'unattended'
        CHECK (consent_shared IN ('unattended', 'notify', 'prompt'));
    "#,
    // 6: second factors. A TOTP row with enabled = 0 is an enrollment not
    // yet confirmed; last_step is the last time step accepted, so a code
    // works once. Recovery codes are stored hashed; passkeys as
    // webauthn-rs's JSON, with the credential id for lookups.
    r#"
    CREATE TABLE totp (
        user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret     TEXT NOT NULL,
        enabled    INTEGER NOT NULL DEFAULT 0,
        last_step  INTEGER,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE recovery_codes (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash    BLOB NOT NULL,
        used_at INTEGER,
        PRIMARY KEY (user_id, hash)
    );
    CREATE TABLE passkeys (
        id            INTEGER PRIMARY KEY,
        user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        credential_id BLOB NOT NULL UNIQUE,
        credential    TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_used_at  INTEGER
    );
    CREATE INDEX passkeys_user ON passkeys(user_id);
    "#,
    // 7: shares given for a time end by themselves at `expires_at`.
    r#"
    ALTER TABLE shares ADD COLUMN expires_at INTEGER;
    CREATE INDEX shares_expiry ON shares(expires_at) WHERE expires_at IS NOT NULL;
    "#,
    // 8: the screens a host last reported (a JSON array of
    // `{id, name, width, height, primary}`).
    r#"
    ALTER TABLE devices ADD COLUMN screens TEXT NOT NULL DEFAULT '[]';
    "#,
    // 9: the owner's switch for the device's sound in sessions.
    r#"
    ALTER TABLE devices ADD COLUMN sound INTEGER NOT NULL DEFAULT 1 CHECK (sound IN (0, 1));
    "#,
    // 10: the owner's switch that lets `view` sessions copy from the
    // device's clipboard; off, as view sessions were before.
    r#"
    ALTER TABLE devices ADD COLUMN view_may_copy INTEGER NOT NULL DEFAULT 0
        CHECK (view_may_copy IN (0, 1));
    "#,
    // 11: the details of file events: the file's name or path, a
    // transfer's size and direction, a shared file's change.
    r#"
    ALTER TABLE events ADD COLUMN file_path TEXT;
    ALTER TABLE events ADD COLUMN file_size INTEGER;
    ALTER TABLE events ADD COLUMN file_upload INTEGER CHECK (file_upload IN (0, 1));
    ALTER TABLE events ADD COLUMN file_change TEXT
        CHECK (file_change IN ('created', 'modified', 'deleted'));
    "#,
];

/// The newest schema version this build knows (`user_version` after
/// [`migrate`]).
pub fn version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Bring the database to the newest schema, one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrate(&mut conn).expect("first");
        migrate(&mut conn).expect("second");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v as usize, MIGRATIONS.len());
    }
}
