# Shared helpers for scripts/demo, scripts/test and scripts/bench.
# Sourced, not run.

# Packages needed to build the workspace (openh264 needs nasm for its
# assembly; rusqlite bundles SQLite; the X protocol is x11rb's own Rust;
# libopus is built from its bundled source with cmake; the viewer's sound
# output, cpal, links ALSA's libasound).
BUILD_PACKAGES="build-essential pkg-config libssl-dev nasm cmake libasound2-dev"
# Packages the tests and the demo run: a virtual display, tools to inspect it,
# and the sqlite3 shell used to age records in tests. The X11 libraries are
# loaded at run time by meshdesk-viewer's window (winit, softbuffer).
RUN_PACKAGES="xvfb xdotool x11-utils x11-apps xterm sqlite3 procps libx11-6 libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0"
# What the test of a resolution change runs (tests/tests/host_agent.rs):
# Xvfb has one fixed mode, TigerVNC's Xvnc can switch modes with xrandr.
RESIZE_PACKAGES="tigervnc-standalone-server x11-xserver-utils"
# What the browser tests drive: Debian's Chromium (playwright-core comes
# from npm, without a browser download), and certutil to make it trust the
# HTTPS tests' own CA (an NSS database in a test HOME).
BROWSER_PACKAGES="chromium libnss3-tools"
# What scripts/bench e2e compares against: x11vnc + noVNC, and ffmpeg's
# x11grab + libx264 for host CPU.
COMPARE_PACKAGES="x11vnc novnc websockify ffmpeg"
# What the NAT tests (tests/tests/nat.rs) and scripts/bench connect use:
# network namespaces, NAT with iptables, and coturn as an external relay.
NAT_PACKAGES="iproute2 iptables coturn"
# What scripts/package and its test (tests/tests/packages.rs) use: cargo-deb
# asks dpkg-shlibdeps (dpkg-dev) for the Depends line; the test checks the
# systemd units with systemd-analyze (systemd), the served install script
# with shellcheck, and that the static host is static with file.
PACKAGE_PACKAGES="dpkg-dev systemd shellcheck file"
# The reverse proxies of the README's examples, which
# tests/tests/reverse_proxy.rs runs in front of a server (the packages'
# own services stay stopped: Debian's policy-rc.d in containers, and the
# tests start their own on free ports).
PROXY_PACKAGES="nginx caddy haproxy"
# The sound tests and scripts/bench sound: a PulseAudio server per side
# (started by the test, with null sinks), and its pacat/parec/pactl.
SOUND_PACKAGES="pulseaudio pulseaudio-utils"
# The clipboard tests: copy and paste on a test display from outside, as
# another X program does.
CLIPBOARD_PACKAGES="xclip"
# The store on PostgreSQL: the tests start private servers of their own
# (initdb, postgres, pg_isready, psql from /usr/lib/postgresql/N/bin).
DATABASE_PACKAGES="postgresql"
# Several signaling nodes in one test: the bus between them (issue 23).
CLUSTER_PACKAGES="nats-server"
# The cargo-deb release scripts/package builds with (cargo install, pinned).
CARGO_DEB_VERSION="3.8.0"
# The static host binary (scripts/package): a musl build with zig as the C
# and C++ compiler of openh264 and ring, through cargo-zigbuild (pinned;
# zig itself comes from PyPI's ziglang, pinned in scripts/zig-requirements.txt).
CARGO_ZIGBUILD_VERSION="0.24.1"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Install the Debian packages that are missing; skip the rest. Sets
# NASM_INSTALLED=1 when nasm was installed just now.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    for p in "${missing[@]}"; do
        [ "$p" = nasm ] && NASM_INSTALLED=1
    done
    return 0
}

# Install the npm packages of the project in directory $1 when they are
# missing or older than its package-lock.json.
ensure_npm() {
    local dir="$1"
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        return 0
    fi
    log "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

# A Python virtual environment in directory $1 with the packages pinned
# in requirements file $2, (re)made when missing or older than the file.
ensure_venv() {
    local dir="$1" requirements="$2"
    if [ -x "$dir/bin/python" ] && [ "$dir/.installed" -nt "$requirements" ]; then
        return 0
    fi
    log "installing Python packages from $requirements"
    rm -rf "$dir"
    if ! python3 -m venv "$dir" 2>/dev/null; then
        ensure_packages python3-venv
        python3 -m venv "$dir"
    fi
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    touch "$dir/.installed"
}

# openh264's build script does not rerun when nasm appears, and without nasm
# it silently builds the slow C-only encoder: rebuild it once nasm is there.
rebuild_openh264_if_needed() {
    if [ "${NASM_INSTALLED:-0}" = 1 ]; then
        log "nasm was just installed: rebuilding openh264 with its assembly"
        cargo clean -p openh264-sys2 >/dev/null 2>&1 || true
    fi
}

# Install cargo-deb with cargo when it is missing.
ensure_cargo_deb() {
    if cargo deb --version >/dev/null 2>&1; then
        return 0
    fi
    log "installing cargo-deb $CARGO_DEB_VERSION (cargo install)"
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION" --quiet
}

# The Rust target of the static host: musl, on this machine's architecture.
static_target() {
    echo "$(uname -m)-unknown-linux-musl"
}

# Install what the static host build needs when it is missing: Rust's musl
# target (rustup), cargo-zigbuild (cargo install) and zig (a venv in the
# target dir); points cargo-zigbuild at that zig.
ensure_static_toolchain() {
    local target="${CARGO_TARGET_DIR:-$ROOT/target}"
    if ! rustup target list --installed | grep -qx "$(static_target)"; then
        log "adding Rust's $(static_target) target (rustup)"
        rustup target add "$(static_target)" >/dev/null
    fi
    if ! cargo-zigbuild --version >/dev/null 2>&1; then
        log "installing cargo-zigbuild $CARGO_ZIGBUILD_VERSION (cargo install)"
        cargo install cargo-zigbuild --locked --version "$CARGO_ZIGBUILD_VERSION" --quiet
    fi
    ensure_venv "$target/zig-venv" "$ROOT/scripts/zig-requirements.txt"
    export CARGO_ZIGBUILD_PYTHON_PATH="$target/zig-venv/bin/python"
}

# Build the static host binary for cargo profile $1 (dev or release).
build_static_host() {
    ensure_static_toolchain
    cargo zigbuild --quiet --profile "$1" -p meshdesk-host --bin meshdesk-host --target "$(static_target)"
}

# Directory the static host binary lands in, for profile dir $1 (debug, release).
static_bin_dir() {
    local target="${CARGO_TARGET_DIR:-$ROOT/target}"
    echo "$target/$(static_target)/$1"
}

# Directory the built binaries land in.
bin_dir() {
    local profile="${1:-debug}"
    local target="${CARGO_TARGET_DIR:-$ROOT/target}"
    echo "$target/$profile"
}
