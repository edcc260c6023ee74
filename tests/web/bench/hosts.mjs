// `scripts/bench hosts OLD NEW`: two meshdesk-host binaries compared in one
// sitting. On this shared machine speed drifts by tens of percent between
// runs, so a change to the host is judged by alternating the old and the
// new binary, round after round, on the same flip window, viewers and
// server: old, new, old, new... Each round starts a fresh Xvfb desktop
// with the round's binary and measures, in the viewers' own clocks:
//   - native input to photon (meshdesk-viewer --measure-latency), with its
//     split into click-to-decoder and decoding;
//   - browser input to photon (the <video> renderer);
//   - with HOSTS_CONNECTS > 0, native connect to first frame.
// Prints one JSON document: every round, and per binary a summary (median,
// range) of the rounds' p50s.
//
// Options (env): HOSTS_ROUNDS (6), HOSTS_SAMPLES (40 clicks per viewer and
// round), HOSTS_CONNECTS (0), HOSTS_RESOLUTION (1280x720), and
// HOSTS_OLD_VIEWER with HOSTS_NEW_VIEWER: two meshdesk-viewer binaries that
// alternate with the hosts (old host with old viewer), for a change that
// touches both.
// The other binaries come from MESHDESK_BIN_DIR (release builds).

import { copyFileSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { summary } from './measure.mjs';

const [oldHost, newHost] = process.argv.slice(2).map((p) => resolve(p));
if (!oldHost || !newHost) {
  console.error('usage: node tests/web/bench/hosts.mjs OLD_HOST_BINARY NEW_HOST_BINARY');
  process.exit(2);
}
const env = process.env;
const ROUNDS = Number(env.HOSTS_ROUNDS ?? 6);
const SAMPLES = Number(env.HOSTS_SAMPLES ?? 40);
const CONNECTS = Number(env.HOSTS_CONNECTS ?? 0);
const [WIDTH, HEIGHT] = (env.HOSTS_RESOLUTION ?? '1280x720').split('x').map(Number);
const log = (...a) => console.error('[hosts]', ...a);

// The harness takes its binaries from MESHDESK_BIN_DIR when it loads: give
// it a directory of links to the real ones, whose meshdesk-host is replaced
// with the round's binary.
const realBins = resolve(env.MESHDESK_BIN_DIR ?? 'target/release');
const binDir = mkdtempSync(join(tmpdir(), 'meshdesk-hosts-'));
const viewers = env.HOSTS_OLD_VIEWER && env.HOSTS_NEW_VIEWER
  ? { old: resolve(env.HOSTS_OLD_VIEWER), new: resolve(env.HOSTS_NEW_VIEWER) }
  : null;
for (const name of ['meshdesk-signaling', 'meshdesk-xprobe', ...(viewers ? [] : ['meshdesk-viewer'])]) {
  symlinkSync(join(realBins, name), join(binDir, name));
}
env.MESHDESK_BIN_DIR = binDir;
const { cleanup, runBench } = await import('../harness.mjs');
const { desktop, measureMeshdesk, measureNative, online, setup } = await import('./e2e.mjs');

/** Median and range of one figure's per-round p50s, per binary. */
function compare(rounds, pick) {
  const out = {};
  for (const which of ['old', 'new']) out[which] = summary(rounds.filter((r) => r.host === which).map(pick));
  out.new_over_old = out.old.p50 ? Math.round((out.new.p50 / out.old.p50) * 100) / 100 : null;
  return out;
}

async function main() {
  const { server, token, context } = await setup();
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const which = r % 2 === 0 ? 'old' : 'new';
    copyFileSync(which === 'old' ? oldHost : newHost, join(binDir, 'meshdesk-host'));
    if (viewers) copyFileSync(viewers[which], join(binDir, 'meshdesk-viewer'));
    const d = await desktop(server, token, WIDTH, HEIGHT);
    await online(server, token, d);
    const native = await measureNative(server, d, { samples: SAMPLES, loads: CONNECTS });
    const browser = await measureMeshdesk(context, server, d, { loads: 0, samples: SAMPLES, bandwidth: false });
    const round = {
      host: which,
      native_input_to_photon_ms: native.input_to_photon_ms,
      native_click_to_decoder_ms: native.click_to_decoder_ms,
      native_decode_ms: native.decode_ms,
      browser_input_to_photon_ms: browser.input_to_photon_ms,
    };
    if (CONNECTS) round.native_first_frame_ms = native.first_frame_ms;
    log(`round ${r + 1}/${ROUNDS} (${which})`, JSON.stringify({
      native: round.native_input_to_photon_ms.p50, browser: round.browser_input_to_photon_ms.p50,
    }));
    rounds.push(round);
    await d.host.stop();
    await d.flipper.stop();
  }
  const result = {
    date: new Date().toISOString(),
    hosts: { old: oldHost, new: newHost },
    viewers,
    resolution: `${WIDTH}x${HEIGHT}`,
    samples_per_round: SAMPLES,
    summary: {
      native_input_to_photon_p50_ms: compare(rounds, (r) => r.native_input_to_photon_ms.p50),
      native_click_to_decoder_p50_ms: compare(rounds, (r) => r.native_click_to_decoder_ms?.p50),
      browser_input_to_photon_p50_ms: compare(rounds, (r) => r.browser_input_to_photon_ms.p50),
    },
    rounds,
  };
  if (CONNECTS) result.summary.native_first_frame_p50_ms = compare(rounds, (r) => r.native_first_frame_ms.p50);
  await cleanup();
  return result;
}

runBench(main);
