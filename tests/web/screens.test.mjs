// Every monitor of the remote PC in the browser: an X display with two
// RandR monitors of different sizes (TigerVNC's Xvnc 2304x768, monitor A
// 1280x720 at the left, B 1024x768 beside it) and a known colour on each.
// The toolbar's "Screen" menu lists both (and "All screens") and switches
// within the running session, to B's picture at B's size (the time from the choice to B's
// first picture is printed); `?screen=B` on a session link shows B from
// the start; a click on B lands on B's pixel.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, hex, inputReady, launchBrowser, near, newPage, recordSockets, remotePixel, screenPoint, signedInPage, signIn,
  startTwoScreens, waitFor,
} from './harness.mjs';
import { timeUntilShown } from './bench/measure.mjs';

after(cleanup);

const RED = 0xff0000;
const BLUE = 0x0000ff;

/** The two-monitor display (harness.mjs) and a browser. */
async function twoScreens() {
  const world = await startTwoScreens();
  return { ...world, browser: await launchBrowser(world.server) };
}

/** The picture's size now. */
const size = (page) => page.getByTestId('remote-screen')
  .evaluate((el) => [el.videoWidth ?? el.width, el.videoHeight ?? el.height]);

/** Whether the picture is `w` x `h` with `rgb` at its centre. */
async function shows(page, w, h, rgb) {
  const [gw, gh] = await size(page);
  return gw === w && gh === h && near(await remotePixel(page, 0.5, 0.5), hex(rgb));
}

for (const render of ['video', 'webcodecs']) {
  test(`the Screen menu switches to the second monitor within the session (${render})`, async () => {
    const { server, deviceId, browser } = await twoScreens();
    const page = await newPage(browser);
    await recordSockets(page.context());
    await signIn(page, server, 'alice');
    const query = render === 'video' ? '' : `?render=${render}`;
    await page.goto(`${server.url}/${query}#/session/${encodeURIComponent(deviceId)}`);
    await waitFor('the primary, A, at 1280x720 in red', () => shows(page, 1280, 720, RED));
    const menu = page.getByLabel('Screen', { exact: true });
    await waitFor('the Screen menu', () => menu.isVisible());
    const options = await menu.locator('option').allTextContents();
    assert.deepEqual(options, ['A (1280×720, primary)', 'B (1024×768)', 'All screens']);

    // The choice, timed in the page from just before it to the first
    // animation frame that shows B (its size, blue at its centre); the
    // figure is `scripts/bench screens`'s, printed here once.
    const watch = page.evaluate(timeUntilShown, { width: 1024, height: 768, rgb: hex(BLUE) });
    await menu.selectOption('B');
    const ms = await watch;
    console.log(`screen switch (${render}): B's first picture ${ms === null ? 'never' : Math.round(ms)} ms after the choice`);
    await waitFor('B at 1024x768 in blue', () => shows(page, 1024, 768, BLUE));
    assert.equal(await menu.inputValue(), 'B');
    // "All screens": one picture of both, A red at the left, B blue beside it.
    await menu.selectOption('*');
    await waitFor('both monitors in one 2304x768 picture', async () => {
      const [gw, gh] = await size(page);
      return gw === 2304 && gh === 768 && near(await remotePixel(page, 0.25, 0.5), hex(RED))
        && near(await remotePixel(page, 0.78, 0.5), hex(BLUE));
    });
    await menu.selectOption('B');
    await waitFor('B again', () => shows(page, 1024, 768, BLUE));
    // The same session: one session_request in all, and the switch went
    // over the session's own control channel.
    const requests = await page.evaluate(() => window.__sockets
      .flatMap((ws) => ws.sent).filter((m) => m.type === 'session_request').length);
    assert.equal(requests, 1, 'no new session for the switch');
    assert.deepEqual(page.errors, []);
  });
}

test('?screen=B on a session link shows B from the start, and a click on it lands on its pixel', async () => {
  const { server, x, b, deviceId, browser } = await twoScreens();
  const page = await signedInPage(browser, server);
  await page.goto(`${server.url}/#/session/${encodeURIComponent(deviceId)}?screen=B`);
  await waitFor('B at 1024x768 in blue', () => shows(page, 1024, 768, BLUE));
  await inputReady(page);
  const at = await screenPoint(page, 0.5, 0.5);
  await page.mouse.click(at.x, at.y);
  await waitFor('the click on B', () => b.clicks().length > 0);
  const p = x.pointer();
  assert.ok(Math.abs(p.x - (1280 + 512)) <= 2 && Math.abs(p.y - 384) <= 2, `pointer at ${JSON.stringify(p)}`);
  assert.deepEqual(page.errors, []);
});
