//! The `backup` and `restore` subcommands of `meshdesk-signaling`: their
//! arguments, and what they print.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::{CliOverrides, Config};
use crate::error::Result;

/// Maintenance of the data dir, run beside (backup) or instead of
/// (restore) the server.
#[derive(Debug, Subcommand)]
pub enum Maintenance {
    /// Copy the database to FILE as of one instant, while the server runs.
    Backup {
        /// Where the copy goes (replaced if it exists)
        file: PathBuf,
        /// The server's data dir [default: as the server would use]
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The server's TOML configuration file (for `data_dir`)
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Put a backup in place of the database (the server must be stopped);
    /// the current one is kept as meshdesk.db.bak.
    Restore {
        /// A file made by `backup`
        file: PathBuf,
        /// The server's data dir [default: as the server would use]
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The server's TOML configuration file (for `data_dir`)
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

impl Maintenance {
    /// Run it; `outer` holds the flags given before the subcommand, which
    /// the subcommand's own override. Returns the line to print.
    pub fn run(self, outer: CliOverrides) -> Result<String> {
        let (file, data_dir, config, restoring) = match self {
            Maintenance::Backup {
                file,
                data_dir,
                config,
            } => (file, data_dir, config, false),
            Maintenance::Restore {
                file,
                data_dir,
                config,
            } => (file, data_dir, config, true),
        };
        let config = Config::load(&CliOverrides {
            listen: outer.listen,
            data_dir: data_dir.or(outer.data_dir),
            config: config.or(outer.config),
            // Backups need no certificate; none is made for them.
            tls_self_signed: false,
        })?;
        if !restoring {
            let b = super::backup(&config.data_dir, &file)?;
            return Ok(format!(
                "backed up {} to {} ({} bytes, schema {})",
                super::db_path(&config.data_dir).display(),
                b.file.display(),
                b.bytes,
                b.schema_version
            ));
        }
        let r = super::restore(&config.data_dir, &file)?;
        let kept = match &r.previous {
            Some(p) => format!("; the previous database is {}", p.display()),
            None => String::new(),
        };
        Ok(format!(
            "restored {} from {} (schema {}){kept}",
            r.db.display(),
            file.display(),
            r.schema_version
        ))
    }
}
