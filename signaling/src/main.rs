//! `meshdesk-signaling [--listen ADDR] [--data-dir DIR] [--config FILE] [--tls-self-signed]`

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use meshdesk_signaling::backup::command::Maintenance;
use meshdesk_signaling::backup::DataDirLock;
use meshdesk_signaling::config::{CliOverrides, Config};

/// The Meshdesk server: accounts, devices, presence, feed, sessions, web UI.
#[derive(Debug, Parser)]
#[command(name = "meshdesk-signaling", version, after_long_help = include_str!("../dist/help.txt"))]
struct Cli {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long)]
    listen: Option<String>,
    /// Directory for the database [default: ./meshdesk-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file (see meshdesk-signaling.example.toml)
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate made once and kept in
    /// the data dir (for a LAN; clients pin the fingerprint printed at
    /// start) [config: tls.self_signed]
    #[arg(long)]
    tls_self_signed: bool,
    /// `backup FILE` or `restore FILE` instead of serving
    #[command(subcommand)]
    command: Option<Maintenance>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let overrides = CliOverrides {
        listen: cli.listen,
        data_dir: cli.data_dir,
        config: cli.config,
        tls_self_signed: cli.tls_self_signed,
    };
    if let Some(command) = cli.command {
        println!("{}", command.run(overrides)?);
        return Ok(());
    }
    let config = Config::load(&overrides)?;
    // Held while serving: `restore` refuses to run under a live server.
    let _data_lock = DataDirLock::shared(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let state = meshdesk_signaling::build_state(config).await?;
    if let Some(relay) = &state.relay {
        // Printed so scripts can find the relay when `relay.listen` has port 0.
        println!(
            "meshdesk-signaling relay on {} (udp{}), public address {}",
            relay.local_addr(),
            if relay.serves_tcp() { "+tcp" } else { "" },
            relay.public_addr()
        );
    }
    let metrics = meshdesk_signaling::metrics::serve::bind(&state).await?;
    let scheme = match &state.tls {
        Some(tls) => {
            // Printed (and logged) in the form hosts and viewers pin.
            tracing::info!(fingerprint = %tls.fingerprint, "serving HTTPS");
            println!(
                "meshdesk-signaling TLS certificate SHA-256 fingerprint {}",
                tls.fingerprint
            );
            "https"
        }
        None => "http",
    };
    // Scripts and tests read this line to find the server.
    println!("meshdesk-signaling listening on {scheme}://{addr}");
    // `[metrics] listen`: served beside the main listener while it runs.
    let _metrics = match metrics {
        Some(l) => {
            println!("meshdesk-signaling metrics on http://{}", l.local_addr()?);
            let serve = meshdesk_signaling::metrics::serve::serve_own(state.clone(), l);
            Some(meshdesk_tasks::AbortOnDrop::spawn(serve))
        }
        None => None,
    };
    meshdesk_signaling::run(state, listener, meshdesk_signaling::shutdown_signal()).await?;
    Ok(())
}
