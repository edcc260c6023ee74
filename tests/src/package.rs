//! `scripts/package` run by tests: debug-profile packages made from the
//! binaries the test run already built (seconds; the release build is for
//! people), into a directory of the test's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::bin_dir;

/// The workspace's root (where `scripts/` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Why the package tests cannot run here, or `None`: they need cargo-deb,
/// dpkg-deb and systemd-analyze (`scripts/test` installs them), and root
/// for `dpkg --dry-run`.
pub fn unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("`dpkg -i --dry-run` needs root".into());
    }
    let tools = [
        (
            "cargo",
            &["deb", "--version"][..],
            "cargo-deb (cargo install cargo-deb --locked)",
        ),
        (
            "dpkg-deb",
            &["--version"][..],
            "dpkg-deb (Debian package dpkg)",
        ),
        (
            "systemd-analyze",
            &["--version"][..],
            "systemd-analyze (Debian package systemd)",
        ),
    ];
    for (program, args, what) in tools {
        if !crate::prereq::runs(program, args) {
            return Some(format!("{what} is missing"));
        }
    }
    None
}

/// `scripts/package --profile dev --no-build --out OUT PACKAGES...`, from
/// the binaries in [`bin_dir`]; panics with its output when it fails.
pub fn build(out: &Path, packages: &[&str]) {
    // cargo-deb stages each stripped binary at a fixed place in the target
    // dir (target/meshdesk-host/...): two runs at once in this process
    // (tests run in parallel threads) would write over each other.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let target = bin_dir()
        .parent()
        .expect("the binaries' profile dir is inside a target dir")
        .to_path_buf();
    let result = Command::new(workspace_root().join("scripts/package"))
        .args(["--profile", "dev", "--no-build", "--out"])
        .arg(out)
        .args(packages)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run scripts/package");
    assert!(
        result.status.success(),
        "scripts/package failed:\n{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The one file in `dir` whose name starts with `prefix` and ends with
/// `suffix`.
pub fn find(dir: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the package dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {prefix}*{suffix} in {dir:?}: {found:?}"
    );
    found[0].clone()
}
