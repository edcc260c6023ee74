// Measurements as a user feels them, in the viewer's own clock (the page's
// performance.now()): input-to-photon, page load to first frame, bytes per
// second and CPU. Shared by `scripts/bench e2e` and the instrument's test.
//
// Content: a full-screen meshdesk-xprobe window that flips between two
// colours on every press. A click is timed from the page's own pointerdown
// event to the first animation frame whose picture shows the new colour,
// read back through a canvas.

import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const COLOURS = { a: [255, 0, 0], b: [0, 0, 255] };

/**
 * Installed into every page: finds the picture element, samples its centre
 * pixel on each animation frame, and exposes helpers on window.__bench.
 * `selector` names the element (the video or canvas).
 */
export function pageProbe(selector) {
  const canvas = document.createElement('canvas');
  canvas.width = 1;
  canvas.height = 1;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const bench = {
    firstFrameAt: null,
    lastPress: null,
    pixel(nx = 0.5, ny = 0.5) {
      const el = document.querySelector(selector);
      if (!el) return null;
      const w = el.videoWidth ?? el.width;
      const h = el.videoHeight ?? el.height;
      if (!w || !h) return null;
      g.drawImage(el, Math.floor(nx * (w - 1)), Math.floor(ny * (h - 1)), 1, 1, 0, 0, 1, 1);
      const d = g.getImageData(0, 0, 1, 1).data;
      return [d[0], d[1], d[2]];
    },
    /** Resolves with performance.now() at the first frame showing `rgb`. */
    waitColour(rgb, timeoutMs = 5000) {
      const near = (p) => p && p.every((v, i) => Math.abs(v - rgb[i]) <= 60);
      const deadline = performance.now() + timeoutMs;
      return new Promise((resolve) => {
        const tick = () => {
          const now = performance.now();
          if (near(bench.pixel())) resolve(now);
          else if (now > deadline) resolve(null);
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
    },
  };
  // When the picture first shows anything but black, from navigation start:
  // the time of the animation frame that shows it, taken before reading it
  // back (as in waitColour), since the first read of a <video> costs the
  // page up to 30 ms that a canvas does not.
  const watch = () => {
    const now = performance.now();
    const p = bench.pixel();
    if (p && p.some((v) => v > 60)) bench.firstFrameAt = now;
    else requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
  document.addEventListener('pointerdown', () => { bench.lastPress = performance.now(); }, true);
  window.__bench = bench;
}

const other = (rgb) => (rgb[0] > rgb[2] ? COLOURS.b : COLOURS.a);

/**
 * `n` click-to-photon samples on `page`, clicking at page point `at`.
 * Returns the latencies in ms (null for a sample whose flip never showed).
 */
export async function clickToPhoton(page, at, n) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const now = await page.evaluate(() => window.__bench.pixel());
    const want = other(now ?? COLOURS.a);
    const seen = page.evaluate((rgb) => window.__bench.waitColour(rgb), want);
    await page.mouse.click(at.x, at.y);
    const t1 = await seen;
    const t0 = await page.evaluate(() => window.__bench.lastPress);
    samples.push(t1 === null ? null : t1 - t0);
    // Let the picture settle before the next press (pacing, not waiting on
    // a condition: the next sample reads the colour it starts from).
    await page.waitForTimeout(60 + Math.random() * 60);
  }
  return samples;
}

/** min, p50, p95, max of the numbers in `xs` (nulls counted as lost). */
export function summary(xs) {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  const q = (p) => (v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : null);
  const r = (x) => (x === null ? null : Math.round(x * 10) / 10);
  return { n: v.length, lost: xs.length - v.length, min: r(v[0] ?? null), p50: r(q(0.5)), p95: r(q(0.95)), max: r(v.at(-1) ?? null) };
}

/**
 * Run in the page (`page.evaluate(timeUntilShown, want)`): ms from now to
 * the first animation frame whose picture is `want.width` x `want.height`
 * with `want.rgb` at its centre; null after 10 s.
 */
export function timeUntilShown(want) {
  return new Promise((resolve) => {
    const started = performance.now();
    const c = document.createElement('canvas');
    const g = c.getContext('2d', { willReadFrequently: true });
    const look = (now) => {
      const v = document.querySelector('[data-testid="remote-screen"]');
      const w = v.videoWidth ?? v.width;
      const h = v.videoHeight ?? v.height;
      if (w === want.width && h === want.height) {
        c.width = w;
        c.height = h;
        g.drawImage(v, 0, 0);
        const d = g.getImageData(w >> 1, h >> 1, 1, 1).data;
        if ([0, 1, 2].every((i) => Math.abs(d[i] - want.rgb[i]) <= 60)) return resolve(now - started);
      }
      if (now - started > 10000) return resolve(null);
      requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
}

/** Total CPU time (user + system) of processes, in seconds. */
export function cpuSeconds(pids) {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / tick;
    } catch { /* exited */ }
  }
  return total;
}

/** Process ids whose command name is `name`. */
export function pidsOf(name) {
  try {
    return execFileSync('pgrep', ['-x', name]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Share of one core used by `pids` while `during()` runs. */
export async function cpuShare(pids, during) {
  const list = typeof pids === 'function' ? pids : () => pids;
  const c0 = cpuSeconds(list());
  const t0 = performance.now();
  const result = await during();
  const c1 = cpuSeconds(list());
  const secs = (performance.now() - t0) / 1000;
  return { share: Math.round(((c1 - c0) / secs) * 1000) / 1000, result };
}
