#!/bin/sh
# Meshdesk host installer, served by a Meshdesk server at /install.sh with
# its own URL filled in. It downloads the host from that server only,
# checks its SHA-256 against the server's SHA256SUMS, installs it, enrolls
# this PC with a one-time code and starts the agent as a systemd user
# service. Paste the line the web app's "Add device" shows:
#
#   curl -fsSL SERVER/install.sh | sh -s -- --code CODE
#
# Options:
#   --code CODE      one-time enrollment code (not needed when already enrolled)
#   --name NAME      device name shown to users (default: this machine's host name)
#   --prefix DIR     install the static host into DIR/bin (default ~/.local; as
#                    root with dpkg and no --prefix, the .deb is installed)
#   --server URL     the server (default: the one this script came from)
#   --no-service     do not enable the systemd user service
set -eu

SERVER='@MESHDESK_SERVER@'
# Set only by a server with a self-signed certificate, which no CA vouches
# for: its public key's pin (curl --pinnedpubkey) and its fingerprint (for
# the agent's enroll --server-fingerprint).
PIN='@MESHDESK_PIN@'
FINGERPRINT='@MESHDESK_FINGERPRINT@'
CODE=''
NAME=''
PREFIX=''
SERVICE=1

say() { printf 'meshdesk: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --code) [ $# -ge 2 ] || die "--code needs a value"; CODE="$2"; shift 2 ;;
        --name) [ $# -ge 2 ] || die "--name needs a value"; NAME="$2"; shift 2 ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; PREFIX="$2"; shift 2 ;;
        --server) [ $# -ge 2 ] || die "--server needs a value"; SERVER="$2"; shift 2 ;;
        --no-service) SERVICE=0; shift ;;
        -h|--help) sed -n '2,17p' "$0" 2>/dev/null || say "see the comments at the top of $SERVER/install.sh"; exit 0 ;;
        *) die "unknown option: $1 (options: --code, --name, --prefix, --server, --no-service)" ;;
    esac
done
SERVER="${SERVER%/}"

# What this needs, all checked before anything is changed.
have() { command -v "$1" >/dev/null 2>&1; }
missing=''
if [ -n "$PIN" ]; then
    # --insecure only lifts the CA check; the pin is still checked.
    have curl || die "this server's certificate is self-signed: curl is needed to check its pin"
    fetch() { curl -fsSL --proto '=https' --insecure --pinnedpubkey "$PIN" -o "$2" "$1"; }
elif have curl; then
    fetch() { curl -fsSL --proto '=http,https' -o "$2" "$1"; }
elif have wget; then
    fetch() { wget -q -O "$2" "$1"; }
else
    missing="$missing curl-or-wget"
fi
for tool in sha256sum tar gzip mktemp uname; do
    have "$tool" || missing="$missing $tool"
done
[ -z "$missing" ] || die "missing tools:$missing (Debian: apt-get install curl coreutils tar gzip)"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64|Linux-amd64) ARCH=amd64 ;;
    Linux-aarch64|Linux-arm64) ARCH=arm64 ;;
    *) die "no Meshdesk host for $(uname -s) $(uname -m)" ;;
esac

# Where it goes: the .deb system-wide (root with dpkg, no --prefix), or
# the tarball into a prefix of this user's.
if [ -z "$PREFIX" ] && [ "$(id -u)" -eq 0 ] && have dpkg; then
    METHOD=deb
else
    METHOD=tarball
    [ -n "$PREFIX" ] || PREFIX="${HOME:?HOME is not set}/.local"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT INT TERM

say "fetching the list of downloads from $SERVER"
fetch "$SERVER/downloads/SHA256SUMS" "$WORK/SHA256SUMS" \
    || die "cannot fetch $SERVER/downloads/SHA256SUMS (is the server reachable from here?)"
case "$METHOD" in
    deb) pattern="^meshdesk-host_.*_${ARCH}\\.deb\$" ;;
    tarball) pattern="^meshdesk-host-.*-${ARCH}-linux\\.tar\\.gz\$" ;;
esac
FILE="$(awk '{print $2}' "$WORK/SHA256SUMS" | grep -E "$pattern" | sort | tail -n 1 || true)"
[ -n "$FILE" ] || die "the server offers no host $METHOD for $ARCH (its operator runs scripts/package to make them)"
WANT="$(awk -v f="$FILE" '$2 == f {print $1}' "$WORK/SHA256SUMS")"

