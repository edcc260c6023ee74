//! `meshdesk-signaling [--listen ADDR] [--data-dir DIR] [--config FILE]`

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
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
    let config = Config::load(&CliOverrides {
        listen: cli.listen,
        data_dir: cli.data_dir,
        config: cli.config,
    })?;
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
    // Scripts and tests read this line to find the server.
    println!("meshdesk-signaling listening on http://{addr}");
    meshdesk_signaling::run(state, listener, meshdesk_signaling::shutdown_signal()).await?;
    Ok(())
}
