//! The `[database]` table: where the server keeps its state. No URL:
//! SQLite, one file in the data dir. A `postgres://` URL: PostgreSQL,
//! which several nodes can share.
//!
//! The URL carries the password, a secret: `Debug` prints `***`, errors
//! name the field without echoing the URL, and logs show
//! [`DatabaseUrl`]'s `Display`, which leaves the password out.

use serde::Deserialize;

use crate::error::{Error, Result};

/// The environment variable that sets (or overrides) `database.url`.
pub const URL_ENV: &str = "MESHDESK_DATABASE_URL";

/// `[database]` as written by an operator.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseFile {
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`. Default none:
    /// SQLite in the data dir. `MESHDESK_DATABASE_URL` overrides it.
    pub url: Option<String>,
}

impl std::fmt::Debug for DatabaseFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseFile")
            .field("url", &self.url.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Which backend keeps the state.
#[derive(Debug, Clone, Default)]
pub enum DatabaseSettings {
    /// `meshdesk.db` in the data dir.
    #[default]
    Sqlite,
    /// A PostgreSQL database.
    Postgres(Box<DatabaseUrl>),
}

impl DatabaseSettings {
    pub fn from_file(f: DatabaseFile) -> Result<DatabaseSettings> {
        match f.url {
            None => Ok(DatabaseSettings::Sqlite),
            Some(text) => Ok(DatabaseSettings::Postgres(Box::new(DatabaseUrl::parse(
                &text,
            )?))),
        }
    }
}

/// A checked PostgreSQL URL.
#[derive(Clone)]
pub struct DatabaseUrl {
    /// What tokio-postgres connects with (password included).
    config: tokio_postgres::Config,
}

impl DatabaseUrl {
    /// Check `text`, naming `database.url` (never echoing it) on error.
    pub fn parse(text: &str) -> Result<DatabaseUrl> {
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(Error::Config(
                "database.url: must start with postgres:// (leave it out to keep SQLite)".into(),
            ));
        }
        // The parser's message may quote the URL; it is not passed on.
        let config: tokio_postgres::Config = text.parse().map_err(|_| {
            Error::Config(
                "database.url: not a valid URL like postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                    .into(),
            )
        })?;
        if config.get_hosts().is_empty() {
            return Err(Error::Config("database.url: names no host".into()));
        }
        Ok(DatabaseUrl { config })
    }

    /// The connection settings.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `postgres://USER@HOST:PORT/DATABASE`: the URL without its password.
impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        let host = match c.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        let user = c.get_user().unwrap_or("");
        let db = c.get_dbname().unwrap_or("");
        write!(f, "postgres://{user}@{host}:{port}/{db}")
    }
}

/// `MESHDESK_DATABASE_URL`, when set, replaces the file's URL.
pub fn apply_env(file: &mut DatabaseFile, env: impl Fn(&str) -> Option<String>) {
    if let Some(v) = env(URL_ENV) {
        file.url = Some(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DatabaseSettings> {
        DatabaseSettings::from_file(toml::from_str(text).expect("parses"))
    }

    #[test]
    fn no_url_is_sqlite_and_a_postgres_url_is_postgres() {
        assert!(matches!(
            parse("").expect("valid"),
            DatabaseSettings::Sqlite
        ));
        let pg = parse("url = \"postgres://md:pw@db.example:5433/meshdesk\"").expect("valid");
        let DatabaseSettings::Postgres(url) = pg else {
            panic!("expected PostgreSQL, got {pg:?}");
        };
        assert_eq!(url.to_string(), "postgres://md@db.example:5433/meshdesk");
    }

    #[test]
    fn bad_urls_name_the_field_and_the_password_is_never_shown() {
        for bad in [
            "mysql://md:hunter2@db/x",
            "postgres://md:hunter2@db:notaport/x",
            "hunter2",
        ] {
            let e = parse(&format!("url = \"{bad}\"")).expect_err(bad);
            let text = e.to_string();
            assert!(text.contains("database.url"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
        let f: DatabaseFile =
            toml::from_str("url = \"postgres://md:hunter2@db/x\"").expect("parses");
        assert!(!format!("{f:?}").contains("hunter2"));
        let s = DatabaseSettings::from_file(f).expect("valid");
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
    }
}
