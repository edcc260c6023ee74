//! `meshdesk-viewer`: parse the command line, run it, and print an error
//! as one line on stderr with a non-zero exit code.

use std::process::ExitCode;

use clap::Parser;
use meshdesk_viewer::account::{self, login_file};
use meshdesk_viewer::cli::{Cli, Command};
use meshdesk_viewer::{connect, files, trust, ViewerError};

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
        Command::Login {
            server,
            username,
            trust,
        } => runtime.block_on(account::login(&path, &server, &username, &trust)),
        Command::Logout => runtime.block_on(account::logout(&path)),
        Command::List { json } => runtime.block_on(account::list(&path, json)),
        Command::Connect(args) => connect::connect(&runtime, &path, &args),
        Command::Trust { device } => runtime.block_on(trust::trust(&path, &device)),
        Command::Send {
            device,
            files: list,
        } => files::send(&runtime, &path, &device, &list),
        Command::Get {
            device,
            path: remote,
            dest,
        } => files::get(&runtime, &path, &device, &remote, dest.as_deref()),
        Command::Files {
            device,
            path: remote,
            json,
        } => files::list(&runtime, &path, &device, &remote, json),
    }
}
