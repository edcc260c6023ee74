// `scripts/bench e2e`: input-to-photon, first frame, bandwidth and CPU for
// the Meshdesk browser viewer and, in the same run on the same Xvfb content,
// for x11vnc + noVNC in the same Chromium; host CPU against ffmpeg's
// x11grab + libx264; and the native viewer's input-to-photon and first frame
// (`meshdesk-viewer connect --headless --measure-latency N`). Prints one JSON
// document on stdout.
//
// Options (env): BENCH_SAMPLES (100), BENCH_LOADS (20), BENCH_SECONDS (10),
// BENCH_VNC=0 to skip the VNC side, BENCH_RESOLUTIONS ("1280x720,1920x1080").

import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import {
  bin, cleanup, createUser, launchBrowser, runBench, startDevice, startServer, tempDir, waitFor, waitOnline,
} from '../harness.mjs';
import { clickToPhoton, cpuShare, pageProbe, pidsOf, summary } from './measure.mjs';

const env = process.env;
const SAMPLES = Number(env.BENCH_SAMPLES ?? 100);
const LOADS = Number(env.BENCH_LOADS ?? 20);
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const WITH_VNC = env.BENCH_VNC !== '0';
const RESOLUTIONS = (env.BENCH_RESOLUTIONS ?? '1280x720,1920x1080').split(',').map((r) => r.split('x').map(Number));
const log = (...a) => console.error('[bench]', ...a);

/** Spawn a helper process that cleanup() does not know: stop it yourself. */
function run(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  child.stopped = new Promise((r) => child.on('exit', r));
  child.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await child.stopped;
  };
  return child;
}

const freePort = (() => {
  let next = 20000 + Math.floor(Math.random() * 20000);
  return () => next++;
})();

/** The flip window over the whole screen, and a Meshdesk host showing it. */
export async function desktop(server, token, width, height) {
  const { x, host, deviceId, probe } = await startDevice(server, token, {
    name: `bench-${width}x${height}`, width, height, probe: { color: 'ff0000', flip: '0000ff' },
  });
  return { x, host, deviceId, flipper: probe.proc, width, height };
}

/** The page point at the centre of the picture element. */
async function centre(page, selector) {
  return page.evaluate((sel) => {
    const r = document.querySelector(sel).getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }, selector);
}

const MESH_SEL = '[data-testid="remote-screen"]';
const VNC_SEL = '#screen canvas';

const meshdeskUrl = (server, deviceId, render) => `${server.url}/${render ? `?render=${render}` : ''}#/session/${deviceId}`;
const vncUrl = (vnc, scale) => `http://127.0.0.1:${vnc.webPort}/vnc_lite.html?host=127.0.0.1&port=${vnc.webPort}${scale === 'window' ? '&scale=true' : ''}`;

/** Load `url` in `page` (a new one if not given); ms to its first frame. */
async function loadToFirstFrame(context, url, page = null) {
  const p = page ?? await context.newPage();
  await p.goto(url);
  await waitFor('the first frame', () => p.evaluate(() => window.__bench?.firstFrameAt), 20000);
  return { page: p, firstFrameMs: await p.evaluate(() => window.__bench.firstFrameAt) };
}

/**
 * Page load to first frame, `n` times: each in a new page (a new window
 * in headless Chromium, which also builds that window's own browser UI),
 * and each as a navigation in one open tab (from about:blank), as when a
 * bookmark or link is opened in a browser already running.
 */
async function pageLoads(context, url, n) {
  const fresh = [];
  for (let i = 0; i < n; i++) {
    const { page, firstFrameMs } = await loadToFirstFrame(context, url);
    fresh.push(firstFrameMs);
    await page.close();
  }
  const tab = await context.newPage();
  const sameTab = [];
  for (let i = 0; i < n; i++) {
    await tab.goto('about:blank');
    sameTab.push((await loadToFirstFrame(context, url, tab)).firstFrameMs);
  }
  await tab.close();
  return { page_load_to_first_frame_ms: summary(fresh), page_load_in_open_tab_ms: summary(sameTab) };
}

