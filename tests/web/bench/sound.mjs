// `scripts/bench sound`: how far the remote PC's sound is behind its sound
// card, in the browser and in the native viewer, with the picture of the
// same event beside it. A real PulseAudio server on each side (pulse.mjs):
// the host records its server's default sink; the native viewer plays into
// a second server, whose sink is recorded too.
//
// BURSTS (default 30) times the bench clicks the window on the host's
// display that flips red/blue and writes a 60 ms tone burst into a playback
// stream of the host's server. Measured, on this machine's wall clock:
// - the host's sound card: when the burst shows in its sink's monitor
//   (5 ms blocks, parec), the reference of every audio figure;
// - browser audio: the first 1 ms poll of a WebAudio analyser on the
//   session's sound that hears it;
// - native audio: when the burst shows in the viewer side's sink monitor
//   (the native viewer's own output), recorded like the host's;
// - video, beside them: click to photon in the same run (the page's own
//   measure, as scripts/bench e2e takes it; the native viewer's
//   --measure-latency), since a picture's path is measured from an input.
// `audio_minus_video_p50_ms` compares the two medians; goals: audio at most
// 60 ms behind the card, within 40 ms of the video. Silence: audio bytes
// per second over 10 s without sound.
// Prints one JSON document. The binaries come from MESHDESK_BIN_DIR.

import { execFileSync, spawn } from 'node:child_process';
import {
  bin, cleanup, createUser, launchBrowser, onlineDevice, runBench, signIn, startDevice, startServer, tempDir, waitFor,
} from '../harness.mjs';
import { clickToPhoton, pageProbe, summary } from './measure.mjs';
import { silence, startPulse, tone } from '../pulse.mjs';

const BURSTS = Number(process.env.SOUND_BURSTS ?? 30);
const TONE_HZ = 1000;
/** Pause between events: longer than any latency measured. */
const GAP_MS = 700;

/** Onsets of sound (after 150 ms of silence) in a server's sink monitor. */
function onsets(pulse) {
  const at = [];
  let quiet = 0;
  pulse.record((t, block) => {
    let e = 0;
    for (const s of block) e += s * s;
    const loud = Math.sqrt(e / block.length) > 0.02;
    if (loud && quiet >= 30) at.push(t);
    quiet = loud ? 0 : quiet + 1;
  }, 5);
  return at;
}

/** In the page: onsets of the session's sound, on the epoch clock. */
function pageRecorders() {
  const rec = { audio: [] };
  const epoch = () => performance.timeOrigin + performance.now();
  const el = document.querySelector('[data-testid="remote-sound"]');
  const ctx = new AudioContext({ sampleRate: 48000 });
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 256;
  ctx.createMediaStreamSource(el.srcObject).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let quietSince = epoch();
  setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    let e = 0;
    for (const s of buf) e += s * s;
    const now = epoch();
    if (Math.sqrt(e / buf.length) > 0.02) {
      if (now - quietSince > 150) rec.audio.push(now);
      quietSince = Infinity;
    } else if (quietSince === Infinity) {
      quietSince = now;
    }
  }, 1);
  window.__rec = rec;
  return ctx.resume();
}

/** The first time in `xs` after `t`, within GAP_MS. */
const firstAfter = (xs, t) => xs.find((x) => x >= t && x < t + GAP_MS) ?? null;

/** BURSTS events: flip the window and play a burst; returns the t0s. */
async function events(x, speaker) {
  const burst = Buffer.concat([tone(TONE_HZ, 0.06), silence(0.02)]);
  const t0s = [];
  for (let i = 0; i < BURSTS; i++) {
    t0s.push(Date.now());
    // The flip window covers the screen.
    x.run('xdotool', ['mousemove', '20', '20', 'click', '1']);
    speaker.stdin.write(burst);
    await new Promise((r) => setTimeout(r, GAP_MS + Math.random() * 100));
  }
  return t0s;
}

/** Audio bytes received per second in the page over `ms` of silence. */
async function silentRate(page, ms) {
  const bytes = () => page.evaluate(async () => {
    const stats = await window.__pc.getStats();
    let b = 0;
    stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') b += s.bytesReceived; });
    return b;
  });
  const b0 = await bytes();
  await page.waitForTimeout(ms);
  return ((await bytes()) - b0) / (ms / 1000);
}

