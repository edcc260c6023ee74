// `scripts/bench screens`: how long a switch of monitor takes in the
// browser, from the Screen menu's choice to the first animation frame that
// shows the other monitor (its size, its colour at the centre), timed in
// the page's own clock. The display is TigerVNC's Xvnc with two RandR
// monitors (A 1280x720 red, B 1024x768 blue, as in
// tests/web/screens.test.mjs); one session per renderer switches back and
// forth SCREENS_SWITCHES times (default 30). Prints one JSON document:
// p50, p95, min and max per renderer and direction, and every sample.
// The binaries come from MESHDESK_BIN_DIR.

import { readFileSync } from 'node:fs';
import {
  cleanup, launchBrowser, newPage, runBench, signIn, startTwoScreens, waitFor,
} from '../harness.mjs';
import { summary, timeUntilShown } from './measure.mjs';

const SWITCHES = Number(process.env.SCREENS_SWITCHES ?? 30);
const MONITORS = {
  A: { width: 1280, height: 720, rgb: [255, 0, 0] },
  B: { width: 1024, height: 768, rgb: [0, 0, 255] },
};

async function main() {
  const { server, deviceId } = await startTwoScreens();
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
    load_average_after: readFileSync('/proc/loadavg', 'utf8').trim(),
    results,
  };
}

runBench(main);