/**
 * The two floor pages, served over loopback from a port of their own:
 * - `/`: nothing but a picture drawn by its first script. No viewer can
 *   show its first frame sooner than this page on this machine.
 * - `/protocol`: `protocol-floor.html`, the least a page can do to show a
 *   Meshdesk host's picture (one inline script, a `<video>`), with the
 *   app page's Cross-Origin-Opener-Policy. What the app's page costs
 *   beyond the protocol is the difference. The signaling server must
 *   allow this origin (`allowed_origins`); the sign-in cookie is sent to
 *   every port of the host.
 */
async function startFloorPages() {
  const draw = '<!doctype html><meta charset="utf-8"><title>floor</title>' +
    '<canvas data-testid="remote-screen" width="16" height="16"></canvas>' +
    '<script>const g = document.querySelector("canvas").getContext("2d");' +
    'g.fillStyle = "#f00"; g.fillRect(0, 0, 16, 16);</script>';
  const protocol = readFileSync(new URL('./protocol-floor.html', import.meta.url), 'utf8');
  const http = createServer((req, res) => {
    const isProtocol = req.url.startsWith('/protocol');
    const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
    if (isProtocol) headers['cross-origin-opener-policy'] = 'same-origin';
    res.writeHead(200, headers);
    res.end(isProtocol ? protocol : draw);
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  // Ends with the process, whoever forgets to close it.
  http.unref();
  return { url: `http://127.0.0.1:${http.address().port}`, close: () => new Promise((r) => http.close(r)) };
}

/** This machine's floor for a page load to first frame (see startFloorPages). */
export function measureFloor(context, floor, n) {
  return pageLoads(context, `${floor.url}/`, n);
}

/** The protocol's floor in this browser: the minimal viewer page (see startFloorPages). */
export function measureProtocolFloor(context, floor, server, deviceId, n) {
  const ws = server.url.replace(/^http/, 'ws');
  return pageLoads(context, `${floor.url}/protocol?server=${encodeURIComponent(ws)}&device=${encodeURIComponent(deviceId)}`, n);
}

async function meshdeskPage(context, server, deviceId, render) {
  return loadToFirstFrame(context, meshdeskUrl(server, deviceId, render));
}

async function vncPage(context, vnc, scale) {
  const page = await context.newPage();
  page.wsBytes = 0;
  page.on('websocket', (ws) => ws.on('framereceived', (f) => { page.wsBytes += Buffer.byteLength(f.payload); }));
  return loadToFirstFrame(context, vncUrl(vnc, scale), page);
}

/** Bytes received by the page's peer connections (video, RTCP, consent). */
async function rtcBytes(page) {
  return page.evaluate(async () => {
    let bytes = 0;
    let frames = 0;
    for (const pc of window.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'transport') bytes += s.bytesReceived ?? 0;
        if (s.type === 'inbound-rtp') frames += s.framesDecoded ?? 0;
      });
    }
    // WebCodecs rendering decodes in the page, not in the media pipeline.
    const own = document.querySelector('[data-testid="remote-screen"]')?.framesDecoded ?? 0;
    return { bytes, frames: Math.max(frames, own) };
  });
}

/** Updates per second seen in the picture along a row (the moving bar). */
function updatesSeen(page, sel, ms) {
  return page.evaluate(({ sel, ms }) => new Promise((resolve) => {
    const el = document.querySelector(sel);
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 1;
    const g = c.getContext('2d', { willReadFrequently: true });
    let last = '';
    let changes = 0;
    const end = performance.now() + ms;
    const tick = () => {
      const w = el.videoWidth ?? el.width;
      const h = el.videoHeight ?? el.height;
      // The animated region is the top-left quarter: sample its middle row.
      g.drawImage(el, 0, Math.floor(h / 8), Math.floor(w / 2), 1, 0, 0, 64, 1);
      const sig = Array.from(g.getImageData(0, 0, 64, 1).data.filter((_, i) => i % 4 === 0)).map((v) => (v > 127 ? 1 : 0)).join('');
      if (sig !== last) changes += 1;
      last = sig;
      if (performance.now() < end) requestAnimationFrame(tick);
      else resolve(changes / (ms / 1000));
    };
    requestAnimationFrame(tick);
  }), { sel, ms });
}

