//! PostgreSQL's errors as the crate's [`Error`]: a server that is gone
//! (refused, closed, shutting down, not answering) is
//! [`Error::DatabaseUnavailable`], a 503 the client may retry; anything
//! else is [`Error::Postgres`], a 500.

use deadpool_postgres::PoolError;

use crate::error::Error;

/// SQLSTATEs that mean the server is going or not ready: `admin_shutdown`,
/// `crash_shutdown`, `cannot_connect_now`. Class `08` (connection
/// exceptions) is matched as a class.
const GOING_AWAY: &[&str] = &["57P01", "57P02", "57P03"];

/// Whether `e` says the server cannot be reached, rather than that a
/// query was wrong.
fn unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(state) = e.code() {
        let code = state.code();
        return code.starts_with("08") || GOING_AWAY.contains(&code);
    }
    // No SQLSTATE: the socket failed, or connecting timed out.
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Error {
        if unavailable(&e) {
            Error::DatabaseUnavailable(e.to_string())
        } else {
            Error::Postgres(e)
        }
    }
}

impl From<PoolError> for Error {
    fn from(e: PoolError) -> Error {
        match e {
            PoolError::Backend(e) => e.into(),
            PoolError::NoRuntimeSpecified => Error::Internal(e.to_string()),
            other => Error::DatabaseUnavailable(other.to_string()),
        }
    }
}

/// Whether `e` is PostgreSQL refusing a duplicate key.
pub(super) fn is_unique_violation(e: &Error) -> bool {
    matches!(e, Error::Postgres(p) if p.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION))
}
