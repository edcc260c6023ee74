#!/usr/bin/env python3
"""Run Schemathesis against a real meshdesk-signaling, signed in.

Starts the server on a free port with a fresh data directory, signs up
alice (and bob, a share target), enrolls one device with a real key, and
runs every check Schemathesis has, all phases, bounded examples and a fixed
seed (so a run is repeatable), with alice's sign-in token. `POST /logout`
is left out of the signed-in run: it would end the very sign-in the run
uses; it is checked on its own at the end with a token of its own.
`GET /events/stream` is left out too: a Server-Sent Events stream does not
end while its sign-in lasts, and Schemathesis reads whole responses, so a
run that reaches it waits forever. The stream's contract (filters, ids,
resume, gaps, refusals) is checked by tests/tests/feed_*.rs and
api_tokens.rs. Every request has a timeout, so any other hang fails the
run instead of holding it up.

Usage: check_openapi.py BIN_DIR VENV_DIR
"""

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve().parent
EXAMPLES = os.environ.get("MESHDESK_SCHEMATHESIS_EXAMPLES", "25")
SEED = os.environ.get("MESHDESK_SCHEMATHESIS_SEED", "20261206")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}/api/v1{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None


def wait_ready(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"meshdesk-signaling exited with {server.returncode}")
        try:
            call(base, "GET", "/openapi.json")
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("meshdesk-signaling did not answer within 30 s")


def sign_in(base: str, username: str) -> str:
    call(base, "POST", "/accounts", {"username": username, "password": "password-123"})
    return call(base, "POST", "/login", {"username": username, "password": "password-123"})["token"]


def enroll(base: str, token: str, name: str) -> str:
    code = call(base, "POST", "/enrollment-codes", token=token)["code"]
    key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    body = {"code": code, "public_key": base64.b64encode(key).decode(), "name": name, "os": "Linux"}
    return call(base, "POST", "/enroll", body)["device_id"]


def schemathesis(venv: Path, base: str, token: str, *extra: str) -> int:
    cmd = [
        str(venv / "bin" / "st"), "--config-file", str(HERE / "schemathesis.toml"),
        "run", f"{base}/api/v1/openapi.json",
        "--checks", "all", "--max-examples", EXAMPLES, "--seed", SEED,
        "--generation-database", "none", "--workers", "1", "--no-color",
        "--header", f"Authorization: Bearer {token}",
        "--suppress-health-check", "too_slow", "--request-timeout", "30",
        *extra,
    ]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="hooks", PYTHONPATH=str(HERE))
    return subprocess.run(cmd, env=env, cwd=HERE).returncode


def main() -> int:
    bin_dir, venv = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).absolute()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="meshdesk-schemathesis-") as data:
        config = Path(data) / "server.toml"
        config.write_text('signup = "open"\n[relay]\nenabled = false\n')
        log = open(Path(data) / "server.log", "w")
        server = subprocess.Popen(
            [str(bin_dir / "meshdesk-signaling"), "--listen", f"127.0.0.1:{port}",
             "--data-dir", data, "--config", str(config)],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(base, server)
            alice = sign_in(base, "alice")
            sign_in(base, "bob")
            enroll(base, alice, "office-pc")
            signed_in = schemathesis(venv, base, alice, "--exclude-path", "/api/v1/logout",
                                     "--exclude-path", "/api/v1/events/stream")
            logout = schemathesis(venv, base, sign_in(base, "carol"), "--include-path", "/api/v1/logout",
                                  "--phases", "examples,coverage,fuzzing")
            if server.poll() is not None:
                print(f"meshdesk-signaling died during the run ({server.returncode})")
                return 1
            return signed_in or logout
        finally:
            server.terminate()
            server.wait(timeout=10)
            if os.environ.get("MESHDESK_SCHEMATHESIS_LOG"):
                print((Path(data) / "server.log").read_text()[-5000:])


if __name__ == "__main__":
    sys.exit(main())