async function withAnimation(d, fn) {
  const w = Math.floor(d.width / 2);
  const h = Math.floor(d.height / 4);
  const anim = run(bin('meshdesk-xprobe'), ['animate', '--geometry', `${w}x${h}+0+0`, '--color', '000000', '--hz', '30'],
    { env: { ...env, DISPLAY: d.x.display }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((r) => anim.stdout.once('data', r));
  try {
    return await fn();
  } finally {
    await anim.stop();
  }
}

const round = (x, k = 10) => Math.round(x * k) / k;

export async function measureMeshdesk(context, server, d, { loads, samples, bandwidth, render, scale }) {
  const out = {};
  if (loads) Object.assign(out, await pageLoads(context, meshdeskUrl(server, d.deviceId, render), loads));
  const { page } = await meshdeskPage(context, server, d.deviceId, render);
  out.render = await page.locator('.session').getAttribute('data-render');
  if (scale === 'window') {
    await page.getByRole('button', { name: 'Scale to window' }).click();
    await page.locator('.session[data-scale="window"]').waitFor();
    // The choice is remembered: forget it for the pages that follow.
    await page.evaluate(() => localStorage.removeItem('meshdesk.scale'));
  }
  out.scale = await page.locator('.session').getAttribute('data-scale');
  const at = await centre(page, MESH_SEL);
  await clickToPhoton(page, at, 3); // warm up
  out.input_to_photon_ms = summary(await clickToPhoton(page, at, samples));
  if (bandwidth) {
    const hostPid = [d.host.child.pid];
    const window = async () => {
      const b0 = await rtcBytes(page);
      const chrome0 = pidsOf('chromium');
      const r = await cpuShare(hostPid, async () => {
        const c = await cpuShare(() => chrome0, () => page.waitForTimeout(SECONDS * 1000));
        return c.share;
      });
      const b1 = await rtcBytes(page);
      return {
        bytes_per_s: round((b1.bytes - b0.bytes) / SECONDS),
        fps_decoded: round((b1.frames - b0.frames) / SECONDS),
        host_cpu: r.share,
        chromium_cpu: r.result,
      };
    };
    await page.waitForTimeout(1000);
    out.static = await window();
    out.motion_30hz = await withAnimation(d, async () => {
      await page.waitForTimeout(500);
      const w = await window();
      w.updates_seen_per_s = round(await updatesSeen(page, MESH_SEL, 3000));
      return w;
    });
  }
  await page.close();
  return out;
}

export async function startVnc(d) {
  const rfbPort = freePort();
  const webPort = freePort();
  const x11vnc = run('x11vnc', ['-display', d.x.display, '-rfbport', String(rfbPort), '-localhost', '-shared',
    '-forever', '-nopw', '-quiet']);
  const websockify = run('websockify', ['--web', '/usr/share/novnc', String(webPort), `127.0.0.1:${rfbPort}`]);
  await waitFor('noVNC to be served', async () => (await fetch(`http://127.0.0.1:${webPort}/vnc_lite.html`)).ok);
  return { x11vnc, websockify, webPort, stop: async () => { await websockify.stop(); await x11vnc.stop(); } };
}

export async function measureVnc(context, d, { loads, samples, bandwidth, scale }) {
  const vnc = await startVnc(d);
  const out = {};
  try {
    if (loads) Object.assign(out, await pageLoads(context, vncUrl(vnc, scale), loads));
    const { page } = await vncPage(context, vnc, scale);
    const at = await centre(page, VNC_SEL);
    await clickToPhoton(page, at, 3);
    out.input_to_photon_ms = summary(await clickToPhoton(page, at, samples));
    if (bandwidth) {
      const serverPids = [vnc.x11vnc.pid, vnc.websockify.pid];
      const window = async () => {
        const b0 = page.wsBytes;
        const chrome0 = pidsOf('chromium');
        const r = await cpuShare(serverPids, async () => {
          const c = await cpuShare(() => chrome0, () => page.waitForTimeout(SECONDS * 1000));
          return c.share;
        });
        return { bytes_per_s: round((page.wsBytes - b0) / SECONDS), host_cpu: r.share, chromium_cpu: r.result };
      };
      await page.waitForTimeout(1000);
      out.static = await window();
      out.motion_30hz = await withAnimation(d, async () => {
        await page.waitForTimeout(500);
        const w = await window();
        w.updates_seen_per_s = round(await updatesSeen(page, VNC_SEL, 3000));
        return w;
      });
    }
    await page.close();
  } finally {
    await vnc.stop();
  }
  return out;
}

/** ffmpeg x11grab + libx264 ultrafast/zerolatency on the same motion. */
async function measureFfmpeg(d) {
  return withAnimation(d, async () => {
    const ff = run('ffmpeg', ['-loglevel', 'error', '-f', 'x11grab', '-framerate', '30', '-video_size',
      `${d.width}x${d.height}`, '-i', d.x.display, '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
      '-f', 'null', '-']);
    await new Promise((r) => setTimeout(r, 1000));
    const { share } = await cpuShare([ff.pid], () => new Promise((r) => setTimeout(r, SECONDS * 1000)));
    await ff.stop();
    return { cpu: share };
  });
}

/**
 * The native viewer (meshdesk-viewer from MESHDESK_BIN_DIR, signed in as the
 * bench user with a private login file): `samples` clicks timed in its own
 * clock, from the click to the decode of the first picture showing the flip,
 * and `loads` connects timed to the first decoded picture.
 */
export async function measureNative(server, d, { samples, loads }) {
  const config = join(tempDir('native'), 'viewer.toml');
  const { DISPLAY, ...quiet } = env; // headless: no window, no display
  const viewer = (args, extra = {}) => promisify(execFile)(bin('meshdesk-viewer'), ['--config', config, ...args],
    { env: { ...quiet, ...extra }, timeout: 600000, maxBuffer: 1 << 20 });
  await viewer(['login', '--server', server.url, '--username', 'bench'], { MESHDESK_PASSWORD: 'correct horse battery' });
  const connect = async (n) => JSON.parse((await viewer(['connect', d.deviceId, '--headless', '--stats-json',
    '--measure-latency', String(n)])).stdout);
  const out = {};
  if (loads) {
    const times = [];
    for (let i = 0; i < loads; i++) times.push((await connect(0)).first_frame_ms);
    out.first_frame_ms = summary(times);
  }
  const r = (await connect(samples)).input_to_photon_ms;
  out.input_to_photon_ms = summary(r.samples);
  // Where the time goes: click to the frame's arrival at the decoder, and
  // its decoding (the viewer's own summaries).
  out.click_to_decoder_ms = r.to_decoder;
  out.decode_ms = r.decode;
  return out;
}

const ratio = (a, b) => (a !== null && b ? round(a / b, 100) : null);

/** Server, user, a signed-in browser context with the page probes, and the floor pages. */
export async function setup() {
  const floor = await startFloorPages();
  const server = await startServer(`signup = "open"\nallowed_origins = ["${floor.url}"]\n[relay]\nenabled = false\n`);
  const token = await createUser(server, 'bench');
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1920, height: 1200 } });
  await context.addInitScript(() => {
    const Orig = window.RTCPeerConnection;
    if (!Orig) return;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Orig {
      constructor(...args) {
        super(...args);
        window.__pcs.push(this);
      }
    };
  });
  // The probe needs the selector of the page it runs in.
  await context.addInitScript(`(${pageProbe})(location.pathname.includes('vnc') ? ${JSON.stringify(VNC_SEL)} : ${JSON.stringify(MESH_SEL)})`);
  const login = await context.newPage();
  await login.goto(server.url);
  await login.getByLabel('Username').fill('bench');
  await login.getByLabel('Password').fill('correct horse battery');
  await login.getByRole('button', { name: 'Sign in' }).click();
  await login.getByTestId('username').waitFor();
  await login.close();
  return { server, token, context, floor };
}

