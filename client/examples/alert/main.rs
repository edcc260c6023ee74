//! `alert`: a third-party program on the Meshdesk feed. It watches the
//! live feed with an API token and prints one line (or runs a command)
//! when a device goes offline, a session starts, or a share is granted.
//!
//! ```text
//! alert --server URL [--token T | env MESHDESK_TOKEN] [--device NAME_OR_ID]...
//!       [--on offline,session,share] [--exec CMD [ARG]...]
//! ```
//!
//! With `--exec` (last on the line) the command runs for each alert,
//! without a shell, with the alert text in `MESHDESK_ALERT` and the event
//! as JSON in `MESHDESK_EVENT`.

mod rules;

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;
use futures::StreamExt;
use meshdesk_client::rest::Event;
use meshdesk_client::{Client, EventsQuery, FeedItem};

use rules::{Rules, Trigger};

/// Alerts from a Meshdesk server's activity feed.
#[derive(Debug, Parser)]
#[command(name = "alert")]
struct Cli {
    /// The server, http(s)://HOST[:PORT].
    #[arg(long)]
    server: String,
    /// An API token with `events:read` (or a sign-in token).
    #[arg(long, env = "MESHDESK_TOKEN", hide_env_values = true)]
    token: String,
    /// Only alert about this device (name or id); repeatable. Default: all.
    #[arg(long = "device", value_name = "NAME_OR_ID")]
    devices: Vec<String>,
    /// What to alert on.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "offline,session,share"
    )]
    on: Vec<Trigger>,
    /// Run this command for each alert (no shell); takes the rest of the line.
    #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "CMD")]
    exec: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alert: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Watches the feed until it ends with an error.
async fn run(cli: Cli) -> anyhow::Result<()> {
    let client = Client::new(&cli.server)?.with_token(cli.token);
    let rules = Rules {
        triggers: cli.on,
        devices: cli.devices,
    };
    let mut query = EventsQuery::new();
    for t in &rules.triggers {
        query = query.kind(t.kind());
    }
    let mut feed = std::pin::pin!(client.events(query));
    eprintln!("alert: watching {}", client.server());
    while let Some(item) = feed.next().await {
        match item.context("the feed failed")? {
            FeedItem::Event(event) => {
                if let Some(line) = rules.alert(&event) {
                    println!("{line}");
                    if !cli.exec.is_empty() {
                        run_command(&cli.exec, &line, &event).await;
                    }
                }
            }
            FeedItem::Gap { after, before } => {
                eprintln!("alert: events {after} to {before} were pruned before they could be read")
            }
            _ => {}
        }
    }
    bail!("the feed ended")
}

/// Runs the `--exec` command for one alert and waits for it; a failure is
/// reported and the watch goes on.
async fn run_command(cmd: &[String], line: &str, event: &Event) {
    let Some((program, args)) = cmd.split_first() else {
        return;
    };
    let json = serde_json::to_string(event).unwrap_or_default();
    let status = tokio::process::Command::new(program)
        .args(args)
        .env("MESHDESK_ALERT", line)
        .env("MESHDESK_EVENT", json)
        .kill_on_drop(true)
        .status()
        .await;
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("alert: `{program}` exited with {s}"),
        Err(e) => eprintln!("alert: cannot run `{program}`: {e}"),
    }
}
