//! What a test needs from the machine beyond the workspace's binaries:
//! root for network namespaces, `ip` and `iptables`, coturn's `turnserver`.
//!
//! A test whose prerequisite is missing fails, naming what to install:
//! `scripts/test` runs as root and installs every package, so a missing
//! one is a broken run, not a pass. A run that sets
//! `MESHDESK_ALLOW_SKIP=1` (which `scripts/test` never does) skips such a
//! test instead, and the test writes one line to the skip log
//! (`MESHDESK_SKIP_LOG`, by default `meshdesk-skipped.txt` beside the
//! build's profile directory), which `scripts/test` counts and prints at
//! the end. The browser tests do the same (`tests/web/skip.mjs`).

use std::io::Write;
use std::path::PathBuf;

/// Set to `1` to skip, instead of fail, tests whose prerequisites are
/// missing.
pub const ALLOW_SKIP: &str = "MESHDESK_ALLOW_SKIP";
/// Where skipped tests record themselves.
pub const SKIP_LOG: &str = "MESHDESK_SKIP_LOG";

/// Whether the calling test runs: `true` when nothing is `missing`;
/// `false` when something is and skipping is allowed (the skip is logged);
/// otherwise the test fails with `missing` and how to opt out.
pub fn met(missing: Option<String>) -> bool {
    let Some(why) = missing else {
        return true;
    };
    let allowed = std::env::var(ALLOW_SKIP).is_ok_and(|v| v == "1");
    assert!(
        allowed,
        "{why}. scripts/test runs as root with every package installed; to skip \
         this test instead (it is then counted as skipped), set {ALLOW_SKIP}=1"
    );
    let test = test_name();
    eprintln!("skipped: {test}: {why}");
    record(&format!("{test}: {why}"));
    false
}

/// Return from the calling test when `$missing` (an `Option<String>`
/// saying what is missing) is `Some` and skipping is allowed; fail it when
/// skipping is not. See [`met`].
#[macro_export]
macro_rules! require {
    ($missing:expr) => {
        if !$crate::prereq::met($missing) {
            return;
        }
    };
}

/// `BINARY::TEST`: the test binary's name without its hash, and the name
/// libtest gives the thread that runs the test.
fn test_name() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let binary = stem
        .rsplit_once('-')
        .map_or(stem.as_str(), |(name, _)| name);
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("unnamed"))
}

/// Whether `program args` runs and exits 0 (its output discarded): how
/// the prerequisite checks tell a tool is installed and works.
pub fn runs(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The skip log's path (see the module docs).
pub fn skip_log() -> PathBuf {
    if let Some(path) = std::env::var_os(SKIP_LOG) {
        return PathBuf::from(path);
    }
    let profile = crate::server::bin_dir();
    profile
        .parent()
        .unwrap_or(&profile)
        .join("meshdesk-skipped.txt")
}

/// Append one line to the skip log; a skip that cannot be counted fails.
fn record(line: &str) {
    let path = skip_log();
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = written {
        panic!("cannot record the skip in {}: {e}", path.display());
    }
}