/** Wait until the desktop's host is online. */
export function online(server, token, d) {
  return waitOnline(server, token, d.deviceId);
}

export async function main() {
  const { server, token, context, floor } = await setup();

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
    samples: SAMPLES,
    loads: LOADS,
    seconds: SECONDS,
    runs: {},
  };
  for (const [w, h] of RESOLUTIONS) {
    const key = `${w}x${h}`;
    const first = key === '1280x720';
    log(`desktop ${key}`);
    const d = await desktop(server, token, w, h);
    await online(server, token, d);
    const opts = { loads: first ? LOADS : 0, samples: SAMPLES, bandwidth: first };
    const run1 = { meshdesk_browser: await measureMeshdesk(context, server, d, opts) };
    log(`meshdesk ${key}`, JSON.stringify(run1.meshdesk_browser.input_to_photon_ms));
    // The WebCodecs renderer (opt-in), for comparison.
    run1.meshdesk_browser_webcodecs = await measureMeshdesk(context, server, d, { ...opts, render: 'webcodecs' });
    log(`meshdesk webcodecs ${key}`, JSON.stringify(run1.meshdesk_browser_webcodecs.input_to_photon_ms));
    run1.meshdesk_native = await measureNative(server, d, { samples: SAMPLES, loads: first ? LOADS : 0 });
    log(`meshdesk native ${key}`, JSON.stringify(run1.meshdesk_native.input_to_photon_ms));
    if (WITH_VNC) {
      run1.vnc_browser = await measureVnc(context, d, opts);
      log(`vnc ${key}`, JSON.stringify(run1.vnc_browser.input_to_photon_ms));
    }
    // Both pictures enlarged to the 1920x1200 window as well (Meshdesk's
    // "Scale to window", noVNC's scale=true): same pixels on screen again.
    if (first) {
      const scaled = { ...opts, loads: 0, scale: 'window' };
      run1.meshdesk_browser_scaled = await measureMeshdesk(context, server, d, scaled);
      if (WITH_VNC) run1.vnc_browser_scaled = await measureVnc(context, d, scaled);
    }
    if (first) run1.ffmpeg_x264 = await measureFfmpeg(d);
    if (first && LOADS) {
      run1.page_floor = await measureFloor(context, floor, LOADS);
      run1.protocol_floor = await measureProtocolFloor(context, floor, server, d.deviceId, LOADS);
    }
    result.runs[key] = run1;
    await d.host.stop();
    await d.flipper.stop();
  }
  result.ratios = ratios(result.runs['1280x720']);
  await floor.close();
  await cleanup();
  return result;
}

