//! Whether the database answers, for `GET /healthz`.

use super::Store;
use crate::error::Result;

impl Store {
    /// Read the schema version: touches the file, takes no write lock.
    pub fn ping(&self) -> Result<()> {
        let conn = self.lock()?;
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_store_answers() {
        let s = Store::open_in_memory().expect("store");
        s.ping().expect("answers");
    }
}
