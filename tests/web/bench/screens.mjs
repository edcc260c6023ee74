// `scripts/bench screens`: how long a switch of monitor takes in the
// browser, from the Screen menu's choice to the first animation frame that
// shows the other monitor (its size, its colour at the centre), timed in
// the page's own clock. The display is TigerVNC's Xvnc with two RandR
// monitors (A 1280x720 red, B 1024x768 blue, as in
// tests/web/screens.test.mjs); one session per renderer switches back and
// forth SCREENS_SWITCHES times (default 30). Prints one JSON document:
// p50, p95, min and max per renderer and direction, and every sample.
// The binaries come from MESHDESK_BIN_DIR.

import {
  cleanup, createUser, enrollWithToken, launchBrowser, newPage, probeWindow, runBench, signIn, startHost,
  startServer, startXvfb, waitFor, waitOnline,
} from '../harness.mjs';
import { summary, timeUntilShown } from './measure.mjs';

const SWITCHES = Number(process.env.SCREENS_SWITCHES ?? 30);
const MONITORS = {
  A: { width: 1280, height: 720, rgb: [255, 0, 0] },
  B: { width: 1024, height: 768, rgb: [0, 0, 255] },
};

async function main() {
  const server = await startServer();
  const alice = await createUser(server, 'alice');
  const x = await startXvfb(2304, 768, { resizable: true });
  x.run('xrandr', ['--setmonitor', 'A', '1280/340x720/190+0+0', 'VNC-0']);
  x.run('xrandr', ['--setmonitor', 'B', '1024/270x768/200+1280+0', 'none']);
  await probeWindow(x, { width: 1280, height: 720, left: 0, top: 0, color: 'ff0000' });
  await probeWindow(x, { width: 1024, height: 768, left: 1280, top: 0, color: '0000ff' });
  const { config, deviceId } = await enrollWithToken(server, alice, 'two-screens');
  startHost(x, config);
  await waitOnline(server, alice, deviceId);
  const browser = await launchBrowser(server);
  const results = {};
  for (const render of ['video', 'webcodecs']) {
    const page = await newPage(browser);
    await signIn(page, server, 'alice');
    const query = render === 'video' ? '' : `?render=${render}`;
    await page.goto(`${server.url}/${query}#/session/${encodeURIComponent(deviceId)}`);
    const menu = page.getByLabel('Screen', { exact: true });
    await waitFor('the Screen menu', () => menu.isVisible());
    await page.evaluate(timeUntilShown, MONITORS.A);
    const samples = { 'A->B': [], 'B->A': [] };
    let lost = 0;
    for (let i = 0; i < SWITCHES; i += 1) {
      const [from, to] = i % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
      const shown = page.evaluate(timeUntilShown, MONITORS[to]);
      await menu.selectOption(to);
      const ms = await shown;
      if (ms === null) {
        lost += 1;
        console.error(`bench screens: ${render} ${from}->${to} never showed`);
        await page.evaluate(timeUntilShown, MONITORS[to]);
      } else {
        samples[`${from}->${to}`].push(Math.round(ms * 10) / 10);
      }
    }
    const all = [...samples['A->B'], ...samples['B->A']];
    results[render] = { switches: SWITCHES, lost, all: summary(all), ...samples };
    console.error(`bench screens: ${render} p50 ${summary(all).p50} ms`);
    await page.close();
  }
  await cleanup();
  return {
    what: 'Screen menu choice to the first animation frame showing the other monitor (ms, page clock)',
    load_average_after: (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').trim(),
    results,
  };
}

runBench(main);