/** Our figure over the reference's, where both exist. */
function ratios(r) {
  if (!r) return {};
  const m = r.meshdesk_browser;
  const v = r.vnc_browser;
  const out = {};
  if (v) {
    out.input_to_photon_p50_vs_vnc = ratio(m.input_to_photon_ms.p50, v.input_to_photon_ms.p50);
    out.input_to_photon_p95_vs_vnc = ratio(m.input_to_photon_ms.p95, v.input_to_photon_ms.p95);
    if (m.page_load_to_first_frame_ms) {
      out.first_frame_p50_vs_vnc = ratio(m.page_load_to_first_frame_ms.p50, v.page_load_to_first_frame_ms.p50);
      out.first_frame_in_open_tab_p50_vs_vnc = ratio(m.page_load_in_open_tab_ms.p50, v.page_load_in_open_tab_ms.p50);
    }
    if (m.motion_30hz && v.motion_30hz) {
      out.motion_bytes_vs_vnc = ratio(m.motion_30hz.bytes_per_s, v.motion_30hz.bytes_per_s);
      out.motion_chromium_cpu_vs_vnc = ratio(m.motion_30hz.chromium_cpu, v.motion_30hz.chromium_cpu);
    }
    const ms = r.meshdesk_browser_scaled;
    const vs = r.vnc_browser_scaled;
    if (ms?.motion_30hz && vs?.motion_30hz) {
      out.scaled_input_to_photon_p50_vs_vnc = ratio(ms.input_to_photon_ms.p50, vs.input_to_photon_ms.p50);
      out.scaled_motion_chromium_cpu_vs_vnc = ratio(ms.motion_30hz.chromium_cpu, vs.motion_30hz.chromium_cpu);
    }
  }
  if (r.ffmpeg_x264 && m.motion_30hz) out.host_cpu_vs_ffmpeg = ratio(m.motion_30hz.host_cpu, r.ffmpeg_x264.cpu);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) runBench(main);
