//! `meshdesk-host enroll --server URL [--server URL...] --code CODE [--name NAME]
//!   [--config PATH] [--ca-file PEM | --server-fingerprint SHA256]`
//! `meshdesk-host run [--config PATH]`
//! `meshdesk-host status [--config PATH]`

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use meshdesk_host::agent::config::{default_path, HostConfig};
use meshdesk_host::agent::status::{self, StatusFile};
use meshdesk_host::agent::{enroll, run};

/// The Meshdesk host agent: enrolls this PC and serves remote sessions.
#[derive(Debug, Parser)]
#[command(name = "meshdesk-host", version, after_long_help = include_str!("../dist/help.txt"))]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Enroll this PC in an account with a one-time code.
    Enroll {
        /// Server URL, e.g. http://127.0.0.1:8080. Repeat it for the nodes
        /// of a cluster: they are tried in order, here and by `run`, and
        /// all are kept in host.toml as `server = [...]`
        #[arg(long, required = true, value_name = "URL")]
        server: Vec<String>,
        /// Enrollment code from the web UI or POST /api/v1/enrollment-codes
        #[arg(long)]
        code: String,
        /// Device name shown to users [default: this machine's host name]
        #[arg(long)]
        name: Option<String>,
        /// Identity file [default: ~/.config/meshdesk/host.toml]
        #[arg(long)]
        config: Option<PathBuf>,
        /// PEM file of the CA that signed an https:// server's certificate
        /// (kept in host.toml as ca_file) [default: the system's CAs]
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Accept only the server certificate with this SHA-256
        /// fingerprint, as the server printed it (kept in host.toml as
        /// server_fingerprint)
        #[arg(long)]
        server_fingerprint: Option<String>,
    },
    /// Stay connected and serve sessions on the display in $DISPLAY.
    Run {
        /// Identity file [default: ~/.config/meshdesk/host.toml]
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print this PC's device id, name, server(s), online state and safety code.
    ///
    /// The online state comes from the status file the running agent keeps
    /// beside the identity file; the safety code is the device key's, which
    /// viewers show next to "Verified".
    Status {
        /// Identity file [default: ~/.config/meshdesk/host.toml]
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,webrtc=warn,rtc=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("meshdesk-host: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meshdesk-host: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Enroll {
            server,
            code,
            name,
            config,
            ca_file,
            server_fingerprint,
        } => {
            let path = config.unwrap_or_else(default_path);
            let name = name.unwrap_or_else(enroll::hostname);
            let trust = meshdesk_tls::Trust::from_options(ca_file, server_fingerprint.as_deref())?;
            let cfg = enroll::enroll(&server, &code, &name, &path, &trust).await?;
            println!(
                "enrolled as \"{}\" (device {}); identity saved to {}",
                cfg.name,
                cfg.device_id,
                path.display()
            );
            Ok(())
        }
        Command::Status { config } => {
            let path = config.unwrap_or_else(default_path);
            let cfg = HostConfig::load(&path)?;
            let key = cfg.signing_key(&path)?.verifying_key().to_bytes();
            print!("{}", status::report(&cfg, &key, status::read_status(&path)));
            Ok(())
        }
        Command::Run { config } => {
            let path = config.unwrap_or_else(default_path);
            let cfg = HostConfig::load(&path)?;
            let key = cfg.signing_key(&path)?;
            let status = StatusFile::for_config(&path);
            run::run(cfg, key, status, shutdown_signal())
                .await
                .context("the server refused this device")?;
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}
