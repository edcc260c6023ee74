// A real PulseAudio server per side of a browser test or bench, as
// tests/src/pulse.rs starts them for the Rust tests: a socket in a
// temporary directory and one null sink, `out`, as the default. The host
// records `out.monitor` of its server; a browser or native viewer plays
// into its own server, whose monitor the test records. Tones are raw
// s16le stereo 48 kHz, played with pacat and recorded with parec.

import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atCleanup, tempDir, waitFor } from './harness.mjs';

export const RATE = 48000;
/** One analysis block: 20 ms (recordings may ask for shorter ones). */
const BLOCK = RATE / 50;

/** Start a server; resolves once it answers. */
export async function startPulse() {
  const dir = tempDir('pulse');
  const socket = join(dir, 'native');
  const env = { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir };
  const child = spawn('pulseaudio', [
    '-n', '--daemonize=no', '--system=false', '--exit-idle-time=-1', '--use-pid-file=no', '--log-target=stderr',
    `--load=module-native-protocol-unix socket=${socket} auth-anonymous=1`,
    '--load=module-null-sink sink_name=out rate=48000 channels=2',
  ], { env, stdio: 'ignore' });
  atCleanup(() => child.kill('SIGKILL'));
  const server = `unix:${socket}`;
  const toolEnv = { ...env, PULSE_SERVER: server };
  await waitFor('PulseAudio to answer', () => {
    try {
      return execFileSync('pactl', ['info'], { env: toolEnv, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString().includes('Default Sink: out');
    } catch {
      return false;
    }
  });
  const raw = ['--raw', '--format=s16le', '--rate=48000', '--channels=2', '--latency-msec=10'];
  return {
    server,
    /** Play raw samples on the default sink; returns the child (kill to stop). */
    play(samples, tag = 'sound') {
      const file = join(dir, `${tag}.raw`);
      writeFileSync(file, samples);
      const p = spawn('pacat', ['--playback', ...raw, file], { env: toolEnv, stdio: 'ignore' });
      atCleanup(() => p.kill('SIGKILL'));
      return p;
    },
    /** Play what is written to the returned child's stdin. */
    stream() {
      const p = spawn('pacat', ['--playback', ...raw], { env: toolEnv, stdio: ['pipe', 'ignore', 'ignore'] });
      atCleanup(() => p.kill('SIGKILL'));
      return p;
    },
    /**
     * Record the default sink's monitor: `onBlock(at, mono)` for every
     * block of `blockMs` (`at`: Date.now() when it was read). Returns stop().
     */
    record(onBlock, blockMs = 20) {
      const BLOCK = (RATE * blockMs) / 1000;
      const latency = `--latency-msec=${Math.min(10, blockMs)}`;
      const p = spawn('parec', ['--device=out.monitor', ...raw.slice(0, -1), latency],
        { env: toolEnv, stdio: ['ignore', 'pipe', 'ignore'] });
      let buf = Buffer.alloc(0);
      p.stdout.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= BLOCK * 4) {
          const block = new Float64Array(BLOCK);
          for (let i = 0; i < BLOCK; i++) {
            block[i] = (buf.readInt16LE(i * 4) + buf.readInt16LE(i * 4 + 2)) / 2 / 32768;
          }
          buf = buf.subarray(BLOCK * 4);
          onBlock(Date.now(), block);
        }
      });
      const stop = () => p.kill('SIGKILL');
      atCleanup(stop);
      return stop;
    },
  };
}

/** Raw s16le stereo samples: a sine of `freq` Hz at a quarter of full scale. */
export function tone(freq, seconds) {
  const n = Math.round(seconds * RATE);
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    const v = Math.round(0.25 * 32767 * Math.sin((2 * Math.PI * freq * i) / RATE));
    out.writeInt16LE(v, i * 4);
    out.writeInt16LE(v, i * 4 + 2);
  }
  return out;
}

/** Silence of `seconds`, in the same format. */
export const silence = (seconds) => Buffer.alloc(Math.round(seconds * RATE) * 4);

/** Whether a block is audible and mostly a tone of `freq` (Goertzel). */
export function hasTone(block, freq) {
  let total = 0;
  for (const s of block) total += s * s;
  const rms = Math.sqrt(total / block.length);
  if (rms <= 0.02) return false;
  const w = (2 * Math.PI * freq) / RATE;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const x of block) {
    const s = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * power) / (block.length * total) > 0.5;
}

/**
 * In the page: the frequency of the loudest bin of the PC's sound (the
 * session's <audio> element's stream, through a WebAudio analyser), or
 * null while it is silent. Run with page.evaluate.
 */
export async function pageToneHz() {
  const el = document.querySelector('[data-testid="remote-sound"]');
  if (!el?.srcObject) return null;
  if (!window.__soundAnalyser || window.__soundAnalyser.stream !== el.srcObject) {
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    ctx.createMediaStreamSource(el.srcObject).connect(analyser);
    window.__soundAnalyser = { stream: el.srcObject, analyser, ctx };
  }
  const { analyser, ctx } = window.__soundAnalyser;
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  if (bins[best] < -60) return null;
  return (best * ctx.sampleRate) / analyser.fftSize;
}
