//! meshdesk-viewer: the native viewer.
//!
//! - `login --server URL --username NAME`, `logout`, `list [--json]`
//!   ([`account`], over [`api`]; the token lives in [`login_file`]).
//! - `connect DEVICE [--headless [--measure-latency N]] [--duration SECS]
//!   [--stats-json]` ([`connect`]): [`handshake`] opens the session,
//!   [`session`] drives it, [`decode`] runs the decoder thread, [`window`]
//!   is the winit loop that draws ([`present`], [`scale`], [`letterbox`])
//!   and sends input ([`input`], [`keymap`]); [`measure`] and [`latency`]
//!   time clicks to the picture that shows them. [`link`] carries the
//!   session's signaling and, when it drops, [`resume`]s the session on a
//!   new connection.
//!
//! Errors are one line on stderr and a non-zero exit code.

mod account;
mod api;
mod cli;
mod connect;
mod convert;
mod decode;
mod error;
mod frame;
mod handshake;
mod input;
mod keymap;
mod latency;
mod letterbox;
mod link;
mod login_file;
mod measure;
mod present;
mod recovery;
mod resume;
mod scale;
mod session;
mod stats;
mod table;
mod window;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
pub use crate::error::ViewerError;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,webrtc=error,rtc=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meshdesk-viewer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), ViewerError> {
    let path = cli.config.unwrap_or_else(login_file::default_path);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ViewerError::ConnectionFailed(format!("cannot start the runtime: {e}")))?;
    match cli.command {
        Command::Login { server, username } => {
            runtime.block_on(account::login(&path, &server, &username))
        }
        Command::Logout => runtime.block_on(account::logout(&path)),
        Command::List { json } => runtime.block_on(account::list(&path, json)),
        Command::Connect(args) => connect::connect(&runtime, &path, &args),
    }
}
