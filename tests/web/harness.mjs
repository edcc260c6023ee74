// Real parts for browser tests: the meshdesk binaries, Xvfb displays, X
// probe windows and Debian's Chromium. Everything started here is stopped by
// `cleanup()`; tests wait on conditions with deadlines, never bare sleeps.

import { spawn, execFileSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { createServer, connect } from 'node:net';
import { appendFileSync, mkdtempSync, rmSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binDir = process.env.MESHDESK_BIN_DIR ?? join(repo, 'target', 'debug');
export const bin = (name) => join(binDir, name);

const WAIT_MS = 20000;
const started = [];

/** Run `stop` at cleanup (with what the harness started itself). */
export function atCleanup(stop) {
  started.push(stop);
}

/** Stop everything this test file started, newest first. */
export async function cleanup() {
  for (const stop of started.splice(0).reverse()) {
    try {
      await stop();
    } catch (e) {
      console.error('cleanup:', e);
    }
  }
}

/**
 * Runs a benchmark's `main` and prints its result as one JSON document on
 * stdout; on failure, cleans up and exits non-zero.
 */
export function runBench(main) {
  main().then((r) => {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  }).catch(async (e) => {
    console.error(e);
    await cleanup();
    process.exit(1);
  });
}

export function tempDir(tag) {
  const dir = mkdtempSync(join(tmpdir(), `meshdesk-web-${tag}-`));
  started.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Poll `check` (sync or async) until it returns a truthy value. */
export async function waitFor(what, check, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A child process, its output collected line by line; killed at cleanup. */
class Proc {
  constructor(cmd, args, opts = {}) {
    this.lines = [];
    this.name = cmd.split('/').pop();
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
    // After 'close' every line it wrote is in `lines`.
    this.child.on('close', () => { this.closed = true; });
    const log = opts.log ? createWriteStream(opts.log) : null;
    let buf = '';
    this.child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    this.child.stderr.on('data', (d) => log?.write(d));
    started.push(() => this.stop());
  }

  /** The first line matching `pred`; fails at once if the process exits without one. */
  async line(pred, what = `${this.name} output`) {
    const found = await waitFor(what, () => this.lines.find(pred) ?? (this.closed && { exited: true }));
    if (found.exited) throw new Error(`${this.name} exited before ${what}`);
    return found;
  }

  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/**
 * A test CA and a server certificate it signs for `names`, made by
 * meshdesk-test-certs (tests/src/bin): `{ ca_file, cert, key, fingerprint,
 * nss_home }`, where `nss_home` is a HOME whose NSS database trusts the CA.
 */
export function testCertificates(names = ['127.0.0.1', 'localhost']) {
  const dir = tempDir('tls');
  return JSON.parse(execFileSync(bin('meshdesk-test-certs'), [dir, ...names]).toString());
}

/**
 * meshdesk-signaling on a free port with a fresh data dir; with `tls`
 * (from testCertificates) it serves HTTPS with that certificate, and the
 * returned server carries the certificates for clients (`server.tls`).
 */
export async function startServer(config = 'signup = "open"\n[relay]\nenabled = false\n', { tls } = {}) {
  const dir = tempDir('server');
  const tlsTable = tls ? `\n[tls]\ncert = "${tls.cert}"\nkey = "${tls.key}"\n` : '';
  writeFileSync(join(dir, 'config.toml'), config + tlsTable);
  const log = join(dir, 'server.log');
  const p = new Proc(bin('meshdesk-signaling'),
    ['--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--config', join(dir, 'config.toml')],
    { log, env: { ...process.env, RUST_LOG: 'info' } });
  const line = await p.line((l) => l.includes('listening on http'), 'the server to listen');
  const url = line.slice(line.indexOf('http')).trim();
  return { url, tls, proc: p, log: () => readFileSync(log, 'utf8') };
}

/**
 * An Xvfb display of the given size; `-noreset` keeps it stable. The X
 * server picks a free display number itself and writes it once it accepts
 * clients (`-displayfd`), as the Rust harness (xtest/) and scripts/demo do.
 */
export async function startXvfb(width = 1280, height = 720, { resizable = false } = {}) {
  // Xvfb has one fixed mode; TigerVNC's Xvnc (the same X server code, no
  // VNC port here) can switch modes with xrandr, as a user changing the
  // resolution would.
  const p = resizable
    ? new Proc('Xvnc', ['-displayfd', '1', '-nolisten', 'tcp', '-noreset', '-depth', '24',
      '-SecurityTypes', 'None', '-rfbport', '-1', '-geometry', `${width}x${height}`])
    : new Proc('Xvfb', ['-displayfd', '1', '-nolisten', 'tcp', '-noreset', '-screen', '0', `${width}x${height}x24`]);
  const n = await p.line((l) => /^\d+$/.test(l.trim()), 'the X server to report its display');
  const display = `:${n.trim()}`;
  return {
    display,
    width,
    height,
    run: (cmd, args) => execFileSync(cmd, args, { env: { ...process.env, DISPLAY: display } }).toString(),
    pointer() {
      const out = this.run('xdotool', ['getmouselocation', '--shell']);
      const get = (k) => Number(out.match(new RegExp(`^${k}=(-?\\d+)`, 'm'))?.[1]);
      return { x: get('X'), y: get('Y') };
    },
    /** Switch to another RandR mode (resizable only). */
    resize(w, h) {
      const output = this.run('xrandr', ['--query']).match(/^(\S+) connected/m)?.[1];
      this.run('xrandr', ['--output', output, '--mode', `${w}x${h}`]);
    },
  };
}

/**
 * A window of one colour on `x` that reports keys and clicks it gets; with
 * `flip`, each press swaps it to that colour and back.
 */
export async function probeWindow(x, { width, height, left, top, color, flip }) {
  const p = new Proc(bin('meshdesk-xprobe'),
    ['window', '--geometry', `${width}x${height}+${left}+${top}`, '--color', color, ...(flip ? ['--flip', flip] : [])],
    { env: { ...process.env, DISPLAY: x.display } });
  await p.line((l) => l === 'ready', 'the probe window');
  return {
    proc: p,
    typed: () => p.lines.filter((l) => /^key .$/.test(l)).map((l) => l.slice(4)).join(''),
    clicks: () => p.lines.filter((l) => l.startsWith('button ')).map((l) => l.split(' ').map(Number).slice(1)),
  };
}

/**
 * The two-monitor display of the screens test and bench: Xvnc 2304x768
 * with RandR monitor A (1280x720 at the left, a red window) and B
 * (1024x768 beside it, a blue window), and alice's host on it. Returns
 * {server, alice, x, a, b, deviceId} (a and b: the probe windows).
 */
export async function startTwoScreens() {
  const server = await startServer();
  const alice = await createUser(server, 'alice');
  const x = await startXvfb(2304, 768, { resizable: true });
  x.run('xrandr', ['--setmonitor', 'A', '1280/340x720/190+0+0', 'VNC-0']);
  x.run('xrandr', ['--setmonitor', 'B', '1024/270x768/200+1280+0', 'none']);
  const a = await probeWindow(x, { width: 1280, height: 720, left: 0, top: 0, color: 'ff0000' });
  const b = await probeWindow(x, { width: 1024, height: 768, left: 1280, top: 0, color: '0000ff' });
  const { config, deviceId } = await enrollWithToken(server, alice, 'two-screens');
  startHost(x, config);
  await waitOnline(server, alice, deviceId);
  return { server, alice, x, a, b, deviceId };
}

/**
 * Run an enroll command as shown by the web UI, with a private config
 * (and, for a server with a test certificate, its CA file).
 */
export function enroll(command, config, name, server) {
  const args = command.trim().split(/\s+/);
  if (args[0] !== 'meshdesk-host') throw new Error(`unexpected command: ${command}`);
  const extra = ['--config', config, ...(name ? ['--name', name] : []),
    ...(server?.tls ? ['--ca-file', server.tls.ca_file] : [])];
  execFileSync(bin('meshdesk-host'), [...args.slice(1), ...extra], { stdio: 'pipe' });
  return readFileSync(config, 'utf8').match(/device_id = "([^"]+)"/)[1];
}

/** Enroll a device for the user with `token`, without the UI. */
export async function enrollWithToken(server, token, name) {
  const { code } = await rest(server, 'POST', '/enrollment-codes', { token });
  const config = join(tempDir('host'), 'host.toml');
  const deviceId = enroll(`meshdesk-host enroll --server ${server.url} --code ${code}`, config, name, server);
  return { config, deviceId };
}

/** `meshdesk-host run` on display `x`, with `env` added to its environment. */
export function startHost(x, config, env = {}) {
  return new Proc(bin('meshdesk-host'), ['run', '--config', config], {
    env: { ...process.env, DISPLAY: x.display, RUST_LOG: process.env.MESHDESK_HOST_LOG ?? 'info', ...env },
    log: `${config}.log`,
  });
}

/**
 * A device of the user with `token` on a display of its own: the display
 * (`width` x `height`; `resizable` as for startXvfb), a probe window on it
 * when `probe` is given (probeWindow's options; the whole screen unless they
 * say otherwise), the device enrolled as `name` and its host running (with
 * `env` added to its environment, and `hostConfig`, TOML such as
 * `[files]\nreceive_dir = "/tmp/x"`, added to its host.toml).
 */
export async function startDevice(server, token, {
  name = 'office-pc', width = 1280, height = 720, resizable = false, probe, env, hostConfig,
} = {}) {
  const x = await startXvfb(width, height, { resizable });
  const window = probe ? await probeWindow(x, { width, height, left: 0, top: 0, ...probe }) : null;
  const { config, deviceId } = await enrollWithToken(server, token, name);
  if (hostConfig) appendFileSync(config, `\n${hostConfig}\n`);
  const host = startHost(x, config, env);
  return { x, probe: window, config, deviceId, host };
}

/**
 * What most browser tests start from: a server (`config` as for
 * startServer), the user alice (`alice` is her token) with a device as
 * startDevice makes it from the other options (its fields are returned
 * too), and a browser.
 */
export async function startWithDevice({ config, ...device } = {}) {
  const server = await startServer(config);
  const alice = await createUser(server, 'alice');
  const started = await startDevice(server, alice, device);
  const browser = await launchBrowser(server);
  return { server, alice, browser, ...started };
}

/**
 * Until the session sends input: the remote PC is verified (its input
 * channel is open by then). Pictures can show earlier (media flows once
 * DTLS is up, the data channels open a round trip or more later, longer
 * on a loaded machine), and a click before that is not captured.
 */
export function inputReady(page) {
  return page.getByTestId('session-verified').getByText(/^Verified/).waitFor();
}

/** Until the server says the device is online (asked as the user with `token`). */
export function waitOnline(server, token, deviceId) {
  return waitFor('the device online', async () => (await rest(server, 'GET', `/devices/${deviceId}`, { token })).online);
}

/** A device's entry in the page's list, once it shows the device online. */
export function onlineDevice(page, deviceId) {
  return page.locator(`[data-device-id="${deviceId}"][data-online="true"]`);
}

/**
 * Debian's Chromium, headless. Each user gets their own context (cookies)
 * from `browser.newContext()`. For a server with a test certificate it
 * runs with a HOME whose NSS database trusts the test CA, as a user who
 * imported it would. With `speakers` (a PulseAudio server, pulse.mjs) it
 * plays sound there, as a desktop browser plays it to the sound card.
 */
export async function launchBrowser(server, { speakers } = {}) {
  const env = server?.tls ? { ...process.env, HOME: server.tls.nss_home } : { ...process.env };
  if (speakers) env.PULSE_SERVER = speakers.server;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    env,
    // Playwright mutes the browser unless told not to.
    ignoreDefaultArgs: speakers ? ['--mute-audio'] : [],
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  started.push(() => browser.close());
  return browser;
}

/**
 * In every page of `context` from now on, keep each WebSocket the page
 * opens (`window.__sockets`) and, parsed, what is sent on it
 * (`socket.sent`).
 */
export function recordSockets(context) {
  return context.addInitScript(() => {
    window.__sockets = [];
    const Ws = window.WebSocket;
    window.WebSocket = class extends Ws {
      constructor(...args) {
        super(...args);
        this.sent = [];
        window.__sockets.push(this);
      }

      send(data) {
        this.sent.push(JSON.parse(data));
        return super.send(data);
      }
    };
  });
}

/**
 * In every page of `context` from now on, keep the data channels the
 * host opens, by label (`window.__channels`), and the text messages each
 * receives (`window.__received[label]`), so a test can speak on one as a
 * modified page would.
 */
export function recordChannels(context) {
  return context.addInitScript(() => {
    window.__channels = {};
    window.__received = {};
    const Pc = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Pc {
      constructor(...args) {
        super(...args);
        this.addEventListener('datachannel', (e) => {
          const dc = e.channel;
          window.__channels[dc.label] = dc;
          window.__received[dc.label] = [];
          dc.addEventListener('message', (m) => {
            if (typeof m.data === 'string') window.__received[dc.label].push(JSON.parse(m.data));
          });
        });
      }
    };
  });
}

/** A fresh page in its own context; page errors are collected. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

/** REST calls from the test itself (second users, shares). */
export async function rest(server, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body) headers['Content-Type'] = 'application/json';
  const url = `${server.url}/api/v1${path}`;
  const init = { method, headers, body: body && JSON.stringify(body) };
  const res = server.tls ? await fetchTrusting(url, init, server.tls.ca_file) : await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * `fetch` for an https:// server whose certificate the test CA in
 * `caFile` signed (Node's fetch takes no CA of its own).
 */
function fetchTrusting(url, { method, headers, body }, caFile) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca: readFileSync(caFile) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({
        ok: res.statusCode >= 200 && res.statusCode < 300,
        status: res.statusCode,
        headers: res.headers,
        text: async () => text,
      }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function createUser(server, username, password = 'correct horse battery') {
  await rest(server, 'POST', '/accounts', { body: { username, password } });
  const { token } = await rest(server, 'POST', '/login', { body: { username, password } });
  return token;
}

/** Sign in through the page's form. */
export async function signIn(page, server, username, password = 'correct horse battery') {
  await page.goto(server.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('username').waitFor();
}

/**
 * A fresh page (newPage) with `username` signed in through the form; with
 * `online`, once the list shows that device online.
 */
export async function signedInPage(browser, server, username = 'alice', { online } = {}) {
  const page = await newPage(browser);
  await signIn(page, server, username);
  if (online) await onlineDevice(page, online).waitFor();
  return page;
}

/**
 * Pixel colour [r, g, b] at normalized (nx, ny) of the remote picture, read
 * from the video element through a canvas.
 */
export function remotePixel(page, nx, ny) {
  return page.evaluate(([nx, ny]) => {
    const v = document.querySelector('[data-testid="remote-screen"]');
    const w = v?.videoWidth ?? v?.width;
    const h = v?.videoHeight ?? v?.height;
    if (!w || !h) return null;
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(v, 0, 0);
    const d = g.getImageData(Math.floor(nx * (c.width - 1)), Math.floor(ny * (c.height - 1)), 1, 1).data;
    return [d[0], d[1], d[2]];
  }, [nx, ny]);
}

export const near = (got, want, tol = 40) => !!got && got.every((v, i) => Math.abs(v - want[i]) <= tol);

export const hex = (rgb) => [(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255];

/** Page coordinates of normalized (nx, ny) on the displayed picture. */
export function screenPoint(page, nx, ny) {
  return page.evaluate(([nx, ny]) => {
    const v = document.querySelector('[data-testid="remote-screen"]');
    const box = v.getBoundingClientRect();
    const [vw, vh] = [v.videoWidth ?? v.width, v.videoHeight ?? v.height];
    // As the page shows it: `contain` fills the box, `scale-down` never enlarges.
    const fit = Math.min(box.width / vw, box.height / vh);
    const scale = getComputedStyle(v).objectFit === 'contain' ? fit : Math.min(1, fit);
    const w = vw * scale;
    const h = vh * scale;
    return { x: box.left + (box.width - w) / 2 + nx * w, y: box.top + (box.height - h) / 2 + ny * h };
  }, [nx, ny]);
}

/**
 * A TCP proxy in front of `server` that the test can cut like a proxy reset
 * or a network change: `cut()` closes every connection open through it,
 * while new ones go through as before. `url` is the proxy's address.
 */
export async function startProxy(server) {
  const target = new URL(server.url);
  const open = new Set();
  const proxy = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = [client, upstream];
    open.add(pair);
    const close = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  started.push(() => new Promise((r) => {
    for (const [a, b] of open) {
      a.destroy();
      b.destroy();
    }
    proxy.close(r);
  }));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    cut() {
      for (const [a, b] of [...open]) {
        a.destroy();
        b.destroy();
      }
    },
  };
}
