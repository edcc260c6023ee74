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
//   session's sound that hears it, on both of the page's paths in the same
//   run: its own player (the `sound` data channel, `browser`) and the
//   audio track (`?sound=track`, `browser_audio_track`);
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
    // On the audio track, or on the `sound` channel where the page plays
    // the sound itself.
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') b += s.bytesReceived;
      if (s.type === 'data-channel' && s.label === 'sound') b += s.bytesReceived;
    });
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

  // The browser, on both of its paths for the sound, in this run: its own
  // player (the `sound` channel) and the audio track (?sound=track).
  // Playing to a sound card, as a user's browser does (a muted browser's
  // audio output runs on a fake device with coarser buffers).
  const browser = await launchBrowser(server, { speakers });
  const ownPlayer = await measureBrowser(browser, server, d, speaker, cardOnsets, '');
  const track = await measureBrowser(browser, server, d, speaker, cardOnsets, '?sound=track');

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
  const { n, lost, min, p50, p95, max } = measured.input_to_photon_ms ?? {};
  const nativeSound = summary(nativeAudio);
  const nativeVideo = p50 === undefined ? null : { n, lost, min, p50, p95, max };
  return {
    bursts: BURSTS,
    browser: ownPlayer,
    browser_audio_track: track,
    native: {
      audio_behind_card_ms: nativeSound,
      video_click_to_photon_ms: nativeVideo,
      audio_minus_video_p50_ms: nativeSound.p50 === null || !nativeVideo
        ? null : Math.round((nativeSound.p50 - nativeVideo.p50) * 10) / 10,
      samples_ms: nativeAudio,
    },
    goals: { audio_behind_card_ms: 60, audio_minus_video_ms: 40, silence_bytes_per_s: 1000 },
  };
}

/** One browser session on the page at `query`: its sound and picture. */
async function measureBrowser(browser, server, d, speaker, cardOnsets, query) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.addInitScript(pageProbe, '[data-testid="remote-screen"]');
  // The page's peer connection, for its audio byte counts.
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = function (...a) { window.__pc = new Native(...a); return window.__pc; };
    window.RTCPeerConnection.prototype = Native.prototype;
  });
  const page = await context.newPage();
  await page.goto(`${server.url}/${query}`);
  await signIn(page, server, 'alice');
  if (query) await page.goto(`${server.url}/${query}`);
  await onlineDevice(page, d.deviceId).getByRole('button', { name: /Connect/ }).click();
  await page.getByRole('button', { name: 'Sound' }).waitFor();
  await waitFor('the picture', () => page.evaluate(() => window.__bench.pixel() !== null));
  await waitFor('the sound', () => page.evaluate(() => Boolean(document.querySelector('[data-testid="remote-sound"]').srcObject)));
  await page.evaluate(pageRecorders);
  const silent = await silentRate(page, 10000);
  const t0s = await events(d.x, speaker);
  const rec = await page.evaluate(() => window.__rec);
  // Chromium's own account of the sound's wait in its jitter buffer (on
  // the track), and which path the sound took.
  const { jitterBufferMs, path } = await page.evaluate(async () => {
    let ms = null;
    let channel = 0;
    (await window.__pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.jitterBufferEmittedCount) {
        ms = (1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount;
      }
      if (s.type === 'data-channel' && s.label === 'sound') channel = s.bytesReceived;
    });
    return { jitterBufferMs: ms, path: channel > 0 ? 'sound channel' : 'audio track' };
  });
  const audio = t0s.map((t0) => {
    const card = firstAfter(cardOnsets, t0);
    const heard = card === null ? null : firstAfter(rec.audio, card);
    return heard === null ? null : heard - card;
  });
  // The picture's path in the same session: click to photon.
  const at = await page.getByTestId('remote-screen').evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  });
  await clickToPhoton(page, at, 3);
  const video = await clickToPhoton(page, at, BURSTS);
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await context.close();
  const a = summary(audio);
  const v = summary(video);
  return {
    path,
    audio_behind_card_ms: a,
    video_click_to_photon_ms: v,
    audio_minus_video_p50_ms: a.p50 === null || v.p50 === null ? null : Math.round((a.p50 - v.p50) * 10) / 10,
    jitter_buffer_mean_ms: jitterBufferMs === null ? null : Math.round(jitterBufferMs * 10) / 10,
    silence_audio_bytes_per_s: Math.round(silent),
    samples_ms: audio,
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
