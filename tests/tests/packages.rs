//! The packages `scripts/package` makes (here from the debug binaries):
//! their systemd units pass `systemd-analyze verify`, each .deb holds the
//! expected files, its binary runs from a `dpkg-deb -x` folder, and
//! `dpkg -i --dry-run` accepts it; the host tarball and SHA256SUMS match.
//! Real installation is left to people, not to the test suite.

use std::path::Path;
use std::process::{Command, Output};

use meshdesk_tests::package::{self, workspace_root};
use meshdesk_tests::require;
use meshdesk_tests::server::{binary, TempDir};

fn run(program: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `systemd-analyze verify` on the unit `unit` (a file in the repo) with
/// its `/usr/bin/NAME` pointing at the built binary, as a system unit or
/// (`user`) as a user unit. Warnings count as failures.
fn verify(unit: &str, name: &str, user: bool) {
    let dir = TempDir::new("units");
    let source = std::fs::read_to_string(workspace_root().join(unit)).expect("the unit");
    let from = format!("/usr/bin/{name} ");
    assert!(source.contains(&from), "{unit} runs {from}");
    let real = format!("{} ", binary(name).display());
    let file = dir
        .0
        .join(Path::new(unit).file_name().expect("a file name"));
    std::fs::write(&file, source.replace(&from, &real)).expect("write the unit");
    let runtime = dir.0.join("runtime");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    let mut command = Command::new("systemd-analyze");
    if user {
        // A user manager needs a runtime dir of its own.
        command.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
    }
    let out = command
        .args(["verify", "--man=no"])
        .arg(&file)
        .output()
        .expect("run systemd-analyze");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify {unit}: {}",
        text(&out)
    );
}

#[test]
fn units_pass_systemd_analyze_verify() {
    require!(package::unavailable());
    verify(
        "signaling/dist/meshdesk-signaling.service",
        "meshdesk-signaling",
        false,
    );
    verify("host/dist/meshdesk-host.service", "meshdesk-host", true);
}

#[test]
fn a_broken_unit_fails_verification() {
    require!(package::unavailable());
    let dir = TempDir::new("units");
    let file = dir.0.join("broken.service");
    std::fs::write(
        &file,
        "[Service]\nType=notify\nExecStart=/nonexistent/meshdesk\n",
    )
    .unwrap();
    let out = run(
        "systemd-analyze",
        &["verify", "--man=no", file.to_str().unwrap()],
        None,
    );
    assert!(
        !out.status.success(),
        "verify accepts anything: {}",
        text(&out)
    );
}

/// What each .deb must hold, and the binary that must run from it.
const PACKAGES: [(&str, &[&str]); 3] = [
    (
        "meshdesk-signaling",
        &[
            "./usr/bin/meshdesk-signaling",
            "./etc/meshdesk/meshdesk-signaling.toml",
            "./usr/lib/systemd/system/meshdesk-signaling.service",
            "./usr/share/doc/meshdesk-signaling/examples/meshdesk-signaling.example.toml",
        ],
    ),
    (
        "meshdesk-host",
        &[
            "./usr/bin/meshdesk-host",
            "./usr/lib/systemd/user/meshdesk-host.service",
            "./usr/share/doc/meshdesk-host/examples/meshdesk-host.example.toml",
        ],
    ),
    ("meshdesk-viewer", &["./usr/bin/meshdesk-viewer"]),
];

#[test]
fn packages_hold_their_files_run_and_install() {
    require!(package::unavailable());
    let out = TempDir::new("packages");
    package::build(&out.0, &[]);
    for (name, files) in PACKAGES {
        let deb = package::find(&out.0, &format!("{name}_"), ".deb");
        let deb = deb.to_str().expect("a UTF-8 path");
        let contents = run("dpkg-deb", &["--contents", deb], None);
        let listing = text(&contents);
        for file in files {
            assert!(
                listing.lines().any(|l| l.ends_with(file)),
                "{name}: no {file} in\n{listing}"
            );
        }
        let depends = text(&run("dpkg-deb", &["-f", deb, "Depends"], None));
        assert!(depends.contains("libc6"), "{name} Depends: {depends}");

        let root = TempDir::new("unpacked");
        let unpacked = run("dpkg-deb", &["-x", deb, root.0.to_str().unwrap()], None);
        assert!(unpacked.status.success(), "{}", text(&unpacked));
        let bin = root.0.join("usr/bin").join(name);
        let version = run(bin.to_str().unwrap(), &["--version"], None);
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION")),
            "{}",
            text(&version)
        );
        let help = text(&run(bin.to_str().unwrap(), &["--help"], None));
        assert!(
            help.contains("FILES:"),
            "{name} --help reads like a man page: {help}"
        );

        let dry = run("dpkg", &["-i", "--dry-run", deb], None);
        assert!(
            dry.status.success(),
            "dpkg -i --dry-run {name}: {}",
            text(&dry)
        );
    }
    // The host speaks X through x11rb (Rust): no X library to depend on.
    let host_deps = text(&run(
        "dpkg-deb",
        &[
            "-f",
            package::find(&out.0, "meshdesk-host_", ".deb")
                .to_str()
                .unwrap(),
            "Depends",
        ],
        None,
    ));
    assert!(
        !host_deps.contains("libxcb"),
        "the host links no X library: {host_deps}"
    );

    // The static host, bare and in the tarball for --prefix installs.
    let bare = package::find(&out.0, "meshdesk-host-", "-linux-static");
    let kind = text(&run("file", &["-b", bare.to_str().unwrap()], None));
    assert!(kind.contains("statically linked"), "{bare:?}: {kind}");
    let ldd = text(&run("ldd", &[bare.to_str().unwrap()], None));
    assert!(ldd.contains("not a dynamic executable"), "ldd: {ldd}");
    let version = run(bare.to_str().unwrap(), &["--version"], None);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("meshdesk-host {}", env!("CARGO_PKG_VERSION")),
        "{}",
        text(&version)
    );
    let tarball = package::find(&out.0, "meshdesk-host-", ".tar.gz");
    let listing = text(&run("tar", &["-tzf", tarball.to_str().unwrap()], None));
    for file in [
        "bin/meshdesk-host",
        "share/systemd/user/meshdesk-host.service",
        "share/doc/meshdesk-host/meshdesk-host.example.toml",
    ] {
        assert!(
            listing.lines().any(|l| l == file),
            "no {file} in\n{listing}"
        );
    }
    let unpacked = TempDir::new("tarball");
    let untar = run(
        "tar",
        &[
            "-xzf",
            tarball.to_str().unwrap(),
            "-C",
            unpacked.0.to_str().unwrap(),
        ],
        None,
    );
    assert!(untar.status.success(), "{}", text(&untar));
    let in_tarball = std::fs::read(unpacked.0.join("bin/meshdesk-host")).expect("read");
    assert_eq!(
        in_tarball,
        std::fs::read(&bare).expect("read"),
        "the tarball holds the static binary"
    );
    let sums = run(
        "sha256sum",
        &["--check", "--strict", "SHA256SUMS"],
        Some(&out.0),
    );
    assert!(sums.status.success(), "{}", text(&sums));
    assert_eq!(text(&sums).lines().count(), 5, "{}", text(&sums));
}
