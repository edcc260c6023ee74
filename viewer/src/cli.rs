//! The command line (`meshdesk-viewer --help`), parsed by clap and checked
//! once into typed options before anything runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::ViewerError;

/// The Meshdesk native viewer: sign in, list your devices, and control one
/// in a window.
#[derive(Debug, Parser)]
#[command(name = "meshdesk-viewer", version, after_long_help = include_str!("../dist/help.txt"))]
pub struct Cli {
    /// Login file [default: $XDG_CONFIG_HOME/meshdesk/viewer.toml or
    /// ~/.config/meshdesk/viewer.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in and store the token (password from MESHDESK_PASSWORD or a
    /// prompt; the authentication code, when the account has one, from
    /// MESHDESK_TOTP or a prompt).
    Login {
        /// Server URL, e.g. http://127.0.0.1:8080. Repeat it for the nodes
        /// of a cluster: every command tries them in order, moving to the
        /// next when one cannot be reached.
        #[arg(long, required = true, value_name = "URL")]
        server: Vec<String>,
        #[arg(long)]
        username: String,
        /// How an https:// server's certificate is verified.
        #[command(flatten)]
        trust: crate::account::TrustArgs,
    },
    /// Sign out and delete the stored token.
    Logout,
    /// List the devices you may see, with online state and permission.
    List {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Open a session on a device (by name or id) in a window.
    ///
    /// The device must prove it holds its key (pinned in `known_devices` beside the
    /// login file at first use); once it did, "Verified: safety code ..."
    /// is printed on stderr. A key that changed stops the connection.
    Connect(ConnectArgs),
    /// Send files into a device's receive folder (on the remote PC,
    /// `[files] receive_dir`, by default ~/Downloads/Meshdesk). A file
    /// sent again after a transfer was cut off resumes where it stopped.
    Send {
        /// Device name or id, as `list` shows.
        device: String,
        /// The files to send.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Fetch a file from a device's shared folders.
    Get {
        /// Device name or id, as `list` shows.
        device: String,
        /// The file, as `files` names it (e.g. Documents/report.pdf).
        path: String,
        /// A file name, or an existing folder to put it in [default: the
        /// current folder]. An existing file is never overwritten.
        dest: Option<PathBuf>,
    },
    /// List a device's shared folders, or a folder in one.
    Files {
        /// Device name or id, as `list` shows.
        device: String,
        /// A folder as the listing names it (e.g. Documents/reports)
        /// [default: the shared folders].
        #[arg(default_value = "")]
        path: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Trust the key the server now gives for a device (after it changed).
    ///
    /// Pins the device's current key (by name or id) in `known_devices` and
    /// prints its safety code: compare it with `meshdesk-host status` on
    /// that PC first.
    Trust {
        /// Device name or id, as `list` shows.
        device: String,
    },
}

/// `connect DEVICE [--screen ID | --all-screens] [--no-sound] [--headless
/// [--measure-latency N]] [--duration SECS] [--stats-json]`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Device name or id, as `list` shows.
    pub device: String,
    /// No window: receive and decode, then discard (benchmarks, tests).
    #[arg(long)]
    pub headless: bool,
    /// End the session after this many seconds [default: until closed or
    /// Ctrl-C].
    #[arg(long, value_name = "SECS", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Print one JSON object of session stats on stdout at the end.
    #[arg(long)]
    pub stats_json: bool,
    /// Use only relayed paths (the server's TURN relay): this machine's
    /// addresses are never offered to the remote PC.
    #[arg(long)]
    pub relay_only: bool,
    /// Show this screen (monitor) of the remote PC, by the id `list`
    /// shows [default: its primary].
    #[arg(long, value_name = "ID", conflicts_with = "all_screens")]
    pub screen: Option<String>,
    /// One window per screen (monitor) of the remote PC, each with its
    /// own picture and input, in one session.
    #[arg(long)]
    pub all_screens: bool,
    /// Do not play the remote PC's sound here.
    #[arg(long)]
    pub no_sound: bool,
    /// Measure input-to-photon, then end the session: after the first
    /// picture, N times click at the centre of the remote screen and time
    /// until the colour there changes (a window that flips colour on every
    /// click must cover the centre). 0: end at the first picture.
    #[arg(
        long,
        value_name = "N",
        requires = "headless",
        value_parser = clap::value_parser!(u32).range(0..=10_000)
    )]
    pub measure_latency: Option<u32>,
}

/// Seconds, fractions allowed, more than zero and at most a day.
fn parse_duration(text: &str) -> Result<Duration, ViewerError> {
    let secs: f64 = text
        .parse()
        .map_err(|_| ViewerError::BadArgument(format!("`{text}` is not a number of seconds")))?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(ViewerError::BadArgument(
            "must be more than 0 and at most 86400 seconds".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connect_options_parse() {
        let cli = Cli::try_parse_from([
            "meshdesk-viewer",
            "connect",
            "office-pc",
            "--headless",
            "--duration",
            "2.5",
            "--stats-json",
            "--config",
            "/tmp/v.toml",
        ])
        .expect("parse");
        let Command::Connect(args) = cli.command else {
            panic!("connect expected")
        };
        assert_eq!(args.device, "office-pc");
        assert!(args.headless && args.stats_json);
        assert_eq!(args.duration, Some(Duration::from_millis(2500)));
        assert_eq!(cli.config, Some(PathBuf::from("/tmp/v.toml")));
        assert_eq!(args.measure_latency, None);
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn measure_latency_needs_headless() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["meshdesk-viewer", "connect", "pc"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Command::Connect(args) => args.measure_latency,
                _ => panic!("connect expected"),
            })
        };
        assert_eq!(
            parse(&["--headless", "--measure-latency", "100"]).expect("parse"),
            Some(100)
        );
        assert_eq!(
            parse(&["--headless", "--measure-latency", "0"]).expect("parse"),
            Some(0)
        );
        assert!(parse(&["--measure-latency", "10"]).is_err());
        assert!(parse(&["--headless", "--measure-latency", "-1"]).is_err());
        assert!(parse(&["--headless", "--measure-latency", "10001"]).is_err());
    }
}