async function main() {
  const pc = await startPulse();
  const speakers = await startPulse();
  const server = await startServer();
  const alice = await createUser(server, 'alice');
  const d = await startDevice(server, alice, {
    name: 'speaker-pc', probe: { color: 'ff0000', flip: '0000ff' }, env: { PULSE_SERVER: pc.server },
  });
  const cardOnsets = onsets(pc);
  const speaker = pc.stream();

  // The browser.
  // Playing to a sound card, as a user's browser does (a muted browser's
  // audio output runs on a fake device with coarser buffers).
  const browser = await launchBrowser(server, { speakers });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.addInitScript(pageProbe, '[data-testid="remote-screen"]');
  // The page's peer connection, for its audio byte counts.
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = function (...a) { window.__pc = new Native(...a); return window.__pc; };
    window.RTCPeerConnection.prototype = Native.prototype;
  });
  const page = await context.newPage();
  await signIn(page, server, 'alice');
  await onlineDevice(page, d.deviceId).getByRole('button', { name: /Connect/ }).click();
  await page.getByRole('button', { name: 'Sound' }).waitFor();
  await waitFor('the picture', () => page.evaluate(() => window.__bench.pixel() !== null));
  await page.evaluate(pageRecorders);
  const silent = await silentRate(page, 10000);
  const t0s = await events(d.x, speaker);
  const rec = await page.evaluate(() => window.__rec);
  // Chromium's own account of the sound's wait in its jitter buffer.
  const jitterBufferMs = await page.evaluate(async () => {
    let ms = null;
    (await window.__pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.jitterBufferEmittedCount) {
        ms = (1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount;
      }
    });
    return ms;
  });
  const browserAudio = t0s.map((t0) => {
    const card = firstAfter(cardOnsets, t0);
    const audio = card === null ? null : firstAfter(rec.audio, card);
    return audio === null ? null : audio - card;
  });
  // The picture's path in the same session: click to photon.
  const at = await page.getByTestId('remote-screen').evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  });
  await clickToPhoton(page, at, 3);
  const browserVideo = await clickToPhoton(page, at, BURSTS);
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await context.close();

  // The native viewer, playing into the second server.
  const home = viewerHome(server);
  const viewerEnv = { ...process.env, PULSE_SERVER: speakers.server };
  const heard = onsets(speakers);
  const viewer = spawn(bin('meshdesk-viewer'),
    ['--config', home, 'connect', 'speaker-pc', '--headless', '--duration', String(Math.ceil(BURSTS * 0.85) + 8)],
    { env: viewerEnv, stdio: 'ignore' });
  await waitFor('the native viewer playing', () => {
    const line = execFileSync('pactl', ['list', 'short', 'sink-inputs'], { env: viewerEnv }).toString();
    return line.trim().length > 0;
  });
  const nt0s = await events(d.x, speaker);
  const nativeAudio = nt0s.map((t0) => {
    const card = firstAfter(cardOnsets, t0);
    const out = card === null ? null : firstAfter(heard, card);
    return out === null ? null : out - card;
  });
  await new Promise((r) => viewer.on('exit', r));
  const measured = JSON.parse(execFileSync(bin('meshdesk-viewer'),
    ['--config', home, 'connect', 'speaker-pc', '--headless', '--no-sound', '--measure-latency', String(BURSTS), '--stats-json'],
    { env: viewerEnv }).toString());

  await cleanup();
  const browser_ = { audio: summary(browserAudio), video: summary(browserVideo) };
  const { n, lost, min, p50, p95, max } = measured.input_to_photon_ms ?? {};
  const native = { audio: summary(nativeAudio), video: p50 === undefined ? null : { n, lost, min, p50, p95, max } };
  const skew = (x) => (x.audio.p50 === null || !x.video?.p50 ? null : Math.round((x.audio.p50 - x.video.p50) * 10) / 10);
  return {
    bursts: BURSTS,
    browser: {
      audio_behind_card_ms: browser_.audio,
      video_click_to_photon_ms: browser_.video,
      audio_minus_video_p50_ms: skew(browser_),
      silence_audio_bytes_per_s: Math.round(silent),
      jitter_buffer_mean_ms: jitterBufferMs === null ? null : Math.round(jitterBufferMs * 10) / 10,
    },
    native: {
      audio_behind_card_ms: native.audio,
      video_click_to_photon_ms: native.video,
      audio_minus_video_p50_ms: skew(native),
    },
    goals: { audio_behind_card_ms: 60, audio_minus_video_ms: 40, silence_bytes_per_s: 1000 },
    samples: { browser_audio_ms: browserAudio, native_audio_ms: nativeAudio },
  };
}

/** A native viewer signed in as alice; returns its login file. */
function viewerHome(server) {
  const config = `${tempDir('viewer')}/viewer.toml`;
  execFileSync(bin('meshdesk-viewer'), ['login', '--config', config, '--server', server.url, '--username', 'alice'],
    { env: { ...process.env, MESHDESK_PASSWORD: 'correct horse battery' } });
  return config;
}

runBench(main);