say "downloading $FILE"
fetch "$SERVER/downloads/$FILE" "$WORK/$FILE" || die "cannot download $SERVER/downloads/$FILE"
GOT="$(sha256sum "$WORK/$FILE" | awk '{print $1}')"
if [ "$GOT" != "$WANT" ]; then
    die "SHA-256 mismatch for $FILE: the server lists $WANT but the download is $GOT; not installing (the download was corrupted or tampered with)"
fi
say "SHA-256 verified: $GOT"

if [ "$METHOD" = deb ]; then
    dpkg -i "$WORK/$FILE" || die "dpkg could not install $FILE; see the missing packages above (apt-get -f install)"
    BIN=/usr/bin/meshdesk-host
else
    mkdir -p "$WORK/unpacked"
    tar -xzf "$WORK/$FILE" -C "$WORK/unpacked"
    mkdir -p "$PREFIX/bin" "$PREFIX/share/doc/meshdesk-host"
    cp "$WORK/unpacked/bin/meshdesk-host" "$PREFIX/bin/meshdesk-host.new"
    chmod 755 "$PREFIX/bin/meshdesk-host.new"
    mv -f "$PREFIX/bin/meshdesk-host.new" "$PREFIX/bin/meshdesk-host"
    cp "$WORK/unpacked/share/doc/meshdesk-host/"* "$PREFIX/share/doc/meshdesk-host/"
    BIN="$PREFIX/bin/meshdesk-host"
fi
say "installed $BIN ($("$BIN" --version))"

if [ -n "${SUDO_USER:-}" ] && [ "$METHOD" = deb ]; then
    say "installed system-wide; now, as $SUDO_USER in the desktop session, run:"
    say "  meshdesk-host enroll --server $SERVER${FINGERPRINT:+ --server-fingerprint $FINGERPRINT} --code ${CODE:-CODE}"
    say "  systemctl --user enable --now meshdesk-host.service"
    exit 0
fi

# The agent's enroll, trusting a self-signed server by its fingerprint.
enroll() {
    if [ -n "$FINGERPRINT" ]; then
        "$BIN" enroll --server "$SERVER" --server-fingerprint "$FINGERPRINT" "$@"
    else
        "$BIN" enroll --server "$SERVER" "$@"
    fi
}

CONFIG="${XDG_CONFIG_HOME:-${HOME:?HOME is not set}/.config}/meshdesk/host.toml"
if [ -n "$CODE" ]; then
    if [ -n "$NAME" ]; then
        enroll --code "$CODE" --name "$NAME" || die "enrollment failed (is the code still valid? codes are single-use and expire)"
    else
        enroll --code "$CODE" || die "enrollment failed (is the code still valid? codes are single-use and expire)"
    fi
elif [ -f "$CONFIG" ]; then
    say "already enrolled ($CONFIG); keeping that identity"
else
    die "not enrolled yet: pass --code CODE (the web app's \"Add device\" shows one)"
fi

[ "$SERVICE" = 1 ] || { say "done; start the agent with: $BIN run"; exit 0; }
if [ "$METHOD" = tarball ]; then
    UNITS="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
    mkdir -p "$UNITS"
    sed "s#^ExecStart=.*#ExecStart=$BIN run#" "$WORK/unpacked/share/systemd/user/meshdesk-host.service" \
        >"$UNITS/meshdesk-host.service"
fi
if have systemctl && systemctl --user show-environment >/dev/null 2>&1; then
    systemctl --user daemon-reload
    if [ -n "${DISPLAY:-}" ]; then
        systemctl --user import-environment DISPLAY
        [ -z "${XAUTHORITY:-}" ] || systemctl --user import-environment XAUTHORITY
    fi
    # --no-block: the unit is ready only once the agent is online.
    systemctl --user enable --now --no-block meshdesk-host.service
    say "the agent runs as a systemd user service: systemctl --user status meshdesk-host"
    say "to keep it running while you are logged out: loginctl enable-linger $(id -un)"
else
    say "no systemd user instance here, so nothing starts the agent by itself."
    say "start it in your desktop session (e.g. from its autostart) with: $BIN run"
fi
say "done"
